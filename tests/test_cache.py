"""The answer cache: content-addressed, in SQLite (WAL), kept across a killed run."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from fake_openai import FakeServer

from briefing.cache import Cache, cache_key
from briefing.errors import ConfigError

ARTICLES = {
    "a.txt": "Harbour strike spreads\n\nDockers in Eldham struck again on Monday, the union "
    'said. "We will not go back without a contract," said organiser Mara Voss.',
    "b.txt": "Chess club wins cup\n\nThe Eldham chess club won the regional cup on Sunday. "
    "The final was decided in a blitz play-off.",
    "c.txt": "Flood warning for the valley\n\nForecasters warned of floods in the Arden "
    "valley after a week of rain. The river could burst its banks by Friday.",
}


def brief_make(
    folder: Path, server: FakeServer, tmp_path: Path, *extra: str
) -> subprocess.Popen[str]:
    """`brief make` in its own process, one call at a time, with its own cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEF_"))}
    env["BRIEF_CACHE_DIR"] = str(tmp_path / "cache")
    args = [sys.executable, "-m", "briefing", "make", str(folder), "--base-url",
            server.base_url, "--out", str(tmp_path / "out"), "--concurrency", "1",
            "--config", str(tmp_path / "none.toml"), "-q", *extra]  # fmt: skip
    return subprocess.Popen(
        args, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def wait_for(condition: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def bodies(requests: list[dict[str, object]]) -> list[str]:
    return [json.dumps(r["messages"], sort_keys=True) for r in requests]


def test_a_killed_run_redoes_only_the_calls_that_had_not_finished(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text)
    finished = 2  # three one-article stories, a call each
    fake_server.hold_after = finished  # the 3rd call gets no answer: the run hangs there

    first = brief_make(folder, fake_server, tmp_path)
    wait_for(lambda: len(fake_server.requests) == finished + 1)
    first.send_signal(signal.SIGKILL)  # a real kill: no cleanup, no atexit, no flush
    assert finish(first)[0] == -signal.SIGKILL
    fake_server.release.set()
    before = bodies(fake_server.requests)
    with sqlite3.connect(tmp_path / "cache" / "answers.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM answers").fetchone()[0] == finished
    assert not (tmp_path / "out").exists()

    fake_server.hold_after = None
    code, err = finish(brief_make(folder, fake_server, tmp_path))
    assert code == 0, err
    redone = bodies(fake_server.requests)[len(before) :]
    # Nothing that was answered before the kill was asked again; the call that was
    # in flight when the run died was.
    assert not set(redone) & set(before[:finished])
    assert before[finished] in redone
    done = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert sorted(s["path"] for s in done["sources"]) == sorted(ARTICLES)

    # The whole run costs finished + len(redone) calls: a run without the cache
    # makes exactly that many, and a run with it makes none.
    sent = len(fake_server.requests)
    assert finish(brief_make(folder, fake_server, tmp_path))[0] == 0
    assert len(fake_server.requests) == sent
    assert finish(brief_make(folder, fake_server, tmp_path, "--no-cache"))[0] == 0
    assert len(fake_server.requests) - sent == finished + len(redone)


def test_key_covers_model_prompt_and_schema(tmp_path: Path) -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "x"}], "schema": {"a": 1}}
    key = cache_key(**base)
    assert key == cache_key(**dict(reversed(base.items())))  # order of the parts is no matter
    for change in ({"model": "n"}, {"messages": []}, {"schema": {"a": 2}}):
        assert cache_key(**{**base, **change}) != key
    cache = Cache(tmp_path / "c.sqlite3")
    cache.put(key, "map", '{"x": 1}', 10, 2)
    assert cache.get(key) == ('{"x": 1}', 10, 2) and cache.get(cache_key(model="z")) is None
    with sqlite3.connect(tmp_path / "c.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cache.close()


@pytest.mark.parametrize("damage", ["garbage", "folder is a file"])
def test_an_unusable_cache_is_a_message_saying_what_to_do(tmp_path: Path, damage: str) -> None:
    if damage == "garbage":
        path = tmp_path / "answers.sqlite3"
        path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 16)
    else:
        (tmp_path / "file").write_text("x")
        path = tmp_path / "file" / "answers.sqlite3"
    with pytest.raises(ConfigError, match=r"BRIEF_CACHE_DIR.*--no-cache") as caught:
        Cache(path)
    assert str(path) in str(caught.value)


def test_a_full_disk_does_not_stop_the_run(tmp_path: Path) -> None:
    """SQLite's page limit stands in for a full disk: it fails the same way
    (SQLITE_FULL, "database or disk is full")."""
    cache = Cache(tmp_path / "c.sqlite3")
    cache.put("k1", "map", '{"a": 1}', 1, 1)
    cache._db.execute("PRAGMA max_page_count = 1")  # no page more than it has now
    cache.put("k2", "map", "x" * 100_000, 1, 1)  # no exception: the run goes on
    assert cache.failure is not None and "full" in cache.failure
    assert cache.get("k1") == ('{"a": 1}', 1, 1) and cache.get("k2") is None
    cache.close()


