"""The terms that story grouping compares: stemmed words, headlines and leads.

An article is read as its title three times over and its text (the title is what the
outlet says the article is about), lower-cased, cut into scikit-learn's tokens,
English stop words left out, and each word cut to a light stem (``bombings``,
``bombers`` and ``bomb`` are one term; ``Iranian`` and ``Iran`` too), so that outlets
that word one story differently still share its terms. A headline's terms are the
stems of its title, and its context the title and the first :data:`LEAD_WORDS` words
of the text: what an article is about is said there.

Stems are memoised per call in a dict (a folder has tens of thousands of distinct
words and millions of tokens), so the cost is one regex pass and one dict look-up
per token.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from briefing.models import Article

TITLE_WEIGHT = 3  # the title counts as often as this in an article's terms
LEAD_WORDS = 60  # words of the text that, with the title, are a headline's context
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
# Longest first; a stem keeps at least 4 letters (so "news", "ties", "UK's" stay whole).
_SUFFIXES: tuple[str, ...] = (
    *("ations", "ation", "ings", "ing", "ians", "ian", "ers", "er"),
    *("ies", "ied", "ed", "es", "s"),
)
_MIN_STEM = 4
_LOWER = re.compile(r"(?u)\b[^\W\d_A-Z][\w]+\b")


def stem(word: str) -> str:
    """``word`` (lower case) without its longest inflection-like suffix, or as it is."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


@dataclass
class Terms:
    """Term counts of a folder: ``counts`` is articles x terms, ``names`` the terms,
    ``surface`` for each term a word the articles wrote for it (the most frequent)."""

    counts: sparse.csr_matrix
    names: list[str]
    surface: list[str]


class _Stemmer:
    """Words to term ids, memoised; remembers the written forms of each term."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []
        self._word_id: dict[str, int] = {}
        self.forms: dict[int, dict[str, int]] = {}

    def __call__(self, text: str) -> list[int]:
        out = []
        word_id = self._word_id
        for word in _TOKEN.findall(text.lower()):
            term = word_id.get(word)
            if term is None:
                if word in ENGLISH_STOP_WORDS:
                    term = -1
                else:
                    name = stem(word)
                    term = self.ids.setdefault(name, len(self.ids))
                    if term == len(self.names):
                        self.names.append(name)
                word_id[word] = term
            if term >= 0:
                out.append(term)
        return out

    def surface(self) -> list[str]:
        """Per term, the shortest word that stems to it (often the plain form)."""
        best: list[str] = list(self.names)
        for word, term in self._word_id.items():
            if term >= 0 and (len(word) < len(best[term]) or best[term] not in self._word_id):
                best[term] = word
        return best


def _matrix(ids_of: list[list[int]], columns: int) -> sparse.csr_matrix:
    lengths = np.fromiter(map(len, ids_of), dtype=np.int64, count=len(ids_of))
    ids = np.fromiter(
        itertools.chain.from_iterable(ids_of), dtype=np.int64, count=int(lengths.sum())
    )
    rows = np.repeat(np.arange(len(ids_of)), lengths)
    # Repeated (row, column) entries are summed; one column at least, for texts of no terms.
    return sparse.csr_matrix(
        (np.ones(len(ids), dtype=np.float32), (rows, ids)),
        shape=(len(ids_of), max(1, columns)),
    )


def article_terms(
    articles: Sequence[Article],
) -> tuple[Terms, sparse.csr_matrix, sparse.csr_matrix]:
    """The folder's term counts (title x :data:`TITLE_WEIGHT` + text), and over the
    same terms each article's headline (title terms, 0/1) and headline context
    (title and lead terms, 0/1)."""
    stems = _Stemmer()
    bodies = [stems(f"{(a.title + chr(10)) * TITLE_WEIGHT}{a.text}") for a in articles]
    titles = [sorted(set(stems(a.title))) for a in articles]
    leads = [
        sorted(set(stems(a.title + "\n" + " ".join(a.text.split()[:LEAD_WORDS])))) for a in articles
    ]
    columns = len(stems.names)
    # A headline's names (terms never written in lower case: a company, a country)
    # say who or where, not what happened: left out of headlines, so that two events
    # of one company or country do not join on its name alone.
    lower: set[str] = set()
    for a in articles:
        lower.update(_LOWER.findall(f"{a.title} {a.text}"))
    common = {stems.ids[s] for s in map(stem, lower) if s in stems.ids}
    titles = [[t for t in ids if t in common] for ids in titles]
    terms = Terms(_matrix(bodies, columns), list(stems.names), stems.surface())
    heads = _matrix(titles, columns)
    contexts = _matrix(leads, columns)
    return terms, heads, contexts


def term_counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """How often each stemmed term occurs in each text (no title weighting)."""
    stems = _Stemmer()
    ids_of = [stems(text) for text in texts]
    return _matrix(ids_of, len(stems.names))
