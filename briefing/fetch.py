"""Polite HTTP GETs for feeds and their pages: bounded in time, size and load.

:class:`Fetcher` wraps one ``httpx2.Client`` (the HTTP library the ``openai``
client brings; passed in, so tests and callers choose the transport) and adds what
a feed reader owes the sites it reads and itself:

* **Conditional GET**: the caller passes the ETag and Last-Modified a feed last
  answered with; a ``304 Not Modified`` comes back as :attr:`Page.not_modified`.
* **A deadline per request**: ``timeout`` seconds for connecting and for each read,
  and the whole answer must be in within ``deadline`` seconds, so a server that
  drips its answer byte by byte is cut off too.
* **A size cap**: an answer is streamed and dropped as soon as it passes
  ``max_bytes`` (or says it will, in Content-Length).
* **A limit per host**: at most ``per_host`` requests to one host at a time, however
  many feeds and pages of that host are being fetched.
* **Retries with backoff**: 408, 429, 5xx and lost connections are tried again, at
  most ``retries`` more times, after the pause :class:`briefing.backoff.Backoff`
  gives (or the server's ``Retry-After``, up to ``max_wait``). A timeout is not
  retried: a host that hangs once would make the run wait for it again.

Every failure is a :class:`briefing.errors.FeedError` whose message names the URL.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx2

from briefing.backoff import Backoff, retried, retry_after
from briefing.errors import FeedError

USER_AGENT = "brief/0.1 (news briefing feed reader; +https://pypi.org/project/brief/)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)


@dataclass
class Page:
    """An answer: the final URL (after redirects), status, headers and body."""

    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """GETs with a timeout, a size cap, a per-host limit and retries. Thread-safe."""

    def __init__(
        self,
        client: httpx2.Client | None = None,
        *,
        timeout: float = 20.0,
        deadline: float = 60.0,
        max_bytes: int = 5_000_000,
        per_host: int = 2,
        retries: int = 2,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client or httpx2.Client(
            timeout=httpx2.Timeout(timeout),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": USER_AGENT},
        )
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.backoff = backoff or Backoff(retries, first=0.5, longest=4.0, max_wait=30.0)
        self.clock = clock
        self._per_host = per_host
        self._hosts: defaultdict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(self._per_host)
        )
        self._hosts_lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, *, etag: str | None = None, modified: str | None = None) -> Page:
        """GET ``url``, conditionally if ``etag`` or ``modified`` is given."""
        headers = {"Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        attempt = 0
        while True:
            attempt += 1
            try:
                page = self._once(url, headers)
            except (httpx2.TimeoutException, _TooSlow) as err:
                raise FeedError(
                    f"{url}: no complete answer within {self._limit(err)} s (the server hangs "
                    "or is too slow); it is tried again next run"
                ) from err
            except httpx2.TransportError as err:
                if attempt <= self.backoff.retries:
                    self.backoff.sleep(self.backoff.delay(attempt))
                    continue
                raise FeedError(
                    f"{url}: cannot connect ({err.__class__.__name__}: {err}); check the "
                    "address, or try again later"
                ) from err
            except httpx2.HTTPError as err:  # a bad URL, too many redirects, ...
                raise FeedError(f"{url}: {err.__class__.__name__}: {err}; check the URL") from err
            if retried(page.status) and attempt <= self.backoff.retries:
                wait = retry_after(page.headers)
                if wait is not None and not self.backoff.honours(wait):
                    raise FeedError(
                        f"{url}: HTTP {page.status}, and the server asks to wait {wait:.0f} s; "
                        "it is tried again next run"
                    )
                self.backoff.sleep(wait if wait is not None else self.backoff.delay(attempt))
                continue
            if page.status >= 400:
                raise FeedError(f"{url}: HTTP {page.status}{_hint(page.status)}")
            return page

    def _limit(self, err: Exception) -> float:
        return self.deadline if isinstance(err, _TooSlow) else self.timeout

    def _host(self, url: str) -> threading.BoundedSemaphore:
        host = (urlsplit(url).hostname or "").lower()
        with self._hosts_lock:
            return self._hosts[host]

    def _once(self, url: str, headers: Mapping[str, str]) -> Page:
        with self._host(url):
            started = self.clock()
            with self.client.stream("GET", url, headers=dict(headers)) as response:
                status = response.status_code
                answer = {k.lower(): v for k, v in response.headers.items()}
                if status == 304 or status >= 400:
                    return Page(str(response.url), status, answer)
                length = answer.get("content-length", "")
                if length.isdigit() and int(length) > self.max_bytes:
                    raise FeedError(_too_big(url, self.max_bytes))
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FeedError(_too_big(url, self.max_bytes))
                    if self.clock() - started > self.deadline:
                        raise _TooSlow
                    chunks.append(chunk)
                return Page(str(response.url), status, answer, b"".join(chunks))


class _TooSlow(Exception):
    """The whole answer took longer than the deadline."""


def _too_big(url: str, limit: int) -> str:
    return f"{url}: the answer is over {limit:,} bytes, the most brief reads; left out"


def _hint(status: int) -> str:
    if status in (401, 403):
        return " (the site refuses brief; the feed may need a login)"
    if status in (404, 410):
        return " (no feed there any more; fix the URL or remove it: brief sources remove)"
    return ""
