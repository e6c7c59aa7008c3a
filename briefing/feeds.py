"""A job's news feeds, fetched into its inbox as Markdown articles.

:func:`fetch_sources` reads each feed of a job (RSS 0.9x/1.0/2.0 and Atom through
``feedparser``, JSON Feed 1.0/1.1 here), and saves every entry it has not saved
before as ``INBOX/<feed folder>/<slug>-<hash>.md``: Markdown with YAML front matter
(title, source, url, published), so the folder is read as any other
(:mod:`briefing.ingest`). The feed documents are read by :mod:`briefing.syndication`.
An entry's text is the feed's own when the feed carries
the full article (RSS ``content:encoded``, Atom ``content``, JSON Feed
``content_html``/``content_text`` of at least :data:`FULL_TEXT` characters); else
a summary as long (RSS 0.9x puts the article in ``description``); else
the entry's page is fetched and its main text extracted with trafilatura
(:func:`briefing.formats.from_html`).

What the feeds answered is kept in ``STATE/NAME/feeds.json`` (:class:`FeedsState`):
per feed URL its ETag and Last-Modified, for a conditional GET next time, and the
entries saved. The file name of an entry comes from its id (else its link), so a
re-fetch of the same entry writes nothing, even with the state gone. A feed with
an entry that could not be fetched keeps no ETag, so the next run reads the whole
feed again and retries just that entry.

A feed that cannot be fetched, is not a feed, or is broken costs only itself: it
becomes a :class:`~briefing.models.Problem` (path ``feed NAME``, or the entry's URL)
that the run names in the briefing's left-out list, and the other feeds go on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, Field, ValidationError

from briefing import formats
from briefing.errors import FeedError, unexpected
from briefing.fetch import Fetcher
from briefing.files import atomic_write
from briefing.models import Problem
from briefing.schedule import FeedSource
from briefing.sources import folder_name
from briefing.syndication import Entry, parse

STATE_FILE = "feeds.json"
FULL_TEXT = 600  # characters of text from which a feed's own content is the article
MAX_SEEN = 2000  # entry ids remembered per feed
FEED_WORKERS = 4  # feeds fetched at once (the Fetcher limits each host to fewer)
_SLUG = re.compile(r"[^a-z0-9]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&|])")
_LINE_START = re.compile(r"^(\s*)(\d*)([#>+\-=~.)])", re.MULTILINE)


class FeedMemory(BaseModel):
    etag: str | None = None
    modified: str | None = None
    seen: dict[str, str] = Field(
        default_factory=dict, description="Entry id -> file saved (relative to the inbox)."
    )


class FeedsState(BaseModel):
    feeds: dict[str, FeedMemory] = Field(default_factory=dict, description="By feed URL.")


@dataclass
class FetchReport:
    saved: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    not_modified: list[str] = field(default_factory=list)  # feed URLs that answered 304


# --- one entry as a Markdown article --------------------------------------------------------


def file_name(entry: Entry) -> str:
    """A name stable per entry: a slug of its link's last part, and a hash of its id."""
    path = urlsplit(entry.link).path if entry.link else ""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    last = re.sub(r"\.(s?html?|php|aspx?)$", "", last.lower())
    slug = _SLUG.sub("-", last).strip("-")[:50].strip("-")
    digest = hashlib.sha256(entry.key.encode("utf-8", "replace")).hexdigest()[:10]
    return f"{slug}-{digest}.md" if slug else f"{digest}.md"


def article_text(entry: Entry, fetcher: Fetcher) -> tuple[dict[str, Any], str]:
    """The entry's metadata and text: the feed's own full text, else its page's."""
    meta: dict[str, Any] = {}
    texts = [_html_text(html) for html in (entry.content, entry.summary) if html]
    text = max(texts, key=len, default="")  # RSS 0.9x carries the article in <description>
    if len(text) < FULL_TEXT and entry.link and urlsplit(entry.link).scheme in ("http", "https"):
        page = fetcher.get(entry.link)
        if not page.body:
            raise FeedError(f"{entry.link}: the page is empty")
        try:
            meta = formats.from_html(_decode(page.body, page.headers.get("content-type", "")))
        except formats.Unusable as err:
            raise FeedError(f"{entry.link}: {err}; the entry is tried again next run") from err
        text = meta["text"]
        if meta.get("title") and text.startswith(meta["title"]):
            text = text[len(meta["title"]) :].lstrip()
    if not text:
        text = _html_text(entry.summary) if entry.summary else ""
    if not text:
        raise FeedError(f"{entry.link or entry.key}: the entry has no text and no page to read")
    return meta, text


def to_markdown(entry: Entry, source: str, text: str, meta: dict[str, Any]) -> str:
    """The saved article: YAML front matter, then the text as escaped Markdown."""
    front: dict[str, str] = {}
    title = entry.title or meta.get("title")
    if title:
        front["title"] = title
    front["source"] = source
    url = entry.link or meta.get("url")
    if url:
        front["url"] = url
    published = entry.published or meta.get("published")
    if published and formats.iso_date(str(published)):
        front["published"] = formats.iso_date(str(published)) or ""
    language = meta.get("language")
    if language:
        front["language"] = language
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=10_000)
    body = "\n\n".join(_escape_markdown(p) for p in text.split("\n\n") if p.strip())
    return f"---\n{head}---\n\n{body}\n"


