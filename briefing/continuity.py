"""Stories followed from day to day: which story of a job's earlier briefings a new
story continues, and what it adds.

A scheduled job briefs only what is new since its last run (:mod:`briefing.jobs`), so a
story that goes on for days comes back as new articles. :func:`follow` finds the story
they continue by grouping them *together with* the articles of the job's earlier
stories (:func:`briefing.clustering.group`, the grouping measured on real news in
docs/CLUSTERING.md): a new story continues the earlier story whose articles fall in
its groups most often (the most recent one on a tie), provided a pair of their
articles is alike enough. The earlier articles take part as their titles and first
words (:data:`briefing.archive.LEAD_WORDS`), kept in the archive's record of each
story (``index.json``): nothing is read again, and files deleted since do not matter.
On the real mix split over two days this links exactly as the whole texts do (157
right, 0 wrong, 13 missed in 41 splits, either way).

What is new is found by comparing the two stories, not by asking the model, so it
costs no call and cannot invent anything: the new story's sentences and items
(summary, agreement, timeline, risks) whose content words the earlier story did not
already say, its actors the earlier story did not name, actors whose position is
another, and outlets new to the story. For this, and only for the story continued,
its articles are read again from the job's folder (their leads, if they are gone).
Earlier briefings are never rewritten: the link goes one way, from the new story to
the old.

How well it links on real news (the 42-article mix split over two days):
``bench/bench_continuity.py``, docs/CLUSTERING.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from briefing import clustering, terms
from briefing.archive import KEEP_DAYS, Archive, Entry, StoryRecord, story_link
from briefing.models import Article, Briefing, Change, Earlier, NewSince, Point, Story
from briefing.sourcetext import content_words
from briefing.speakers import WORD, name_key, same_actor

WINDOW_DAYS = KEEP_DAYS  # earlier briefings looked at, in days before the new one
MAX_EARLIER = 2000  # earlier articles grouped with the new ones, the most recent first
MAX_REREAD = 50  # articles of a continued story read again to tell what is new
# Grouping can join two stories of one theme (a law in one country, a law in another:
# cosine 0.09 between their articles on the real mix); a continuing story has at least
# one article pair this alike. Measured on 41 two-day splits of the real mix: right
# links' closest pairs 0.122 and up, wrong ones' 0.09 (bench/bench_continuity.py).
LINK_SIMILARITY = 0.11
NEW_AT = 0.5  # an item is new when no earlier text has this share of its content words
CHANGED_AT = 0.34  # a position is another when the earlier one has less of its words
MAX_FACTS = 4
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“])")


@dataclass
class _Earlier:
    entry: Entry
    record: StoryRecord
    articles: list[Article]


def follow(
    briefing: Briefing,
    articles: Sequence[Article],
    archive: Archive,
    read: Callable[[str], Article | None],
    *,
    window_days: int = WINDOW_DAYS,
) -> Briefing:
    """``briefing`` (made of ``articles``) with each story that continues a story of
    ``archive``'s earlier briefings linked to it and told what it adds. ``read(path)``
    reads an earlier article from the job's folder (None when it is gone)."""
    earlier = _earlier_stories(briefing.date, archive, window_days)
    if not earlier or not briefing.stories:
        return briefing
    by_id = {article.id: article for article in articles}
    ids = {s.number: s.article_id for s in briefing.sources}
    today = [
        [by_id[ids[n]] for n in story.sources if ids.get(n) in by_id] for story in briefing.stories
    ]
    links = continuations(today, [e.articles for e in earlier])
    outlets = {s.number: s.outlet for s in briefing.sources}
    stories = []
    for story, link in zip(briefing.stories, links, strict=True):
        if link is not None:
            story = _linked(story, earlier[link], outlets, read)
        stories.append(story)
    return briefing.model_copy(update={"stories": stories})


def continuations(
    today: Sequence[Sequence[Article]], earlier: Sequence[Sequence[Article]]
) -> list[int | None]:
    """For each of ``today``'s stories, the index of the ``earlier`` story it continues
    (the earlier stories in order of preference on a tie), or None.

    A story continues the earlier story whose articles share its groups most often,
    provided one pair of their articles is at least :data:`LINK_SIMILARITY` alike."""
    owner: dict[str, int] = {}
    for index, story in enumerate(earlier):
        for article in story:
            owner.setdefault(article.id, index)
    mine = {a.id for story in today for a in story}
    pool = {a.id: a for story in today for a in story}
    for story in earlier:
        pool.update((a.id, a) for a in story if a.id not in mine and a.id not in pool)
    row = {article_id: i for i, article_id in enumerate(pool)}
    found = clustering.grouping(list(pool.values()))
    group_of: dict[str, int] = {}
    for number, group in enumerate(found.groups):
        for article in group.members:
            group_of[article.id] = number
    links: list[int | None] = []
    for story in today:
        groups = {group_of[a.id] for a in story if a.id in group_of}
        votes = Counter(
            owner[i] for i, g in group_of.items() if g in groups and i in owner and i not in mine
        )
        rows = [row[a.id] for a in story]
        for index in list(votes):
            theirs = [row[a.id] for a in earlier[index] if a.id in row and a.id not in mine]
            closest = clustering.block_similarity(found.vectors, rows, theirs) if theirs else None
            if closest is None or closest.max() < LINK_SIMILARITY:
                del votes[index]
        links.append(min(votes, key=lambda k: (-votes[k], k), default=None))
    return links


