"""An outlet's own words: what its article says that no other outlet of the story does.

Framing shows in word choice: one outlet "dismissed" warnings that another
"shrugged off"; one writes of a "proxy war". For each article of a story, brief
collects the phrases of two or three words of its own prose (titles included,
quotations left out: quoted words are someone else's) and keeps those that no other
article of the story uses. The first of them, in reading order, stands in for a
framing's ``wording`` when the model's could not be found in the article. Every
phrase is the article's text, so it needs no check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Quotations are someone else's words, not the outlet's.
_QUOTED = re.compile(r"[\"“”«][^\"“”«»]*[\"“”»]|(?<!\w)['‘][^'‘’]+['’](?!\w)")
# Phrases do not run across punctuation.
_CLAUSE = re.compile(r"[^.,;:!?()\[\]\n—–-]+")
_WORD = re.compile(r"[^\W\d_][\w'’]*")
_STOP = frozenset(
    "a an and are as at be been but by for from had has have he her his i in into is it "
    "its of on or our over said says she so than that the their them then there these "
    "they this those to up was we were which while who will with would could should "
    "also after before about against more most not no one two new".split()
)


def own_phrases(texts: Mapping[int, str], *, sizes: tuple[int, ...] = (3, 2)) -> dict[int, str]:
    """Source number -> its first phrase (of ``sizes`` words) that no other text uses,
    for texts that have one (see :func:`own_phrase_lists`)."""
    return {n: found[0] for n, found in own_phrase_lists(texts, sizes=sizes).items()}


def own_phrase_lists(
    texts: Mapping[int, str], *, sizes: tuple[int, ...] = (3, 2), count: int = 1
) -> dict[int, list[str]]:
    """Source number -> up to ``count`` phrases (of ``sizes`` words) that no other text
    uses and that share no word, for texts that have one: phrases without names
    first, longer first, then in reading order. Phrases start and end on a content
    word and hold at least one word in lower case (not a name alone)."""
    grams = {number: _phrases(text, sizes) for number, text in texts.items()}
    seen: dict[str, int] = {}
    for phrases in grams.values():
        for key in {p[0] for p in phrases}:
            seen[key] = seen.get(key, 0) + 1
    # Plain words (no names) say most about the outlet's own view; then longer ones.
    ranks = [(named, size) for named in (False, True) for size in sorted(sizes, reverse=True)]
    found: dict[int, list[str]] = {}
    for number, phrases in grams.items():
        mine = [p for p in phrases if seen[p[0]] == 1]
        picked: list[str] = []
        used: set[str] = set()
        for named, size in ranks:
            for key, text, phrase_size, phrase_named in mine:
                if len(picked) == count or (phrase_named, phrase_size) != (named, size):
                    continue
                words = set(key.split())
                if not words & used:
                    picked.append(text)
                    used |= words
        if picked:
            found[number] = picked
    return found


# A phrase: (key in lower case, text as written, words, whether it holds a capitalised
# word). Plain tuples: a story's articles give tens of thousands of them, and a
# NamedTuple costs twice as much to make.
_Phrase = tuple[str, str, int, bool]


def _phrases(text: str, sizes: tuple[int, ...]) -> list[_Phrase]:
    """Every usable phrase of ``text``, in reading order (each clause's longer ones
    first)."""
    out: list[_Phrase] = []
    for clause in _CLAUSE.findall(_QUOTED.sub(" ", text)):
        words = _WORD.findall(clause)
        lower = [w.lower() for w in words]
        upper = [w[:1].isupper() for w in words]
        usable = [w not in _STOP for w in lower]
        for size in sizes:
            for i in range(len(words) - size + 1):
                if not (usable[i] and usable[i + size - 1]):
                    continue
                capitals = upper[i : i + size]
                if all(capitals):  # a name, or a title-cased line
                    continue
                out.append(
                    (
                        " ".join(lower[i : i + size]),
                        " ".join(words[i : i + size]),
                        size,
                        any(capitals),
                    )
                )
    return out
