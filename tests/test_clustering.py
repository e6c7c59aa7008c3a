"""Stories and near-duplicates on labelled folders: real news (the 42-article mix of
``../shared/corpus``, skipped when absent), tests/data/stories, examples/ and
tests/data/same_topic (same topic, different events).

The ARI floor (0.95) is issue 17's; the thresholds behind it were measured with
bench/bench_clustering.py (docs/CLUSTERING.md).
"""

from __future__ import annotations

import json
import random
import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from briefing import clustering, ingest, terms
from briefing.clustering import Group, group, similarity
from briefing.models import Article

ROOT = Path(__file__).resolve().parents[1]
STORIES = ROOT / "tests" / "data" / "stories"
SAME_TOPIC = ROOT / "tests" / "data" / "same_topic"
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared" / "corpus"  # ../shared/corpus: read there, never copied here
FLOOR = 0.95  # issue 17: ARI >= 0.95 on the real mix, stories, examples/ and same_topic
NAMES = ["mix", "stories", "examples", "same_topic"]
# Inside the measured plateau where every corpus is at its best (docs/CLUSTERING.md).
MEASURED = [
    {"story_similarity": 0.18},
    {"story_similarity": 0.24},
    {"related_similarity": 0.03},
    {"related_similarity": 0.08},
    {"headline_overlap_at": 0.06},
    {"headline_overlap_at": 0.08},
]


@cache
def corpus(name: str) -> tuple[list[Article], dict[str, str], list[tuple[str, str]]]:
    """Articles of a labelled folder, their true labels by path, near-duplicate pairs."""
    if name == "mix":
        return mix()
    folder, truth = {
        "stories": (STORIES, STORIES / "truth.json"),
        "examples": (EXAMPLES, EXAMPLES / "stories.json"),
        "same_topic": (SAME_TOPIC, SAME_TOPIC / "truth.json"),
    }[name]
    articles, _ = ingest.read_folder(folder)
    data = json.loads(truth.read_text(encoding="utf-8"))
    labels = data.get("labels", data)
    pairs = [(a, b) for a, b in data.get("near_duplicates", [])]
    return articles, labels, pairs


@cache
def mix() -> tuple[list[Article], dict[str, str], list[tuple[str, str]]]:
    """The 42 articles of ``multiling2011/stories.json`` (3 WikiNews clusters, the
    seeds, 10 saved pages), read from a temporary folder of copies as a user's folder."""
    stories = SHARED / "multiling2011" / "stories.json"
    if not stories.is_file():
        pytest.skip(f"the shared corpus is absent ({stories} not found)")
    truth: dict[str, str] = json.loads(stories.read_text(encoding="utf-8"))
    import tempfile

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
    assert not problems
    return articles, labels, []


def predicted(groups: list[Group]) -> dict[str, int]:
    """Story number by path; a copy counts in its kept article's story."""
    out: dict[str, int] = {}
    for number, story in enumerate(groups):
        for article in story.articles:
            out[article.path] = number
        for copies in story.copies.values():
            for copy in copies:
                out[copy.path] = number
    return out


def ari(name: str, **thresholds: float) -> float:
    articles, labels, _ = corpus(name)
    found = predicted(group(articles, **thresholds))
    assert sorted(found) == sorted(a.path for a in articles), "every article in one story"
    paths = sorted(labels)
    return float(adjusted_rand_score([labels[p] for p in paths], [found[p] for p in paths]))


def partition(groups: list[Group]) -> set[frozenset[str]]:
    return {
        frozenset(
            [a.path for a in story.articles]
            + [c.path for copies in story.copies.values() for c in copies]
        )
        for story in groups
    }


def article(path: str, text: str, title: str = "") -> Article:
    return Article(id=ingest.article_id(text), path=path, title=title, source="x", text=text)


# --- the ARI floor ----------------------------------------------------------------------------


def test_truth_covers_the_test_folder() -> None:
    articles, labels, pairs = corpus("stories")
    assert sorted(a.path for a in articles) == sorted(labels)
    stories = [label for label in set(labels.values()) if not label.startswith("single-")]
    assert len(stories) >= 5  # issue 4: at least 5 stories x 3-5 articles, plus singletons
    assert len(pairs) == 1


@pytest.mark.parametrize("name", NAMES)
def test_ari_floor_with_module_thresholds(name: str) -> None:
    assert ari(name) >= FLOOR


