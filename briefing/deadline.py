"""A deadline for one request: ``--timeout`` is the most a request may take, from the
moment it is sent to the last byte of its answer.

httpx's timeouts bound each network operation, not the request: a server that sends
its answer a few bytes at a time never lets one read wait long, and kept a call 32 s
under ``--timeout 4``. :class:`Deadline` starts a timer as the request leaves; when it
fires, it shuts down the connection the answer is read from, so the read stops at
once, and the request
fails as a timeout (a passing fault: tried again, then the article is left out).
Before the answer's headers are in there is nothing to close: that part is bounded
by httpx's own timeouts, each operation at most the same number of seconds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

import openai


class Deadline:
    """A context for one request of at most ``seconds`` (None: no deadline)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.expired = threading.Event()
        self._lock = threading.Lock()
        self._answer: Any = None
        self._timer: threading.Timer | None = None

    def __enter__(self) -> Deadline:
        if self.seconds is not None:
            self._timer = threading.Timer(self.seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def read(self, answer: Any) -> bytes:
        """The whole body of ``answer`` (openai's streamed APIResponse), read before
        the deadline; :class:`openai.APITimeoutError` once it has passed."""
        with self._lock:
            self._answer = answer
        try:
            if self.expired.is_set():
                raise TimeoutError
            body = b"".join(answer.iter_bytes())
        except Exception:
            if self.expired.is_set():
                raise openai.APITimeoutError(request=answer.http_request) from None
            raise
        if self.expired.is_set():  # closed as the last bytes came: the deadline passed
            raise openai.APITimeoutError(request=answer.http_request)
        return body

    def _expire(self) -> None:
        self.expired.set()
        with self._lock:
            answer = self._answer
        if answer is None:
            return
        # Shut the connection's socket down: a read blocked on it returns at once (a
        # close from another thread would leave it waiting), and the reading thread
        # closes the answer itself, on its way out of the request.
        stream = answer.http_response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
