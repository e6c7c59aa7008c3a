"""Waiting between tries of a model call: bounded, growing, and shared on request.

A call that meets a passing fault (a rate limit, a server error, a lost connection
or a timeout) is tried again, at most :attr:`Backoff.retries` more times, after
an exponentially growing pause with jitter: 0.5 s, 1 s, 2 s, ... up to 8 s, each
cut by up to a quarter at random. These are the ``openai`` client's own figures
(``openai/_constants.py``: ``INITIAL_RETRY_DELAY``, ``MAX_RETRY_DELAY``; the jitter
in ``_base_client.py``), so brief behaves as that client would.

A server that says how long to wait (``Retry-After`` in seconds or as an HTTP
date, or OpenAI's ``retry-after-ms``) is obeyed, and not only by the call it
answered: a ``Retry-After`` pauses every call that goes through the same
:class:`Backoff` until the time is up, so four calls in flight do not hammer a
server that has just said it is overloaded. A wait over :attr:`Backoff.max_wait`
is not waited for: the call fails (a quota that resets tomorrow is not a pause).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import threading
import time
from collections.abc import Callable, Mapping

# Statuses worth another try; the same set the openai client retries
# (``_should_retry``: 408, 409, 429 and every 5xx).
RETRIED_STATUS = frozenset({408, 409, 429})


def retried(status: int) -> bool:
    """Whether an HTTP status is a passing fault worth another try."""
    return status in RETRIED_STATUS or status >= 500


def retry_after(headers: Mapping[str, str], *, now: dt.datetime | None = None) -> float | None:
    """Seconds the server asks to wait, or None if it does not say.

    ``retry-after-ms`` (OpenAI's) wins over ``Retry-After``, which is seconds or an
    HTTP date (RFC 9110, section 10.2.3)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            continue
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


class Backoff:
    """The retry policy and the shared pause of one run's model calls. Thread-safe."""

    def __init__(
        self,
        retries: int = 3,
        *,
        first: float = 0.5,
        longest: float = 8.0,
        max_wait: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.retries = retries
        self.first = first
        self.longest = longest
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._resume_at = 0.0  # clock time before which no call is sent

    def delay(self, attempt: int) -> float:
        """The pause after failed try number ``attempt`` (from 1), with jitter."""
        base = min(self.longest, self.first * 2.0 ** (attempt - 1))
        return base * (1 - 0.25 * random.random())

    def pause_all(self, seconds: float) -> None:
        """Hold every call sent through this Backoff for ``seconds`` from now."""
        with self._lock:
            self._resume_at = max(self._resume_at, self.clock() + seconds)

    def wait_turn(self) -> None:
        """Return once no shared pause is in force."""
        while True:
            with self._lock:
                left = self._resume_at - self.clock()
            if left <= 0:
                return
            self.sleep(left)

    def honours(self, seconds: float | None) -> bool:
        """Whether a server's requested wait is one brief waits for."""
        return seconds is not None and seconds <= self.max_wait