@pytest.mark.parametrize("thresholds", MEASURED)
@pytest.mark.parametrize("name", NAMES)
def test_ari_floor_holds_across_the_measured_plateau(
    name: str, thresholds: dict[str, float]
) -> None:
    assert ari(name, **thresholds) >= FLOOR


def test_one_threshold_is_not_the_fix() -> None:
    """Step 1 alone (no headline step) at its own threshold splits the real stories."""
    assert ari("mix", related_similarity=2.0) < 0.6


def test_real_clusters_are_one_story_each_at_most_one_stray() -> None:
    articles, labels, _ = corpus("mix")
    for story in group(articles):
        found = {labels[a.path] for a in story.articles}
        if any(label.startswith("M00") for label in found):
            assert len(found) == 1, f"a real story joined another: {found}"
    for cluster in ("M000", "M001", "M002"):
        sizes = [
            sum(labels[a.path] == cluster for a in story.articles) for story in group(articles)
        ]
        assert max(sizes) >= 9, f"{cluster} split: {sorted(sizes, reverse=True)}"


def test_same_topic_different_events_stay_apart() -> None:
    articles, labels, _ = corpus("same_topic")
    for story in group(articles):
        assert len({labels[a.path] for a in story.articles}) == 1


def test_each_story_says_what_its_articles_share() -> None:
    articles, labels, _ = corpus("examples")
    for story in group(articles):
        assert story.shared, "every story names its shared terms"
    by_label = {labels[s.articles[0].path]: s.shared for s in group(articles)}
    assert "cable" in by_label["baltic-cable-sabotage"]
    assert "water" in by_label["port-ellery-water-rationing"]


def test_examples_stories_are_one_section_each() -> None:
    articles, labels, _ = corpus("examples")
    groups = group(articles)
    assert len(groups) == len(set(labels.values()))
    for story in groups:
        assert len({labels[a.path] for a in story.articles}) == 1


# --- near-duplicates --------------------------------------------------------------------------


def test_near_duplicate_pair_is_folded() -> None:
    articles, _, pairs = corpus("stories")
    (pair,) = pairs
    groups = group(articles)
    folded = [(kept, copies) for story in groups for kept, copies in story.copies.items()]
    assert len(folded) == 1, "exactly one article has copies"
    kept_id, copies = folded[0]
    by_id = {a.id: a for a in articles}
    assert sorted([by_id[kept_id].path, *(c.path for c in copies)]) == sorted(pair)
    # The fullest text is the one kept; the copy is not also briefed as an article.
    assert len(by_id[kept_id].text) >= max(len(c.text) for c in copies)
    briefed = [a.path for story in groups for a in story.articles]
    assert all(c.path not in briefed for c in copies)
    assert by_id[kept_id].path in briefed


def test_near_duplicate_pair_alone_is_folded() -> None:
    articles, _, pairs = corpus("stories")
    pair = [a for a in articles if a.path in pairs[0]]
    (story,) = group(pair)
    assert len(story.articles) == 1
    assert [len(c) for c in story.copies.values()] == [1]


def test_duplicate_threshold_separates_the_pair_from_every_other_pair() -> None:
    articles, _, pairs = corpus("stories")
    sim = similarity(articles)
    index = {a.path: i for i, a in enumerate(articles)}
    (a, b) = pairs[0]
    assert sim[index[a], index[b]] >= clustering.DUPLICATE_SIMILARITY
    others = sim.copy()
    np.fill_diagonal(others, 0.0)
    others[index[a], index[b]] = others[index[b], index[a]] = 0.0
    assert others.max() < clustering.DUPLICATE_SIMILARITY


def test_no_copies_in_examples() -> None:
    articles, _, _ = corpus("examples")
    assert all(not story.copies for story in group(articles))


def test_only_near_duplicates_left_is_one_story() -> None:
    text = (
        "Port workers in Antwerp walked out on Monday over a new shift system. "
        "The union said the strike would last 48 hours and cargo would pile up."
    )
    longer = text + " Ships were diverted to Rotterdam."
    groups = group([article("a.txt", text, "Strike"), article("b.txt", longer, "Strike")])
    assert len(groups) == 1
    assert [a.path for a in groups[0].articles] == ["b.txt"]
    assert [c.path for c in groups[0].copies[groups[0].articles[0].id]] == ["a.txt"]


