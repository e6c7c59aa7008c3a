"""Measure story grouping (:mod:`briefing.clustering`) on four labelled sets.

The sets:

- ``mix``: the 42-article real mix of ``../shared/corpus/multiling2011/stories.json``
  (3 WikiNews clusters of 10, the 2 seeds, 10 saved news pages), copied to a
  temporary folder and read as a user's folder (never copied into the project);
  left out, with a note, when ``../shared/corpus`` is absent;
- ``stories``: ``tests/data/stories`` (truth in its ``truth.json``);
- ``examples``: ``examples/`` (truth in ``examples/stories.json``);
- ``same_topic``: ``tests/data/same_topic`` (same topic, different events).

It prints, as Markdown:

1. per set, with the module's thresholds: articles, true and found stories, the
   adjusted Rand index (scikit-learn), and the pairs of articles wrongly joined (one
   story found, two true stories) and wrongly split (one true story, two found),
   named by the found or true story they belong to. A near-duplicate copy counts in
   the story of its kept article;
2. one sweep per threshold (``story_similarity``, ``related_similarity``,
   ``headline_overlap_at``), the others at the module's values: ARI per set, and the
   plateau, the widest run of values where every set is at or above the floor
   (0.95, issue 17);
3. the bound on ``duplicate_similarity``: the highest similarity of two articles that
   are not copies and the weakest near-duplicate pair, in the whole folder and with
   each pair alone (a folder of two).

Run: .venv/bin/python bench/bench_clustering.py [--sets mix stories ...] [--no-sweep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from briefing import clustering, ingest
from briefing.models import Article

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "corpus"  # ../shared/corpus: read there, never copied here
SETS = ("mix", "stories", "examples", "same_topic")
FLOOR = 0.95
SWEEPS: dict[str, tuple[float, float, float]] = {  # start, stop, step
    "story_similarity": (0.10, 0.34, 0.02),
    "related_similarity": (0.00, 0.12, 0.01),
    "headline_overlap_at": (0.02, 0.14, 0.01),
}
DEFAULTS = {
    "story_similarity": clustering.STORY_SIMILARITY,
    "related_similarity": clustering.RELATED_SIMILARITY,
    "headline_overlap_at": clustering.HEADLINE_OVERLAP,
}


@dataclass
class Corpus:
    """A labelled folder of articles, in reading order."""

    name: str
    articles: list[Article]
    truth: list[str]
    duplicates: list[tuple[str, str]]

    @property
    def stories(self) -> int:
        return len(set(self.truth))


def load(name: str) -> Corpus | None:
    """One of :data:`SETS`, or None when its files are absent."""
    if name == "mix":
        return _load_mix()
    folder, truth_file = {
        "stories": (REPO / "tests/data/stories", REPO / "tests/data/stories/truth.json"),
        "examples": (REPO / "examples", REPO / "examples/stories.json"),
        "same_topic": (REPO / "tests/data/same_topic", REPO / "tests/data/same_topic/truth.json"),
    }[name]
    articles, _ = ingest.read_folder(folder)
    data = json.loads(truth_file.read_text(encoding="utf-8"))
    labels: dict[str, str] = data.get("labels", data)
    missing = [a.path for a in articles if a.path not in labels]
    if missing:
        raise SystemExit(f"{truth_file}: no label for {', '.join(missing)}")
    pairs = [(str(a), str(b)) for a, b in data.get("near_duplicates", [])]
    return Corpus(name, articles, [labels[a.path] for a in articles], pairs)


def _load_mix() -> Corpus | None:
    stories = SHARED / "multiling2011" / "stories.json"
    if not stories.is_file():
        print(f"(mix left out: {stories} not found)\n")
        return None
    truth: dict[str, str] = json.loads(stories.read_text(encoding="utf-8"))
    folder = Path(tempfile.mkdtemp(prefix="brief-mix-"))
    try:
        labels = {}
        for rel, label in truth.items():
            name = rel.replace("/", "_")
            shutil.copyfile(SHARED / rel, folder / name)
            labels[name] = label
        articles, problems = ingest.read_folder(folder)
    finally:
        shutil.rmtree(folder)
    if problems:
        raise SystemExit(f"the mix did not read cleanly: {problems}")
    return Corpus("mix", articles, [labels[a.path] for a in articles], [])


def predict(corpus: Corpus, **thresholds: float) -> list[int]:
    """A found story number per article of ``corpus``; copies get their kept article's."""
    index = {a.id: i for i, a in enumerate(corpus.articles)}
    labels = [-1] * len(corpus.articles)
    for number, story in enumerate(clustering.group(corpus.articles, **thresholds)):
        for article in story.articles:
            labels[index[article.id]] = number
        for copies in story.copies.values():
            for copy in copies:
                labels[index[copy.id]] = number
    assert -1 not in labels, "an article is in no story"
    return labels


def ari(corpus: Corpus, **thresholds: float) -> float:
    return float(adjusted_rand_score(corpus.truth, predict(corpus, **thresholds)))


