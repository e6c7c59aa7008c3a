"""The plain-text reader: headline and byline fields (Markdown and HTML are tested
through ingest, with their reference pages)."""

from __future__ import annotations

import pytest

from briefing.formats import from_text


def test_headline_is_the_first_line_that_is_not_blank() -> None:
    assert from_text("\n \t\n  Mayor rations water  \nPort Ellery is dry.")["title"] == (
        "Mayor rations water"
    )
    assert from_text("One line only")["title"] == "One line only"
    assert from_text(" \n\n ")["title"] == ""


@pytest.mark.parametrize(
    ("written", "published"),
    [
        ("21 November 2026", "2026-11-21"),
        ("November 21, 2026", "2026-11-21"),
        ("2026-11-21", "2026-11-21"),
        ("2026-1-2", "2026-01-02"),
        ("21 Nov 2026", "2026-11-21"),
        ("2026-13-01", "2026-13-01"),  # no date: kept as written
        ("next Tuesday", "next Tuesday"),
    ],
)
def test_byline_date(written: str, published: str) -> None:
    fields = from_text(f"Headline\n\nBy Jess Carmody | Metro Daily Post | {written}\n\nText.")
    assert (fields["author"], fields["source"]) == ("Jess Carmody", "Metro Daily Post")
    assert fields["published"] == published


def test_byline_is_looked_for_in_the_five_lines_after_the_headline() -> None:
    byline = "By Jess Carmody | Metro Daily Post"
    assert from_text("Headline\n\n\n\n\n" + byline)["author"] == "Jess Carmody"
    assert "author" not in from_text("Headline\n\n\n\n\n\n" + byline)
