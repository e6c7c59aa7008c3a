"""Choose the clustering thresholds of :mod:`briefing.clustering` by measurement.

Reads two labelled corpora, ``tests/data/stories`` (truth in its ``truth.json``:
``{"labels": {path: label}, "near_duplicates": [[a, b]]}``) and ``examples/``
(truth in ``examples/stories.json``: ``{path: label}``), and prints:

1. for every ``story_distance`` of the sweep (0.5 to 0.975, step 0.025 unless told)
   and every linkage, the adjusted Rand index (scikit-learn) of the grouping against
   the truth and the number of stories found, on both corpora. A near-duplicate copy
   is counted with the label of the story its kept article went to, so folding a
   pair costs nothing and folding two different stories costs ARI;
2. the distribution of pairwise cosine similarities within a story, across stories
   and for the near-duplicate pairs, which bounds ``DUPLICATE_SIMILARITY``: it must
   be above every other pair and at most the weakest near-duplicate pair;
3. the recommendation: the middle of the widest run of thresholds where the ARI is
   at its maximum on both corpora at once.

The average linkage runs through :func:`briefing.clustering.group` itself; the other
linkages re-cluster the same similarity matrix and the same folded duplicates.

Run: .venv/bin/python bench/bench_clustering.py [--step 0.025] [--linkage average ...]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

from briefing import clustering, ingest
from briefing.models import Article

REPO = Path(__file__).resolve().parents[1]
LINKAGES = ("average", "complete", "single")


@dataclass
class Corpus:
    """A labelled folder of articles."""

    name: str
    articles: list[Article]
    truth: list[str]
    duplicates: list[tuple[str, str]]

    @property
    def stories(self) -> int:
        return len(set(self.truth))


def load(name: str, folder: Path, truth_file: Path) -> Corpus:
    """The articles of ``folder`` and their true labels, in reading order."""
    articles, _ = ingest.read_folder(folder)
    data = json.loads(truth_file.read_text(encoding="utf-8"))
    labels: dict[str, str] = data.get("labels", data)
    missing = [a.path for a in articles if a.path not in labels]
    if missing:
        raise SystemExit(f"{truth_file}: no label for {', '.join(missing)}")
    pairs = [(str(a), str(b)) for a, b in data.get("near_duplicates", [])]
    return Corpus(name, articles, [labels[a.path] for a in articles], pairs)


def predict(corpus: Corpus, distance: float, linkage: str, duplicate: float) -> list[int]:
    """A story label per article of ``corpus``; copies get their kept article's label."""
    articles = corpus.articles
    index = {a.id: i for i, a in enumerate(articles)}
    if linkage == "average":
        groups = clustering.group(articles, story_distance=distance, duplicate_similarity=duplicate)
    else:
        groups = _regroup(articles, distance, linkage, duplicate)
    labels = [-1] * len(articles)
    for number, story in enumerate(groups):
        for article in story.articles:
            labels[index[article.id]] = number
        for copies in story.copies.values():
            for copy in copies:
                labels[index[copy.id]] = number
    assert -1 not in labels, "an article is in no story"
    return labels


def _regroup(
    articles: Sequence[Article], distance: float, linkage: str, duplicate: float
) -> list[clustering.Group]:
    """The module's grouping with another linkage: same vectors, same folded copies."""
    # One story holding everything: group() still folds the duplicates the same way.
    (whole,) = clustering.group(articles, story_distance=10.0, duplicate_similarity=duplicate)
    kept = whole.articles
    if len(kept) == 1:
        return [whole]
    sim = clustering.similarity(articles)
    position = {a.id: i for i, a in enumerate(articles)}
    rows = [position[a.id] for a in kept]
    dist = np.clip(1.0 - sim[np.ix_(rows, rows)], 0.0, 2.0)
    found = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage=linkage, distance_threshold=distance
    ).fit_predict(dist)
    by_label: dict[int, list[Article]] = {}
    for article, label in zip(kept, found, strict=True):
        by_label.setdefault(int(label), []).append(article)
    return [
        clustering.Group(
            members, {a.id: whole.copies[a.id] for a in members if a.id in whole.copies}
        )
        for members in by_label.values()
    ]


def similarities(corpus: Corpus, *, alone: bool = False) -> dict[str, list[float]]:
    """Pairwise cosine similarities: within a story, across stories, near-duplicates.

    With ``alone``, each pair is vectorised as if it were the whole folder (the IDF
    then comes from those two texts only), as in a run on a folder of two articles.
    """
    arts = corpus.articles
    sim = clustering.similarity(arts)
    dup = {frozenset(pair) for pair in corpus.duplicates}
    out: dict[str, list[float]] = {"within": [], "across": [], "near-duplicate": []}
    for i in range(len(arts)):
        for j in range(i + 1, len(arts)):
            value = float(clustering.similarity([arts[i], arts[j]])[0, 1] if alone else sim[i, j])
            if frozenset((arts[i].path, arts[j].path)) in dup:
                out["near-duplicate"].append(value)
            elif corpus.truth[i] == corpus.truth[j]:
                out["within"].append(value)
            else:
                out["across"].append(value)
    return out


