"""Scheduled jobs: stored in brief's config file, run by cron or a systemd user timer.

A job is a table of the config file (TOML), written with ``tomlkit`` so the user's
comments and layout survive::

    [jobs.morning]
    input = "/home/me/inbox"
    out = "/home/me/briefings"
    at = "07:00"
    email = ["me@example.org"]
    scheduler = "cron"            # or "systemd"

:func:`add` stores the job and installs it: a crontab line through python-crontab
(the user's crontab, or a crontab file the caller names), tagged with the comment
``brief:NAME`` so that adding the job again replaces the line instead of adding a
second one; or, with ``scheduler="systemd"``, a user service and timer
(``brief-NAME.service`` / ``.timer``). :func:`remove` undoes both; :func:`list_jobs`
shows each job with its next run time (croniter) and its last result (the job's log,
see :mod:`briefing.jobs`).

Nothing here reads the environment, the clock or the disk by itself: the config
path, the crontab file, the systemd folder, ``now`` and the command are passed in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomlkit
from croniter import croniter
from crontab import CronTab
from pydantic import BaseModel, Field, ValidationError, field_validator

from briefing import files
from briefing.config import read_config_file
from briefing.errors import JobError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
AT = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
TAG = "brief:"  # the crontab comment that marks a job's line


class FeedSource(BaseModel):
    """A news feed a job fetches into its inbox before each run (briefing/feeds.py)."""

    model_config = {"extra": "forbid"}

    url: str = Field(description="The feed's http(s) URL: RSS, Atom or JSON Feed.")
    name: str | None = Field(
        default=None, description="The outlet's name; by default the feed's own title."
    )


class Job(BaseModel):
    """A scheduled briefing: which folder, where the briefings go, when, to whom."""

    model_config = {"extra": "forbid"}

    name: str
    input: Path
    out: Path
    at: str = Field(description="Time of day, HH:MM, in the machine's time zone.")
    email: list[str] = Field(default_factory=list)
    scheduler: Literal["cron", "systemd"] = "cron"
    sources: list[FeedSource] = Field(
        default_factory=list, description="Feeds fetched into the inbox first (brief sources)."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError("use letters, digits, '-' and '_' only (at most 64)")
        return value

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        match = AT.fullmatch(value.strip())
        if not match:
            raise ValueError("give the time of day as HH:MM, e.g. 07:00")
        return f"{int(match[1]):02d}:{match[2]}"

    @property
    def cron(self) -> str:
        """The job's five-field cron schedule: every day at ``at``."""
        hour, minute = self.at.split(":")
        return f"{int(minute)} {int(hour)} * * *"

    def next_run(self, now: dt.datetime) -> dt.datetime:
        """When the scheduler starts the job next, after ``now``."""
        return croniter(self.cron, now).get_next(dt.datetime)


@dataclass
class Where:
    """Where jobs are installed: a crontab file (None: the user's crontab, through the
    ``crontab`` command) and the folder of systemd user units."""

    tabfile: Path | None = None
    systemd_dir: Path | None = None


@dataclass
class JobInfo:
    job: Job
    next_run: dt.datetime
    installed: bool
    last: str | None


# --- the config file ------------------------------------------------------------------------


def load_jobs(config_path: Path) -> dict[str, Job]:
    """The jobs of the config file, by name."""
    table = read_config_file(config_path).get("jobs", {})
    if not isinstance(table, dict):
        raise JobError(f"{config_path}: 'jobs' must be a table ([jobs.NAME]); fix the file.")
    jobs = {}
    for name, fields in table.items():
        try:
            jobs[name] = Job.model_validate({**fields, "name": name})
        except (ValidationError, TypeError) as err:
            raise JobError(
                f"{config_path}: job '{name}' is not valid ({_first(err)}); fix [jobs.{name}] "
                f"or run: brief schedule remove {name}"
            ) from err
    return jobs


def get_job(config_path: Path, name: str) -> Job:
    jobs = load_jobs(config_path)
    if name not in jobs:
        known = ", ".join(sorted(jobs)) or "none yet"
        raise JobError(
            f"no job '{name}' in {config_path} (jobs: {known}). Add it with: "
            f"brief schedule add {name} --input FOLDER --at 07:00"
        )
    return jobs[name]


