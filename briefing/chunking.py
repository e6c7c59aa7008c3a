"""Sentences with ids, packed into chunks that fit a token budget.

An article is split into numbered sentences by :mod:`briefing.sentences` (its
:func:`split_sentences` is also exported here); the number is what the model
cites. The model sees a chunk as :func:`number_lines`: one ``[K] text`` line per
sentence. :func:`chunk_articles` splits and chunks many articles on a few threads.

Chunks are counted with tiktoken, offline only (:mod:`briefing.encodings`). Each
sentence line is encoded once, with its trailing newline: in cl100k's split pattern
a newline can join the punctuation before it but never the ``[`` that opens the
next line (nor the space and text after it, :func:`numbered_counts`), so the tokens
of ``"\\n".join(lines)`` are the sum of the tokens of ``line + "\\n"`` for all lines
but the last, plus the tokens of the last line alone. The tests check this equality
on random text. The counts of all lines of an article come from one encoding of all
of them (:func:`line_counts`): one call per sentence cost three times as much. A
line alone can count more than with its newline (``[1] x!!)`` is 6 tokens, 5 with
its newline), so the last line of a chunk is always counted alone.

Counting is thread-safe: tiktoken's encodings may be shared by threads, and the
per-encoding table of :func:`_newline_kinds` only ever changes an entry from
"not looked up" to its one right value.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Generator, Sequence

import numpy as np
import tiktoken

from briefing.encodings import count_tokens as count_tokens
from briefing.encodings import load_encoding as load_encoding
from briefing.errors import ConfigError
from briefing.lookahead import ordered_map
from briefing.models import Article, Chunk, Sentence
from briefing.sentences import split_sentences as split_sentences

# The smallest budget that always holds one numbered line with one character:
# "[", the number (a token per 3 digits), "]", and " " plus a character of up to
# 4 UTF-8 bytes (at most 5 tokens) stay below 16 for any sentence number below 10**27.
MIN_MAX_TOKENS = 16

# A chunk ends at a paragraph break instead of its last sentence boundary when
# the sentences after that break take at most this share of the budget.
PARAGRAPH_SLACK = 0.25

# How far (in characters) a cut inside an over-long sentence may move back from
# its token boundary to land on whitespace instead.
_SPACE_WINDOW = 48

# Characters str.splitlines() breaks on: shown as spaces so a sentence stays one line.
_LINE_BREAK_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAKS = str.maketrans(dict.fromkeys(_LINE_BREAK_CHARS, " "))
_HAS_LINE_BREAK = re.compile(f"[{_LINE_BREAK_CHARS}]")
_NON_SPACE = re.compile(r"\S")


# --- Token counts of numbered lines -------------------------------------------------------


def line_counts(lines: Sequence[str], encoding: tiktoken.Encoding) -> list[int]:
    """Tokens of each ``line + "\\n"``, from a single encoding of all the lines.

    Every line starts a token (see the module docstring), so the tokens of line K end
    with the token that holds the K-th newline. Should a token ever hold a newline
    elsewhere than at its end, or two (a line with a newline of its own), each line
    is encoded on its own instead.
    """
    if not lines:
        return []
    text = "\n".join(lines) + "\n"
    try:  # the ids as an array, not as a list of ints to convert
        ids = encoding.encode_to_numpy(text, disallowed_special=())
    except UnicodeEncodeError:  # lone surrogates: encode_ordinary replaces them
        ids = np.asarray(encoding.encode_ordinary(text), dtype=np.uint32)
    kinds = _newline_kinds(encoding, ids)
    ends = np.flatnonzero(kinds)
    if len(ends) != len(lines) or (kinds[ends] != 1).any():
        return [len(encoding.encode_ordinary(line + "\n")) for line in lines]
    last: list[int] = ends.tolist()
    return [end - start for start, end in zip([-1, *last], last, strict=False)]


def _newline_kinds(encoding: tiktoken.Encoding, ids: np.ndarray) -> np.ndarray:
    """For each token in ``ids``: 0 if it holds no newline, 1 if one, as its last
    byte, else 2. Looked up once per token id and kept per encoding: the ids a run
    meets (~10^4) cost far less than the whole vocabulary (10^5 lookups, 0.1-0.3 s)."""
    kinds = _KINDS.get(encoding)
    if kinds is None:
        # setdefault: threads that meet a new encoding at once share one table.
        kinds = _KINDS.setdefault(encoding, np.full(encoding.n_vocab, -1, dtype=np.int8))
    found: np.ndarray = kinds[ids]
    if (found < 0).any():
        for token in np.unique(ids[found < 0]).tolist():
            data = encoding.decode_single_token_bytes(token)
            newlines = data.count(b"\n")
            kinds[token] = 0 if not newlines else 2 - (newlines == 1 and data.endswith(b"\n"))
        found = kinds[ids]
    return found


# Newline kinds of tokens by encoding (see _newline_kinds), -1 where not looked up yet.
_KINDS: dict[tiktoken.Encoding, np.ndarray] = {}


def _line(sentence: Sentence) -> str:
    text = sentence.text
    if _HAS_LINE_BREAK.search(text):
        text = text.translate(_LINE_BREAKS)
    return f"[{sentence.number}] {text}"


def numbered_counts(sentences: Sequence[Sentence], encoding: tiktoken.Encoding) -> list[int]:
    """Tokens of each sentence's line (see :func:`number_lines`) with its newline.

    A line's ``[K]`` is tokens of its own (the space after ``]`` cannot join it): it is
    counted once per number, and only the rest of each line is encoded, a tenth fewer
    tokens. A blank sentence would leave a line of spaces after a newline, which can
    share its token: then every line is encoded with its ``[K]``, which never can.
    """
    texts = [s.text for s in sentences]
    if not all(map(str.strip, texts)):
        return line_counts([_line(s) for s in sentences], encoding)
    if any(char in "".join(texts) for char in _LINE_BREAK_CHARS):  # few sentences hold one
        texts = [text.translate(_LINE_BREAKS) for text in texts]
    rests = line_counts([" " + text for text in texts], encoding)
    return [_mark(s.number, encoding) + rest for s, rest in zip(sentences, rests, strict=True)]


@functools.lru_cache(maxsize=4096)
def _mark(number: int, encoding: tiktoken.Encoding) -> int:
    return len(encoding.encode_ordinary(f"[{number}]"))


def number_lines(sentences: Sequence[Sentence]) -> str:
    """The passage as the model sees it: one ``[K] text`` line per sentence.

    Line breaks inside a sentence are shown as spaces; pieces of an over-long
    sentence each repeat its number.
    """
    return "\n".join(_line(s) for s in sentences)


# --- Chunks -------------------------------------------------------------------------------


def chunk_article(
    article: Article, encoding: tiktoken.Encoding, *, max_tokens: int, overlap: int = 0
) -> list[Chunk]:
    """The chunks of an article: :func:`split_sentences` then :func:`chunk_sentences`."""
    return chunk_sentences(
        article.id, split_sentences(article.text), encoding, max_tokens=max_tokens, overlap=overlap
    )


def chunk_articles(
    articles: Sequence[Article],
    encoding: tiktoken.Encoding,
    *,
    max_tokens: int,
    overlap: int = 0,
    workers: int = 2,
) -> Generator[tuple[list[Sentence], list[Chunk]], None, None]:
    """Each article's sentences and chunks, in order, as :func:`split_sentences` and
    :func:`chunk_sentences` give them, computed by ``workers`` threads (the caller's and
    ``workers - 1`` helpers, :func:`briefing.lookahead.ordered_map`).

    blingfire and tiktoken let other threads run while they work, so on two cores one
    article is split while another's lines are encoded. The caller gets the first
    results while later ones are still computed (it can start model calls on them),
    and at most ``2 * workers`` articles are taken ahead of it, so memory and wasted
    work stay bounded. Closing the generator early drops the articles not started and
    waits for the running ones: no thread outlives it. An article's exception is
    raised in its place, after the results of the articles before it. ``workers=1``
    computes each article when it is asked for, in the caller's thread.
    """
    _check_budget(max_tokens, overlap)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")

    def one(article: Article) -> tuple[list[Sentence], list[Chunk]]:
        sentences = split_sentences(article.text)
        chunks = chunk_sentences(
            article.id, sentences, encoding, max_tokens=max_tokens, overlap=overlap
        )
        return sentences, chunks

    return ordered_map(one, articles, threads=workers, ahead=2 * workers)


def _check_budget(max_tokens: int, overlap: int) -> None:
    if max_tokens < MIN_MAX_TOKENS:
        raise ConfigError(
            f"The chunk budget max_tokens={max_tokens} cannot hold a numbered sentence "
            f"line; use at least {MIN_MAX_TOKENS} tokens (a few hundred is typical)."
        )
    if not 0 <= overlap < max_tokens:
        raise ConfigError(
            f"The chunk overlap ({overlap}) must be at least 0 and smaller than the "
            f"chunk budget max_tokens ({max_tokens})."
        )


def chunk_sentences(
    article_id: str,
    sentences: Sequence[Sentence],
    encoding: tiktoken.Encoding,
    *,
    max_tokens: int,
    overlap: int = 0,
) -> list[Chunk]:
    """Pack sentences, in order, into chunks of at most ``max_tokens`` tokens.

    * ``Chunk.tokens`` is the token count of ``number_lines(chunk.sentences)``.
    * Chunks end between sentences, greedily. When a paragraph break lies within
      the last :data:`PARAGRAPH_SLACK` of the budget, the chunk ends there instead.
    * A sentence longer than the budget becomes several pieces: sentences with its
      number and paragraph whose texts are consecutive substrings of it, cut at
      whitespace near a token boundary when there is some.
    * With ``overlap`` > 0, a chunk after the first starts with the trailing
      sentences (or pieces) of the chunk before whose lines total at most
      ``overlap`` tokens, never the whole previous chunk, and only as many as leave
      room for at least one new sentence.
    """
    _check_budget(max_tokens, overlap)
    split: set[int] = set()  # sentences to cut into pieces even if their line fits
    counts = numbered_counts(sentences, encoding)
    while True:
        packer = _Packer(encoding, max_tokens, sentences, counts, split)
        try:
            packed = packer.chunks(overlap)
        except _Unfit as unfit:
            # A line that fits with its newline but not alone (see the module
            # docstring): cut that sentence into pieces and pack again.
            position = packer.origin[unfit.args[0]]
            if position in split:
                raise
            split.add(position)
            continue
        return [
            Chunk(article_id=article_id, index=i, sentences=units, tokens=tokens)
            for i, (units, tokens) in enumerate(packed)
        ]


class _Unfit(Exception):
    """Internal: the unit ``args[0]`` alone does not fit the budget."""


class _Packer:
    """The units of a chunking run (``sentences``, those at positions in ``split`` cut
    into pieces) and their token counts.

    ``with_newline[i]`` is the token count of unit ``i``'s line plus ``"\\n"``
    (``counts`` for the sentences); the count of a line alone is only needed for the
    last line of a chunk and is computed on demand.
    """

    def __init__(
        self,
        encoding: tiktoken.Encoding,
        max_tokens: int,
        sentences: Sequence[Sentence],
        counts: list[int],
        split: set[int],
    ) -> None:
        self.encoding, self.max_tokens = encoding, max_tokens
        self.alone: dict[int, int] = {}
        if not split and max(counts, default=0) <= max_tokens:  # no sentence to cut
            self.units, self.with_newline = list(sentences), list(counts)
            self.origin = list(range(len(sentences)))  # each unit's sentence's position
            return
        self.units, self.with_newline, self.origin = [], [], []
        for position, sentence in enumerate(sentences):
            self.add(sentence, position, force_split=position in split, known=counts[position])

    def add(
        self, sentence: Sentence, position: int, *, force_split: bool = False, known: int = -1
    ) -> None:
        """Add a sentence; ``known``: the tokens of its line with newline, if counted."""
        count = known if known >= 0 else len(self.encoding.encode_ordinary(_line(sentence) + "\n"))
        if count > self.max_tokens or force_split:
            alone = len(self.encoding.encode_ordinary(_line(sentence)))
            if alone > self.max_tokens or force_split:
                for piece in _pieces(sentence, self.encoding, self.max_tokens):
                    self.add(piece, position)
                return
            self.alone[len(self.units)] = alone
        self.units.append(sentence)
        self.origin.append(position)
        self.with_newline.append(count)

    def _alone(self, i: int) -> int:
        """Tokens of unit ``i``'s line alone."""
        if i not in self.alone:
            self.alone[i] = len(self.encoding.encode_ordinary(_line(self.units[i])))
        return self.alone[i]

    def _total(self, before: list[int], first: int, last: int) -> int:
        """Tokens of the chunk of units ``first..last`` (``before``: prefix sums)."""
        return before[last] - before[first] + self._alone(last)

    def chunks(self, overlap: int) -> list[tuple[list[Sentence], int]]:
        """The chunks as (units, tokens); raises _Unfit for a unit too long alone."""
        # before[i]: tokens of units[:i], each line with its newline.
        before = [0, *itertools.accumulate(self.with_newline)]
        out: list[tuple[list[Sentence], int]] = []
        first = new = 0  # the chunk starts at `first`; `new` is its first unit not yet sent
        while new < len(self.units):
            last = self._last(before, first, new)
            while last < new:  # the overlap leaves no room for a new unit: shrink it
                if first == new:
                    raise _Unfit(new)
                first += 1
                last = self._last(before, first, new)
            last = self._paragraph_end(before, first, new, last)
            out.append((self.units[first : last + 1], self._total(before, first, last)))
            previous, new = first, last + 1
            first = new
            while first - 1 > previous and before[new] - before[first - 1] <= overlap:
                first -= 1
        return out

    def _last(self, before: list[int], first: int, new: int) -> int:
        """The last unit of the longest chunk from ``first`` that fits, or ``new - 1``."""
        # The longest run whose lines fit with their newlines; the last line drops its
        # newline, so one more unit may fit, and a line alone may (rarely) count more.
        end = len(self.units) - 1
        last = bisect.bisect_right(before, before[first] + self.max_tokens) - 2
        last = min(max(last, new), end)
        if last < end and self._total(before, first, last + 1) <= self.max_tokens:
            last += 1
        while last >= new and self._total(before, first, last) > self.max_tokens:
            last -= 1
        return last if last >= new else new - 1

    def _paragraph_end(self, before: list[int], first: int, new: int, last: int) -> int:
        """``last``, moved back to a paragraph break near the end of the budget if any."""
        if last + 1 >= len(self.units):
            return last
        slack = self.max_tokens * PARAGRAPH_SLACK
        units = self.units
        for end in range(last, new - 1, -1):
            if before[last + 1] - before[end + 1] > slack:
                break
            if units[end + 1].paragraph != units[end].paragraph and (
                self._total(before, first, end) <= self.max_tokens
            ):
                return end
        return last