def test_fold_keeps_the_longest_and_a_copy_takes_no_copies_of_its_own() -> None:
    # Texts of 3, 5, 2 and 4 characters: taken longest first, 1 takes 3 as its copy;
    # 3 is then a copy, so 0 (similar to 3, not to 1) is kept and takes 2.
    articles = [article(f"{i}.txt", "x" * n, "T") for i, n in enumerate((3, 5, 2, 4))]
    sim = np.eye(4, dtype=np.float32)
    for i, j in ((1, 3), (3, 0), (0, 2)):
        sim[i, j] = sim[j, i] = 0.9
    sim[1, 2] = sim[2, 1] = 0.3  # under the threshold
    assert clustering._fold_duplicates(articles, sim, 0.56) == ([0, 1], {0: [2], 1: [3]})
    assert clustering._fold_duplicates(articles, sim, 0.95) == (
        [0, 1, 2, 3],
        {0: [], 1: [], 2: [], 3: []},
    )


# --- edges and stability ----------------------------------------------------------------------


def test_empty_input() -> None:
    assert group([]) == []


def test_single_article() -> None:
    one = article("only.txt", "A lone story about chess.", "Chess")
    assert group([one]) == [Group([one])]


def test_similarity_is_symmetric_with_unit_diagonal() -> None:
    articles, _, _ = corpus("examples")
    sim = similarity(articles)
    assert sim.shape == (len(articles), len(articles))
    assert np.allclose(sim, sim.T, atol=1e-6)
    assert np.allclose(np.diag(sim), 1.0, atol=1e-5)


def test_same_input_same_output() -> None:
    articles, _, _ = corpus("stories")
    first, second = group(articles), group(list(articles))
    assert first == second


def test_largest_story_first() -> None:
    articles, _, _ = corpus("stories")
    widths = [len(s.articles) + sum(len(c) for c in s.copies.values()) for s in group(articles)]
    assert widths == sorted(widths, reverse=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_input_order_does_not_change_the_stories(seed: int) -> None:
    articles, _, _ = corpus("stories")
    shuffled = list(articles)
    random.Random(seed).shuffle(shuffled)
    assert partition(group(shuffled)) == partition(group(articles))


# --- term counts ------------------------------------------------------------------------------


def test_term_counts_stem_and_skip_stop_words() -> None:
    counts = terms.term_counts(["", "the of and", "Bombings bombers bomb", "bomb"])
    assert counts.shape[0] == 4
    assert counts[0].sum() == 0 and counts[1].sum() == 0
    assert counts[2].sum() == 3 and counts[2].nnz == 1  # one term: "bomb"
    assert (counts[2] > 0).toarray().tolist() == (counts[3] > 0).toarray().tolist()
    assert terms.term_counts(["", "the"]).shape == (2, 1)  # no terms: one empty column


def test_stem_keeps_short_words_whole() -> None:
    assert [terms.stem(w) for w in ("news", "ties", "sailors", "iranian", "laws")] == [
        "news",
        "ties",
        "sailor",
        "iran",
        "laws",
    ]


def test_bench_clustering_runs_and_reports_the_module_figures() -> None:
    """bench/bench_clustering.py is the command docs/CLUSTERING.md cites: it must run
    against the module as it is (it once called a parameter that no longer existed)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_clustering.py"), "--no-sweep",
         "--sets", "examples", "same_topic"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    assert "| examples | 10 | 4 | 4 | 1.000 | 0 | 0 |" in out, out
    assert "| same_topic | 13 | 7 | 7 | 1.000 | 0 | 0 |" in out, out
    assert "folds no other pair" in out or "no near-duplicate pair" in out, out


def test_cosine_dense_and_sparse_parts_match_one_sparse_product() -> None:
    """The most used terms go through BLAS, the rest through a sparse product (for
    speed): the result is the plain product, pairs of fewer than MIN_SHARED shared
    terms at 0, within float32 rounding."""
    from scipy import sparse

    rng = np.random.default_rng(7)
    # 300 rows: columns 0-39 used by about 40% of them (dense part), 40-2039 rarely.
    common = sparse.random(300, 40, density=0.4, random_state=1, format="csr")
    rare = sparse.random(300, 2000, density=0.004, random_state=2, format="csr")
    matrix = sparse.hstack([common, rare]).tocsr()
    matrix = matrix[:, rng.permutation(matrix.shape[1])].astype(np.float64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    matrix = sparse.diags(1.0 / norms) @ matrix
    used = (matrix > 0).astype(np.float64)
    expected = (matrix @ matrix.T).toarray()
    expected[(used @ used.T).toarray() < clustering.MIN_SHARED] = 0.0
    np.fill_diagonal(expected, 1.0)
    got = clustering._cosine(sparse.csr_matrix(matrix))
    assert np.abs(got - expected).max() < 1e-5
    assert (got[expected == 0] == 0).all()
