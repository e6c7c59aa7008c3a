"""Reading feed documents: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed here.

:func:`parse` turns the bytes of a feed into :class:`Entry` items of one shape,
whatever the format: a stable key (the entry's id, else its link, else a hash of
its text), its title as text, its link resolved against the feed's URL (and Atom's
``xml:base``), its date in ISO 8601 (UTC for RSS and Atom, as feedparser reads the
many forms feeds write; missing or unreadable: None), and its content and summary
as given. feedparser is lenient: from a document that is not well formed it keeps
what it could read, and :attr:`Parsed.broken` says what was wrong. What is not a
feed at all raises :class:`briefing.errors.FeedError` naming the URL.

feedparser 6 has no JSON Feed reader, so JSON Feed 1.0 and 1.1
(https://jsonfeed.org/version/1.1) are read here, into the same entries.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import feedparser

from briefing import formats
from briefing.errors import FeedError

MAX_ENTRIES = 200  # entries read of one feed per run (newest first, as feeds list them)


@dataclass
class Entry:
    """One item of a feed, whatever its format."""

    key: str
    title: str | None
    link: str | None
    published: str | None
    content: str | None  # HTML or text of the whole article, if the feed has it
    summary: str | None


@dataclass
class Parsed:
    title: str | None
    entries: list[Entry]
    broken: str | None = None  # why the document is not well formed, if it is not


def parse(body: bytes, url: str, content_type: str = "") -> Parsed:
    """The entries of a feed document; raises FeedError if it is not a feed."""
    if _looks_json(body, content_type):
        return _parse_json(body, url)
    data = feedparser.parse(
        body,
        response_headers={"content-location": url, "content-type": content_type or "text/xml"},
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    broken = None
    if data.bozo:
        err = data.get("bozo_exception")
        if not isinstance(err, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType):
            broken = f"{err}"
    if not data.get("version") and not data.entries:
        why = f" ({broken})" if broken else ""
        raise FeedError(
            f"{url}: not an RSS, Atom or JSON feed{why}; check that the URL is the feed's "
            "address, not the site's page"
        )
    entries = []
    for item in data.entries[:MAX_ENTRIES]:
        link = item.get("link")
        link = urljoin(url, link) if link else None
        key = item.get("id") or link
        contents = [c.get("value", "") for c in item.get("content", [])]
        content = max(contents, key=len) if contents else None
        summary = item.get("summary")
        if not key:
            if not (item.get("title") or summary):
                continue
            key = "sha:" + _hash(f"{item.get('title')}\n{summary}")
        entries.append(
            Entry(
                key=key,
                title=_title(item),
                link=link,
                published=_when(
                    dict.get(item, "published_parsed") or dict.get(item, "updated_parsed")
                ),
                content=content,
                summary=summary,
            )
        )
    return Parsed(_line(data.feed.get("title")), entries, broken)


def _title(item: Any) -> str | None:
    """An entry's title as text (an Atom ``type="html"`` title is markup)."""
    title = item.get("title")
    if title and "html" in item.get("title_detail", {}).get("type", ""):
        title = formats.html_text(title)
    return _line(title)


def _looks_json(body: bytes, content_type: str) -> bool:
    return "json" in content_type.lower() or body.lstrip()[:1] == b"{"


def _parse_json(body: bytes, url: str) -> Parsed:
    """JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FeedError(f"{url}: broken JSON ({err}); not a JSON feed") from err
    version = data.get("version") if isinstance(data, dict) else None
    if not (isinstance(version, str) and version.startswith("https://jsonfeed.org/version/")):
        raise FeedError(f"{url}: JSON, but not a JSON Feed (no jsonfeed.org 'version')")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError(f"{url}: JSON Feed without an 'items' list")
    entries = []
    for item in items[:MAX_ENTRIES]:
        if not isinstance(item, dict):
            continue
        link = _text(item.get("url")) or _text(item.get("external_url"))
        link = urljoin(url, link) if link else None
        key = _text(item.get("id")) or link
        content = _text(item.get("content_html")) or _html_of(_text(item.get("content_text")))
        summary = _text(item.get("summary"))
        if not key:
            continue
        when = _text(item.get("date_published")) or _text(item.get("date_modified"))
        entries.append(
            Entry(
                key=key,
                title=_line(_text(item.get("title"))),
                link=link,
                published=formats.iso_date(when) if when else None,
                content=content,
                summary=summary,
            )
        )
    return Parsed(_line(_text(data.get("title"))), entries)


def _text(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def _html_of(text: str | None) -> str | None:
    if text is None:
        return None
    paragraphs = (p.strip() for p in text.split("\n\n"))
    return "".join(f"<p>{_escape_html(p)}</p>" for p in paragraphs if p)


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _line(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None


def _when(parsed: time.struct_time | None) -> str | None:
    if not parsed:
        return None
    try:
        when = dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return when.isoformat().replace("+00:00", "Z")


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
