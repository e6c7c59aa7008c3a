"""Which sentences of a story say the most: ranked by how much the other outlets say
the same (issue 18).

A small model is poor at choosing what matters in ten articles and costly when it
copies what it chose. Choosing is what graph centrality does well: each sentence is a
vector of its stemmed content words weighted by inverse sentence frequency, two
sentences are linked when their cosine reaches :data:`LINK` (LexRank's degree
centrality, Erkan and Radev 2004, "LexRank: Graph-based Lexical Centrality as Salience
in Text Summarization", JAIR 22, whose threshold of 0.1 this keeps), and a sentence's
centrality is its share of links to the *other* outlets' sentences, so a sentence
says a lot when many outlets say it too. A story of one article links within it.
News puts what matters first, so each article's sentence ``k`` gets ``1 / (k + 1)``
on top (the lead prior; half for the first sentence, a third for the second...).

From the ranking brief takes:

* :func:`summary`: the top sentences, verbatim, cited, none repeating another or the
  top line (cosine below :data:`SAME`): a summary no check can fault;
* :func:`agreement`: sentences whose content two or more other outlets state too,
  each cited with the sentences that say it;
* :func:`excerpt`: the sentences the story call reads when all of them would be too
  many for the small model: each article's lead, then the best ranked.

Only each article's first :data:`READ` sentences are ranked, so that a story holding
a book-length article costs what a long news article does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from briefing.sourcetext import content_words
from briefing.terms import stem

LINK = 0.1  # cosine at which two sentences are linked (LexRank's threshold)
# Cosine at which a sentence repeats one already chosen: two outlets' wordings of one
# fact score 0.45 in examples/ ("The Bank of England finally cut interest rates ... by a
# quarter of a percentage point" / "... cut Bank Rate by a quarter of a percentage
# point"); on the MultiLing clusters 0.4 and 0.5 choose the same summaries.
SAME = 0.4
# Cosine at which a sentence of another outlet says the same: paraphrases of one fact
# ("The Bank of England finally cut interest rates on Thursday, by a quarter of a
# percentage point" / "... cut Bank Rate by a quarter of a percentage point") score
# 0.33 to 0.45 in examples/, sentences that only share a name 0.1 to 0.25.
AGREE = 0.3
READ = 80  # sentences of each article that are ranked
_WORDS = (6, 60)  # a sentence shorter or longer than this (in words) is no summary line
# A point of agreement fits its field (250 characters) and says enough to be matched:
# a sentence of a few words ("Mayor Deb Lawson says enough is enough.") reaches AGREE
# with any sentence naming the same person.
_AGREE_WORDS = (10, 40)
# Words a sentence warns with: what could happen, and who fears it.
WARNS = re.compile(
    r"\b(?:could|may|might|would|risk\w*|threat\w*|warn\w*|fear\w*|danger\w*|concern\w*|"
    r"escalat\w*|jeopard\w*|vulnerab\w*|crisis|worr\w*|unless|if)\b",
    re.IGNORECASE,
)
_PROSE = re.compile(r"[.!?][\"'”’)\]]*$")


@dataclass(frozen=True)
class Ranked:
    """A sentence of the story with its score."""

    source: int
    number: int
    text: str
    score: float

    @property
    def cite(self) -> str:
        return f"{self.source}.{self.number}"


class Ranking:
    """The sentences of one story (source -> sentence number -> text), ranked."""

    def __init__(self, sentences: Mapping[int, Mapping[int, str]]) -> None:
        # Only prose is ranked: a headline or dateline ("Friday, March 23, 2007") is
        # no line of a summary. An article's lead is its first sentences of prose.
        prose = {
            source: [(n, t) for n, t in numbered.items() if _PROSE.search(t)][:READ]
            for source, numbered in sentences.items()
        }
        keys = [(source, n, t) for source, lines in prose.items() for n, t in lines]
        self._keys = keys
        self._order = {(s, n): k for s, lines in prose.items() for k, (n, _) in enumerate(lines)}
        self._vectors = _vectors([text for _, _, text in keys])
        self._cosine = (self._vectors @ self._vectors.T).toarray()
        self._sources = np.array([s for s, _, _ in keys], dtype=int)
        self._index = {(s, n): i for i, (s, n, _) in enumerate(keys)}
        self.ranked = self._rank()

    def _rank(self) -> list[Ranked]:
        keys = self._keys
        if not keys:
            return []
        similar = self._cosine >= LINK
        np.fill_diagonal(similar, False)
        sources = self._sources
        several = len(set(sources.tolist())) > 1
        other = sources[:, None] != sources[None, :] if several else ~np.eye(len(keys), dtype=bool)
        links = (similar & other).sum(axis=1)
        most = max(int(links.max()), 1)
        ranked = []
        for i, (source, number, text) in enumerate(keys):
            k, c = self._order[(source, number)], links[i] / most
            ranked.append(Ranked(source, number, text, 0.5 * c + 1 / (k + 1)))
        ranked.sort(key=lambda r: -r.score)
        return ranked

    def similarity(self, a: Ranked, texts: list[str]) -> float:
        """The highest cosine of ``a`` with any of ``texts``."""
        if not texts:
            return 0.0
        vectors = _vectors([a.text, *texts])
        return float((vectors[0] @ vectors[1:].T).toarray().max())

    def summary(self, words: int, *, avoid: str = "") -> list[Ranked]:
        """The best ranked sentences, in rank order, up to ``words`` words (at least one),
        none repeating another or ``avoid`` (the top line)."""
        chosen: list[Ranked] = []
        said = [avoid] if avoid.strip() else []
        total = 0
        for r in self.ranked:
            length = len(r.text.split())
            if not _WORDS[0] <= length <= _WORDS[1] or _quoted_only(r.text):
                continue
            if chosen and total + length > words:
                break
            if self.similarity(r, said) >= SAME:
                continue
            chosen.append(r)
            said.append(r.text)
            total += length
        return chosen

    def agreement(
        self, count: int, support: int, *, besides: Sequence[Ranked] = ()
    ) -> list[Ranked]:
        """Up to ``count`` sentences that ``support`` or more other outlets say too (a
        sentence of theirs at cosine :data:`AGREE` or more), best ranked first, none
        repeating another or one of ``besides`` (the summary)."""
        chosen: list[Ranked] = []
        said = [r.text for r in besides]
        for r in self.ranked:
            if len(chosen) == count:
                break
            length = len(r.text.split())
            if (
                len(self.supporting(r)) < support
                or not _AGREE_WORDS[0] <= length <= _AGREE_WORDS[1]
            ):
                continue
            if self.similarity(r, said) < SAME:
                chosen.append(r)
                said.append(r.text)
        return chosen

    def supporting(self, r: Ranked, limit: int | None = None) -> list[str]:
        """Cites of the sentences of other outlets that say what ``r`` says (cosine
        :data:`AGREE` or more), the most alike of each outlet, most alike first."""
        row = self._cosine[self._index[(r.source, r.number)]]
        best: dict[int, tuple[float, int]] = {}
        for k in np.argsort(-row):
            if row[k] < AGREE:
                break
            source, number, _ = self._keys[k]
            if source != r.source and source not in best:
                best[source] = (float(row[k]), number)
        return [f"{s}.{n}" for s, (_, n) in list(best.items())[:limit]]

    def warnings(self, words: int) -> list[Ranked]:
        """The sentences of ``words`` words or more that warn of something
        (:data:`WARNS`): those with the most distinct warning words first ("warned that
        the conflict could escalate"), then the best ranked."""
        found = [
            (len({w.lower() for w in WARNS.findall(r.text)}), k, r)
            for k, r in enumerate(self.ranked)
            if len(r.text.split()) >= words
        ]
        return [r for n, _, r in sorted(found, key=lambda item: (-item[0], item[1])) if n]

    def excerpt(self, keep: int, lead: int = 2) -> dict[int, list[int]]:
        """Source -> the numbers of its sentences to show, in order: each article's
        first ``lead`` sentences, then the best ranked, ``keep`` in all (or more, when
        the leads alone are more)."""
        shown: dict[int, set[int]] = {}
        for source, number, _ in self._keys:
            if self._order[(source, number)] < lead:
                shown.setdefault(source, set()).add(number)
        total = sum(len(numbers) for numbers in shown.values())
        for r in self.ranked:
            if total >= keep:
                break
            if r.number not in shown.setdefault(r.source, set()):
                shown[r.source].add(r.number)
                total += 1
        return {source: sorted(numbers) for source, numbers in shown.items()}


def _quoted_only(text: str) -> bool:
    """A sentence that is mostly someone's quotation is a quote, not a summary line."""
    return text.lstrip()[:1] in "\"“'‘"


def _vectors(texts: list[str]) -> sparse.csr_matrix:
    """Unit rows of stemmed content-word weights (inverse sentence frequency)."""
    bags = [{stem(w) for w in content_words(t)} for t in texts]
    index: dict[str, int] = {}
    rows, cols = [], []
    for i, bag in enumerate(bags):
        for word in bag:
            rows.append(i)
            cols.append(index.setdefault(word, len(index)))
    if not index:
        return sparse.csr_matrix((len(texts), 1))
    df = np.bincount(cols, minlength=len(index))
    weights = np.log((1 + len(texts)) / (1 + df)) + 1
    matrix = sparse.csr_matrix(
        (weights[cols], (rows, cols)), shape=(len(texts), len(index)), dtype=float
    )
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    return sparse.csr_matrix(sparse.diags(1 / norms) @ matrix)
