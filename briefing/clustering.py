"""Group articles into stories, and fold near-duplicate texts into one.

Articles are compared on their terms (:mod:`briefing.terms`: stemmed words, the title
counted three times), as TF-IDF vectors with sublinear term frequency, by cosine
similarity. Stories are made in two steps:

1. **Events**: average-linkage agglomerative clustering, cut where the average
   similarity of two groups falls below :data:`STORY_SIMILARITY`. Outlets telling
   one event share its particulars (names, figures, places), and join here.
2. **Ongoing stories**: two groups of step 1 join, most similar first, while their
   average similarity is at least :data:`RELATED_SIMILARITY` *and* their headlines
   overlap: on average, a headline's terms (weighted by IDF) are found in the other
   article's headline or lead for at least :data:`HEADLINE_OVERLAP` of their weight.
   Reports of one story days or years apart (a tsunami's toll, then its aid) share
   little text but name it up front; two events on one topic (a strike at one port,
   a fee at another) share words but not headlines.

Near-duplicates (wire copies, the same text re-published) are pairs whose cosine
similarity reaches :data:`DUPLICATE_SIMILARITY`; each such group is briefed once,
with every copy listed as a source.

Every threshold was chosen by measurement on real news and the project's labelled
folders (``bench/bench_clustering.py``, ``docs/CLUSTERING.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform
from sklearn.feature_extraction.text import TfidfTransformer

from briefing import terms
from briefing.models import Article

STORY_SIMILARITY = 0.20
RELATED_SIMILARITY = 0.05
HEADLINE_OVERLAP = 0.07
DUPLICATE_SIMILARITY = 0.70  # between 0.566 (two outlets, one event) and 0.831 (a copy)
MIN_SHARED = 2  # terms two articles must share for their similarity to count
SHARED_TERMS = 6  # terms a story names as what its articles share
_BLOCK = 256  # rows of the similarity matrix computed at a time
_DENSE_TERMS = 2048  # at most this many of the most used terms are multiplied dense
_DENSE_SHARE = 0.05  # ... each used by at least this share of the articles


@dataclass
class Group:
    """The articles of one story; ``copies`` maps an article id to its near-duplicates;
    ``shared`` is what its articles have in common (the terms most of them use)."""

    articles: list[Article]
    copies: dict[str, list[Article]] = field(default_factory=dict)
    shared: list[str] = field(default_factory=list)

    @property
    def members(self) -> list[Article]:
        """Its articles, then their near-duplicate copies."""
        return [*self.articles, *(c for copies in self.copies.values() for c in copies)]


def similarity(articles: Sequence[Article]) -> np.ndarray:
    """Cosine similarity of the articles' TF-IDF vectors (rows are L2-normalised)."""
    found, _, _ = terms.article_terms(articles)
    return _cosine(_tfidf(found.counts))


