"""Group articles into stories, and fold near-duplicate texts into one.

Vectors are TF-IDF (scikit-learn) over word uni- and bigrams with sublinear
term frequency; stories are the clusters of average-linkage agglomerative clustering on
cosine distance, cut at :data:`STORY_DISTANCE`. Near-duplicates (wire copies, the
same text re-published) are pairs whose cosine similarity reaches
:data:`DUPLICATE_SIMILARITY`; each such group is briefed once, with every copy
listed as a source.

Both thresholds were chosen by measurement on ``tests/data/stories`` (see
``bench/bench_clustering.py`` and ``docs/CLUSTERING.md``), not by taste.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfTransformer

from briefing.models import Article

STORY_DISTANCE = 0.91
DUPLICATE_SIMILARITY = 0.56
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
_BLOCK = 256  # rows of the similarity matrix computed at a time


@dataclass
class Group:
    """The articles of one story; ``copies`` maps an article id to its near-duplicates."""

    articles: list[Article]
    copies: dict[str, list[Article]] = field(default_factory=dict)


def similarity(articles: Sequence[Article]) -> np.ndarray:
    """Cosine similarity of the articles' TF-IDF vectors (rows are L2-normalised)."""
    counts = term_counts([f"{a.title}\n{a.text}" for a in articles])
    matrix = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    # Rows of the product a block at a time, into one dense array: the whole sparse
    # product (nearly every pair shares a term) took twice the memory of the result.
    # Each row of a sparse product is computed on its own: the values are the same.
    right = matrix.T.tocsr()
    sim = np.empty((matrix.shape[0], matrix.shape[0]), dtype=matrix.dtype)
    for start in range(0, matrix.shape[0], _BLOCK):
        sim[start : start + _BLOCK] = (matrix[start : start + _BLOCK] @ right).toarray()
    return sim


def term_counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """How often each word uni- and bigram occurs in each text: what scikit-learn's
    ``CountVectorizer(ngram_range=(1, 2), stop_words="english")`` counts (lower case,
    its token pattern, English stop words left out before bigrams are made), with the
    columns in another order, which no similarity depends on.

    Made with a dict and numpy instead: CountVectorizer builds and sorts a vocabulary
    of term strings (0.2 s for bench_pipeline.py's 200 articles), and the hashed
    columns used before (HashingVectorizer, 0.075 s) joined every bigram into a
    string and moved similarities by up to 0.008 where two terms shared a column;
    this takes 0.04 s, and its similarities are CountVectorizer's (to 1e-5)."""
    vocabulary: dict[str, int] = {}
    word = vocabulary.setdefault
    ids_of = [
        [
            word(w, len(vocabulary))
            for w in _TOKEN.findall(text.lower())
            if w not in ENGLISH_STOP_WORDS
        ]
        for text in texts
    ]
    words = len(vocabulary)
    lengths = np.fromiter(map(len, ids_of), dtype=np.int64, count=len(ids_of))
    ids = np.fromiter(
        itertools.chain.from_iterable(ids_of), dtype=np.int64, count=int(lengths.sum())
    )
    rows = np.repeat(np.arange(len(texts)), lengths)
    within = rows[:-1] == rows[1:]  # two neighbouring words of one text: a bigram
    pairs = ids[:-1][within] * words + ids[1:][within]
    bigrams, columns = np.unique(pairs, return_inverse=True)
    rows = np.concatenate([rows, rows[:-1][within]])
    columns = np.concatenate([ids, words + columns.reshape(-1)])
    # Repeated (row, column) entries are summed; one column at least, for texts of no terms.
    return sparse.csr_matrix(
        (np.ones(len(columns), dtype=np.float32), (rows, columns)),
        shape=(len(texts), max(1, words + len(bigrams))),
    )


def group(
    articles: Sequence[Article],
    *,
    story_distance: float = STORY_DISTANCE,
    duplicate_similarity: float = DUPLICATE_SIMILARITY,
) -> list[Group]:
    """The stories of ``articles``, largest first, near-duplicates folded."""
    if not articles:
        return []
    if len(articles) == 1:
        return [Group([articles[0]])]
    sim = similarity(articles)
    keep, copies = _fold_duplicates(articles, sim, duplicate_similarity)
    if len(keep) == 1:
        labels = [0]
    else:
        # In place: sim is not needed after the fold, and each copy is N x N.
        distance = sim[np.ix_(keep, keep)] if len(keep) < len(articles) else sim
        np.subtract(1.0, distance, out=distance)
        np.clip(distance, 0.0, 2.0, out=distance)
        np.fill_diagonal(distance, 0.0)
        # Average linkage cut at story_distance: the tree scikit-learn's
        # AgglomerativeClustering builds with this same scipy call, without its
        # wrapper (whose first use imported scipy.cluster: 0.05 s of a run).
        tree = hierarchy.linkage(squareform(distance, checks=False), method="average")
        labels = [int(x) for x in hierarchy.fcluster(tree, story_distance, criterion="distance")]
    by_label: dict[int, list[int]] = {}
    for index, label in zip(keep, labels, strict=True):
        by_label.setdefault(label, []).append(index)
    stories = [
        Group(
            articles=[articles[i] for i in members],
            copies={articles[i].id: [articles[j] for j in copies[i]] for i in members if copies[i]},
        )
        for members in by_label.values()
    ]
    stories.sort(key=lambda s: (-_width(s), s.articles[0].path))
    return stories


def _width(story: Group) -> int:
    return len(story.articles) + sum(len(c) for c in story.copies.values())


def _fold_duplicates(
    articles: Sequence[Article], sim: np.ndarray, threshold: float
) -> tuple[list[int], dict[int, list[int]]]:
    """Indices to keep, and for each kept index the indices of its copies.

    The kept one of a duplicate group is the longest text (the fullest copy): taken
    longest first, an article not yet a copy takes as its copies the shorter ones
    similar enough to it that are not copies yet."""
    order = sorted(range(len(articles)), key=lambda i: (-len(articles[i].text), i))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    # The pairs similar enough, the longer first: found in one pass over the matrix
    # (a loop over all pairs in Python took 1.2 s at 5000 articles, this 0.05 s).
    longer, shorter = np.nonzero(sim >= threshold)
    ahead = rank[longer] < rank[shorter]
    candidates: dict[int, list[int]] = {}
    for i, j in zip(longer[ahead].tolist(), shorter[ahead].tolist(), strict=True):
        candidates.setdefault(i, []).append(j)
    copy_of: dict[int, int] = {}
    for i in order:
        if i in copy_of:
            continue
        for j in candidates.get(i, ()):
            if j not in copy_of:
                copy_of[j] = i
    keep = sorted(i for i in range(len(articles)) if i not in copy_of)
    copies: dict[int, list[int]] = {i: [] for i in keep}
    for j, i in sorted(copy_of.items()):
        copies[i].append(j)
    return keep, copies