def edit_config(config_path: Path, change: Any) -> None:
    """Apply ``change(document)`` to the config file, keeping its comments; atomic."""
    read_config_file(config_path)  # the usual checks (valid TOML, no secrets)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except OSError as err:
        raise JobError(f"cannot read {config_path}: {err.strerror}.") from err
    document = tomlkit.parse(text)
    change(document)
    try:
        config_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise JobError(f"cannot create {config_path.parent}: {err.strerror}.") from err
    files.atomic_write(config_path, tomlkit.dumps(document))


def _store(config_path: Path, job: Job) -> None:
    def change(document: Any) -> None:
        if "jobs" not in document:
            document["jobs"] = tomlkit.table(is_super_table=True)
        fields = job.model_dump(mode="json", exclude={"name", "sources"})
        old = document["jobs"].get(job.name)
        table = tomlkit.table()
        for key, value in fields.items():
            table[key] = value
        if job.sources:
            table["sources"] = sources_array(job.sources)
        elif old is not None and "sources" in old:  # adding the job again keeps its feeds
            table["sources"] = old["sources"]
        document["jobs"][job.name] = table

    edit_config(config_path, change)


def sources_array(sources: Sequence[FeedSource]) -> Any:
    """Feeds as a TOML array of inline tables, one a line."""
    array = tomlkit.array()
    array.multiline(True)
    for source in sources:
        item = tomlkit.inline_table()
        item.update(source.model_dump(exclude_none=True))
        array.append(item)
    return array


def _forget(config_path: Path, name: str) -> None:
    def change(document: Any) -> None:
        jobs = document.get("jobs")
        if jobs is not None and name in jobs:
            del jobs[name]

    edit_config(config_path, change)


# --- cron -------------------------------------------------------------------------------------


def _crontab(where: Where) -> CronTab:
    try:
        if where.tabfile is None:
            return CronTab(user=True)
        where.tabfile.parent.mkdir(parents=True, exist_ok=True)
        where.tabfile.touch(exist_ok=True)
        return CronTab(tabfile=str(where.tabfile))
    except (OSError, ValueError) as err:
        target = where.tabfile or "the user's crontab"
        raise JobError(
            f"cannot read {target} ({err}). Is cron installed (the `crontab` command)? "
            "Or use --systemd."
        ) from err


def _write_crontab(tab: CronTab, where: Where) -> None:
    try:
        tab.write()
    except (OSError, ValueError) as err:
        target = where.tabfile or "the user's crontab"
        raise JobError(f"cannot write {target} ({err}). Check cron, or use --systemd.") from err


def _cron_lines(tab: CronTab, name: str) -> list[Any]:
    return list(tab.find_comment(TAG + name))


def _install_cron(job: Job, command: Sequence[str], where: Where) -> None:
    tab = _crontab(where)
    tab.remove(*_cron_lines(tab, job.name))
    line = tab.new(command=shlex.join(command), comment=TAG + job.name)
    line.setall(job.cron)
    _write_crontab(tab, where)


def _uninstall_cron(name: str, where: Where) -> bool:
    tab = _crontab(where)
    lines = _cron_lines(tab, name)
    if lines:
        tab.remove(*lines)
        _write_crontab(tab, where)
    return bool(lines)


# --- systemd ----------------------------------------------------------------------------------


def unit_names(name: str) -> tuple[str, str]:
    return f"brief-{name}.service", f"brief-{name}.timer"


