"""An Atom feed of a job's briefings (``OUT/feed.xml``), for any feed reader.

One entry per briefing of the archive (:class:`briefing.archive.Archive`), newest
first, at most :data:`MAX_ENTRIES`. The document follows RFC 4287: the feed has
an ``id``, ``title``, ``updated``, ``author`` and a ``link rel="self"``; each entry
has an ``id``, ``title``, ``updated``, a ``link`` to the briefing's page and a
``summary`` (its top lines as text) and ``content`` (the same as an HTML list).

Links are relative to the feed (``2026-11-22.html``), so the folder can be served
from any address, or read from disk. Ids are ``urn:uuid`` URIs derived from the
output folder and the briefing's name, so they never change between runs. The XML
is built with ElementTree, which escapes every text; characters XML cannot carry
(control characters from an article or the model) are dropped first.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from html import escape
from pathlib import Path
from xml.etree import ElementTree as ET

from briefing.archive import Archive, Entry, briefing_link

ATOM = "http://www.w3.org/2005/Atom"
FEED_XML = "feed.xml"
MAX_ENTRIES = 50
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def feed_id(out_dir: Path) -> str:
    """A stable id for the feed of ``out_dir``."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"brief:{out_dir.resolve()}").urn


def to_atom(archive: Archive, *, title: str, out_dir: Path) -> str:
    """The archive as an Atom 1.0 document."""
    ET.register_namespace("", ATOM)
    base = feed_id(out_dir)
    entries = sorted(archive.briefings, key=lambda e: _utc(e.generated_at), reverse=True)
    entries = entries[:MAX_ENTRIES]
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", base)
    _add(feed, "title", title)
    updated = max(
        (_utc(e.generated_at) for e in entries), default=dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    )
    _add(feed, "updated", _stamp(updated))
    author = _add(feed, "author")
    _add(author, "name", "brief")
    _add(feed, "link", rel="self", href=FEED_XML, type="application/atom+xml")
    _add(feed, "link", rel="alternate", href="index.html", type="text/html")
    _add(feed, "generator", "brief")
    for entry in entries:
        feed.append(_entry(entry, base))
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def _entry(entry: Entry, base: str) -> ET.Element:
    item = ET.Element(f"{{{ATOM}}}entry")
    _add(item, "id", uuid.uuid5(uuid.UUID(base.removeprefix("urn:uuid:")), entry.stem).urn)
    label = entry.date.isoformat()
    if entry.stem != label:
        label += f" {entry.generated_at:%H:%M}"
    _add(item, "title", f"{entry.title} ({label})" if entry.title else label)
    _add(item, "updated", _stamp(_utc(entry.generated_at)))
    link = briefing_link(entry)
    if link:
        kind = {"html": "text/html", "md": "text/markdown", "json": "application/json"}
        _add(item, "link", rel="alternate", href=link, type=kind[link.rsplit(".", 1)[1]])
    counts = (
        f"{entry.stories} {'story' if entry.stories == 1 else 'stories'} from "
        f"{entry.sources} {'source' if entry.sources == 1 else 'sources'}."
    )
    lines = [line for line in entry.top_lines if line.strip()]
    _add(item, "summary", " ".join([*lines, counts]), type="text")
    html = "".join(f"<li>{escape(line)}</li>" for line in lines)
    _add(item, "content", (f"<ul>{html}</ul>" if html else "") + f"<p>{counts}</p>", type="html")
    return item


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        child.text = _NOT_XML.sub("", text)
    return child


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _stamp(when: dt.datetime) -> str:
    """RFC 3339, as Atom's date constructs require."""
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")
