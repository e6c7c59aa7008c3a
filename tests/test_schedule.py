"""`brief schedule add|list|remove` on a crontab file in a temp dir, systemd units, and
(when the `crontab` command exists) the real crontab of the test user."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from briefing import schedule
from briefing.cli import cli
from briefing.errors import JobError


def brief(tmp_path: Path, *args: str) -> Result:
    """`brief ARGS` with config, state and systemd folders in ``tmp_path``."""
    env = {
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
    }
    return CliRunner().invoke(cli, list(args), env=env)


def opts(tmp_path: Path) -> list[str]:
    return ["--config", str(tmp_path / "config.toml"), "--crontab", str(tmp_path / "crontab")]


def test_add_then_list_round_trips_on_a_crontab_file(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    added = brief(
        tmp_path, "schedule", "add", "morning", "--input", str(tmp_path / "inbox"),
        "--at", "7:00", "--out", str(tmp_path / "out"), *opts(tmp_path),
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "installed in" in added.output and "0 7 * * *" in added.output
    lines = (tmp_path / "crontab").read_text().splitlines()
    [line] = [x for x in lines if "brief:morning" in x]
    assert line.startswith("0 7 * * * ") and " -m briefing run morning --quiet --config " in line

    listed = brief(tmp_path, "schedule", "list", *opts(tmp_path))
    assert listed.exit_code == 0, listed.output
    assert "morning" in listed.output and "07:00" in listed.output
    assert "never ran" in listed.output and "NOT installed" not in listed.output
    # The next run is 07:00 today or tomorrow, local time.
    now = dt.datetime.now().astimezone()
    upcoming = [now.date(), now.date() + dt.timedelta(days=1)]
    assert any(f"{day:%Y-%m-%d} 07:00" in listed.output for day in upcoming)

    job = schedule.get_job(tmp_path / "config.toml", "morning")
    assert job.input == (tmp_path / "inbox").resolve() and job.at == "07:00"


def test_adding_again_replaces_the_job(tmp_path: Path) -> None:
    for at in ("07:00", "06:30"):
        result = brief(
            tmp_path, "schedule", "add", "morning", "--input", str(tmp_path),
            "--at", at, *opts(tmp_path),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    lines = [x for x in (tmp_path / "crontab").read_text().splitlines() if "brief:" in x]
    assert len(lines) == 1 and lines[0].startswith("30 6 * * * ")
    config = (tmp_path / "config.toml").read_text()
    assert config.count("[jobs.morning]") == 1 and 'at = "06:30"' in config


def test_add_keeps_the_config_file_and_other_crontab_lines(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('# my settings\nmodel = "gpt-4o-mini"  # cheap\n')
    (tmp_path / "crontab").write_text("15 3 * * * /usr/bin/backup # nightly\n")
    result = brief(
        tmp_path, "schedule", "add", "evening", "--input", str(tmp_path), "--at", "18:00",
        "--email", "me@example.org", *opts(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = (tmp_path / "config.toml").read_text()
    assert config.startswith('# my settings\nmodel = "gpt-4o-mini"  # cheap\n')
    assert 'email = ["me@example.org"]' in config
    assert "15 3 * * * /usr/bin/backup # nightly" in (tmp_path / "crontab").read_text()

    removed = brief(tmp_path, "schedule", "remove", "evening", *opts(tmp_path))
    assert removed.exit_code == 0, removed.output
    assert "brief:" not in (tmp_path / "crontab").read_text()
    assert "/usr/bin/backup" in (tmp_path / "crontab").read_text()
    assert "evening" not in (tmp_path / "config.toml").read_text()
    assert "# my settings" in (tmp_path / "config.toml").read_text()
    listed = brief(tmp_path, "schedule", "list", *opts(tmp_path))
    assert listed.exit_code == 0 and "No jobs" in listed.output


def test_systemd_writes_a_user_service_and_timer(tmp_path: Path) -> None:
    brief(tmp_path, "schedule", "add", "morning", "--input", str(tmp_path), "--at", "07:00",
          *opts(tmp_path))  # fmt: skip
    result = brief(
        tmp_path, "schedule", "add", "morning", "--input", str(tmp_path), "--at", "07:15",
        "--systemd", *opts(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    units = tmp_path / "xdg-config" / "systemd" / "user"
    timer = (units / "brief-morning.timer").read_text()
    service = (units / "brief-morning.service").read_text()
    assert "OnCalendar=*-*-* 07:15:00" in timer and "WantedBy=timers.target" in timer
    assert "ExecStart=" in service and "run morning --quiet --config" in service
    assert "systemctl --user enable --now brief-morning.timer" in result.output
    assert "brief:" not in (tmp_path / "crontab").read_text(), "the old cron line stayed"
    listed = brief(tmp_path, "schedule", "list", *opts(tmp_path))
    assert "systemd" in listed.output and "NOT installed" not in listed.output
    removed = brief(tmp_path, "schedule", "remove", "morning", *opts(tmp_path))
    assert removed.exit_code == 0 and not (units / "brief-morning.timer").exists()


def test_list_shows_the_last_result_and_a_missing_line(tmp_path: Path) -> None:
    brief(tmp_path, "schedule", "add", "morning", "--input", str(tmp_path), "--at", "07:00",
          *opts(tmp_path))  # fmt: skip
    log = tmp_path / "xdg-state" / "brief" / "jobs" / "morning" / "run.log"
    log.parent.mkdir(parents=True)
    log.write_text("2026-11-22T07:00:00+00:00 ok: 2 new or changed articles in 1 story\n")
    (tmp_path / "crontab").write_text("")  # someone emptied the crontab
    listed = brief(tmp_path, "schedule", "list", *opts(tmp_path))
    assert "ok: 2 new or changed articles" in listed.output
    assert "NOT installed" in listed.output


def test_bad_time_and_unknown_job_say_what_to_do(tmp_path: Path) -> None:
    bad = brief(tmp_path, "schedule", "add", "morning", "--input", str(tmp_path),
                "--at", "7am", *opts(tmp_path))  # fmt: skip
    assert bad.exit_code == 1 and "HH:MM" in bad.output
    assert not (tmp_path / "crontab").exists() or "brief:" not in (tmp_path / "crontab").read_text()
    missing = brief(tmp_path, "run", "nightly", "--config", str(tmp_path / "config.toml"))
    assert missing.exit_code == 1 and "brief schedule add nightly" in missing.output


def test_next_run_is_today_or_tomorrow() -> None:
    job = schedule.make_job("m", input=Path("."), at="07:00", out=Path("out"))
    tz = dt.timezone(dt.timedelta(hours=1))
    assert job.next_run(dt.datetime(2026, 11, 22, 6, 0, tzinfo=tz)) == dt.datetime(
        2026, 11, 22, 7, 0, tzinfo=tz
    )
    assert job.next_run(dt.datetime(2026, 11, 22, 7, 0, tzinfo=tz)) == dt.datetime(
        2026, 11, 23, 7, 0, tzinfo=tz
    )
    with pytest.raises(JobError, match="letters, digits"):
        schedule.make_job("a b", input=Path("."), at="07:00", out=Path("out"))


@pytest.mark.skipif(
    shutil.which("crontab") is None, reason="no `crontab` command: cron is not installed here"
)
def test_round_trip_on_the_real_user_crontab(tmp_path: Path) -> None:
    before = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    name = f"test-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "config.toml"
    try:
        added = brief(tmp_path, "schedule", "add", name, "--input", str(tmp_path),
                      "--at", "05:55", "--config", str(config))  # fmt: skip
        assert added.exit_code == 0, added.output
        current = subprocess.run(["crontab", "-l"], capture_output=True, text=True).stdout
        assert f"# brief:{name}" in current and "55 5 * * *" in current
        listed = brief(tmp_path, "schedule", "list", "--config", str(config))
        assert name in listed.output and "NOT installed" not in listed.output
    finally:
        removed = brief(tmp_path, "schedule", "remove", name, "--config", str(config))
    assert removed.exit_code == 0, removed.output
    after = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    assert f"brief:{name}" not in after.stdout
    assert after.stdout == before.stdout


@pytest.mark.parametrize(
    "name",
    ["../x", "..", ".", "a/b", "a\\b", "/etc", ".hidden", "-x", "x y", "", "x" * 65, "é",
     "x\x00", "x\n", "nul:"],
)  # fmt: skip
def test_job_names_that_could_escape_a_folder_are_refused(tmp_path: Path, name: str) -> None:
    """A job's name becomes folder and file names (its state folder, its lock, its
    log): only plain names pass, so none of them can point outside its folder."""
    with pytest.raises(ValueError, match="letters, digits"):
        schedule.Job(name=name, input=tmp_path, out=tmp_path / "o", at="07:00")


@pytest.mark.parametrize("name", ["morning", "Morning_2", "a-b", "x" * 64])
def test_plain_job_names_stay_inside_the_state_folder(tmp_path: Path, name: str) -> None:
    from briefing.jobs import job_dir

    job = schedule.Job(name=name, input=tmp_path, out=tmp_path / "o", at="07:00")
    state = tmp_path / "state"
    assert job_dir(state, job.name).resolve().parent == state.resolve()
