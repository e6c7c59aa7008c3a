"""`brief show FILE.json`: the compact terminal view of a briefing."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from test_render import make_briefing

from briefing import charts, mdrender, render, show
from briefing.errors import EXIT_USAGE, InputError
from briefing.models import Briefing

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "example-briefing" / "2026-11-22.json"


def brief(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `brief` command in a child process, 100 columns wide, no colours."""
    env = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "briefing", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def shown(briefing: Briefing, width: int = 100) -> str:
    out = io.StringIO()
    show.show(briefing, Console(file=out, width=width, color_system=None))
    return out.getvalue()


def test_show_prints_the_example_compactly() -> None:
    result = brief("show", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    briefing = Briefing.model_validate_json(EXAMPLE.read_text(encoding="utf-8"))
    flat = " ".join(result.stdout.split())
    assert briefing.title in flat
    for story in briefing.stories:
        assert f"{story.number}. {story.headline}" in flat
    for source in briefing.sources:
        assert f"[{source.number}] {source.outlet}" in flat
    # risks carry the keys of the page's risk matrix, with their levels
    keys = charts.risk_keys(briefing)
    assert keys
    for (number, index), key in keys.items():
        risk = briefing.stories[number - 1].risks[index]
        assert f"{key} " in flat and f"likelihood {risk.likelihood}, impact {risk.impact}" in flat
    # compact: far shorter than the Markdown of the same briefing
    assert len(result.stdout.splitlines()) < len(mdrender.to_markdown(briefing).splitlines())


def test_untrusted_text_is_neither_markup_nor_escape_codes() -> None:
    briefing = make_briefing()
    briefing.stories[0].headline = "[bold red]Breaking[/] \x1b[2J\x1b]8;;http://evil/\x07news"
    text = shown(briefing)
    assert "[bold red]Breaking[/]" in text
    assert "\x1b" not in text and "\x07" not in text
    assert "[2J]8;;http://evil/news" in text


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no briefing file"),
        ("not json at all", "is not a briefing"),
        ('{"title": 3}', "is not a briefing: title"),
        ("[]", "is not a briefing"),
    ],
)
def test_bad_files_are_named_and_exit_2(tmp_path: Path, content: str | None, needle: str) -> None:
    path = tmp_path / "day.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = brief("show", str(path))
    assert result.returncode == EXIT_USAGE
    assert result.stderr.startswith("brief: ") and needle in result.stderr
    assert str(path) in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_folder_is_not_a_briefing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        show.load_briefing(tmp_path)


def test_load_briefing_round_trips(tmp_path: Path) -> None:
    briefing = make_briefing("<script>")
    path = tmp_path / "b.json"
    path.write_text(render.to_json(briefing), encoding="utf-8")
    assert show.load_briefing(path) == briefing
