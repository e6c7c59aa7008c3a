"""Running a scheduled job: incremental, locked, logged, and safe to fail.

``brief run JOB`` (:func:`run_job`) briefs the articles of the job's folder that are
new or changed since the job's last successful run, or, with ``since``, those whose
files changed in that window. Articles are told apart by content hash
(:func:`briefing.ingest.article_id`), so an edited article counts as new and a
renamed one does not.

Each job has a folder in the state directory::

    STATE/NAME/state.json   the hashes already briefed, the last success
    STATE/NAME/run.log      one line per run: time, result, what happened
    STATE/NAME/lock         held while the job runs (filelock)
    STATE/NAME/feeds.json   what the job's feeds answered (briefing/feeds.py)

A job with feeds (``brief sources add``) fetches them into its folder first
(:func:`briefing.feeds.fetch_sources`); a feed that fails is named in the
briefing's left-out list and costs nothing else.

The order of a run is what makes it safe to fail: read, brief, then write the
outputs (:func:`briefing.archive.publication`) and the advanced ``state.json`` as one
set (:func:`briefing.files.write_set`), so they change together or not at all. A run
that fails before that leaves the outputs and the state as they were, so the next
run tries the same articles again, and the model's answers it already had come from
the answer cache (:mod:`briefing.cache`) instead of being paid twice.

The email goes last. Its briefing is in ``state.json`` (``unsent``) from the moment
it is published until the server takes it, so a mail that fails costs no second
briefing and no second copy: the run fails (exit 1, the error says the briefing is
published and its email waits), and every later run first sends what waits, oldest
first, then briefs what is new (with nothing new, no model call at all).
A second run of the same job while one holds the lock does nothing and exits with
:data:`briefing.errors.EXIT_BUSY`.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock
from pydantic import BaseModel, Field, ValidationError

from briefing import archive, continuity, feeds, ingest, mail, render, runner
from briefing.cache import compiled_templates
from briefing.config import Config, load_config, read_config_file
from briefing.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    BriefError,
    BusyError,
    JobError,
    MailError,
    UnsentError,
)
from briefing.fetch import Fetcher
from briefing.files import atomic_write, write_set
from briefing.models import Article, Briefing, Problem
from briefing.schedule import Job, get_job
from briefing.secrets import Scrubber, secrets

SINCE = re.compile(r"\s*(\d+)\s*([mhdw])\s*")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Unsent(BaseModel):
    """A briefing published but not yet emailed."""

    stem: str = Field(description="The name it was published under, e.g. 2026-11-22.")
    briefing: Briefing
    error: str = Field(default="", description="Why the last try failed.")


class JobState(BaseModel):
    """What a job has done: advanced together with a run's outputs."""

    seen: dict[str, str] = Field(
        default_factory=dict, description="Content hash -> path of every article briefed."
    )
    reported: dict[str, str] = Field(
        default_factory=dict, description="Path -> reason of files already reported unusable."
    )
    last_success: dt.datetime | None = None
    last_briefing: str | None = None
    unsent: list[Unsent] = Field(
        default_factory=list, description="Briefings published whose email is still to go."
    )


@dataclass
class RunResult:
    job: str
    status: str  # "ok", "partial" or "nothing new"
    message: str
    briefing: Briefing | None = None
    files: list[Path] = field(default_factory=list)
    feed_problems: list[Problem] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.status == "partial" else EXIT_OK


def parse_since(text: str) -> dt.timedelta:
    """``24h``, ``90m``, ``2d``, ``1w`` as a time span."""
    match = SINCE.fullmatch(text)
    if not match or int(match[1]) == 0:
        raise JobError(f"--since {text!r}: give a span like 24h, 90m, 2d or 1w.")
    return dt.timedelta(**{UNITS[match[2]]: int(match[1])})


# --- state and log --------------------------------------------------------------------------


def job_dir(state_dir: Path, name: str) -> Path:
    return state_dir / name


def load_state(state_dir: Path, name: str) -> JobState:
    path = job_dir(state_dir, name) / "state.json"
    try:
        return JobState.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return JobState()
    except (OSError, ValidationError) as err:
        raise JobError(
            f"{path} is unreadable or damaged ({err.__class__.__name__}). Move it away: the "
            "next run then briefs every article in the folder again."
        ) from err


def _save_state(state_dir: Path, name: str, state: JobState) -> None:
    atomic_write(job_dir(state_dir, name) / "state.json", state.model_dump_json(indent=2))


def _log(
    state_dir: Path,
    name: str,
    now: dt.datetime,
    status: str,
    message: str,
    scrub: Scrubber | None = None,
) -> None:
    line = f"{now.isoformat(timespec='seconds')} {status}: {(scrub or Scrubber()).line(message)}\n"
    try:
        with (job_dir(state_dir, name) / "run.log").open("a", encoding="utf-8") as handle:
            handle.write(line)
    except OSError:
        pass  # a log that cannot be written must not fail the run it reports on


def last_result(state_dir: Path, name: str) -> str | None:
    """The last line of the job's log, or None if it never ran."""
    path = job_dir(state_dir, name) / "run.log"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return lines[-1] if lines else None