def _html_text(html: str) -> str:
    """Paragraphs of an HTML fragment (or of plain text) as text."""
    if "<" not in html:
        return "\n\n".join(" ".join(p.split()) for p in html.split("\n\n") if p.strip())
    return formats.html_text(html)


def _escape_markdown(paragraph: str) -> str:
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", paragraph)
    return _LINE_START.sub(lambda m: m[1] + m[2] + "\\" + m[3], text)


def _decode(body: bytes, content_type: str) -> str:
    from briefing.ingest import decode

    charset = re.search(r"charset=([\w.:-]+)", content_type, re.IGNORECASE)
    if charset:
        try:
            return body.decode(charset[1])
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return decode(body)
    except formats.Unusable as err:
        raise FeedError(f"the page is not text ({err})") from err


# --- fetching a job's feeds -----------------------------------------------------------------


def load_state(path: Path) -> FeedsState:
    try:
        return FeedsState.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return FeedsState()
    except (OSError, ValidationError) as err:
        raise FeedError(
            f"{path} is unreadable or damaged ({err.__class__.__name__}). Move it away: the "
            "next run reads every feed afresh (entries already saved are not saved again)."
        ) from err


def fetch_sources(
    sources: Sequence[FeedSource],
    inbox: Path,
    state_path: Path,
    fetcher: Fetcher,
    *,
    log: Callable[[str, BaseException], None] | None = None,
) -> FetchReport:
    """Fetch every feed of ``sources`` into ``inbox``; one failing feed costs only itself.

    ``log(message, error)`` receives what was not foreseen, with its trace."""
    state = load_state(state_path)
    report = FetchReport()
    if not sources:
        return report

    def one(source: FeedSource) -> tuple[FeedSource, FeedMemory, FetchReport]:
        memory = state.feeds.get(source.url, FeedMemory())
        part = FetchReport()
        try:
            memory = _fetch_feed(source, inbox, memory, fetcher, part)
        except FeedError as err:
            part.problems.append(_problem(source, err))
        except Exception as err:  # unforeseen: it costs this feed only, and is logged
            if log is not None:
                log(f"feed {source.url}", err)
            part.problems.append(Problem(path=_label(source), reason=unexpected(err)))
        return source, memory, part

    with ThreadPoolExecutor(min(FEED_WORKERS, len(sources))) as pool:
        results = list(pool.map(one, sources))
    state.feeds = {}
    for source, memory, part in results:
        state.feeds[source.url] = memory
        report.saved += part.saved
        report.problems += part.problems
        report.not_modified += part.not_modified
    state_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(state_path, state.model_dump_json(indent=1))
    return report


def _fetch_feed(
    source: FeedSource, inbox: Path, memory: FeedMemory, fetcher: Fetcher, report: FetchReport
) -> FeedMemory:
    page = fetcher.get(source.url, etag=memory.etag, modified=memory.modified)
    if page.not_modified:
        report.not_modified.append(source.url)
        return memory
    parsed = parse(page.body, page.url, page.headers.get("content-type", ""))
    outlet = source.name or parsed.title or urlsplit(source.url).hostname or source.url
    folder_rel = folder_name(source)
    seen = dict(memory.seen)
    todo = []
    for entry in parsed.entries:
        if entry.key in seen:
            continue
        rel = f"{folder_rel}/{file_name(entry)}"
        if (inbox / rel).exists():
            seen[entry.key] = rel
        else:
            todo.append((entry, rel))

    def read(item: tuple[Entry, str]) -> tuple[Entry, str, str | FeedError]:
        entry, rel = item
        try:
            meta, text = article_text(entry, fetcher)
        except FeedError as err:
            return entry, rel, err
        return entry, rel, to_markdown(entry, outlet, text, meta)

    failed = False
    with ThreadPoolExecutor(2) as pool:  # the Fetcher keeps each host to its limit
        for entry, rel, result in pool.map(read, todo):
            if isinstance(result, FeedError):
                failed = True
                where = entry.link or _label(source)
                reason = str(result).removeprefix(f"{entry.link}: ")
                report.problems.append(Problem(path=where, reason=f"{reason} (feed {outlet})"))
                continue
            path = inbox / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, result)
            report.saved.append(path)
            seen[entry.key] = rel
    if parsed.broken:
        report.problems.append(
            Problem(
                path=_label(source),
                reason=f"broken feed ({parsed.broken}); kept the {len(parsed.entries)} entries "
                f"before the fault. Tell the site, or remove it: brief sources remove "
                f"{source.url}",
            )
        )
    whole = not failed and not parsed.broken  # else the next run reads the feed again
    return FeedMemory(
        etag=page.headers.get("etag") if whole else None,
        modified=page.headers.get("last-modified") if whole else None,
        seen=dict(list(seen.items())[-MAX_SEEN:]),
    )


def _label(source: FeedSource) -> str:
    return f"feed {source.name or source.url}"


def _problem(source: FeedSource, err: FeedError) -> Problem:
    reason = str(err).removeprefix(f"{source.url}: ")
    if source.name:
        reason = f"{reason} ({source.url})"
    return Problem(path=_label(source), reason=reason)
