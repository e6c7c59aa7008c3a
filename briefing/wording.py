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
        for key in {key for key, _ in phrases}:
            seen[key] = seen.get(key, 0) + 1
    found: dict[int, list[str]] = {}
    for number, phrases in grams.items():
        mine = [p for key, p in phrases if seen[key] == 1]
        # Plain words (no names) say most about the outlet's own view; then longer.
        picked: list[str] = []
        used: set[str] = set()
        for phrase in sorted(mine, key=lambda p: (_named(p), -len(p.split()))):
            words = {w.lower() for w in phrase.split()}
            if not words & used:
                picked.append(phrase)
                used |= words
            if len(picked) == count:
                break
        if picked:
            found[number] = picked
    return found


def _named(phrase: str) -> bool:
    return any(w[:1].isupper() for w in phrase.split())


def _phrases(text: str, sizes: tuple[int, ...]) -> list[tuple[str, str]]:
    """(lower-case key, phrase as written) of every usable phrase, in reading order."""
    out: list[tuple[str, str]] = []
    for clause in _CLAUSE.findall(_QUOTED.sub(" ", text)):
        words = _WORD.findall(clause)
        for size in sizes:
            for i in range(len(words) - size + 1):
                gram = words[i : i + size]
                if gram[0].lower() in _STOP or gram[-1].lower() in _STOP:
                    continue
                if all(w[:1].isupper() for w in gram):  # a name, or a title-cased line
                    continue
                out.append((" ".join(gram).lower(), " ".join(gram)))
    return out