def _earlier_stories(day: dt.date, archive: Archive, window_days: int) -> list[_Earlier]:
    """The stories of the archive's briefings of the last ``window_days`` days, the most
    recent first, each as its articles' leads (kept in its record)."""
    entries = [
        e
        for e in archive.briefings
        if e.story_records and dt.timedelta(0) <= day - e.date <= dt.timedelta(days=window_days)
    ]
    entries.sort(key=lambda e: e.generated_at, reverse=True)
    found: list[_Earlier] = []
    left = MAX_EARLIER
    for entry in entries:
        for record in entry.story_records:
            if left <= 0:
                return found
            found.append(_Earlier(entry, record, _leads(entry, record)))
            left -= len(found[-1].articles)
    return found


def _leads(entry: Entry, record: StoryRecord) -> list[Article]:
    """An earlier story as its articles' titles and first words; a record without them
    as its headline and what its briefing said."""
    texts = record.leads or ["\n\n".join([record.headline, *record.said])]
    return [
        Article(
            id=f"{entry.stem}#{record.number}.{i}",
            path=f"{entry.stem}#story-{record.number}",
            title=text.split("\n", 1)[0],
            source=", ".join(record.outlets),
            text=text,
        )
        for i, text in enumerate(texts)
    ]


def _linked(
    story: Story,
    earlier: _Earlier,
    outlets: dict[int, str],
    read: Callable[[str], Article | None],
) -> Story:
    entry, record = earlier.entry, earlier.record
    continues = Earlier(
        briefing=entry.stem,
        date=entry.date,
        story=record.number,
        link=story_link(entry, record.number),
        headline=record.headline,
        before=record.before,
    )
    # What the earlier articles said, to tell what is new: read again from the job's
    # folder (only this story's), else their leads.
    again = [a for a in map(read, record.paths[:MAX_REREAD]) if a is not None]
    texts = [a.text for a in again or earlier.articles]
    new = what_is_new(story, record, outlets, texts)
    return story.model_copy(update={"continues": continues, "new_since": new})


def what_is_new(
    story: Story,
    record: StoryRecord,
    outlets: dict[int, str],
    earlier_texts: Sequence[str] = (),
) -> NewSince:
    """What ``story`` says that the earlier story (``record``) and its articles'
    ``earlier_texts`` did not."""
    sentences = [s for text in earlier_texts for s in _SENTENCE.split(text)]
    said = [_words(text) for text in (record.headline, *record.said, *sentences)]
    named = {w.lower() for text in earlier_texts for w in WORD.findall(text)}
    facts: list[Point] = []
    for point in _items(story):
        words = _words(point.text)
        if words and all(len(words & old) < NEW_AT * len(words) for old in said):
            facts.append(point)
            said.append(words)  # the same news twice in one story is told once
        if len(facts) == MAX_FACTS:
            break
    actors: list[str] = []
    changed: list[Change] = []
    for actor in story.actors:
        known = next((name for name in record.actors if same_actor(actor.name, name)), None)
        if known is None:
            if not name_key(actor.name) <= named:  # not even named in the earlier articles
                actors.append(actor.name)
            continue
        now, before = _words(actor.position), _words(record.actors[known])
        if now and before and len(now & before) < CHANGED_AT * len(now):
            changed.append(
                Change(
                    name=actor.name,
                    before=record.actors[known],
                    now=actor.position,
                    cites=actor.cites,
                )
            )
    mine = dict.fromkeys(outlets[n] for n in story.sources if n in outlets)
    return NewSince(
        facts=facts,
        actors=actors,
        changed=changed,
        outlets=[o for o in mine if o not in record.outlets],
    )


def _items(story: Story) -> Iterable[Point]:
    """The story's sentences and items, in the order a reader meets them."""
    for sentence in _SENTENCE.split(story.summary.strip()):
        if sentence.strip():
            yield Point(text=sentence.strip())
    yield from (p for p in story.agreement if not p.unverified)
    for event in story.timeline:
        if not event.unverified:
            yield Point(text=f"{event.date}: {event.event}", cites=event.cites)
    for risk in story.risks:
        if not risk.unverified:
            yield Point(text=risk.risk, cites=risk.cites)


def _words(text: str) -> set[str]:
    return {terms.stem(word) for word in content_words(text)}
