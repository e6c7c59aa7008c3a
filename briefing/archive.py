"""The output folder of a scheduled job: dated briefings, ``latest.html`` and an index.

Each run's briefing goes to ``OUT/YYYY-MM-DD.{md,html,json}``; a second run on the
same day gets the time as a suffix (``YYYY-MM-DD-HHMM``, then ``-HHMMSS``), so no
briefing is ever overwritten. After the briefing files, :func:`publish` updates

* ``OUT/latest.html``: a copy of the newest HTML briefing (its links are in-page
  anchors, so a copy works where a symlink might not);
* ``OUT/index.json``: the archive's list of briefings (date, title, top lines, files),
  the one record the index page is built from, so the page does not depend on which
  formats were written;
* ``OUT/index.html``: that list as a page, newest first;
* ``OUT/feed.xml``: that list as an Atom feed, for feed readers (:mod:`briefing.atom`).

The briefing's files and the pages are written as one set with
:func:`briefing.files.write_set`: a reader (or a crash, or a full disk) sees the old
folder or the whole new one, never a briefing without its index entry or half a set.
The index page is rendered by a Jinja2 template with autoescape on, because titles
and top lines come from the model and the articles and are untrusted; links are
built only from brief's own file names (:data:`STEM` below), never from that text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
from pydantic import BaseModel, Field, ValidationError

from briefing import render
from briefing.errors import RenderError
from briefing.files import write_set
from briefing.models import Article, Briefing, Story, StoryRef

INDEX_JSON = "index.json"
INDEX_HTML = "index.html"
LATEST_HTML = "latest.html"
# A story record keeps what finds its story again (leads, what it said, its files) for
# this many days, the days a later briefing looks back (briefing/continuity.py); after
# that, its headline and days only (for the index page).
KEEP_DAYS = 14
# Words of an article kept in its story's record: what a later run groups it by. 60
# link the real mix as whole texts do, but not two of examples/'s (a feature and a news
# report of one event); 250 do both. About 1.6 kB an article.
LEAD_WORDS = 250
# The names publish gives briefings: a date, then optionally a time of day (and a counter).
STEM = re.compile(render.BRIEFING_STEM)


class StoryRecord(BaseModel):
    """What a later briefing of the job needs of a story (:mod:`briefing.continuity`):
    its articles' leads, to find it again; what it said, its actors and its files, to
    tell what is new; and the days it ran before."""

    number: int
    headline: str
    paths: list[str] = Field(description="Its articles (and copies), relative to the job's folder.")
    outlets: list[str] = Field(default_factory=list)
    actors: dict[str, str] = Field(default_factory=dict, description="Name -> position.")
    said: list[str] = Field(
        default_factory=list, description="Its top line, summary, points, events and risks."
    )
    leads: list[str] = Field(
        default_factory=list,
        description="Each article's title and first words (:func:`lead`): what a later "
        "run groups the story by.",
    )
    before: list[StoryRef] = Field(
        default_factory=list, description="The earlier briefings' story it continues, oldest first."
    )


class Entry(BaseModel):
    """One briefing of the archive."""

    stem: str = Field(description="File name without extension, e.g. 2026-11-22.")
    date: dt.date
    generated_at: dt.datetime
    title: str
    top_lines: list[str] = Field(default_factory=list)
    stories: int = 0
    sources: int = 0
    files: list[str] = Field(default_factory=list, description="Names of the files written.")
    story_records: list[StoryRecord] = Field(default_factory=list)


class Archive(BaseModel):
    briefings: list[Entry] = Field(default_factory=list)


def pick_stem(out_dir: Path, now: dt.datetime) -> str:
    """The first free name for a briefing made at ``now``: the date, else date and time."""
    day = now.date().isoformat()

    def taken(stem: str) -> bool:
        return any((out_dir / f"{stem}.{fmt}").exists() for fmt in render.FORMATS)

    for stem in (day, f"{day}-{now:%H%M}", f"{day}-{now:%H%M%S}"):
        if not taken(stem):
            return stem
    count = 2
    while taken(f"{day}-{now:%H%M%S}-{count}"):
        count += 1
    return f"{day}-{now:%H%M%S}-{count}"


def load(out_dir: Path) -> Archive:
    """The archive record of ``out_dir``; empty if there is none yet."""
    path = out_dir / INDEX_JSON
    try:
        return Archive.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return Archive()
    except (OSError, ValidationError) as err:
        raise RenderError(
            f"{path} is unreadable or damaged ({err.__class__.__name__}); move it away and "
            "brief will start a new archive list (the briefings themselves are kept)."
        ) from err


def publish(
    briefing: Briefing,
    out_dir: Path,
    *,
    now: dt.datetime,
    formats: Sequence[str],
    title: str | None = None,
    compiled: jinja2.BytecodeCache | None = None,
    articles: Sequence[Article] = (),
) -> list[Path]:
    """Write ``briefing`` under a free dated name and update latest.html and the index
    (headed ``title``, by default the folder's name); ``compiled`` keeps the page
    templates compiled between runs (:func:`briefing.cache.compiled_templates`).

    Returns every path written: the briefing's files, latest.html (with an HTML
    briefing), index.json and index.html. They are written as one set
    (:func:`briefing.files.write_set`): a failure on any of them leaves the folder as it
    was, with no new briefing and the pages unchanged.
    """
    texts = publication(
        briefing,
        out_dir,
        now=now,
        formats=formats,
        title=title,
        compiled=compiled,
        articles=articles,
    )
    render.make_folder(out_dir)
    write_set(texts)
    return list(texts)


def publication(
    briefing: Briefing,
    out_dir: Path,
    *,
    now: dt.datetime,
    formats: Sequence[str],
    title: str | None = None,
    compiled: jinja2.BytecodeCache | None = None,
    articles: Sequence[Article] = (),
    archive: Archive | None = None,
) -> dict[Path, str]:
    """What :func:`publish` writes, path by path, the briefing's own files first;
    nothing is written (a caller may add files of its own to the set). ``articles``,
    those briefed, give the archive's record of each story its articles' leads;
    ``archive`` is ``out_dir``'s record when the caller has read it already."""
    if archive is None:  # a damaged record stops the run before anything is written
        archive = load(out_dir)
    stem = pick_stem(out_dir, now)
    texts = render.briefing_texts(briefing, out_dir, stem, formats, compiled=compiled)
    by_id = {article.id: article for article in articles}
    archive.briefings = [_pruned(e, briefing.date) for e in archive.briefings if e.stem != stem]
    archive.briefings.append(
        Entry(
            stem=stem,
            date=briefing.date,
            generated_at=briefing.generated_at,
            title=briefing.title,
            top_lines=[line.text for line in briefing.top_lines],
            stories=len(briefing.stories),
            sources=len(briefing.sources),
            files=[path.name for path in texts],
            story_records=[record(story, briefing, by_id) for story in briefing.stories],
        )
    )
    page = texts.get(out_dir / f"{stem}.html")
    if page is not None:  # the page just rendered, not rendered a second time
        texts[out_dir / LATEST_HTML] = page
    texts[out_dir / INDEX_JSON] = archive.model_dump_json(indent=2)
    texts[out_dir / INDEX_HTML] = to_index_html(
        archive, title=title or out_dir.name, compiled=compiled
    )
    from briefing import atom  # it imports this module

    feed = atom.to_atom(archive, title=f"Briefings: {title or out_dir.name}", out_dir=out_dir)
    texts[out_dir / atom.FEED_XML] = feed
    return texts


