"""A job's news feeds, kept in the config file: ``brief sources add/list/remove``.

The feeds are part of the job's table, one inline table a line, so the file stays
easy to read and edit by hand::

    [jobs.morning]
    input = "/home/me/inbox"
    ...
    sources = [
        { url = "https://feeds.bbci.co.uk/news/world/rss.xml", name = "BBC News" },
        { url = "https://www.theguardian.com/world/rss" },
    ]

What the feeds have answered (ETag, Last-Modified, the entries already saved) is
not configuration: it is kept in the job's state folder (:mod:`briefing.feeds`).
Each feed's articles go to ``INBOX/<folder>/``, where the folder is the feed's
name made safe for a path (:func:`folder_name`), so two feeds of a job must not
share one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from briefing.errors import FeedError
from briefing.schedule import FeedSource, edit_config, get_job, sources_array

_UNSAFE = re.compile(r"[^a-z0-9]+")


@dataclass
class SourceInfo:
    job: str
    source: FeedSource
    folder: str


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError(
            f"{url!r} is not a feed URL: give the whole address, starting with http:// or "
            "https://, e.g. https://example.org/rss.xml"
        )
    return url


def folder_name(source: FeedSource) -> str:
    """The inbox subfolder of a feed: its name, else its host and path, as a slug."""
    if source.name:
        text = source.name
    else:
        parts = urlsplit(source.url)
        text = f"{parts.hostname or ''}{parts.path}"
        text = re.sub(r"\.(xml|rss|atom|json)$", "", text)
        text = re.sub(r"/(feeds?|rss|atom|index)/?$", "", text)
    slug = _UNSAFE.sub("-", text.lower()).strip("-")[:60].strip("-")
    return slug or "feed"


def add(config_path: Path, job_name: str, url: str, *, name: str | None = None) -> list[str]:
    """Add feed ``url`` to job ``job_name`` (or rename it, if it is there)."""
    job = get_job(config_path, job_name)
    url = check_url(url)
    name = " ".join(name.split()) if name else None
    new = FeedSource(url=url, name=name or None)
    others = [s for s in job.sources if s.url != url]
    clash = next((s for s in others if folder_name(s) == folder_name(new)), None)
    if clash is not None:
        raise FeedError(
            f"job '{job_name}' already has a feed saved to {folder_name(new)}/ ({clash.url}); "
            "give this one another --name."
        )
    replaced = len(others) != len(job.sources)
    sources = [*others, new] if not replaced else [new if s.url == url else s for s in job.sources]
    _store(config_path, job_name, sources)
    verb = "updated" if replaced else "added"
    return [
        f"{verb} feed {url} in job '{job_name}' ({config_path}); its articles go to "
        f"{job.input / folder_name(new)}"
    ]


def remove(config_path: Path, job_name: str, which: str) -> list[str]:
    """Remove the feed of job ``job_name`` whose URL or name is ``which``."""
    job = get_job(config_path, job_name)
    keep = [s for s in job.sources if which not in (s.url, s.name, folder_name(s))]
    if len(keep) == len(job.sources):
        known = ", ".join(s.url for s in job.sources) or "none yet"
        raise FeedError(
            f"job '{job_name}' has no feed {which!r} (its feeds: {known}). "
            f"See them with: brief sources list --job {job_name}"
        )
    _store(config_path, job_name, keep)
    return [
        f"removed feed {which} from job '{job_name}' ({config_path}); the articles it saved "
        f"stay in {job.input}"
    ]


def list_sources(config_path: Path, job_name: str | None = None) -> list[SourceInfo]:
    """The feeds of one job, or of every job."""
    from briefing.schedule import load_jobs

    jobs = {job_name: get_job(config_path, job_name)} if job_name else load_jobs(config_path)
    return [
        SourceInfo(name, source, folder_name(source))
        for name, job in sorted(jobs.items())
        for source in job.sources
    ]


def _store(config_path: Path, job_name: str, sources: list[FeedSource]) -> None:
    def change(document: Any) -> None:
        table = document["jobs"][job_name]
        if sources:
            table["sources"] = sources_array(sources)
        elif "sources" in table:
            del table["sources"]

    edit_config(config_path, change)
