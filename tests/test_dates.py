"""Dates no more precise than their sources (briefing/dates.py)."""

from __future__ import annotations

import pytest

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