# --- the run --------------------------------------------------------------------------------


def run_job(
    name: str,
    *,
    config_path: Path,
    env: Mapping[str, str],
    now: Callable[[], dt.datetime],
    state_dir: Path,
    cache_dir: Callable[[Config], Path],
    since: str | None = None,
    smtp_context: Any = None,
    http_client: Any = None,
    fetcher: Fetcher | None = None,
    log: Callable[[str, BaseException], None] | None = None,
) -> RunResult:
    """Run job ``name`` of the config file once. ``cache_dir(config)`` says where the
    answer cache is; ``now()`` is the clock; ``fetcher`` reads the job's feeds (by
    default a :class:`~briefing.fetch.Fetcher` of its own); ``log(message, error)``
    gets what was not foreseen in a feed."""
    job = get_job(config_path, name)
    config = load_config({"out_dir": job.out}, env, config_path)
    window = parse_since(since) if since else None
    smtp = None
    if job.email:  # checked before the lock and any model call
        smtp = mail.load_settings(read_config_file(config_path).get("smtp"), env)
    # The log line says what the server said: without the key or a password in it.
    scrub = Scrubber(secrets(env, [smtp.password if smtp else None, config.api_key]))
    record = functools.partial(_log, state_dir, name, scrub=scrub)  # a line of run.log
    folder = job_dir(state_dir, name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise JobError(f"cannot create the job folder {folder}: {err.strerror}.") from err
    lock = filelock.FileLock(folder / "lock", timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        message = (
            f"job '{name}' is already running (lock {folder / 'lock'}); this run did nothing. "
            "Wait for the other run to finish."
        )
        record(now(), "busy", message)
        raise BusyError(message) from None
    try:
        started = now()
        try:
            result = _run(
                job,
                config,
                started,
                state_dir,
                window,
                cache_dir(config),
                smtp,
                smtp_context,
                http_client,
                fetcher,
                log,
            )
        except UnsentError as err:
            record(started, "failed", str(err))
            raise
        except BriefError as err:
            record(started, "failed", f"{err} (state kept; the next run retries)")
            raise
        record(started, result.status, result.message)
        return result
    finally:
        lock.release()


def _run(
    job: Job,
    config: Config,
    now: dt.datetime,
    state_dir: Path,
    window: dt.timedelta | None,
    cache_dir: Path,
    smtp: mail.SmtpSettings | None,
    smtp_context: Any,
    http_client: Any,
    fetcher: Fetcher | None,
    log: Callable[[str, BaseException], None] | None,
) -> RunResult:
    state = load_state(state_dir, job.name)
    mailed = _send_unsent(job, state, state_dir, smtp, smtp_context)  # an earlier run's
    feed_problems: list[Problem] = []
    if job.sources:
        own = fetcher is None
        fetcher = fetcher or Fetcher()
        try:
            report = feeds.fetch_sources(
                job.sources,
                job.input,
                job_dir(state_dir, job.name) / feeds.STATE_FILE,
                fetcher,
                log=log,
            )
        finally:
            if own:
                fetcher.close()
        feed_problems = report.problems
    articles, problems = _read(job, config.out_dir)
    if window is not None:
        new = [a for a in articles if _changed_within(job.input / a.path, now - window)]
    else:
        new = [a for a in articles if a.id not in state.seen]
    fresh_problems = [p for p in problems if state.reported.get(p.path) != p.reason]
    if not new:
        what = f"in the last {since_text(window)}" if window else "since the last run"
        unusable = [f"{p.path} ({p.reason})" for p in fresh_problems if not p.skipped]
        note = f" Cannot use: {'; '.join(unusable)}." if unusable else ""
        fetched = f" Cannot fetch: {len(feed_problems)} (named below)." if feed_problems else ""
        message = f"nothing new in {job.input} {what}.{note}{fetched}"
        _raise_if_unsent(job, state, mailed)
        if mailed:
            message = f"{_mailed_text(job, mailed)}; {message}"
        status = "partial" if feed_problems else "ok" if mailed else "nothing new"
        return RunResult(job.name, status, message, feed_problems=feed_problems)
    notes: list[str] = []  # a cache that could not be used: said in the run's line
    briefing = runner.brief(
        new,
        [*feed_problems, *fresh_problems],
        config,
        now=now,
        cache_dir=cache_dir,
        http_client=http_client,
        warn=notes.append,
    )
    published = archive.load(config.out_dir)  # damaged: the run stops, nothing written
    briefing = _follow(briefing, new, job.input, published, notes, log)
    texts = archive.publication(
        briefing,
        config.out_dir,
        now=now,
        formats=config.formats,
        title=f"job {job.name}",
        compiled=compiled_templates(cache_dir),
        articles=new,
        archive=published,
    )
    files = list(texts)
    stem = files[0].stem
    failed = {p.path for p in briefing.problems if not p.skipped}
    for article in new:
        if article.path not in failed:
            state.seen[article.id] = article.path
    state.reported.update({p.path: p.reason for p in fresh_problems})  # not feeds': they retry
    state.last_success = now
    state.last_briefing = stem
    if smtp is not None:
        state.unsent.append(Unsent(stem=stem, briefing=briefing))
    texts[job_dir(state_dir, job.name) / "state.json"] = state.model_dump_json(indent=2)
    render.make_folder(config.out_dir)
    write_set(texts)  # the outputs and the state: together or not at all
    status = "partial" if failed else "ok"
    stories = len(briefing.stories)
    going_on = sum(1 for story in briefing.stories if story.continues is not None)
    briefed = len(new) - len(failed & {a.path for a in new})
    message = (
        f"{briefed} new or changed {'article' if briefed == 1 else 'articles'} in "
        f"{stories} {'story' if stories == 1 else 'stories'}"
        + (
            f" ({going_on} continuing {'an earlier one' if going_on == 1 else 'earlier ones'})"
            if going_on
            else ""
        )
        + f"; wrote {files[0].with_suffix('')}"
        f".{{{','.join(p.suffix[1:] for p in files if p.stem == stem)}}}"
        + (f"; left out {len(failed)} (retried next run)" if failed else "")
        + "".join(f"; {note}" for note in notes)
    )
    if smtp is not None:
        if len(state.unsent) == 1:  # nothing older still waits: send this one now
            mailed += _send_unsent(job, state, state_dir, smtp, smtp_context)
        _raise_if_unsent(job, state, mailed, wrote=message)
    if mailed:
        message += f"; {_mailed_text(job, mailed)}"
    return RunResult(job.name, status, message, briefing, files, feed_problems)


# --- email ----------------------------------------------------------------------------------


def _send_unsent(
    job: Job,
    state: JobState,
    state_dir: Path,
    smtp: mail.SmtpSettings | None,
    smtp_context: Any,
) -> list[str]:
    """Email the published briefings that wait, oldest first, up to the first failure
    (its error is kept with it); the names of those sent. ``state.json`` is saved after
    each change, so a briefing is never sent twice for want of a record."""
    if not state.unsent:
        return []
    if smtp is None:  # the job no longer emails: nothing is owed
        state.unsent = []
        _save_state(state_dir, job.name, state)
        return []
    sent: list[str] = []
    while state.unsent:
        waiting = state.unsent[0]
        try:
            mail.send(waiting.briefing, job.email, smtp, context=smtp_context)
        except MailError as err:
            waiting.error = str(err)
            _save_state(state_dir, job.name, state)
            break
        state.unsent.pop(0)
        _save_state(state_dir, job.name, state)
        sent.append(waiting.stem)
    return sent


def _raise_if_unsent(job: Job, state: JobState, mailed: list[str], wrote: str = "") -> None:
    """Fail the run if a published briefing could not be emailed, saying it waits."""
    if not state.unsent:
        return
    stems = ", ".join(u.stem for u in state.unsent)
    done = f"{wrote}; " if wrote else ""
    if mailed:
        done += f"{_mailed_text(job, mailed)}; "
    raise UnsentError(
        f"{done}the email of briefing {stems} (published in {job.out}) could not be sent: "
        f"{state.unsent[0].error} It waits: `brief run {job.name}` sends it without "
        "briefing again."
    )


def _mailed_text(job: Job, stems: list[str]) -> str:
    return f"emailed {', '.join(job.email)} ({', '.join(stems)})"


def _read(job: Job, out_dir: Path) -> tuple[list[Article], list[Problem]]:
    """Every usable article of the job's folder (none is fine: nothing new)."""
    articles: list[Article] = []
    problems: list[Problem] = []
    for item in ingest.iter_folder(job.input, exclude=out_dir):
        (articles if isinstance(item, Article) else problems).append(item)  # type: ignore[arg-type]
    return articles, problems


def _follow(
    briefing: Briefing,
    new: list[Article],
    folder: Path,
    published: archive.Archive,
    notes: list[str],
    log: Callable[[str, BaseException], None] | None,
) -> Briefing:
    """``briefing`` with its stories linked to the job's earlier stories they continue
    (:func:`briefing.continuity.follow`). Linking is an extra: if it fails, the briefing
    goes out unlinked and the run's line says why."""
    try:
        return continuity.follow(briefing, new, published, functools.partial(_reread, folder))
    except Exception as err:  # an extra must not cost the briefing
        message = f"stories not linked to earlier days ({err.__class__.__name__}: {err})"
        notes.append(message)
        if log is not None:
            log(message, err)  # the trace, in the run log
        return briefing


def _reread(folder: Path, path: str) -> Article | None:
    """An earlier article of the job's folder, or None when it is gone or unusable (or
    a path of the archive that points outside the folder)."""
    target = folder / path
    try:
        if not target.resolve().is_relative_to(folder.resolve()):
            return None
        return ingest.read_article(target, folder)
    except (BriefError, OSError, ValueError):
        return None


def _changed_within(path: Path, start: dt.datetime) -> bool:
    try:
        changed = os.stat(path).st_mtime
    except OSError:
        return False
    return changed >= start.timestamp()


def since_text(window: dt.timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g}h" if hours >= 1 else f"{window.total_seconds() / 60:g}m"
