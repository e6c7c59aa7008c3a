"""A fake OpenAI-compatible chat-completions server for the tests.

It is a real HTTP server on 127.0.0.1 (``http.server`` in a thread), so the real
``openai`` client, its retries and its parsing are exercised. It answers the
structured-output requests brief makes by reading the prompt the way a careful
model would, with plain rules, so its answers are grounded in the articles:

* ``ChunkNotes`` (map): facts are the passage's first sentences; actors are the
  capitalised names that appear with a quotation; risks are sentences with risk
  words; the framing quotes the passage's first words.
* ``StoryDraft`` (story): built from the notes in the prompt.
* ``StoryFromSources`` (direct story): the map rules on each article of the
  prompt, then a story built from those notes the way ``StoryDraft``'s is.

Tests steer it: ``script`` is a list of replies used before the rules (a dict is
sent as the JSON answer, a ``Reply`` gives full control: status, headers, raw
body, a delay before answering, a connection reset instead of an answer, an answer
cut off after a number of bytes, or one sent a byte at a time), and
``refuse_json_schema`` makes it answer 400 to ``json_schema`` like
llama-cpp-python does. Every request body is kept in ``requests`` and the time it
arrived (``time.monotonic``) in ``times``. ``hold_after = K`` keeps every request
after the first K waiting, unanswered, until ``release`` is set (a server that
stops answering halfway through a run). ``when[TEXT] = reply`` answers ``reply``
to every request whose messages contain TEXT (a fault that follows one article).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SENTENCE = re.compile(r"^\[(\d+(?:\.\d+)?)\] (.*)$", re.MULTILINE)
QUOTE = re.compile(r"[\"“]([^\"”]{12,200})[\"”]")
NAME = re.compile(r"\b([A-Z][a-z]+(?:[ -][A-Z][a-z]+)+)\b")
RISKY = re.compile(r"escalat|risk|threat|warn|nuclear|danger|could|crisis", re.IGNORECASE)
STOP_NAMES = {"The", "This", "That", "President", "Secretary", "Speaking", "Earlier"}


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    finish_reason: str = "stop"
    delay: float = 0.0  # seconds to wait before answering
    reset: bool = False  # close the connection with a TCP reset instead of answering
    cut: int | None = None  # send only this many bytes of the body, then close
    drip: float = 0.0  # seconds between the body's bytes (a server that drips its answer)


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.keys: list[str] = []  # the Authorization header of each request
        self.hold_after: int | None = None
        self.release = threading.Event()
        self.when: dict[str, Reply] = {}
        self.script: list[dict[str, Any] | Reply | None] = []  # None: answer by the rules
        self.refuse_json_schema = False
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def calls(self, schema: str) -> list[dict[str, Any]]:
        """The requests whose output schema is named ``schema``."""
        return [r for r in self.requests if schema_name(r) == schema]

    # -- answering ---------------------------------------------------------------------------

    def answer(self, request: dict[str, Any]) -> Reply:
        fmt = request.get("response_format") or {}
        with self.lock:
            self.requests.append(request)
            self.times.append(time.monotonic())
            held = self.hold_after is not None and len(self.requests) > self.hold_after
        if held:
            self.release.wait()
        with self.lock:
            if self.refuse_json_schema and fmt.get("type") == "json_schema":
                message = "response_format json_schema not supported"
                return Reply(400, {"error": {"message": message}})
            text = json.dumps(request.get("messages"), ensure_ascii=False)
            marked = next((r for mark, r in self.when.items() if mark in text), None)
            if marked is not None:
                return marked
            scripted = self.script.pop(0) if self.script else None
        if isinstance(scripted, Reply):
            return scripted
        if scripted is not None:
            return Reply(body=completion(request, json.dumps(scripted)))
        name = schema_name(request)
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        if name == "ChunkNotes" and "<notes>" in user:
            content = merge_notes(user)
        elif name == "ChunkNotes":
            content = map_notes(user)
        elif name == "StoryDraft":
            content = story(user)
        elif name == "StoryFromSources":
            content = direct_story(user)
        else:
            return Reply(400, {"error": {"message": f"fake server: unknown schema {name}"}})
        return Reply(body=completion(request, json.dumps(content)))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(Reply(body={"object": "list", "data": [{"id": "fake"}]}))
                else:
                    self._send(Reply(404, {"error": {"message": "not found"}}))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.keys.append(self.headers.get("authorization", ""))
                if not self.path.endswith("/chat/completions"):
                    self._send(Reply(404, {"error": {"message": "not found"}}))
                    return
                self._send(server.answer(request))

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.reset:
                    # SO_LINGER with a zero timeout: close() sends RST, not FIN.
                    linger = struct.pack("ii", 1, 0)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.connection.close()
                    self.close_connection = True
                    return
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body)
                data = body.encode() if isinstance(body, str) else body
                self.send_response(reply.status)
                if "content-type" not in {key.lower() for key in reply.headers}:
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                try:
                    self.end_headers()
                    if reply.drip:
                        for byte in data:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(reply.drip)
                    else:
                        self.wfile.write(data if reply.cut is None else data[: reply.cut])
                except OSError:  # the client gave up waiting (a timeout test)
                    self.close_connection = True
                if reply.cut is not None:  # an answer cut off: less than its length
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True

        return Handler


def schema_name(request: dict[str, Any]) -> str:
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return str(fmt["json_schema"]["name"])
    schema = fmt.get("schema") or {}
    return str(schema.get("title", ""))


def completion(request: dict[str, Any], content: str, finish: str = "stop") -> dict[str, Any]:
    """A chat completion answering ``content``. Tokens are counted as 4 characters
    each; completion tokens never exceed the request's ``max_tokens``, as no server's
    do (brief's --max-tokens budget relies on it)."""
    prompt = sum(len(m["content"]) for m in request["messages"]) // 4
    answer = min(len(content) // 4, request.get("max_tokens") or len(content))
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": answer,
            "total_tokens": prompt + answer,
        },
    }


