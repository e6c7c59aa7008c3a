"""An article's sentences: numbered from 1, each with the index of its paragraph.

Paragraphs are separated by blank lines; blingfire finds the sentences (it does not
split paragraphs itself). The numbers are what the model cites, so the same text
must always give the same sentences: :func:`split_sentences` is a pure function of
the text, safe to call from several threads at once (blingfire's C library and
tiktoken both let other threads run while they work, which is what
:func:`briefing.chunking.chunk_articles` uses).
"""

from __future__ import annotations

import itertools
import re

import blingfire
from pydantic import TypeAdapter

from briefing.models import Sentence

# A blank line (only whitespace on it) separates paragraphs.
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A line that ends without a sentence's end (a headline, a dateline) before a line
# break: the next line starts a sentence of its own, unless the text is hard-wrapped.
_OPEN_LINE_END = re.compile(r"(?<=[^\s.!?:;,\-–—(\[\"'“‘])[ \t]*\r?\n[ \t]*(?=[^\W_a-z])")
# Text whose lines mostly run this many characters was wrapped by its writer's tool:
# its line breaks fall anywhere in a sentence.
_WRAPPED = (50, 100)
_SENTENCES = TypeAdapter(list[Sentence])


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of ``text``, numbered from 1, with their paragraph index.

    Paragraphs are separated by blank lines and indexed from 0, skipping empty ones.
    Each sentence is a stripped, non-empty substring of ``text``; together they hold
    every non-whitespace character of it.
    """
    # Sentences run from one start to the next: the starts blingfire finds, and the
    # start of every paragraph (blingfire does not split paragraphs).
    breaks = {m.end() for m in _PARAGRAPH_BREAK.finditer(text)}
    starts = _sentence_starts(text)
    if lines := _line_starts(text):
        starts = sorted(set(starts).union(lines))
    if breaks:
        starts = sorted(breaks.union(starts))
    ends = starts[1:]
    ends.append(len(text))
    # Slices and strips in bulk (map runs them in C): ~7000 sentences per MB.
    pieces = list(map(str.strip, map(text.__getitem__, map(slice, starts, ends))))
    if all(pieces):
        # Every paragraph has a sentence, so each break is the next paragraph.
        paragraphs = itertools.accumulate(map(breaks.__contains__, ends), initial=0)
        found = [
            {"number": n, "text": p, "paragraph": k}
            for n, p, k in zip(itertools.count(1), pieces, paragraphs)
        ]
    else:
        found = _numbered(pieces, [start in breaks for start in starts])
    # One validation of the whole list: 60% of the cost of one Sentence(...) each.
    return _SENTENCES.validate_python(found)


def _numbered(pieces: list[str], opens: list[bool]) -> list[dict[str, object]]:
    """Sentences from the non-empty ``pieces``; ``opens[i]``: piece i starts a paragraph.
    A paragraph without a sentence (only whitespace) takes no index."""
    found: list[dict[str, object]] = []
    paragraph, used = 0, False
    for piece, opened in zip(pieces, opens, strict=True):
        if opened:
            paragraph, used = paragraph + used, False
        if piece:
            found.append({"number": len(found) + 1, "text": piece, "paragraph": paragraph})
            used = True
    return found


def _line_starts(text: str) -> list[int]:
    """Starts of lines that follow a line without a sentence's end ("Title" / "Friday,
    March 23, 2007" / "Fifteen British ..."), for text that is not hard-wrapped."""
    found = [m.end() for m in _OPEN_LINE_END.finditer(text)]
    if not found:
        return []
    lines = [len(line) for line in text.splitlines() if line.strip()]
    wrapped = sum(_WRAPPED[0] <= n <= _WRAPPED[1] for n in lines)
    if wrapped > 0.6 * len(lines):
        return []
    return found


def _sentence_starts(text: str) -> list[int]:
    """Where blingfire's sentences start in ``text``; the first one at 0.

    blingfire rewrites a little (line breaks become spaces, a BOM disappears), so
    its sentences are located in a same-length copy of the text with line breaks
    and NUL (which would end its C string) already turned into spaces. A sentence
    that cannot be located joins the one before it, so nothing is ever lost.
    """
    probe = text
    for char in "\n\r\x00":
        if char in probe:
            probe = probe.replace(char, " ")
    try:
        found = blingfire.text_to_sentences(probe)
    except UnicodeEncodeError:  # lone surrogates: one "?" each, offsets unchanged
        probe = probe.encode("utf-8", "replace").decode("utf-8")
        found = blingfire.text_to_sentences(probe)
    starts, cursor = [0], 0
    find = probe.find
    for line in found.split("\n"):
        at = find(line, cursor) if line else -1
        if at < 0:
            continue
        if cursor > 0:
            starts.append(at)
        cursor = at + len(line)
    return starts
