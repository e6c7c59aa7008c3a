"""`brief run JOB`: incremental runs, the lock, failure and retry, email; injected clock.

Runs go through the real openai client to the fake server on 127.0.0.1; the job lives
in a real config file, its state and log in a temp state folder.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import markupsafe
import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES, ROOT
from fake_openai import FakeServer, Reply, completion, schema_name

from briefing import archive, jobs, schedule
from briefing.cli import cli as main
from briefing.errors import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    LLMError,
    RenderError,
)
from briefing.models import Briefing

NOW = dt.datetime(2026, 11, 22, 7, 0, tzinfo=dt.UTC)
BOE = ("ledger-boe-rates.md", "tribune-boe-rates.txt")
WATER = "metropost-water-rationing.txt"


class Setup:
    """An inbox, a config file holding job 'morning', and its state, cache and output."""

    def __init__(self, tmp: Path, server: FakeServer, *, email: list[str] | None = None) -> None:
        self.tmp, self.server = tmp, server
        self.inbox = tmp / "inbox"
        self.inbox.mkdir()
        self.out = tmp / "briefings"
        self.state = tmp / "state"
        self.config = tmp / "config.toml"
        self.config.write_text(f'base_url = "{server.base_url}"\n')
        job = schedule.make_job(
            "morning", input=self.inbox, at="07:00", out=self.out, email=email or []
        )
        schedule.add(
            job,
            config_path=self.config,
            base_command=["brief"],
            where=schedule.Where(tabfile=tmp / "crontab"),
        )

    def put(self, *names: str) -> None:
        for name in names:
            shutil.copy(EXAMPLES / name, self.inbox / name)

    def run(self, now: dt.datetime, **options: Any) -> jobs.RunResult:
        return jobs.run_job(
            "morning",
            config_path=self.config,
            env=options.pop("env", {}),
            now=lambda: now,
            state_dir=self.state,
            cache_dir=lambda config: self.tmp / "cache",
            **options,
        )

    def outputs(self) -> dict[str, bytes]:
        if not self.out.exists():
            return {}
        return {p.name: p.read_bytes() for p in sorted(self.out.iterdir())}

    def state_bytes(self) -> bytes:
        return (self.state / "morning" / "state.json").read_bytes()

    def log(self) -> list[str]:
        return (self.state / "morning" / "run.log").read_text().splitlines()

    def briefing(self, stem: str) -> Briefing:
        return Briefing.model_validate_json((self.out / f"{stem}.json").read_text())

    def mapped(self) -> list[str]:
        """The articles the map requests were about (their titles, from the prompt)."""
        return [r["messages"][1]["content"] for r in self.server.calls("ChunkNotes")]


@pytest.fixture
def job(tmp_path: Path, fake_server: FakeServer) -> Setup:
    return Setup(tmp_path, fake_server)


def test_first_run_writes_dated_briefing_latest_and_index(job: Setup) -> None:
    job.put(*BOE)
    result = job.run(NOW)
    assert result.status == "ok" and result.exit_code == EXIT_OK, result.message
    names = set(job.outputs())
    assert {"2026-11-22.md", "2026-11-22.html", "2026-11-22.json"} <= names
    assert {"latest.html", "index.html", "index.json"} <= names
    assert job.outputs()["latest.html"] == job.outputs()["2026-11-22.html"]
    briefing = job.briefing("2026-11-22")
    assert sorted(s.path for s in briefing.sources) == sorted(BOE)
    index = (job.out / "index.html").read_text()
    assert 'href="2026-11-22.html"' in index and "Briefings: job morning" in index
    top = briefing.top_lines[0].text
    assert top and markupsafe.escape(top) in index
    state = json.loads(job.state_bytes())
    assert sorted(state["seen"].values()) == sorted(BOE)
    assert job.log()[-1].startswith("2026-11-22T07:00:00+00:00 ok: 2 new or changed articles")
    # The pages (briefing, index) are kept compiled for the next run, as the prompts are
    # (Jinja names each entry by the sha1 of the template's name).
    kept = {p.name for p in (job.tmp / "cache" / "templates").iterdir()}
    for page in ("page.html.j2", "index.html.j2"):
        assert f"__jinja2_{hashlib.sha1(page.encode()).hexdigest()}.cache" in kept, page


def test_second_run_briefs_only_what_is_new(job: Setup) -> None:
    job.put(*BOE)
    job.run(NOW)
    mapped_before = len(job.mapped())
    job.put(WATER)
    later = NOW.replace(hour=12, minute=30)
    result = job.run(later)
    assert result.status == "ok", result.message
    # Same day: the time goes into the name; the morning's briefing is kept.
    assert (job.out / "2026-11-22.json").exists()
    second = job.briefing("2026-11-22-1230")
    assert [s.path for s in second.sources] == [WATER]
    assert all("Port Ellery" in m for m in job.mapped()[mapped_before:])
    assert job.outputs()["latest.html"] == job.outputs()["2026-11-22-1230.html"]
    index = (job.out / "index.html").read_text()
    assert index.index("2026-11-22-1230.html") < index.index('"2026-11-22.html"')
    entries = archive.load(job.out).briefings
    assert [e.stem for e in entries] == ["2026-11-22", "2026-11-22-1230"]
    assert len(json.loads(job.state_bytes())["seen"]) == 3


def test_nothing_new_writes_nothing_and_exits_0(job: Setup) -> None:
    job.put(*BOE)
    job.run(NOW)
    before, state, sent = job.outputs(), job.state_bytes(), len(job.server.requests)
    result = job.run(NOW + dt.timedelta(days=1))
    assert result.status == "nothing new" and result.exit_code == EXIT_OK
    assert "nothing new" in result.message
    assert job.outputs() == before and job.state_bytes() == state
    assert len(job.server.requests) == sent
    assert job.log()[-1].startswith("2026-11-23T07:00:00+00:00 nothing new:")


def test_empty_inbox_is_nothing_new(job: Setup) -> None:
    result = job.run(NOW)
    assert result.status == "nothing new" and not job.out.exists()


def test_changed_article_is_briefed_again(job: Setup) -> None:
    job.put(*BOE)
    job.run(NOW)
    changed = job.inbox / BOE[1]
    changed.write_text(
        changed.read_text() + "\nThe Treasury said it would publish new figures next week.\n"
    )
    result = job.run(NOW + dt.timedelta(days=1))
    assert result.status == "ok"
    assert [s.path for s in job.briefing("2026-11-23").sources] == [BOE[1]]
    seen = json.loads(job.state_bytes())["seen"]
    assert len(seen) == 3  # both versions of the changed article are known


def test_since_briefs_files_changed_in_the_window(job: Setup) -> None:
    job.put(*BOE, WATER)
    old = (NOW - dt.timedelta(days=2)).timestamp()
    recent = (NOW - dt.timedelta(hours=3)).timestamp()
    for name in BOE:
        os.utime(job.inbox / name, (old, old))
    os.utime(job.inbox / WATER, (recent, recent))
    result = job.run(NOW, since="24h")
    assert result.status == "ok"
    assert [s.path for s in job.briefing("2026-11-22").sources] == [WATER]
    assert job.run(NOW, since="1h").status == "nothing new"


def test_bad_since_is_an_error(job: Setup) -> None:
    with pytest.raises(jobs.JobError, match="24h"):
        job.run(NOW, since="yesterday")


def test_failing_run_keeps_outputs_and_state_then_next_run_reuses_answers(job: Setup) -> None:
    # Notes first (map, then story), so that a failed story call leaves answers to reuse.
    job.config.write_text("direct = false\n" + job.config.read_text())
    job.put(*BOE)
    job.run(NOW)
    job.put(WATER)
    before, state = job.outputs(), job.state_bytes()
    answer = job.server.answer
    failing = True

    def story_fails(request: dict[str, Any]) -> Reply:
        if failing and schema_name(request) == "StoryDraft":
            job.server.requests.append(request)
            return Reply(401, {"error": {"message": "invalid api key"}})
        return answer(request)

    job.server.answer = story_fails  # type: ignore[method-assign]
    tomorrow = NOW + dt.timedelta(days=1)
    with pytest.raises(LLMError):
        job.run(tomorrow)
    assert job.outputs() == before and job.state_bytes() == state
    assert job.log()[-1].startswith("2026-11-23T07:00:00+00:00 failed:")
    mapped = len(job.mapped())
    assert mapped > 0

    failing = False
    result = job.run(tomorrow)
    assert result.status == "ok", result.message
    assert len(job.mapped()) == mapped, "the map answers were asked again, not reused"
    assert result.briefing is not None and result.briefing.usage.cached >= 1
    assert [s.path for s in job.briefing("2026-11-23").sources] == [WATER]
    assert len(json.loads(job.state_bytes())["seen"]) == 3


def test_overlapping_runs_second_exits_busy(job: Setup, tmp_path: Path) -> None:
    job.put(*BOE)
    answer = job.server.answer
    entered, release = threading.Event(), threading.Event()

    def slow(request: dict[str, Any]) -> Reply:
        entered.set()
        release.wait(60)
        return answer(request)

    job.server.answer = slow  # type: ignore[method-assign]
    results: list[jobs.RunResult] = []
    first = threading.Thread(target=lambda: results.append(job.run(NOW)))
    first.start()
    try:
        assert entered.wait(60), "the first run never reached the model"
        # A second run, in its own process, as cron would start it.
        env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg-state")}
        # The CLI keeps job state in XDG_STATE_HOME/brief/jobs: point it at this one.
        (tmp_path / "xdg-state" / "brief").mkdir(parents=True)
        (tmp_path / "xdg-state" / "brief" / "jobs").symlink_to(job.state)
        second = subprocess.run(
            [sys.executable, "-m", "briefing", "run", "morning", "--config", str(job.config)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        release.set()
        first.join(120)
    assert second.returncode == EXIT_BUSY, second.stderr
    assert "already running" in second.stderr and "did nothing" in second.stderr
    assert second.stdout == ""
    assert results and results[0].status == "ok"
    assert any(" busy: " in line for line in job.log())
    assert job.log()[-1].startswith("2026-11-22T07:00:00+00:00 ok:")


def test_partial_run_retries_only_the_left_out_article(job: Setup) -> None:
    job.put(*BOE, WATER)
    answer = job.server.answer

    def water_garbled(request: dict[str, Any]) -> Reply:
        user = request["messages"][1]["content"]
        # The story call on the article, then (its answer unusable) its notes call.
        if schema_name(request) in ("StoryFromSources", "ChunkNotes") and "Port Ellery" in user:
            job.server.requests.append(request)
            return Reply(body=completion(request, '{"facts": "not a list"}'))
        return answer(request)

    job.server.answer = water_garbled  # type: ignore[method-assign]
    result = job.run(NOW)
    assert result.status == "partial" and result.exit_code == EXIT_PARTIAL
    assert "left out 1" in result.message
    assert result.briefing is not None
    assert [p.path for p in result.briefing.problems] == [WATER]
    assert sorted(json.loads(job.state_bytes())["seen"].values()) == sorted(BOE)

    job.server.answer = answer  # type: ignore[method-assign]
    again = job.run(NOW + dt.timedelta(days=1))
    assert again.status == "ok"
    assert [s.path for s in job.briefing("2026-11-23").sources] == [WATER]


def cli(job: Setup, *args: str) -> Result:
    env = {
        "XDG_STATE_HOME": str(job.tmp / "xdg-state"),
        "BRIEF_CACHE_DIR": str(job.tmp / "cache"),
        "OPENAI_API_KEY": None,
        "OPENAI_BASE_URL": None,
    }
    return CliRunner().invoke(main, ["run", "morning", "--config", str(job.config), *args], env=env)


def test_cli_run_is_quiet_unless_something_fails(job: Setup) -> None:
    job.put(*BOE)
    quiet = cli(job, "--quiet")
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""
    assert len(list(job.out.glob("*.json"))) == 2  # the briefing and index.json
    again = cli(job)
    assert again.exit_code == 0 and "nothing new" in again.stdout, again.output
    job.put(WATER)
    answer = job.server.answer

    def down(request: dict[str, Any]) -> Reply:
        return Reply(401, {"error": {"message": "invalid api key"}})

    job.server.answer = down  # type: ignore[method-assign]
    failed = cli(job, "--quiet")
    assert failed.exit_code == EXIT_FAILED and failed.stdout == ""
    assert "rejected the API key" in failed.stderr
    job.server.answer = answer  # type: ignore[method-assign]
    assert cli(job, "--quiet").exit_code == 0
    newest = archive.load(job.out).briefings[-1].stem
    assert [s.path for s in job.briefing(newest).sources] == [WATER]


def test_help_documents_the_busy_exit_code() -> None:
    result = CliRunner().invoke(main, ["run", "--help"])
    assert result.exit_code == 0
    assert f"{EXIT_BUSY}  busy" in result.output


def test_outputs_that_cannot_be_written_keep_the_state_and_cost_nothing_twice(
    job: Setup,
) -> None:
    job.put(*BOE)
    job.out.write_text("a file where the output folder should be")
    with pytest.raises(RenderError):
        job.run(NOW)
    assert not (job.state / "morning" / "state.json").exists()
    assert job.log()[-1].startswith("2026-11-22T07:00:00+00:00 failed:")
    sent = len(job.server.requests)
    assert sent > 0
    job.out.unlink()
    result = job.run(NOW)
    assert result.status == "ok"
    assert len(job.server.requests) == sent, "answers were paid for twice"
    assert len(json.loads(job.state_bytes())["seen"]) == 2


def test_nothing_new_names_a_new_file_it_cannot_use(job: Setup) -> None:
    (job.inbox / "scan.txt").write_bytes(bytes(range(256)) * 4)
    result = job.run(NOW)
    assert result.status == "nothing new" and result.exit_code == EXIT_OK
    assert "Cannot use: scan.txt (" in result.message and not job.out.exists()


def test_a_state_that_cannot_be_saved_publishes_nothing(
    job: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outputs and state.json are one set: if the state cannot be saved, nothing
    is published, so the retry publishes the briefing once (not a second copy)."""
    job.put(*BOE)
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(dst).name == "state.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(RenderError, match=r"state\.json.*No space left"):
        job.run(NOW)
    assert job.outputs() == {} and not (job.state / "morning" / "state.json").exists()
    monkeypatch.setattr(os, "replace", real)
    assert job.run(NOW + dt.timedelta(minutes=5)).status == "ok"
    assert [e.stem for e in archive.load(job.out).briefings] == ["2026-11-22"]


def test_a_full_cache_disk_is_said_in_the_run_line(
    job: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    from briefing import cache

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cache.sqlite3, "connect", full)
    job.put(*BOE)
    result = job.run(NOW)
    assert result.status == "ok" and "answers.sqlite3 cannot be written" in result.message
    assert "cannot be written" in job.log()[-1]
