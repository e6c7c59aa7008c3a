"""Raw speed of the embedded engine (xllamacpp) on this machine, printed as a table.

Measures the model load time, prompt and generated tokens per second of one request,
the total throughput of 4 concurrent short requests with 1, 2 and 4 parallel slots,
and what a shared system-prompt prefix (llama.cpp ``cache_prompt``) saves on the
second request. Token counts and times come from the ``timings`` object the
llama.cpp server adds to each chat-completions response.

Run: .venv/bin/python bench/bench_engine.py [--model-path FILE.gguf] [--threads N]
(without --model-path it uses, and if needed installs, the default model in the
brief cache directory, BRIEF_CACHE_DIR or the platformdirs user cache).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from rich.console import Console
from rich.table import Table

from briefing import engine
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-path", type=Path)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--repeat", type=int, default=2, help="runs per measure; the best counts")
    args = parser.parse_args()
    cache = Path(os.environ.get("BRIEF_CACHE_DIR") or platformdirs.user_cache_dir("brief"))
    model = args.model_path or engine.install(cache)
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

    start = time.perf_counter()
    with engine.LocalServer(model, threads=args.threads):
        rows.append(("LocalServer start (child process, s)", f"{time.perf_counter() - start:.1f}"))

    with running(model, parallel=1, ctx=8192, threads=args.threads) as (url, loaded):
        rows.append(("model load, in process (s)", f"{loaded:.1f}"))
        chat(url, system, "Say OK.", 4)  # warm-up
        free = best(
            args.repeat,
            lambda: timings(chat(url, system, article, 128, cache_prompt=False, ignore_eos=True)),
            "prompt_ms",
        )
        rows.append(
            (f"prompt tok/s ({free['prompt_n']:.0f} tokens)", f"{free['prompt_per_second']:.1f}")
        )
        free = best(
            args.repeat,
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
            args.repeat,
            lambda: timings(
                chat(url, system, article, 256, cache_prompt=False, response_format=notes_format)
            ),
            "predicted_per_token_ms",
        )
        rows.append(
            (
                f"generated tok/s, json_schema ChunkNotes ({noted['predicted_n']:.0f})",
                f"{noted['predicted_per_second']:.1f}",
            )
        )

        # Shared prefix: the same request without the cache, then right after another
        # request with the same system prompt (second case: also the same schema guide).
        for label, prefix in (
            ("system prompt", system),
            ("system prompt + schema", f"{system}\n\n{guide}"),
        ):
            cold = best(
                args.repeat, functools.partial(uncached, url, prefix, texts[1]), "prompt_ms"
            )
            chat(url, prefix, texts[0], 8, cache_prompt=True)
            warm = timings(chat(url, prefix, texts[1], 8, cache_prompt=True))
            rows.append(
                (
                    f"2nd request prompt time, shared {label} (s)",
                    f"{cold['prompt_ms'] / 1000:.2f} -> {warm['prompt_ms'] / 1000:.2f} "
                    f"({warm['cache_n']:.0f} of {cold['prompt_n']:.0f} tokens cached)",
                )
            )

    for parallel in (1, 2, 4):
        with running(model, parallel=parallel, ctx=4096, threads=args.threads) as (url, _):
            chat(url, system, "Say OK.", 4)
            # Without the cache; then with it, after 4 other requests that share the system
            # prompt (every slot holds it then, as in a run of brief's map step).
            for cache_on, primer in ((False, []), (True, texts[4:8])):
                measure = functools.partial(batch, url, system, texts[:4], primer)
                found = best(args.repeat, measure, "wall")
                rows.append(
                    (
                        f"4 concurrent requests, parallel={parallel}, cache_prompt={cache_on}",
                        f"{found['wall']:.1f} s wall, "
                        f"{found['predicted_n'] / found['wall']:.1f} gen tok/s total "
                        f"({found['prompt_n']:.0f} prompt tokens, {found['cache_n']:.0f} "
                        f"cached, {found['predicted_n']:.0f} generated)",
                    )
                )

    table = Table(title=f"brief engine bench: {model.name}")
    table.add_column("measure")
    table.add_column("value")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