def test_templates_are_kept_compiled_between_runs(tmp_path: Path) -> None:
    """The prompts and the page are compiled once into cache_dir/templates; a later
    run loads them from there and renders the same text; an edited prompt is
    compiled again."""
    from briefing import render
    from briefing.cache import compiled_templates
    from briefing.models import Briefing
    from briefing.prompts import Prompts, copy_defaults

    prompts_dir = tmp_path / "prompts"
    copy_defaults(prompts_dir)
    compiled = compiled_templates(tmp_path / "cache")
    assert compiled is not None
    first = Prompts(prompts_dir, compiled=compiled).render("merge", notes="N", guide="G")
    stored = sorted((tmp_path / "cache" / "templates").iterdir())
    assert stored, "nothing was kept compiled"
    again = Prompts(prompts_dir, compiled=compiled_templates(tmp_path / "cache"))
    assert again.render("merge", notes="N", guide="G") == first
    assert sorted((tmp_path / "cache" / "templates").iterdir()) == stored

    merge = prompts_dir / "merge.j2"
    merge.write_text(merge.read_text(encoding="utf-8").replace("{{ notes", "EDITED {{ notes"))
    edited = Prompts(prompts_dir, compiled=compiled_templates(tmp_path / "cache"))
    assert edited.render("merge", notes="N", guide="G") != first

    briefing = Briefing.model_validate_json(
        (ROOT / "docs" / "example-briefing" / "2026-11-22.json").read_text(encoding="utf-8")
    )
    page = render.to_html(briefing, compiled_templates(tmp_path / "cache"))
    assert page == render.to_html(briefing, compiled_templates(tmp_path / "cache"))
    assert page == render.to_html(briefing)


def test_no_compiled_templates_where_the_cache_cannot_be_made(tmp_path: Path) -> None:
    from briefing.cache import compiled_templates

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    assert compiled_templates(blocker) is None


# --- a full cache disk costs only the caching (issue 21) ------------------------------------


def _make(tmp_path: Path, server: FakeServer, cache: Path, *extra: str) -> Any:
    from click.testing import CliRunner

    from briefing.cli import cli

    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for name, text in ARTICLES.items():
        (folder / name).write_text(text)
    env = {"BRIEF_CACHE_DIR": str(cache), "XDG_STATE_HOME": str(tmp_path / "state"),
           "OPENAI_API_KEY": None, "OPENAI_BASE_URL": None, "BRIEF_MODEL": None}  # fmt: skip
    args = ["make", str(folder), "--base-url", server.base_url, "--out", str(tmp_path / "out"),
            "--config", str(tmp_path / "none.toml"), *extra]  # fmt: skip
    return CliRunner().invoke(cli, args, env=env)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a 64 KiB tmpfs with no byte free (needs root and mount; else skip)."""
    mount = tmp_path / "full"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, check=False)  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace').strip()}")
    try:
        with contextlib.suppress(OSError), (mount / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)  # lazy: a file may be open


@pytest.mark.parametrize("no_cache", [True, False])
def test_a_full_cache_disk_costs_only_the_caching(
    fake_server: FakeServer, tmp_path: Path, full_disk: Path, no_cache: bool
) -> None:
    """The cache folder on a full disk: the compiled templates (an OSError out of
    Jinja's get_template before), the tokenizer's ranks and the answers are not kept,
    and the run goes on: exit 0, the briefing written, at most one line of warning."""
    result = _make(tmp_path, fake_server, full_disk / "cache", *(["--no-cache"] * no_cache))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "unexpected" not in result.output
    assert len(list((tmp_path / "out").glob("*.json"))) == 1
    warnings = [line for line in result.output.splitlines() if line.startswith("brief:")]
    if no_cache:
        assert warnings == []
    else:
        [warning] = warnings
        assert "answers.sqlite3 cannot be written" in warning and "BRIEF_CACHE_DIR" in warning
    leftovers = [p for p in (full_disk / "cache").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_cache_folder_that_cannot_be_written_costs_only_the_caching(
    fake_server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same without a tmpfs: every write of a compiled template or of the
    tokenizer's ranks fails with ENOSPC, and so does opening the answers."""
    import jinja2.bccache

    from briefing import cache as cache_module
    from briefing import encodings

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(jinja2.bccache.Bucket, "write_bytecode", full)
    monkeypatch.setattr(encodings.marshal, "dumps", full)
    monkeypatch.setattr(cache_module.sqlite3, "connect", full)
    encodings.load_encoding.cache_clear()
    for extra in (["--no-cache"], []):
        result = _make(tmp_path, fake_server, tmp_path / "cache", *extra)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output and "unexpected" not in result.output
        warnings = [line for line in result.output.splitlines() if line.startswith("brief:")]
        assert len(warnings) == (0 if extra else 1)
    assert list((tmp_path / "cache" / "templates").iterdir()) == []