def record(story: Story, briefing: Briefing, articles: Mapping[str, Article]) -> StoryRecord:
    """The archive's record of ``story`` of ``briefing`` (``articles`` by id: the leads
    are taken from them)."""
    sources = {source.number: source for source in briefing.sources}
    mine = [sources[n] for n in story.sources if n in sources]
    said = [story.top_line, story.summary, *(p.text for p in story.agreement)]
    said += [f"{e.date}: {e.event}" for e in story.timeline] + [r.risk for r in story.risks]
    before: list[StoryRef] = []
    if story.continues is not None:
        earlier = story.continues
        before = [*earlier.before, StoryRef.model_validate(earlier.model_dump())]
    return StoryRecord(
        number=story.number,
        headline=story.headline,
        paths=[path for source in mine for path in (source.path, *source.duplicates)],
        outlets=list(dict.fromkeys(source.outlet for source in mine)),
        actors={actor.name: actor.position for actor in story.actors},
        said=[text for text in said if text.strip()],
        leads=[lead(articles[s.article_id]) for s in mine if s.article_id in articles],
        before=before,
    )


def _ref_link(ref: StoryRef, by_stem: dict[str, Entry]) -> str | None:
    """The link to an earlier day's story, while that briefing is in the archive."""
    entry = by_stem.get(ref.briefing)
    return story_link(entry, ref.story) if entry is not None else None


def _pruned(entry: Entry, today: dt.date) -> Entry:
    """``entry`` without what its stories' records keep for later briefings, once it
    is :data:`KEEP_DAYS` old (so that index.json stays small over years)."""
    if (today - entry.date).days <= KEEP_DAYS:
        return entry
    records = [
        StoryRecord(number=r.number, headline=r.headline, paths=[], before=r.before)
        for r in entry.story_records
    ]
    return entry.model_copy(update={"story_records": records})


def lead(article: Article) -> str:
    """What a story record keeps of an article: its title and first words."""
    return f"{article.title}\n\n{' '.join(article.text.split()[:LEAD_WORDS])}"


def story_link(entry: Entry, number: int) -> str | None:
    """Where story ``number`` of ``entry`` is: its HTML (or Markdown) file and anchor."""
    link = briefing_link(entry)
    return f"{link}#story-{number}" if link and not link.endswith(".json") else link


def to_index_html(
    archive: Archive, *, title: str, compiled: jinja2.BytecodeCache | None = None
) -> str:
    """The archive as an HTML page, newest briefing first."""
    entries = []
    by_stem = {entry.stem: entry for entry in archive.briefings}
    for entry in sorted(archive.briefings, key=lambda e: e.generated_at, reverse=True):
        link = briefing_link(entry)
        label = entry.date.isoformat()
        if entry.stem != label:
            label += f" {entry.generated_at:%H:%M}"
        stories = [
            {
                "headline": r.headline,
                "link": story_link(entry, r.number),
                "days": [(ref.date.isoformat(), _ref_link(ref, by_stem)) for ref in r.before],
            }
            for r in entry.story_records
        ]
        entries.append({**entry.model_dump(), "link": link, "label": label, "story_list": stories})
    has_latest = any(e.stem and f"{e.stem}.html" in e.files for e in archive.briefings)
    return render.template("index.html.j2", compiled).render(
        title=f"Briefings: {title}" if title else "Briefings", entries=entries, latest=has_latest
    )


def briefing_link(entry: Entry) -> str | None:
    """The briefing file to link to (HTML first), only for names brief itself gives."""
    if not STEM.fullmatch(entry.stem):
        return None
    for ext in ("html", "md", "json"):
        name = f"{entry.stem}.{ext}"
        if name in entry.files:
            return name
    return None
