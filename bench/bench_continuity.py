"""Measure day-to-day story linking (:func:`briefing.continuity.continuations`) on real news.

The 42-article real mix (``../shared/corpus/multiling2011/stories.json``: 3 WikiNews
clusters of 10, the 2 seeds, 10 saved news pages; read from a temporary copy, never
copied into the project) is split over two days, each day grouped on its own as a
job's run would, and each day-2 story linked to a day-1 story or to none, the day-1
articles taking part as a later run sees them: their titles and first words, as kept
in the archive's index.json (:func:`briefing.archive.lead`). A day-2
story's true stories are those of its articles.

Splits: ``halves`` (each true story's first half of articles, by file name, on day 1,
the rest on day 2; single articles alternate) and ``random`` splits (each article on
either day with even odds, seeds 1..N).

Per split it counts day-2 stories linked right (to a day-1 story of the same true
story), linked wrong, missed (no link, though the true story ran on day 1) and rightly
new (no link, and it did not), and names the wrong and missed ones.

With ``--speed``, it times instead what a morning run adds for continuity: new
articles grouped with the leads of the earlier stories (``bench_pipeline.generate``'s
seeded articles, 700-1000 tokens each; the earlier ones as their leads), at 200, 1,000
and 2,000 earlier articles (2,000 is ``continuity.MAX_EARLIER``), seconds and peak
memory (tracemalloc, numpy's arrays included) of
:func:`briefing.continuity.continuations`, one fresh process each.

Run: .venv/bin/python bench/bench_continuity.py [--seeds 20] [--speed]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import bench_clustering  # the mix, read the same way (bench/ is on the path when run)

from briefing import archive, clustering, continuity
from briefing.models import Article

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "corpus"


def load_mix() -> tuple[list[Article], dict[str, str]]:
    """The mix as bench_clustering.py reads it: articles, and true story by path."""
    corpus = bench_clustering.load("mix")
    if corpus is None:
        raise SystemExit(f"{SHARED} not found: put ../shared beside the project")
    return corpus.articles, {a.path: t for a, t in zip(corpus.articles, corpus.truth, strict=True)}


def halves(articles: list[Article], labels: dict[str, str]) -> tuple[list[Article], list[Article]]:
    by_story: dict[str, list[Article]] = {}
    for article in sorted(articles, key=lambda a: a.path):
        by_story.setdefault(labels[article.path], []).append(article)
    day1: list[Article] = []
    day2: list[Article] = []
    singles = 0
    for _, items in sorted(by_story.items()):
        if len(items) == 1:
            (day1 if singles % 2 == 0 else day2).append(items[0])
            singles += 1
        else:
            day1 += items[: len(items) // 2]
            day2 += items[len(items) // 2 :]
    return day1, day2


def at_random(articles: list[Article], seed: int) -> tuple[list[Article], list[Article]]:
    rng = random.Random(seed)
    day1: list[Article] = []
    day2: list[Article] = []
    for article in sorted(articles, key=lambda a: a.path):
        (day1 if rng.random() < 0.5 else day2).append(article)
    return day1, day2


def as_kept(articles: list[Article]) -> list[Article]:
    """Earlier articles as a later run sees them: their leads, kept in index.json."""
    return [a.model_copy(update={"text": archive.lead(a)}) for a in articles]


def score(
    day1: list[Article], day2: list[Article], labels: dict[str, str]
) -> tuple[Counter[str], list[str]]:
    earlier = [as_kept(g.members) for g in clustering.group(day1)]
    today = [g.members for g in clustering.group(day2)]
    links = continuity.continuations(today, earlier)

    def label(story: list[Article]) -> str:
        return Counter(labels[a.path] for a in story).most_common(1)[0][0]

    counts: Counter[str] = Counter()
    notes: list[str] = []
    for story, link in zip(today, links, strict=True):
        mine = {labels[a.path] for a in story}
        ran_before = any(labels[a.path] in mine for e in earlier for a in e)
        names = ", ".join(a.path for a in story)
        if link is None:
            counts["missed" if ran_before else "new"] += 1
            if ran_before:
                notes.append(f"missed: {names} ({label(story)})")
        elif mine & {labels[a.path] for a in earlier[link]}:
            counts["right"] += 1
        else:
            counts["wrong"] += 1
            theirs = ", ".join(a.path for a in earlier[link])
            notes.append(f"wrong: {names} ({label(story)}) -> {theirs} ({label(earlier[link])})")
    return counts, notes


def speed(earlier_n: int, today_n: int) -> dict[str, float]:
    """Time :func:`continuity.continuations` for ``today_n`` new articles against
    ``earlier_n`` earlier ones kept as leads, in this process."""
    from bench_pipeline import generate

    from briefing import ingest

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), earlier_n + today_n)
        articles, _ = ingest.read_folder(Path(tmp))
    articles.sort(key=lambda a: a.path)
    earlier = [as_kept(g.members) for g in clustering.group(articles[:earlier_n])]
    today = [g.members for g in clustering.group(articles[earlier_n:])]
    tracemalloc.start()  # numpy reports its arrays to tracemalloc too
    start = time.perf_counter()
    links = continuity.continuations(today, earlier)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    linked = sum(link is not None for link in links)
    return {
        "seconds": seconds,
        "peak": peak / 2**20,
        "linked": linked,
        "stories": len(today),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, default=20, help="random splits (default 20)")
    parser.add_argument("--speed", action="store_true", help="time it instead")
    parser.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(speed(*args.one)))
        return
    if args.speed:
        print(
            "| earlier articles | new articles | seconds | peak MB (traced) | new stories "
            "| linked |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        for earlier_n, today_n in ((200, 50), (1000, 100), (2000, 100)):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(earlier_n), str(today_n)],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout)
            print(
                f"| {earlier_n} | {today_n} | {r['seconds']:.2f} | {r['peak']:.0f} "
                f"| {r['stories']} | {r['linked']} |"
            )
        return
    articles, labels = load_mix()
    splits = {"halves": halves(articles, labels)}
    splits |= {f"random {s}": at_random(articles, s) for s in range(1, args.seeds + 1)}
    total: Counter[str] = Counter()
    print("| split | day 1 | day 2 | linked right | linked wrong | missed | rightly new |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    all_notes: list[str] = []
    for name, (day1, day2) in splits.items():
        counts, notes = score(day1, day2, labels)
        if name != "halves":
            total += counts
        all_notes += [f"{name}: {note}" for note in notes]
        print(
            f"| {name} | {len(day1)} | {len(day2)} | {counts['right']} | {counts['wrong']} "
            f"| {counts['missed']} | {counts['new']} |"
        )
    linked = total["right"] + total["wrong"]
    should = total["right"] + total["missed"]
    print(
        f"\nRandom splits together: {total['right']} right, {total['wrong']} wrong, "
        f"{total['missed']} missed, {total['new']} rightly new; precision "
        f"{total['right'] / max(1, linked):.3f}, recall {total['right'] / max(1, should):.3f}."
    )
    if all_notes:
        print("\n" + "\n".join(f"- {note}" for note in all_notes))


if __name__ == "__main__":
    main()
