"""One numbered source as grounding reads it: its text normalised, its words, its
quotations and who speaks around them, each sentence's content words.

Split from :mod:`briefing.grounding` (the checks) so that the map step
(:mod:`briefing.notes`), the evidence index (:mod:`briefing.evidence`) and the
checks share one reading of each article.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass

from briefing.speakers import WORD

_QUOTES = str.maketrans({c: '"' for c in "“”„‟«»″"} | {c: "'" for c in "‘’‚‛‹›′`"})
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−"})
_QUOTED = re.compile(r'"([^"]+)"|(?<!\w)\'([^\']+?)\'(?!\w)')
# Scripts written without spaces between words: Han, kana, Hangul syllables.
CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
# A sentence end outside quotation marks may also close a quotation: ...country."
_BOUNDARY = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"']))\s")
_LINE = "\x00"
# How far back (in sentences) the speaker of a quote is looked for.
SPEAKER_REACH = 3
_STOP = frozenset(
    "a an and are as at be been but by for from has have he her his in is it its of on or "
    "our said says she that the their them they this to was we were will with would could "
    "may might can not no".split()
)


def normalise(text: str) -> str:
    """Lower case, straight quotes, plain dashes, single spaces, '...' for ellipses."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).translate(_DASHES)
    text = text.replace("…", "...")
    return " ".join(text.lower().split())


def content_words(text: str) -> set[str]:
    """The words that carry content. Text in a script written without spaces (Chinese,
    Japanese) gives its pairs of characters: a word there is one to three characters."""
    lower = text.lower()
    if not CJK.search(lower):
        return {w for w in WORD.findall(lower) if w not in _STOP and len(w) > 2}
    words = {w for w in WORD.findall(CJK.sub(" ", lower)) if w not in _STOP and len(w) > 2}
    for run in CJK.findall(lower):  # a run of one character is that character
        words.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    return words


@dataclass
class SourceText:
    """What grounding needs of one numbered source.

    Each part is found from the text when first asked for, and kept: the map step
    asks only for the sentences' content words (:func:`briefing.notes.traceable_facts`),
    a story's check for all of it (:meth:`read`). Every part takes time linear in the
    text's length."""

    number: int
    text: str
    sentences: dict[int, str]
    published: str | None = None

    def read(self) -> SourceText:
        """Find every part now (before the check that needs them); returns itself."""
        self.normal, self.words, self.quoted, self.content_words, self.capitalised  # noqa: B018
        self._ends  # noqa: B018
        return self

    @functools.cached_property
    def normal(self) -> str:
        """The text normalised (:func:`normalise`)."""
        return normalise(self.text)

    @functools.cached_property
    def words(self) -> set[str]:
        """The words of the normalised text."""
        return set(WORD.findall(self.normal))

    @functools.cached_property
    def quoted(self) -> list[str]:
        """What the text puts in quotation marks (double, or single ones that are not
        apostrophes), normalised: only these can be someone's quoted words."""
        return [a or b for a, b in _QUOTED.findall(self.normal)]

    @functools.cached_property
    def _lined(self) -> str:
        """For finding who speaks: the text normalised with its line breaks kept as
        marks, as a title or a paragraph ends a sentence without a full stop."""
        return normalise(self.text.replace("\n", f" {_LINE} "))

    @functools.cached_property
    def _spans(self) -> list[tuple[int, int]]:
        """The quotations of ``_lined`` as (start, end), in order, not overlapping."""
        return [(m.start(), m.end()) for m in _QUOTED.finditer(self._lined)]

    @functools.cached_property
    def _starts(self) -> list[int]:
        return [start for start, _ in self._spans]

    @functools.cached_property
    def _stops(self) -> list[int]:
        return [stop for _, stop in self._spans]

    @functools.cached_property
    def _ends(self) -> list[int]:
        """Where the sentences of ``_lined`` start (its start, a sentence end outside a
        quotation, a line break), sorted."""
        return sorted(
            {0}
            | {m.end() for m in _BOUNDARY.finditer(self._lined) if not self._inside(m.start())}
            | {m.end() for m in re.finditer(_LINE, self._lined)}
        )

    @functools.cached_property
    def content_words(self) -> dict[int, set[str]]:
        """The content words of each sentence, found once: every item of a story is
        compared with every sentence of its sources."""
        return {number: content_words(text) for number, text in self.sentences.items()}

    @functools.cached_property
    def capitalised(self) -> set[str]:
        """The words the text capitalises inside a sentence (not as its first word, and
        not in a title-case line such as a headline), lower case: its proper nouns."""
        found: set[str] = set()
        for sentence in self.sentences.values():
            words = WORD.findall(sentence)[1:]
            upper = [w for w in words if w[:1].isupper()]
            if words and len(upper) <= 0.6 * len(words):
                found.update(w.lower() for w in upper)
        return found

    def quotes(self, part: str) -> bool:
        return any(part in span for span in self.quoted)

    def _inside(self, position: int) -> bool:
        """Whether ``position`` lies strictly inside a quotation: only the last one
        starting before it can hold it (they are in order and do not overlap)."""
        i = bisect.bisect_left(self._starts, position) - 1
        return i >= 0 and position < self._spans[i][1]

    def speaker_windows(self, part: str) -> list[str]:
        """The text around the quotation holding ``part``, with every quotation cut
        out: first the quoting sentence, then each sentence before it, nearest first."""
        span = next(((a, b) for a, b in self._spans if part in self._lined[a:b]), None)
        if span is None:
            return []
        first = bisect.bisect_right(self._ends, span[0]) - 1  # the last end <= its start
        after = bisect.bisect_left(self._ends, span[1])  # the first end >= its end
        stop = self._ends[after] if after < len(self._ends) else len(self._lined)
        windows = [self._unquoted(self._ends[first], stop)]
        for i in range(first - 1, -1, -1):
            if len(windows) > SPEAKER_REACH:
                break
            if window := self._unquoted(self._ends[i], self._ends[i + 1]).strip():
                windows.append(window)
        return windows

    def _unquoted(self, start: int, stop: int) -> str:
        kept, at = [], start
        # The quotations ending after ``start`` (in order: they do not overlap), up to
        # the first starting at ``stop`` or later.
        for j in range(bisect.bisect_right(self._stops, start), len(self._spans)):
            a, b = self._spans[j]
            if a >= stop:
                break
            kept.append(self._lined[at : max(a, at)])
            at = max(at, b)
        kept.append(self._lined[at:stop])
        return " ".join(kept).replace(_LINE, " ")