def errors(corpus: Corpus, found: Sequence[int]) -> tuple[list[str], list[str]]:
    """Lines naming the pairs wrongly joined and wrongly split."""
    paths = [a.path for a in corpus.articles]
    joined: dict[int, list[tuple[str, str]]] = {}
    split: dict[str, list[tuple[str, str]]] = {}
    for i, j in combinations(range(len(paths)), 2):
        same_truth = corpus.truth[i] == corpus.truth[j]
        same_found = found[i] == found[j]
        if same_found and not same_truth:
            joined.setdefault(found[i], []).append((paths[i], paths[j]))
        elif same_truth and not same_found:
            split.setdefault(corpus.truth[i], []).append((paths[i], paths[j]))
    joined_lines = []
    for number, pairs in joined.items():
        members = [p for p, f in zip(paths, found, strict=True) if f == number]
        by_truth = {corpus.truth[paths.index(p)] for p in members}
        joined_lines.append(
            f"{len(pairs)} pairs: found story {number} holds true stories "
            f"{', '.join(sorted(by_truth))} ({', '.join(sorted(members))})"
        )
    split_lines = []
    for label, pairs in split.items():
        pieces: dict[int, list[str]] = {}
        for p, t, f in zip(paths, corpus.truth, found, strict=True):
            if t == label:
                pieces.setdefault(f, []).append(p)
        shown = " | ".join(
            ", ".join(sorted(members)) if len(members) <= 3 else f"{len(members)} articles"
            for members in sorted(pieces.values(), key=len)
        )
        split_lines.append(f"{len(pairs)} pairs: true story {label} in {len(pieces)}: {shown}")
    return joined_lines, split_lines


def grid(start: float, stop: float, step: float) -> list[float]:
    count = round((stop - start) / step)
    return [round(start + k * step, 4) for k in range(count + 1)]


def widest_run(values: list[float], good: list[bool]) -> tuple[float, float] | None:
    """First and last value of the longest run of consecutive ``good`` entries."""
    best: tuple[int, int] | None = None
    start: int | None = None
    for i, ok in enumerate([*good, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if best is None or i - start > best[1] - best[0]:
                best = (start, i - 1)
            start = None
    return None if best is None else (values[best[0]], values[best[1]])


def similarities(corpus: Corpus, *, alone: bool = False) -> tuple[list[float], list[float]]:
    """Pairwise cosine similarities: (pairs that are not copies, near-duplicate pairs).

    With ``alone``, each pair is vectorised as if it were the whole folder (the IDF
    then comes from those two texts only), as in a run on a folder of two articles.
    """
    arts = corpus.articles
    sim = clustering.similarity(arts)
    dup = {frozenset(pair) for pair in corpus.duplicates}
    others: list[float] = []
    dups: list[float] = []
    for i, j in combinations(range(len(arts)), 2):
        value = float(clustering.similarity([arts[i], arts[j]])[0, 1] if alone else sim[i, j])
        (dups if frozenset((arts[i].path, arts[j].path)) in dup else others).append(value)
    return others, dups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--no-sweep", action="store_true", help="only the module's thresholds")
    args = parser.parse_args()
    corpora = [c for c in (load(name) for name in args.sets) if c is not None]

    # -- 1. the module's thresholds ------------------------------------------------------------
    values = ", ".join(f"{k} {v}" for k, v in DEFAULTS.items())
    print(f"## ARI with the module's thresholds ({values})\n")
    print("| set | articles | true stories | found | ARI | pairs wrongly joined | wrongly split |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    details: list[str] = []
    for corpus in corpora:
        found = predict(corpus)
        score = float(adjusted_rand_score(corpus.truth, found))
        joined, split = errors(corpus, found)
        n_joined = sum(int(line.split()[0]) for line in joined)
        n_split = sum(int(line.split()[0]) for line in split)
        print(
            f"| {corpus.name} | {len(corpus.articles)} | {corpus.stories} | {len(set(found))} "
            f"| {score:.3f} | {n_joined} | {n_split} |"
        )
        details += [f"- {corpus.name}, wrongly joined: {line}" for line in joined]
        details += [f"- {corpus.name}, wrongly split: {line}" for line in split]
    print()
    print("\n".join(details) if details else "No pair wrongly joined or split.")
    print()

    # -- 2. sweeps -----------------------------------------------------------------------------
    if not args.no_sweep:
        for name, (start, stop, step) in SWEEPS.items():
            points = grid(start, stop, step)
            print(f"## {name} sweep (others at the module's values; now {DEFAULTS[name]})\n")
            print(f"| {name} | " + " | ".join(c.name for c in corpora) + " |")
            print("| ---: |" + " ---: |" * len(corpora))
            good = []
            for value in points:
                scores = [ari(c, **{name: value}) for c in corpora]
                good.append(min(scores) >= FLOOR)
                cells = " | ".join(f"**{s:.3f}**" if s >= FLOOR else f"{s:.3f}" for s in scores)
                print(f"| {value:.2f} | {cells} |")
            run = widest_run(points, good)
            where = "none" if run is None else f"{run[0]:.2f}..{run[1]:.2f}"
            print(f"\nplateau (every set >= {FLOOR}): {where}\n")

    # -- 3. near-duplicates --------------------------------------------------------------------
    print("## duplicate_similarity bound\n")
    others: list[float] = []
    dups: list[float] = []
    for corpus in corpora:
        for alone in (False, True):
            o, d = similarities(corpus, alone=alone)
            others += o
            dups += d
    if not dups:
        print("no near-duplicate pair in these sets")
        return
    low, high = max(others), min(dups)
    current = clustering.DUPLICATE_SIMILARITY
    print(
        f"highest pair that is not a copy {low:.3f} (of {len(others)}, whole folders and "
        f"pairs alone; median {float(np.median(others)):.3f}); weakest near-duplicate "
        f"{high:.3f}; now {current}: "
        f"{'catches every copy' if high >= current else 'MISSES a copy'}, "
        f"{'folds no other pair' if low < current else 'FOLDS OTHER PAIRS'}"
    )


if __name__ == "__main__":
    main()
