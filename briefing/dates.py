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


_ALL_MONTHS = "|".join(_month_names(m) for m in range(1, 13))
# "17 November", "17th of November 2026", "November 17", "Nov. 17, 2026", "2026-11-17".
_DAY_MONTH = re.compile(
    rf"\b(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{_ALL_MONTHS})(?![a-z])"
    rf"(?:,?\s+(?P<y1>\d{{4}})\b)?"
    rf"|\b(?P<m2>{_ALL_MONTHS})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y2>\d{{4}})\b)?"
    rf"|\b(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})\b",
    re.IGNORECASE,
)
_ON_WEEKDAY = re.compile(rf"\bon\s+({'|'.join(WEEKDAYS)})\b", re.IGNORECASE)
# A day and month without a year fall within these many days after and before the
# article's date: news tells of the months past and the weeks ahead.
_AHEAD, _BEHIND = 92, 273
_RECENT = 7  # a weekday named in an article is one of the seven days up to its date


def found(text: str, published: str | None = None) -> str | None:
    """The first day ``text`` names, as ``YYYY-MM-DD``: a date ("17 November", "Nov. 17,
    2026", "2026-11-17"; without a year, the one from nine months before ``published`` to
    three after: "January 3" in an article of November is next January's), or, with
    ``published``, "on Tuesday", the last Tuesday up to publication. None when it names
    no day (a month or year alone is no event's day)."""
    try:
        then = dt.date.fromisoformat((published or "")[:10])
    except ValueError:
        then = None
    for match in _DAY_MONTH.finditer(" ".join(text.split())):
        if match["iso"]:
            try:
                return dt.date.fromisoformat(match["iso"]).isoformat()
            except ValueError:
                continue
        day = int(match["d1"] or match["d2"])
        name = (match["m1"] or match["m2"]).lower().rstrip(".")
        month = next(i for i, m in enumerate(MONTHS, 1) if m.startswith(name[:3]))
        written = match["y1"] or match["y2"]
        if written is None and then is None:
            continue
        year = int(written) if written else then.year if then else 0
        try:
            date = dt.date(year, month, day)
        except ValueError:
            continue
        if written is None and then is not None:
            shift = -1 if (date - then).days > _AHEAD else 1 if (then - date).days > _BEHIND else 0
            try:
                date = date.replace(year=year + shift)
            except ValueError:  # 29 February of a year that has none
                continue
        return date.isoformat()
    weekday = _ON_WEEKDAY.search(text)
    if weekday and then is not None:
        back = (then.weekday() - WEEKDAYS.index(weekday[1].lower())) % _RECENT
        return (then - dt.timedelta(days=back)).isoformat()
    return None


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
