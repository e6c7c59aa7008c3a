"""The job's output folder: free dated names, latest.html, and an index page that keeps
untrusted titles and top lines inert."""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path
from typing import Any

import html5lib
import pytest

from briefing import archive
from briefing.errors import RenderError
from briefing.models import Briefing, TopLine

NOW = dt.datetime(2026, 11, 22, 7, 5, 9, tzinfo=dt.UTC)
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'


def briefing(now: dt.datetime = NOW, top: str = "Rates cut by a split committee") -> Briefing:
    return Briefing(
        title=f"Briefing, {now:%d %B %Y}",
        date=now.date(),
        generated_at=now,
        model="fake",
        top_lines=[TopLine(text=top, story=1, sources=[1])],
        stories=[],
        sources=[],
    )


def test_names_are_the_date_then_the_time(tmp_path: Path) -> None:
    stems = []
    for _ in range(4):
        files = archive.publish(briefing(), tmp_path, now=NOW, formats=("md", "html", "json"))
        stems.append(files[0].stem)
    assert stems == ["2026-11-22", "2026-11-22-0705", "2026-11-22-070509", "2026-11-22-070509-2"]
    assert all(archive.STEM.fullmatch(stem) for stem in stems)
    assert [e.stem for e in archive.load(tmp_path).briefings] == stems


def test_latest_is_the_newest_html(tmp_path: Path) -> None:
    archive.publish(briefing(), tmp_path, now=NOW, formats=("html",))
    later = NOW + dt.timedelta(days=1)
    archive.publish(briefing(later, "Next day"), tmp_path, now=later, formats=("html", "md"))
    assert (tmp_path / "latest.html").read_bytes() == (tmp_path / "2026-11-23.html").read_bytes()
    index = (tmp_path / "index.html").read_text()
    assert index.index("2026-11-23") < index.index("2026-11-22")


def test_index_escapes_untrusted_text(tmp_path: Path) -> None:
    archive.publish(briefing(top=EVIL), tmp_path, now=NOW, formats=("md",))
    page = (tmp_path / "index.html").read_text()
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;" in page
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    tree = parser.parse(page)
    assert tree.find(".//script") is None and tree.find(".//img") is None
    texts = ["".join(li.itertext()) for li in tree.iter("li")]
    assert EVIL in texts
    # No HTML briefing was written: the entry links to the Markdown file, no latest.html.
    assert 'href="2026-11-22.md"' in page and "latest.html" not in page


def test_a_damaged_index_record_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / archive.INDEX_JSON).write_text("{not json")
    with pytest.raises(RenderError, match="move it away"):
        archive.publish(briefing(), tmp_path, now=NOW, formats=("md",))
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.INDEX_JSON]


def test_a_failure_on_the_index_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up at the last file, the index page: the folder is as it was, no
    briefing without its index entry (before: the new files, latest.html and
    index.json stayed, beside the old index.html)."""
    archive.publish(briefing(), tmp_path, now=NOW, formats=("md", "html", "json"))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(dst).name == archive.INDEX_HTML:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    later = NOW + dt.timedelta(days=1)
    with pytest.raises(RenderError, match=r"index\.html.*No space left"):
        archive.publish(briefing(later), tmp_path, now=later, formats=("md", "html", "json"))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
