"""brief's own CPU on one long article, up to the 10 MB a file may have (issue 21).

One plain-text article, made of the test suite's stories (``tests/data/stories``)
repeated, at sizes doubling up to just under ingest's 10,000,000-byte limit, is
briefed by ``runner.make`` against an instant stub (``bench_pipeline.serve`` with no
latency: the answers of ``tests/fake_openai.py``, notes citing the sentences they
were sent). A 10 MB article does not fit any context window: it goes notes first,
a map call per chunk, then merge rounds until the notes fit the story call.

Each run is a child process, so its CPU time is brief's own (the stub runs in
another process). The table gives, per size, the article's tokens and bytes, the
model calls, brief's CPU seconds by phase, the total, and the total's ratio to the
size before (about 2 when the CPU is linear in the article's length; 4 when it grows
with its square). The phases are each thread's CPU time (``time.thread_time``) in the
functions below, less the time in a phase called from within them (so nothing counts
twice): read (``ingest.read_folder``), group (``clustering.group``), chunk (splitting
into sentences and packing them into chunks), map (a chunk's notes: prompt, checking
the answer's citations, tracing its facts to the article), call (``LLM.ask``: the
openai client, the answer cache, validating the answer), merge (a merge call's
prompt and notes), story (the story call's prompt, counting the notes until they
fit), check (grounding the story against the article, and what it reads of it
ahead), write (Markdown, HTML, JSON); other is the rest of the process's CPU
(imports, the tokenizer's load, threads waiting). The last column is the run's peak
resident memory.

Run: .venv/bin/python bench/bench_long_article.py [--sizes 6] [--largest 9990000] [--direct]
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
POOL = REPO / "tests" / "data" / "stories"
LIMIT = 10_000_000  # ingest.read_folder's max_bytes
PHASES = ["read", "group", "chunk", "map", "call", "merge", "story", "check", "write"]


def article(size: int) -> str:
    """A plain-text article of about ``size`` bytes (ASCII): a title, a byline, and the
    test suite's stories, front matter left out, repeated, cut at a paragraph."""
    bodies = []
    for path in sorted(POOL.iterdir()):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---"):
            text = text.split("---", 2)[2]
        bodies.append(text.strip())
    body = "\n\n".join(bodies).encode("ascii", "replace").decode()
    head = "A long article\n\nBy Anna Albright | Daily Ledger | 2026-11-20\n\n"
    text = head + "\n\n".join([body] * (size // len(body) + 1))
    return text[: text.rfind("\n\n", 0, size)] + "\n"


# --- one run, in its own process ------------------------------------------------------------


class Phases:
    """CPU seconds by phase: each thread's time in the wrapped functions, less the
    time of the phases called within them."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self._lock = threading.Lock()
        self._local = threading.local()

    def wrap(self, owner: Any, name: str, phase: str) -> None:
        """Count ``owner.name`` (a function or method) as ``phase``."""
        inner: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack: list[float] = self._local.__dict__.setdefault("stack", [])
            stack.append(0.0)  # CPU of the phases called from this one
            begin = time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent = time.thread_time() - begin
                nested = stack.pop()
                if stack:
                    stack[-1] += spent
                with self._lock:
                    self.seconds[phase] += spent - nested

        setattr(owner, name, timed)


def run_once(folder: Path, base_url: str, cache: Path, out: Path, direct: bool) -> None:
    """``runner.make`` once on ``folder``; prints CPU by phase and usage as JSON."""
    import datetime as dt

    from briefing import chunking, clustering, evidence, ingest, llm, pipeline, render, runner
    from briefing.config import Config

    phases = Phases()
    phases.wrap(ingest, "read_folder", "read")
    phases.wrap(clustering, "group", "group")
    phases.wrap(chunking, "split_sentences", "chunk")
    phases.wrap(chunking, "chunk_sentences", "chunk")
    phases.wrap(pipeline.Pipeline, "_map_one", "map")
    phases.wrap(llm.LLM, "ask", "call")
    phases.wrap(pipeline.Pipeline, "_merge_batch", "merge")
    phases.wrap(pipeline.Pipeline, "_story", "story")
    phases.wrap(pipeline.Pipeline, "_written", "check")
    phases.wrap(evidence.Evidence, "find_small", "check")
    phases.wrap(evidence.Evidence, "find_large", "check")
    phases.wrap(render, "write_briefing", "write")
    config = Config(
        base_url=base_url, api_key="stub", model="stub", concurrency=8, out_dir=out,
        formats=("md", "html", "json"), direct=direct,
    )  # fmt: skip
    cpu = time.process_time()
    result = runner.make(
        folder, config, now=dt.datetime(2026, 11, 22, tzinfo=dt.UTC), cache_dir=cache
    )
    cpu = time.process_time() - cpu
    usage = result.briefing.usage
    print(
        json.dumps(
            {
                "cpu": cpu,
                "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "phases": phases.seconds,
                "calls": usage.calls,
                "steps": {step: part.calls for step, part in usage.by_step.items()},
                "stories": len(result.briefing.stories),
                "problems": len(result.briefing.problems),
            }
        )
    )


# --- the table ----------------------------------------------------------------------------


def measure(size: int, base_url: str, work: Path, direct: bool) -> dict[str, Any]:
    from briefing import chunking

    folder = work / f"article-{size}"
    folder.mkdir()
    text = article(size)
    (folder / "long.txt").write_text(text, encoding="ascii")
    cache = work / "brief-cache"
    for stale in cache.glob("answers.sqlite3*"):
        stale.unlink()  # no answer from the run before
    out = subprocess.run(
        [sys.executable, __file__, "run", str(folder), base_url, str(cache), str(work / "out"),
         "direct" if direct else "notes"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"brief failed on {size} bytes:\n{out.stderr[-3000:]}")
    result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    encoding = chunking.load_encoding("cl100k_base", cache)
    result.update(bytes=len(text), tokens=len(encoding.encode_ordinary(text)))
    shutil.rmtree(folder)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, default=6, help="how many sizes, halving")
    parser.add_argument(
        "--largest", type=int, default=LIMIT - 10_000, help="the largest size in bytes"
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="a story in one call when it fits (the remote default; only the smallest sizes)",
    )
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    sizes = [args.largest >> k for k in range(args.sizes - 1, -1, -1)]
    work = Path(tempfile.mkdtemp(prefix="brief-bench-long-"))
    stub = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "bench_pipeline.py"), "serve", "0", "1e12"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert stub.stdout is not None
    base_url = stub.stdout.readline().strip()
    if not base_url.startswith("http"):
        raise SystemExit("the stub server did not start")
    table = Table(title="brief make on one article against an instant stub: brief's CPU (s)")
    columns = ["tokens", "MB", "calls", *PHASES, "other", "total", "x prev", "peak RSS MB"]
    for column in columns:
        table.add_column(column, justify="right")
    rows: list[list[str]] = []
    try:
        before = None
        for size in sizes:
            res = measure(size, base_url, work, args.direct)
            spent = res["phases"]
            other = res["cpu"] - sum(spent.values())
            ratio = "" if before is None else f"{res['cpu'] / before:.2f}"
            rows.append([
                f"{res['tokens']:,}", f"{res['bytes'] / 1e6:.2f}", str(res["calls"]),
                *(f"{spent[p]:.2f}" for p in PHASES), f"{other:.2f}", f"{res['cpu']:.2f}",
                ratio, f"{res['rss_peak']:.0f}",
            ])  # fmt: skip
            table.add_row(*rows[-1])
            before = res["cpu"]
            print(f"{res['bytes']:,} bytes: {res['cpu']:.1f} s", file=sys.stderr, flush=True)
    finally:
        assert stub.stdin is not None
        stub.stdin.close()
        stub.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    Console(width=160).print(table)
    # The same as Markdown, for docs/PERFORMANCE.md.
    print("| " + " | ".join(columns) + " |")
    print("|" + " ---: |" * len(columns))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        run_once(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5]),
                 sys.argv[6] == "direct")  # fmt: skip
    else:
        main()
