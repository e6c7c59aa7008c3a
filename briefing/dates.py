"""Dates no more precise than their sources.

A small model asked for ``YYYY-MM-DD`` writes one even when the article says "the first
half of 2027" (2027-01-01) or "in November" (2026-11-01). :func:`as_precise_as` cuts
such a date back to what the cited text supports: the day only when the text names
that day (``17 November``, ``November 17``, ``Nov. 17th``, ``2026-11-17``), else the
month when it names the month, else the year. A date the model did not write in ISO
form (the source's own wording) is left as it is.
"""

from __future__ import annotations

import datetime as dt
import re

WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_ISO = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
MONTHS = (
    "january february march april may june july august september october november december"
).split()


def _month_names(month: int) -> str:
    """A pattern for month ``month`` (1-12): its name or its usual abbreviation, in
    any case; May only as written with a capital (else it is the verb)."""
    name = MONTHS[month - 1]
    if month == 5:
        return "(?-i:May)"
    extra = r"|sept\.?" if month == 9 else ""
    return rf"(?:{name}|{name[:3]}\.?{extra})"


def as_precise_as(date: str, text: str, published: str | None = None) -> str:
    """``date`` (``YYYY-MM-DD`` or ``YYYY-MM``) cut to the precision ``text`` supports.
    With the article's ``published`` date, a day the text names relative to it
    ("on Tuesday", "yesterday", "today") supports the date it falls on."""
    match = _ISO.fullmatch(date.strip())
    if not match:
        return date
    year, month, day = match[1], int(match[2]), match[3]
    if not 1 <= month <= 12:
        return year
    flat = " ".join(text.split())
    named = _month_names(month)
    if day is not None:
        d = int(day)
        day_pattern = (
            rf"\b{d}(?:st|nd|rd|th)?\s+(?:of\s+)?{named}(?![a-z])"
            rf"|\b{named}\s+{d}(?:st|nd|rd|th)?\b"
            rf"|\b{year}-{month:02d}-{d:02d}\b"
            rf"|\b{d}[./]{month}[./]{year}\b"
        )
        if re.search(day_pattern, flat, re.IGNORECASE) or _relative_day(
            f"{year}-{month:02d}-{d:02d}", flat, published
        ):
            return f"{year}-{month:02d}-{d:02d}"
    if re.search(rf"\b{named}(?![a-z])|\b{year}-{month:02d}\b", flat, re.IGNORECASE):
        return f"{year}-{month:02d}"
    return year


def _relative_day(date: str, text: str, published: str | None) -> bool:
    """Whether ``text`` names ``date`` relative to ``published``: its weekday within the
    week up to publication, "yesterday" for the day before, "today" for the day."""
    try:
        day = dt.date.fromisoformat(date)
        then = dt.date.fromisoformat((published or "")[:10])
    except ValueError:
        return False
    lower = text.lower()
    back = (then - day).days
    if back == 0 and re.search(r"\b(?:today|this morning|tonight)\b", lower):
        return True
    if back == 1 and re.search(r"\b(?:yesterday|last night)\b", lower):
        return True
    return 0 <= back <= 6 and re.search(rf"\b{WEEKDAYS[day.weekday()]}\b", lower) is not None
