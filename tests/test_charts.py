from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_render import HOSTILE, make_briefing, parse_html

from briefing import charts, render
from briefing.models import Briefing, Risk, Source, Story

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "example-briefing" / "2026-11-22.json"
SVG = "{http://www.w3.org/2000/svg}"


def example() -> Briefing:
    return Briefing.model_validate_json(EXAMPLE.read_text(encoding="utf-8"))


def with_risks(levels: list[tuple[str, str]]) -> Briefing:
    """The test briefing with story 1's risks replaced by one risk per (likelihood, impact)."""
    briefing = make_briefing()
    briefing.stories[0].risks = [
        Risk(risk=f"risk {i}", exposed="x", likelihood=li, impact=im)  # type: ignore[arg-type]
        for i, (li, im) in enumerate(levels)
    ]
    return briefing


def test_risk_matrix_places_each_risk_in_its_cell() -> None:
    levels = list(itertools.product(charts.LEVELS, charts.LEVELS))
    briefing = with_risks(levels)
    m = charts.risk_matrix(briefing)
    # story 1's nine risks, then story 2's one, numbered in reading order
    assert [r.key for r in m.risks] == [f"R{i}" for i in range(1, 11)]
    assert [r.story for r in m.risks] == [1] * 9 + [2]
    for r, (likelihood, impact) in zip(m.risks, levels, strict=False):
        assert (r.likelihood, r.impact) == (likelihood, impact)
        column = charts.LEVELS.index(likelihood)
        row = 2 - charts.LEVELS.index(impact)  # high impact at the top
        assert m.left + column * m.cell_w < r.x < m.left + (column + 1) * m.cell_w
        assert m.top + row * m.cell_h < r.y < m.top + (row + 1) * m.cell_h
    assert len(m.cells) == 9
    worst = next(c for c in m.cells if c.likelihood == "high" and c.impact == "high")
    assert worst.severity == 4 and worst.y == m.top


@pytest.mark.parametrize("crowd", [2, 5, 12, 30])
def test_risks_sharing_a_cell_do_not_overlap(crowd: int) -> None:
    m = charts.risk_matrix(with_risks([("high", "medium")] * crowd))
    mine = [r for r in m.risks if r.story == 1]
    for a, b in itertools.combinations(mine, 2):
        assert math.dist((a.x, a.y), (b.x, b.y)) >= a.r + b.r
    cell = next(c for c in m.cells if (c.likelihood, c.impact) == ("high", "medium"))
    for r in mine:
        assert cell.x <= r.x - r.r and r.x + r.r <= cell.x + cell.w
        assert cell.y <= r.y - r.r and r.y + r.r <= cell.y + cell.h
        # the label fits its dot (0.6 em per character)
        assert len(r.key) * charts.CHAR_WIDTH * r.font <= 2 * r.r


def test_risk_keys_match_the_matrix() -> None:
    briefing = example()
    keys = charts.risk_keys(briefing)
    m = charts.risk_matrix(briefing)
    assert list(keys.values()) == [r.key for r in m.risks]
    assert len(keys) == sum(len(s.risks) for s in briefing.stories)


def test_coverage_grid_marks_who_covered_what() -> None:
    briefing = example()
    grid = charts.coverage_grid(briefing)
    by_outlet: dict[str, set[int]] = {}
    for s in briefing.sources:
        by_outlet.setdefault(s.outlet, set()).add(s.number)
    assert [row.outlet for row in grid.rows] == list(by_outlet)  # one row per outlet
    assert [c.story for c in grid.columns] == [s.number for s in briefing.stories]
    expected = {
        (outlet, story.number)
        for story in briefing.stories
        for outlet, numbers in by_outlet.items()
        if numbers & set(story.sources)
    }
    row_of = {row.y: row.outlet for row in grid.rows}
    col_of = {c.x: c.story for c in grid.columns}
    found = {(row_of[m.y - 3], col_of[m.x - 3]) for m in grid.marks}
    assert found == expected
    # The Northern Ledger wrote for two stories: its row has two marks
    ledger = next(r for r in grid.rows if r.outlet == "The Northern Ledger")
    assert sum(1 for m in grid.marks if m.y - 3 == ledger.y) == 2
    for c in grid.columns:
        assert c.headline in grid.description
        assert all(outlet in grid.description for outlet in c.outlets)


def test_coverage_grid_clips_long_outlet_names() -> None:
    briefing = make_briefing()
    briefing.sources.append(
        Source(number=4, article_id="d", title="t", outlet="A" * 90, path="d.md")
    )
    briefing.stories.append(
        Story(number=3, sources=[4], headline="h", top_line="", summary="", divergence="")
    )
    grid = charts.coverage_grid(briefing, label_chars=20)
    row = grid.rows[-1]
    assert row.outlet == "A" * 90 and len(row.label) == 20 and row.label.endswith("…")
    assert grid.left < 20 * charts.CHAR_WIDTH * 12 + 20
    assert grid.marks[-1].label == "4"


def svgs(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter() if el.tag == SVG + "svg"]


def test_charts_have_text_alternatives() -> None:
    briefing = example()
    root = parse_html(render.to_html(briefing))
    pictures = svgs(root)
    assert len(pictures) == 2
    ids = {el.get("id"): el for el in root.iter() if el.get("id")}
    for svg in pictures:
        assert svg.get("role") == "img"
        title_id, desc_id = (svg.get("aria-labelledby") or "").split()
        title, desc = ids[title_id], ids[desc_id]
        assert title.tag == SVG + "title" and desc.tag == SVG + "desc"
        assert title in list(svg) and desc in list(svg)
        assert (title.text or "").strip() and (desc.text or "").strip()
    matrix, grid = pictures
    # the matrix says every risk in words, and its key lists each one with a link to it
    words = ids["risk-matrix-desc"].text or ""
    for story in briefing.stories:
        for risk in story.risks:
            assert risk.risk in words
    keys = charts.risk_keys(briefing)
    for key in keys.values():
        assert f"#risk-{key[1:]}" in {a.get("href") for a in root.iter("a")}
        assert f"risk-{key[1:]}" in ids
    dots = [g for g in matrix.iter(SVG + "g") if g.get("class") == "dot"]
    assert [(g.find(SVG + "text").text or "") for g in dots] == list(keys.values())  # type: ignore[union-attr]
    assert all(g.find(SVG + "title") is not None for g in dots)
    marks = [g for g in grid.iter(SVG + "g") if g.get("class") == "mark"]
    assert len(marks) == len(charts.coverage_grid(briefing).marks)


@pytest.mark.parametrize("evil", HOSTILE)
def test_hostile_text_in_charts_stays_text(evil: str) -> None:
    briefing = make_briefing(evil)
    briefing.stories[0].risks[0].risk = evil
    root = parse_html(render.to_html(briefing))
    pictures = svgs(root)
    assert len(pictures) == 2  # "<svg onload=...>" made no picture of its own
    for svg in pictures:
        names = {el.tag.removeprefix(SVG) for el in svg.iter()}
        assert names <= {"svg", "title", "desc", "rect", "text", "g", "circle"}, names
        for el in svg.iter():
            assert not any(a.lower().startswith("on") for a in el.attrib)
        assert evil in "".join(svg.itertext())