def _tfidf(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    matrix: sparse.csr_matrix = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    return matrix


def _cosine(matrix: sparse.csr_matrix) -> np.ndarray:
    """Pairwise cosine of the L2-normalised rows, 0 for a pair sharing fewer than
    :data:`MIN_SHARED` terms, 1 on the diagonal.

    A sparse product costs the sum over terms of (articles using it) squared, so the
    few terms most articles use cost the most: those (at most :data:`_DENSE_TERMS`,
    each in at least :data:`_DENSE_SHARE` of the articles) are multiplied as dense
    arrays by BLAS, the rest as sparse matrices, a block of rows at a time into one
    dense array. Terms of one article only are left out: they add to no pair."""
    n = matrix.shape[0]
    df = np.diff(matrix.tocsc().indptr)
    ranked = np.argsort(-df, kind="stable")[:_DENSE_TERMS]
    frequent = np.sort(ranked[df[ranked] >= max(2, _DENSE_SHARE * n)])
    rare_mask = df >= 2
    rare_mask[frequent] = False
    rare = np.nonzero(rare_mask)[0]
    dense = matrix[:, frequent].toarray().astype(np.float32)
    dense_used = (dense > 0).astype(np.float32)
    sparse_part = matrix[:, rare].tocsr().astype(np.float32)
    used = (sparse_part > 0).astype(np.float32)
    right, used_right = sparse_part.T.tocsr(), used.T.tocsr()
    sim = np.empty((n, n), dtype=np.float32)
    for start in range(0, n, _BLOCK):
        rows = slice(start, start + _BLOCK)
        block = dense[rows] @ dense.T
        block += (sparse_part[rows] @ right).toarray()
        # One word in common is no evidence (two short texts that both say "warned").
        shared = dense_used[rows] @ dense_used.T
        shared += (used[rows] @ used_right).toarray()
        block[shared < MIN_SHARED] = 0.0
        sim[rows] = block
    np.fill_diagonal(sim, 1.0)
    return sim


def headline_overlap(heads: sparse.csr_matrix, contexts: sparse.csr_matrix) -> sparse.csr_matrix:
    """Per article, its headline's terms weighted by IDF (over the headline contexts)
    and scaled to sum to 1: ``weights @ contexts.T`` is, for a pair (i, j), the share
    of i's headline found in j's headline or lead."""
    n = contexts.shape[0]
    df = np.asarray((contexts > 0).sum(axis=0)).ravel()
    idf = np.log((1.0 + n) / (1.0 + df))  # 0 for a term in every headline or lead
    weighted = heads.multiply(idf.reshape(1, -1)).tocsr()
    total = np.asarray(weighted.sum(axis=1)).ravel()
    total[total == 0] = 1.0
    out: sparse.csr_matrix = sparse.diags(1.0 / total) @ weighted
    return out.tocsr()


@dataclass
class Grouping:
    """The stories of a folder, and the TF-IDF vectors (one row per article, in the
    folder's order, L2-normalised) they were found with."""

    groups: list[Group]
    vectors: sparse.csr_matrix


def group(
    articles: Sequence[Article],
    *,
    story_similarity: float = STORY_SIMILARITY,
    related_similarity: float = RELATED_SIMILARITY,
    headline_overlap_at: float = HEADLINE_OVERLAP,
    duplicate_similarity: float = DUPLICATE_SIMILARITY,
) -> list[Group]:
    """The stories of ``articles``, largest first, near-duplicates folded."""
    return grouping(
        articles,
        story_similarity=story_similarity,
        related_similarity=related_similarity,
        headline_overlap_at=headline_overlap_at,
        duplicate_similarity=duplicate_similarity,
    ).groups


def grouping(
    articles: Sequence[Article],
    *,
    story_similarity: float = STORY_SIMILARITY,
    related_similarity: float = RELATED_SIMILARITY,
    headline_overlap_at: float = HEADLINE_OVERLAP,
    duplicate_similarity: float = DUPLICATE_SIMILARITY,
) -> Grouping:
    """:func:`group`, with the vectors it compared, for a caller that compares some of
    the articles again (:func:`block_similarity`) without reading them twice."""
    if not articles:
        return Grouping([], sparse.csr_matrix((0, 1), dtype=np.float64))
    found, heads, contexts = terms.article_terms(articles)
    vectors = _tfidf(found.counts)
    if len(articles) == 1:
        return Grouping([Group([articles[0]])], vectors)
    sim = _cosine(vectors)
    keep, copies = _fold_duplicates(articles, sim, duplicate_similarity)
    if len(keep) == 1:
        clusters = [[keep[0]]]
    else:
        # In place: sim is not needed after the fold, and each copy is N x N.
        distance = sim[np.ix_(keep, keep)] if len(keep) < len(articles) else sim
        del sim
        np.subtract(1.0, distance, out=distance)
        np.clip(distance, 0.0, 2.0, out=distance)
        np.fill_diagonal(distance, 0.0)
        # Step 1, average linkage: the tree scikit-learn's AgglomerativeClustering
        # builds with this same scipy call, without its wrapper.
        tree = hierarchy.linkage(squareform(distance, checks=False), method="average")
        labels = hierarchy.fcluster(tree, 1.0 - story_similarity, criterion="distance")
        del tree
        events: dict[int, list[int]] = {}
        for position, label in enumerate(labels.tolist()):
            events.setdefault(label, []).append(position)
        weights = headline_overlap(heads, contexts)[keep]
        clusters = [
            [keep[p] for p in members]
            for members in _join_related(
                list(events.values()),
                distance,
                weights,
                contexts[keep],
                related_similarity,
                headline_overlap_at,
            )
        ]
    stories = [
        Group(
            articles=[articles[i] for i in members],
            copies={articles[i].id: [articles[j] for j in copies[i]] for i in members if copies[i]},
            shared=shared_terms(vectors, found, members),
        )
        for members in clusters
    ]
    stories.sort(key=lambda s: (-_width(s), s.articles[0].path))
    return Grouping(stories, vectors)


def block_similarity(
    vectors: sparse.csr_matrix, rows: Sequence[int], columns: Sequence[int]
) -> np.ndarray:
    """The cosine similarity of articles ``rows`` with articles ``columns`` (rows of
    ``vectors``, from :func:`grouping`), 0 for a pair sharing fewer than
    :data:`MIN_SHARED` terms: the entries of :func:`similarity`'s matrix, for a block."""
    left, right = vectors[list(rows)], vectors[list(columns)]
    block = np.asarray((left @ right.T).todense(), dtype=np.float32)
    used_left = (left > 0).astype(np.float32)
    used_right = (right > 0).astype(np.float32)
    shared = np.asarray((used_left @ used_right.T).todense())
    block[shared < MIN_SHARED] = 0.0
    return block


def _join_related(
    events: list[list[int]],
    distance: np.ndarray,
    weights: sparse.csr_matrix,
    contexts: sparse.csr_matrix,
    floor: float,
    overlap: float,
) -> list[list[int]]:
    """Step 2: events joined, most similar first (average linkage), while the average
    similarity of two groups is at least ``floor`` and their average headline overlap
    (both ways) at least ``overlap``. Sums over pairs are kept per pair of groups and
    added when two groups join, so each join costs one row."""
    k = len(events)
    if k < 2:
        return events
    n = distance.shape[0]
    rows = np.concatenate(events)
    cols = np.repeat(np.arange(k), [len(e) for e in events])
    member = sparse.csr_matrix((np.ones(n), (cols, rows)), shape=(k, n))
    size = np.array([len(e) for e in events], dtype=np.float64)
    pairs = np.outer(size, size)
    # Sum of similarities between two groups: pairs less the sum of distances.
    sims = pairs - np.asarray(member @ (member @ distance).T)
    covered = np.asarray(((member @ weights) @ (member @ contexts).T).todense())
    covered = covered + covered.T
    # Only groups with some pair at the floor can ever join: a joined group's average
    # is a weighted mean of its parts', so it reaches the floor only with one that did.
    np.fill_diagonal(sims, -np.inf)
    live = np.nonzero(((sims / pairs) >= floor).any(axis=1))[0]
    groups = {i: list(events[i]) for i in range(k)}
    if len(live) < 2:
        return list(groups.values())
    s = sims[np.ix_(live, live)]
    c = covered[np.ix_(live, live)]
    sz = size[live].copy()
    alive = np.ones(len(live), dtype=bool)
    while True:
        p = np.outer(sz, sz)
        ok = (s / p >= floor) & (c / (2 * p) >= overlap) & np.outer(alive, alive)
        np.fill_diagonal(ok, False)
        if not ok.any():
            break
        score = np.where(ok, s / p, -np.inf)
        a, b = np.unravel_index(int(np.argmax(score)), score.shape)
        s[a] += s[b]
        s[:, a] += s[:, b]
        c[a] += c[b]
        c[:, a] += c[:, b]
        s[a, a] = -np.inf
        sz[a] += sz[b]
        alive[b] = False
        groups[int(live[a])] += groups.pop(int(live[b]))
    return list(groups.values())


def shared_terms(
    vectors: sparse.csr_matrix, found: terms.Terms, members: Sequence[int]
) -> list[str]:
    """What a story's articles share: the terms of the most weight in its articles'
    TF-IDF vectors among those used by at least half of them (for one article, its
    own heaviest terms), as the articles wrote them."""
    rows = vectors[list(members)]
    weight = np.asarray(rows.sum(axis=0)).ravel()
    used = np.asarray((rows > 0).sum(axis=0)).ravel()
    weight[used * 2 < len(members)] = 0.0
    if len(members) > 1:
        weight[used < 2] = 0.0
    top = np.argsort(-weight, kind="stable")[:SHARED_TERMS]
    return [found.surface[t] for t in top.tolist() if weight[t] > 0]


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
