"""The briefing's two pictures, laid out for the page: a risk matrix and a coverage grid.

This module only computes geometry and labels (plain numbers and strings); the SVG itself is
written by the autoescaped template ``briefing/templates/charts.html.j2``, so untrusted text
(risks, outlets, headlines) can only ever become SVG text nodes or ``<title>`` text, never
markup. Both charts have a text alternative: a ``<title>``/``<desc>`` pair referenced by
``aria-labelledby`` on an ``<svg role="img">`` (the pattern of WAI's images tutorial,
https://www.w3.org/WAI/tutorials/images/complex/) and a list beside the picture that says
the same in words.

Geometry is in SVG user units; the page scales the whole picture to its column width, so
the numbers only fix proportions. Text widths are estimated at 0.6 em per character, a
safe upper bound for the sans-serif faces the page asks for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from briefing.models import Briefing

LEVELS = ("low", "medium", "high")
CHAR_WIDTH = 0.6  # em per character, generous for proportional sans-serif text


def clip(text: str, chars: int) -> str:
    """``text`` on one line, cut to at most ``chars`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: max(chars - 1, 1)].rstrip() + "…"


# --- risk matrix ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedRisk:
    """One risk of the briefing, numbered R1, R2, ... in story order, and where it sits."""

    key: str
    anchor: str
    story: int
    headline: str
    risk: str
    exposed: str
    likelihood: str
    impact: str
    x: float
    y: float
    r: float
    font: float


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    w: float
    h: float
    severity: int  # 0 (low x low) .. 4 (high x high)
    likelihood: str
    impact: str


@dataclass
class RiskMatrix:
    """A 3 x 3 grid, likelihood across (low to high), impact up (low to high)."""

    width: float
    height: float
    left: float
    top: float
    cell_w: float
    cell_h: float
    cells: list[Cell] = field(default_factory=list)
    risks: list[PlacedRisk] = field(default_factory=list)

    @property
    def description(self) -> str:
        """What the picture shows, in words (the SVG's ``<desc>``)."""
        if not self.risks:
            return "No risks were reported."
        parts = [
            f"{r.key}, {r.risk}: likelihood {r.likelihood}, impact {r.impact}" for r in self.risks
        ]
        return "; ".join(parts) + "."


def _level(value: str) -> int:
    return LEVELS.index(value) if value in LEVELS else 0


def _pack(n: int, w: float, h: float) -> tuple[int, int, float]:
    """Columns, rows and spacing for ``n`` equal dots in a ``w`` x ``h`` box."""
    best = (1, n, 0.0)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        step = min(w / cols, h / rows)
        if step > best[2]:
            best = (cols, rows, step)
    return best


def risk_matrix(briefing: Briefing) -> RiskMatrix:
    """Lay out every risk of ``briefing`` in its likelihood x impact cell."""
    left, top, cell_w, cell_h = 78.0, 10.0, 96.0, 72.0
    matrix = RiskMatrix(
        width=left + 3 * cell_w + 8,
        height=top + 3 * cell_h + 44,
        left=left,
        top=top,
        cell_w=cell_w,
        cell_h=cell_h,
    )
    for li, likelihood in enumerate(LEVELS):
        for ii, impact in enumerate(LEVELS):
            matrix.cells.append(
                Cell(
                    x=left + li * cell_w,
                    y=top + (2 - ii) * cell_h,
                    w=cell_w,
                    h=cell_h,
                    severity=li + ii,
                    likelihood=likelihood,
                    impact=impact,
                )
            )
    found = [(story, risk) for story in briefing.stories for risk in story.risks]
    by_cell: dict[tuple[int, int], list[int]] = {}
    for i, (_, risk) in enumerate(found):
        by_cell.setdefault((_level(risk.likelihood), _level(risk.impact)), []).append(i)
    placed: dict[int, PlacedRisk] = {}
    pad = 8.0
    for (li, ii), members in by_cell.items():
        cols, _, step = _pack(len(members), cell_w - 2 * pad, cell_h - 2 * pad)
        rows = math.ceil(len(members) / cols)
        step = min(step, 30.0)
        x0 = left + li * cell_w + (cell_w - cols * step) / 2 + step / 2
        y0 = top + (2 - ii) * cell_h + (cell_h - rows * step) / 2 + step / 2
        for k, i in enumerate(members):
            story, risk = found[i]
            placed[i] = PlacedRisk(
                key=f"R{i + 1}",
                anchor=f"risk-{i + 1}",
                story=story.number,
                headline=story.headline,
                risk=risk.risk,
                exposed=risk.exposed,
                likelihood=LEVELS[li],
                impact=LEVELS[ii],
                x=round(x0 + (k % cols) * step, 1),
                y=round(y0 + (k // cols) * step, 1),
                r=round(step * 0.43, 1),
                font=round(step * 0.36, 1),
            )
    matrix.risks = [placed[i] for i in range(len(found))]
    return matrix


def risk_keys(briefing: Briefing) -> dict[tuple[int, int], str]:
    """``(story number, risk index from 0)`` -> the risk's key in the matrix (``"R3"``)."""
    keys: dict[tuple[int, int], str] = {}
    for story in briefing.stories:
        for i in range(len(story.risks)):
            keys[(story.number, i)] = f"R{len(keys) + 1}"
    return keys


# --- coverage grid -------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """An outlet's article(s) in one story."""

    x: float
    y: float
    size: float
    sources: list[int]
    label: str
    font: float
    title: str


@dataclass(frozen=True)
class Row:
    outlet: str
    label: str
    y: float


@dataclass(frozen=True)
class Column:
    story: int
    headline: str
    x: float
    outlets: list[str]


@dataclass
class CoverageGrid:
    """Outlets down, stories across; a mark where an outlet's article is in a story."""

    width: float
    height: float
    left: float
    top: float
    cell: float
    rows: list[Row] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    @property
    def description(self) -> str:
        """What the picture shows, in words (the SVG's ``<desc>``)."""
        if not self.columns:
            return "No stories."
        return " ".join(
            f"Story {c.story}, {c.headline}: {', '.join(c.outlets) or 'no outlet'}."
            for c in self.columns
        )


def coverage_grid(briefing: Briefing, label_chars: int = 24) -> CoverageGrid:
    """Which outlets covered which story: one row per outlet, one column per story."""
    outlets: dict[str, list[int]] = {}
    for source in briefing.sources:
        name = " ".join(source.outlet.split()) or f"Source {source.number}"
        outlets.setdefault(name, []).append(source.number)
    font = 12.0
    longest = max((len(clip(name, label_chars)) for name in outlets), default=6)
    left = math.ceil(longest * CHAR_WIDTH * font) + 14
    cell, top = 30.0, 30.0
    grid = CoverageGrid(
        width=left + cell * max(len(briefing.stories), 1) + 6,
        height=top + cell * max(len(outlets), 1) + 6,
        left=left,
        top=top,
        cell=cell,
    )
    for r, (name, _) in enumerate(outlets.items()):
        grid.rows.append(Row(outlet=name, label=clip(name, label_chars), y=top + r * cell))
    for c, story in enumerate(briefing.stories):
        x = left + c * cell
        covering: list[str] = []
        for r, (name, numbers) in enumerate(outlets.items()):
            mine = [n for n in numbers if n in story.sources]
            if not mine:
                continue
            covering.append(name)
            label = ",".join(map(str, mine)) if len(mine) <= 2 else f"×{len(mine)}"
            grid.marks.append(
                Mark(
                    x=x + 3,
                    y=top + r * cell + 3,
                    size=cell - 6,
                    sources=mine,
                    label=label,
                    font=round(min(11.0, (cell - 10) / (len(label) * CHAR_WIDTH)), 1),
                    title=f"{name} in story {story.number}: "
                    + ", ".join(f"source {n}" for n in mine),
                )
            )
        grid.columns.append(
            Column(story=story.number, headline=story.headline, x=x, outlets=covering)
        )
    return grid