# -- the rules --------------------------------------------------------------------------------


def fenced(text: str, tag: str) -> str:
    match = re.search(rf"<{tag}>\n(.*)\n</{tag}>", text, re.DOTALL)
    return match.group(1) if match else ""


def map_notes(user: str) -> dict[str, Any]:
    sentences = [(sid, text) for sid, text in SENTENCE.findall(fenced(user, "article"))]
    facts = [{"text": text, "cites": [sid]} for sid, text in sentences[:4]]
    actors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for sid, text in sentences:
        quote = QUOTE.search(text)
        for name in NAME.findall(text):
            if name.split()[0] in STOP_NAMES or name in seen or not quote:
                continue
            seen.add(name)
            actors.append(
                {
                    "name": name,
                    "role": "quoted in the article",
                    "position": text[:160],
                    "quote": quote.group(1),
                    "cites": [sid],
                }
            )
    risks = [
        {
            "risk": text[:160],
            "exposed": "those named in the article",
            "likelihood": "medium",
            "impact": "high",
            "cites": [sid],
        }
        for sid, text in sentences
        if RISKY.search(text)
    ][:3]
    first = " ".join(sentences[0][1].split()[:6]) if sentences else ""
    return {
        "facts": facts,
        "actors": actors[:4],
        "risks": risks,
        "events": [],
        "framing": f"Leads with '{first}'.",
    }


NOTE_LINE = re.compile(r"^- (.*?)(?: \[([\d., ]+)\])?$")


def parse_notes(user: str) -> dict[str, list[tuple[str, list[str]]]]:
    sections: dict[str, list[tuple[str, list[str]]]] = {}
    current = "facts"
    for line in fenced(user, "notes").splitlines():
        if line.endswith(":") and not line.startswith("-"):
            current = line[:-1]
            continue
        match = NOTE_LINE.match(line)
        if match:
            cites = [c.strip() for c in (match.group(2) or "").split(",") if c.strip()]
            sections.setdefault(current, []).append((match.group(1), cites))
    return sections


def merge_notes(user: str) -> dict[str, Any]:
    notes = parse_notes(user)
    return {
        "facts": [{"text": t, "cites": c} for t, c in notes.get("facts", [])],
        "actors": [actor(t, c) for t, c in notes.get("actors", [])],
        "risks": [
            {"risk": t, "exposed": "-", "likelihood": "medium", "impact": "high", "cites": c}
            for t, c in notes.get("risks", [])
        ],
        "events": [],
        "framing": "merged",
    }


def actor(line: str, cites: list[str]) -> dict[str, Any]:
    match = re.match(r"(.*?) \((.*?)\): (.*?)(?: Quote: \"(.*)\")?$", line)
    name, role, position, quote = match.groups() if match else (line, "", line, None)
    return {"name": name, "role": role, "position": position, "quote": quote or "", "cites": cites}


def story(user: str) -> dict[str, Any]:
    notes = parse_notes(user)
    facts = notes.get("facts", [])
    listing = fenced(user, "sources")
    sources = [
        (number, outlet, framing)
        for number, outlet, framing in re.findall(
            r"^\[(\d+)\] (.*?): .*\n\s*framing: (.*)$", listing, re.MULTILINE
        )
    ]
    return {
        "headline": (facts[0][0] if facts else "Untitled")[:80],
        "top_line": facts[0][0] if facts else "",
        "summary": " ".join(t for t, _ in facts[:4]),
        "actors": [actor(t, c) for t, c in notes.get("actors", [])][:6],
        "risks": [
            {
                "risk": t.split(";")[0],
                "exposed": "those named in the sources",
                "likelihood": "medium",
                "impact": "high",
                "cites": c,
            }
            for t, c in notes.get("risks", [])
        ][:4],
        "agreement": [{"text": t, "cites": c} for t, c in facts[:2]],
        "framings": [
            {"source": int(n), "framing": f"{outlet} {framing}", "wording": "", "cites": []}
            for n, outlet, framing in sources
        ],
        "divergence": "; ".join(f"{outlet} {framing}" for _, outlet, framing in sources),
        "timeline": [],
        "open_questions": ["What happens next?"],
    }


def direct_story(user: str) -> dict[str, Any]:
    notes = []
    for block in re.findall(r"<article>\n(.*?)\n</article>", user, re.DOTALL):
        head = re.match(r"Source (\d+): (.*)", block)
        number, outlet = (int(head.group(1)), head.group(2)) if head else (0, "?")
        notes.append((number, outlet, map_notes(f"<article>\n{block}\n</article>")))
    facts = [fact for _, _, n in notes for fact in n["facts"]]
    return {
        "headline": (facts[0]["text"] if facts else "Untitled")[:80],
        "top_line": facts[0]["text"] if facts else "",
        "summary": " ".join(f["text"] for f in facts[:4]),
        "actors": [a for _, _, n in notes for a in n["actors"]][:6],
        "risks": [r for _, _, n in notes for r in n["risks"]][:4],
        "agreement": facts[:2],
        "framings": [
            {"source": number, "framing": f"{outlet} {n['framing']}", "wording": "", "cites": []}
            for number, outlet, n in notes
        ],
        "divergence": "; ".join(f"{outlet} {n['framing']}" for _, outlet, n in notes),
        "timeline": [],
        "open_questions": ["What happens next?"],
    }
