"""The embedded model's local server.

The engine is ``xllamacpp``, a llama.cpp server wheel that serves the OpenAI
chat-completions API. :class:`LocalServer` runs that server in a child process
(``brief model serve``) on a free local port for the length of one run;
:func:`serve` is the server itself. The weights are :mod:`briefing.weights`'s.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
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
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

from briefing.errors import EngineError
from briefing.weights import ENGINE_PACKAGE, LOCAL_EXTRA_COMMAND, engine_available, model_alias

_STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


# --- Serving --------------------------------------------------------------------------------


def serve(
    model_path: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    ctx: int = 16384,
    parallel: int = 1,
    threads: int | None = None,
    quiet: bool = False,
    speculative: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``model_path`` in this process until SIGINT or SIGTERM (main thread only).

    ``ctx`` is the context of one request (llama.cpp splits its n_ctx between the
    ``parallel`` slots). ``speculative``: draft-free speculative decoding, llama.cpp's
    n-gram look-up in the context (``--spec-type ngram-simple``): a run of tokens the
    model is copying from its prompt is proposed whole and checked in one batch.
    ``on_ready`` gets the base URL once the server answers.
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
    if speculative:
        params.speculative.types = [
            xllamacpp.common_speculative_type.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE
        ]
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
        ctx: int = 16384,
        parallel: int = 1,
        threads: int | None = None,
        speculative: bool = False,
        python: str = sys.executable,
        ready_timeout: float = 120.0,
    ) -> None:
        self.model_path, self.model = model_path, model_alias(model_path)
        self.speculative = speculative
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
        return argv + (["--speculative"] if self.speculative else [])

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