def _pieces(sentence: Sentence, encoding: tiktoken.Encoding, max_tokens: int) -> list[Sentence]:
    """Cut a sentence into pieces whose numbered lines fit ``max_tokens``.

    Cuts fall on token boundaries (the start of the character holding the token's
    first byte, so no character is broken), moved back to whitespace within
    :data:`_SPACE_WINDOW` characters when there is some. Each piece's line is
    counted exactly; a piece that does not fit is retried shorter.
    """
    text = sentence.text
    shown = text.translate(_LINE_BREAKS)  # same length as text
    _, offsets = encoding.decode_with_offsets(encoding.encode_ordinary(shown))
    prefix = f"[{sentence.number}] "
    budget = max(1, max_tokens - len(encoding.encode_ordinary(prefix.rstrip())))
    pieces: list[Sentence] = []
    start = _skip_space(text, 0)
    while start < len(text):
        token = bisect.bisect_right(offsets, start) - 1
        want = budget  # tokens from `token` on; 0: a single character
        while True:
            cut = _cut(shown, offsets, start, token + want) if want else start + 1
            piece = text[start:cut].strip()
            line = prefix + piece.translate(_LINE_BREAKS)
            excess = len(encoding.encode_ordinary(line)) - max_tokens
            if excess <= 0:
                break
            if not want:
                raise ConfigError(
                    f"The chunk budget max_tokens={max_tokens} cannot hold even one "
                    f"character of sentence {sentence.number}; raise it."
                )
            want = max(0, want - excess)
        pieces.append(Sentence(number=sentence.number, text=piece, paragraph=sentence.paragraph))
        start = _skip_space(text, cut)
    # A sentence of nothing but whitespace keeps its number, as an empty line.
    return pieces or [Sentence(number=sentence.number, text="", paragraph=sentence.paragraph)]


def _skip_space(text: str, at: int) -> int:
    found = _NON_SPACE.search(text, at)
    return found.start() if found else len(text)


def _cut(shown: str, offsets: list[int], start: int, token: int) -> int:
    """Where a piece from ``start`` to ``token`` ends: at whitespace close before it if any."""
    if token >= len(offsets):
        return len(shown)
    cut = offsets[token]
    for at in range(cut, max(start, cut - _SPACE_WINDOW), -1):
        if shown[at].isspace():
            return at
    return max(cut, start + 1)
