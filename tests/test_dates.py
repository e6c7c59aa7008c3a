"""Dates no more precise than their sources (briefing/dates.py)."""

from __future__ import annotations

import pytest

from briefing import dates
from briefing.dates import as_precise_as


@pytest.mark.parametrize(
    ("date", "text", "published", "expected"),
    [
        # issue 18: "the first half of 2027" written as 2027-01-01
        ("2027-01-01", "Repairs will be done in the first half of 2027.", None, "2027"),
        ("2026-11-01", "Prices rose in November.", None, "2026-11"),
        ("2026-11-17", "The cable went dead at 02:47 on Tuesday 17 November.", None, "2026-11-17"),
        ("2026-11-17", "It went dead on November 17th.", None, "2026-11-17"),
        ("2026-09-14", "The vote is on Sept. 14.", None, "2026-09-14"),
        ("2026-11-17", "Filed 2026-11-17 in Helsinki.", None, "2026-11-17"),
        ("2026-11-21", "The talks end on November 2, 2026.", None, "2026-11"),
        # "may" the verb is not the month; "May" the month is
        ("2026-05-03", "Prices may rise again.", None, "2026"),
        ("2026-05-03", "On 3 May prices rose.", None, "2026-05-03"),
        # a day named relative to the publication date
        (
            "2024-05-31",
            "Stoltenberg on Friday shrugged off the warnings.",
            "2024-05-31",
            "2024-05-31",
        ),
        ("2024-05-30", "Stoltenberg on Friday shrugged off the warnings.", "2024-05-31", "2024"),
        ("2024-05-30", "He said so yesterday.", "2024-05-31T09:00:00+02:00", "2024-05-30"),
        ("2024-05-29", "He said so yesterday.", "2024-05-31", "2024"),
        ("2024-05-31", "On Friday he spoke.", None, "2024"),
        # the source's own wording is left alone
        ("Tuesday 17 November", "anything", None, "Tuesday 17 November"),
        ("2026-13-01", "anything", None, "2026"),
    ],
)
def test_as_precise_as(date: str, text: str, published: str | None, expected: str) -> None:
    assert as_precise_as(date, text, published) == expected


def test_the_day_a_sentence_names_is_found() -> None:
    found = dates.found
    published = "2026-11-20T14:05:00+00:00"  # a Friday
    assert found("It went dead at 02:47 on Tuesday 17 November.", published) == "2026-11-17"
    assert found("It stopped at 02:47 (0047 GMT) on Tuesday, Nov. 17.", published) == "2026-11-17"
    assert found("Investigators on Friday questioned the crew.", published) == "2026-11-20"
    assert found("The crew was boarded on Wednesday.", published) == "2026-11-18"
    assert found("A decision is due on 4 February 2027.", published) == "2027-02-04"
    assert found("Repairs end on January 3.", published) == "2027-01-03"  # not Jan 2026
    assert found("The mill closed on 12 May.", published) == "2026-05-12"
    assert found("Prices rose in November.", published) is None  # a month is no day
    assert found("They may meet again.", published) is None
    assert found("Not a day: 30 February.", published) is None
    assert found("On Tuesday, the crew was freed.", None) is None  # no date to count from
    assert found("Filed 2025-03-04.", None) == "2025-03-04"
    assert found("Signed on 29 February.", "2025-01-10") is None  # no such day nearby
    assert found("Signed on 29 February.", "2024-09-01") == "2024-02-29"
