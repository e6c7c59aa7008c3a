"""A briefing's JSON file as a compact terminal view (``brief show FILE.json``), with rich.

Every text of a briefing is untrusted, so none of it is ever parsed as rich markup: it is
put into :class:`rich.text.Text` objects as plain text, after :func:`briefing.render.clean`
has removed control characters (ESC among them, so no terminal escape sequence gets
through).
"""

from __future__ import annotations

from pathlib import Path

import pydantic
from rich.console import Console
from rich.table import Table
from rich.text import Text

from briefing import charts
from briefing.errors import InputError
from briefing.models import Briefing, Story
from briefing.render import cite_numbers, clean

LEVEL_STYLE = {"low": "green", "medium": "yellow", "high": "bold red"}


def load_briefing(path: Path) -> Briefing:
    """Read a briefing JSON file that ``brief make`` wrote; InputError names what is wrong."""
    hint = "give the .json file that `brief make` wrote"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no briefing file {path}: {hint}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a briefing file: {hint}") from None
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from e
    try:
        return Briefing.model_validate_json(data)
    except pydantic.ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        raise InputError(
            f"{path} is not a briefing: {where}: {first['msg']} ({e.error_count()} problem(s)); "
            f"{hint}"
        ) from None


def _plain(text: str, style: str = "") -> Text:
    return Text(" ".join(clean(text).split()), style=style)


def _line(*parts: Text | str) -> Text:
    line = Text()
    for part in parts:
        line.append_text(part if isinstance(part, Text) else Text(part))
    return line


def _cites(numbers: list[int]) -> Text:
    return Text("".join(f"[{n}]" for n in numbers), style="cyan") if numbers else Text()


def _rows() -> Table:
    """A borderless two-column table: a short marker, then text that wraps under itself."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _story(console: Console, story: Story, keys: dict[tuple[int, int], str]) -> None:
    console.print()
    head = _rows()
    head.add_row(
        Text(f"{story.number}.", style="bold"),
        _line(_plain(story.headline, "bold"), " ", _cites(story.sources)),
    )
    if story.top_line.strip():
        head.add_row("", _plain(story.top_line, "italic"))
    console.print(head)
    rows = _rows()
    for actor in story.actors[:4]:
        who = _plain(actor.name, "bold")
        if actor.role.strip():
            who.append(" ")
            who.append_text(_plain(f"({actor.role})", "dim"))
        rows.add_row(Text("   •"), _line(who, ": ", _plain(actor.position)))
    for i, risk in enumerate(story.risks):
        rows.add_row(
            Text(f"   {keys[(story.number, i)]}", style="bold"),
            _line(
                _plain(risk.risk),
                Text(" — likelihood ", style="dim"),
                Text(risk.likelihood, style=LEVEL_STYLE.get(risk.likelihood, "")),
                Text(", impact ", style="dim"),
                Text(risk.impact, style=LEVEL_STYLE.get(risk.impact, "")),
                " ",
                _cites(cite_numbers(risk.cites, story.sources)),
            ),
        )
    for question in story.open_questions[:2]:
        rows.add_row(Text("   ?", style="magenta"), _plain(question, "dim"))
    console.print(rows)


def show(briefing: Briefing, console: Console) -> None:
    """Print ``briefing`` compactly: top lines, then each story's essentials, then sources."""
    console.rule(_plain(briefing.title, "bold"))
    console.print(
        Text(
            f"{briefing.date.isoformat()} · {len(briefing.stories)} stories · "
            f"{len(briefing.sources)} sources · {clean(briefing.model)}",
            style="dim",
        )
    )
    if briefing.top_lines:
        console.print()
        console.print(Text("Top lines", style="bold underline"))
        tops = _rows()
        for i, top in enumerate(briefing.top_lines, 1):
            tops.add_row(
                Text(f"{i}.", style="dim"), _line(_plain(top.text), " ", _cites(top.sources))
            )
        console.print(tops)
    keys = charts.risk_keys(briefing)
    for story in briefing.stories:
        _story(console, story, keys)
    if briefing.sources:
        console.print()
        console.print(Text("Sources", style="bold underline"))
        sources = _rows()
        for source in briefing.sources:
            sources.add_row(
                Text(f"[{source.number}]", style="cyan"),
                _line(_plain(source.outlet, "bold"), " — ", _plain(source.title or "(untitled)")),
            )
        console.print(sources)
    left_out = [p for p in briefing.problems if not p.skipped]
    if left_out:
        console.print()
        for problem in left_out:
            console.print(
                _line(
                    Text("left out ", style="yellow"),
                    _plain(problem.path),
                    ": ",
                    _plain(problem.reason),
                )
            )


def show_file(path: Path, console: Console) -> Briefing:
    """Load the briefing JSON at ``path`` and print it to ``console``; returns the briefing."""
    briefing = load_briefing(path)
    show(briefing, console)
    return briefing
