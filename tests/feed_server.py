"""A small web server on 127.0.0.1 for the feed tests: real HTTP, real feed files.

``FeedServer().start()`` serves ``routes``: a path maps to a :class:`Route` (body,
type, status, a delay before answering, an answer dripped in pieces). Every answer
of 200 carries an ETag and a Last-Modified, and a request that sends either back
gets ``304 Not Modified``, as a well-kept news site's feed does. Each request's
path and headers are kept in ``requests``; ``most_at_once`` is the largest number
of requests that were being answered at the same time.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from briefing.backoff import Backoff
from briefing.fetch import Fetcher
from briefing.schedule import FeedSource

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LAST_MODIFIED = "Fri, 20 Nov 2026 18:12:44 GMT"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml"
JSON = "application/feed+json"


@dataclass
class Route:
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    delay: float = 0.0  # seconds before the answer (a hanging server)
    pause: float = 0.0  # seconds between the pieces of the body (a slow one; no length)
    piece: int = 64  # bytes per piece when dripped
    conditional: bool = True  # answers 304 to a matching If-None-Match / If-Modified-Since
    headers: dict[str, str] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)  # answered first, one per request
    last_modified: str = LAST_MODIFIED  # a feed changed since gives a later one


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.most_at_once = 0
        self._now = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> FeedServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def file(self, path: str, name: str, content_type: str, **options: Any) -> Route:
        """Serve tests/data/feeds/NAME (or examples/NAME) at ``path``."""
        source = FEEDS / name if (FEEDS / name).exists() else EXAMPLES / name
        route = Route(source.read_bytes(), content_type, **options)
        self.routes[path] = route
        return route

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append((self.path, dict(self.headers.items())))
                    server._now += 1
                    server.most_at_once = max(server.most_at_once, server._now)
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server._lock:
                        server._now -= 1

            def _answer(self) -> None:
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self._send(404, b"not found", "text/plain")
                    return
                if route.delay and server._stopping.wait(route.delay):
                    return
                if route.statuses:
                    with server._lock:
                        status = route.statuses.pop(0)
                    self._send(status, b"try later", "text/plain", route.headers)
                    return
                etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                if route.conditional and (
                    self.headers.get("If-None-Match") == etag
                    or self.headers.get("If-Modified-Since") == route.last_modified
                ):
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = dict(route.headers)
                if route.conditional:
                    headers |= {"ETag": etag, "Last-Modified": route.last_modified}
                self._send(
                    route.status, route.body, route.content_type, headers, route.pause, route.piece
                )

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str,
                headers: dict[str, str] | None = None,
                pause: float = 0.0,
                piece: int = 64,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if pause:  # dripped: no length, closed at the end
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for start in range(0, len(body), piece):
                        if server._stopping.wait(pause):
                            return
                        self.wfile.write(body[start : start + piece])
                        self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def fetcher(**options: object) -> Fetcher:
    settings: dict[str, object] = {
        "timeout": 0.5,
        "deadline": 2.0,
        "max_bytes": 100_000,
        "backoff": Backoff(2, first=0.01, longest=0.05),
    }
    settings.update(options)
    return Fetcher(**settings)  # type: ignore[arg-type]


def serve_all(web: FeedServer) -> dict[str, FeedSource]:
    """Every kind of feed: good ones in three formats, and bad ones of four kinds."""
    web.file("/feeds/ledger.rss", "ledger-full.rss", RSS)
    web.file("/feeds/summaries.atom", "summaries.atom", ATOM)
    web.file("/pages/meridian-boe-rates.html", "meridian-boe-rates.html", "text/html")
    web.file("/pages/techcurrent-chip-licence.html", "techcurrent-chip-licence.html", "text/html")
    web.file("/pages/ledger-baltic-cable.html", "ledger-baltic-cable.html", "text/html")
    web.file("/feeds/capitalwire.json", "capitalwire.json", JSON)
    web.file("/feeds/tribune.rss", "tribune-latin1.rss", "application/rss+xml")
    web.file("/feeds/broken.rss", "broken.rss", RSS)
    web.file("/feeds/garbage", "not-a-feed.html", "text/html")
    web.file("/feeds/hangs.rss", "ledger-full.rss", RSS, delay=30)
    filler = b"<!--" + b"x" * 200_000 + b"--><item>"
    huge = (FEEDS / "ledger-full.rss").read_bytes().replace(b"<item>", filler, 1)
    web.routes["/feeds/huge.rss"] = Route(huge, RSS)
    names = {
        "ledger": "/feeds/ledger.rss",
        "summaries": "/feeds/summaries.atom",
        "capitalwire": "/feeds/capitalwire.json",
        "tribune": "/feeds/tribune.rss",
        "broken": "/feeds/broken.rss",
        "garbage": "/feeds/garbage",
        "hangs": "/feeds/hangs.rss",
        "huge": "/feeds/huge.rss",
    }
    return {name: FeedSource(url=web.url(path), name=name) for name, path in names.items()}