def widest_run(values: list[float], good: list[bool]) -> tuple[float, float] | None:
    """First and last value of the longest run of consecutive ``good`` entries."""
    best: tuple[int, int] | None = None
    start: int | None = None
    for i, ok in enumerate([*good, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if best is None or i - start > best[1] - best[0] + 1:
                best = (start, i - 1)
            start = None
    return None if best is None else (values[best[0]], values[best[1]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", type=float, default=0.025, help="sweep step (default 0.025)")
    parser.add_argument("--start", type=float, default=0.5)
    parser.add_argument("--stop", type=float, default=0.98)
    parser.add_argument("--linkage", nargs="+", default=list(LINKAGES), choices=LINKAGES)
    parser.add_argument(
        "--duplicate",
        type=float,
        default=clustering.DUPLICATE_SIMILARITY,
        help="duplicate_similarity used during the story sweep (default: the module's)",
    )
    args = parser.parse_args()

    corpora = [
        load("stories", REPO / "tests/data/stories", REPO / "tests/data/stories/truth.json"),
        load("examples", REPO / "examples", REPO / "examples/stories.json"),
    ]
    console = Console()
    count = round((args.stop - args.start) / args.step)
    grid = [round(args.start + k * args.step, 4) for k in range(count + 1)]
    grid = [t for t in grid if t <= args.stop + 1e-9]

    # -- 1. story_distance sweep --------------------------------------------------------
    table = Table(title=f"story_distance sweep (duplicate_similarity={args.duplicate})")
    table.add_column("linkage")
    table.add_column("story_distance", justify="right")
    for corpus in corpora:
        table.add_column(f"ARI {corpus.name}", justify="right")
        table.add_column(f"stories {corpus.name} (true {corpus.stories})", justify="right")
    scores: dict[str, list[tuple[float, ...]]] = {}
    for linkage in args.linkage:
        scores[linkage] = []
        for t in grid:
            row: list[str] = [linkage, f"{t:.3f}"]
            aris: list[float] = []
            for corpus in corpora:
                labels = predict(corpus, t, linkage, args.duplicate)
                ari = float(adjusted_rand_score(corpus.truth, labels))
                aris.append(ari)
                row += [f"{ari:.3f}", str(len(set(labels)))]
            scores[linkage].append(tuple(aris))
            table.add_row(*row)
        table.add_section()
    console.print(table)

    # -- 2. similarity distribution -------------------------------------------------------
    for alone in (False, True):
        title = "each pair alone (a two-article folder)" if alone else "in the whole folder"
        dist = Table(title=f"pairwise cosine similarity, {title}")
        for column in ("corpus", "pairs", "n", "min", "median", "p95", "max"):
            dist.add_column(column, justify="left" if column in ("corpus", "pairs") else "right")
        for corpus in corpora:
            for kind, values in similarities(corpus, alone=alone).items():
                if values:
                    arr = np.array(values)
                    stats = (arr.min(), np.median(arr), np.quantile(arr, 0.95), arr.max())
                    dist.add_row(corpus.name, kind, str(arr.size), *(f"{v:.3f}" for v in stats))
        console.print(dist)

    # -- 3. recommendation ----------------------------------------------------------------
    for linkage, rows in scores.items():
        best = [max(r[k] for r in rows) for k in range(len(corpora))]
        good = [all(r[k] == best[k] for k in range(len(corpora))) for r in rows]
        run = widest_run(grid, good)
        maxima = ", ".join(f"{c.name} {b:.3f}" for c, b in zip(corpora, best, strict=True))
        if run is None:
            console.print(f"{linkage}: max ARI {maxima}; no threshold reaches both maxima")
            continue
        middle = (run[0] + run[1]) / 2
        console.print(
            f"{linkage}: max ARI {maxima}; both at max for story_distance "
            f"{run[0]:.3f}..{run[1]:.3f} -> middle {middle:.3f}"
        )
    # Both settings count: a pair must fold in a big folder and in a folder of two.
    others: list[float] = []
    dups: list[float] = []
    for corpus in corpora:
        for alone in (False, True):
            found = similarities(corpus, alone=alone)
            others += found["within"] + found["across"]
            dups += found["near-duplicate"]
    if dups:
        low, high = max(others), min(dups)
        current = clustering.DUPLICATE_SIMILARITY
        verdict = "separable" if high > low else "NOT separable"
        console.print(
            f"duplicate_similarity (whole folders and pairs alone): highest other pair "
            f"{low:.3f}, weakest near-duplicate {high:.3f} ({verdict}); middle "
            f"{(low + high) / 2:.3f}; current {current} "
            f"{'catches' if high >= current else 'MISSES'} the pairs and "
            f"{'folds no other pair' if low < current else 'FOLDS OTHERS'}"
        )


if __name__ == "__main__":
    main()