def _install_systemd(job: Job, command: Sequence[str], folder: Path) -> list[Path]:
    """A oneshot service and a daily timer (systemd.service(5), systemd.timer(5));
    ``Persistent=true`` runs a morning missed while the machine was off at the next boot."""
    service, timer = unit_names(job.name)
    texts = {
        service: (
            f"[Unit]\nDescription=brief job {job.name}\n\n"
            f"[Service]\nType=oneshot\nExecStart={shlex.join(command)}\n"
        ),
        timer: (
            f"[Unit]\nDescription=brief job {job.name}, daily at {job.at}\n\n"
            f"[Timer]\nOnCalendar=*-*-* {job.at}:00\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target\n"
        ),
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise JobError(f"cannot create {folder}: {err.strerror}.") from err
    paths = []
    for file_name, text in texts.items():
        files.atomic_write(folder / file_name, text)
        paths.append(folder / file_name)
    return paths


def _uninstall_systemd(name: str, folder: Path) -> bool:
    removed = False
    for file_name in unit_names(name):
        path = folder / file_name
        if path.exists():
            path.unlink()
            removed = True
    return removed


# --- the operations ---------------------------------------------------------------------------


def job_command(base: Sequence[str], name: str, config_path: Path) -> list[str]:
    """The command the scheduler runs: quiet unless something fails (cron mails any output)."""
    return [*base, "run", name, "--quiet", "--config", str(config_path)]


def make_job(
    name: str,
    *,
    input: Path,
    at: str,
    out: Path,
    email: Sequence[str] = (),
    systemd: bool = False,
) -> Job:
    """A checked job; folders made absolute (the scheduler runs from another folder)."""
    try:
        return Job(
            name=name,
            input=input.expanduser().resolve(),
            out=out.expanduser().resolve(),
            at=at,
            email=list(email),
            scheduler="systemd" if systemd else "cron",
        )
    except ValidationError as err:
        raise JobError(f"job '{name}': {_first(err)}.") from err


def add(job: Job, *, config_path: Path, base_command: Sequence[str], where: Where) -> list[str]:
    """Install ``job`` and store it in the config file, replacing a job of that name.

    Returns what to tell the user: where it was installed and, for systemd, the
    command that enables the timer.
    """
    command = job_command(base_command, job.name, config_path)
    read_config_file(config_path)  # a broken config file stops here, before installing
    notes: list[str] = []
    if job.scheduler == "systemd":
        if where.systemd_dir is None:
            raise JobError("no systemd user unit folder given; this is a bug in the caller.")
        _uninstall_cron_quietly(job.name, where)
        paths = _install_systemd(job, command, where.systemd_dir)
        notes += [f"wrote {path}" for path in paths]
        notes.append(
            "enable it with: systemctl --user daemon-reload && "
            f"systemctl --user enable --now {unit_names(job.name)[1]}"
        )
    else:
        if where.systemd_dir is not None:
            _uninstall_systemd(job.name, where.systemd_dir)
        _install_cron(job, command, where)
        target = where.tabfile or "your crontab"
        notes.append(f"installed in {target}: {job.cron} {shlex.join(command)}")
    _store(config_path, job)
    notes.append(f"stored job '{job.name}' in {config_path}")
    return notes


def _uninstall_cron_quietly(name: str, where: Where) -> None:
    """Drop a cron line left from an earlier cron job of that name, if cron is there."""
    with contextlib.suppress(JobError):
        _uninstall_cron(name, where)


def remove(name: str, *, config_path: Path, where: Where) -> list[str]:
    """Remove job ``name`` from the config file, the crontab and the systemd folder."""
    get_job(config_path, name)
    notes = []
    if where.systemd_dir is not None and _uninstall_systemd(name, where.systemd_dir):
        notes.append(
            f"removed the systemd units; run: systemctl --user disable --now {unit_names(name)[1]}"
        )
    try:
        if _uninstall_cron(name, where):
            notes.append(f"removed the line from {where.tabfile or 'your crontab'}")
    except JobError:
        pass  # no cron here: the job was a systemd one
    _forget(config_path, name)
    notes.append(f"removed job '{name}' from {config_path}")
    return notes


def list_jobs(
    *, config_path: Path, where: Where, now: dt.datetime, last: Any = None
) -> list[JobInfo]:
    """Every job with its next run, whether it is installed, and ``last(name)``: its
    last result (see :func:`briefing.jobs.last_result`)."""
    jobs = load_jobs(config_path)
    tab: CronTab | None = None
    if any(job.scheduler == "cron" for job in jobs.values()):
        try:
            tab = _crontab(where)
        except JobError:
            tab = None
    infos = []
    for name, job in sorted(jobs.items()):
        if job.scheduler == "cron":
            installed = tab is not None and bool(_cron_lines(tab, name))
        else:
            folder = where.systemd_dir
            installed = folder is not None and (folder / unit_names(name)[1]).exists()
        infos.append(JobInfo(job, job.next_run(now), installed, last(name) if last else None))
    return infos


def _first(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}"
    return str(err)
