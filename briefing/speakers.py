"""Who speaks or acts in the sources, read off their sentences without a model.

A small model taking notes on a passage often lists the first one or two people it
meets and misses the rest, or gives a position like "Speaking". News prose names
whoever speaks or acts in a few fixed shapes, which brief finds itself:

* ``Dmitry Medvedev, a senior Russian security official, stated that ...``
* ``US President Joe Biden authorized Kyiv to use ...``
* ``Putin warned NATO members against ...`` (a surname of a full name found elsewhere)
* ``a German government spokesman confirmed that ...`` (a government)

Each :class:`Mention` keeps the verb's clause ("Stated that Moscow was not
bluffing ..."), verbatim from the source, as the actor's position, and the sentence
id as its citation; :mod:`briefing.drafts` adds the actors the story left out and
replaces empty positions with these. There is no offline named-entity model on the
package registries brief installs from, hence the patterns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Verbs of speaking or of acting on the story, in the forms news prose uses.
VERBS = (
    "said says stated states told tells warned warns added adds confirmed confirms "
    "authorized authorised authorizes authorises announced announces argued argues "
    "emphasized emphasised insisted insists dismissed dismisses defended defends noted "
    "notes claimed claims threatened threatens urged urges accused accuses denied denies "
    "rejected rejects declared declares vowed vows pledged pledges approved approves "
    "ordered orders called calls suggested suggests promised promises responded replied "
    "criticized criticised welcomed welcomes reiterated reiterates shrugged shrugs "
    "signed signs decided decides agreed agrees refused refuses"
).split()
_VERB = "|".join(VERBS)
_NAME = r"[A-Z][\w'’.-]*[a-z][\w'’-]*"  # a capitalised word, not an acronym
_PERSON = re.compile(
    rf"(?P<name>(?:[A-Z][\w'’-]*\s+)*?{_NAME}(?:\s+{_NAME}){{1,2}}|{_NAME})"
    rf"(?:,\s+(?P<role>(?:a|an|the|who)\s[^,]{{3,80}}),)?"
    rf"\s+(?:(?:has|had|have|also|then|on\s+\w+day)\s+)*(?P<verb>(?:{_VERB}))\b"
)
_GOVERNMENT = re.compile(
    rf"\b(?P<name>[A-Z][a-z]+\s+government)(?:\s+spokes(?:man|woman|person))?"
    rf"\s+(?:(?:has|had|also)\s+)*(?P<verb>(?:{_VERB}))\b"
)
# A word, as brief counts words everywhere: letters and digits, no underscore.
WORD = re.compile(r"[^\W_]+")
_FULL = re.compile(rf"{_NAME}(?:\s+{_NAME}){{1,3}}")
# "..., Stoltenberg told reporters": who said it, not what they want.
_ATTRIBUTION = re.compile(r"(?:told|tells)\s+(?:reporters|journalists)\b", re.I)
_EMPTY = re.compile(
    r"(?:said|says|stated|added|adds|told\s+\w+)(?:\s+(?:in\s+a\s+statement|on\s+\w+|"
    r"yesterday|today|last\s+\w+|at\s+the\s+time))?\W*$",
    re.I,
)
# A quotation in double quotes, straight or curly, and verbs that say someone spoke it.
_QUOTATION = re.compile(r"[\"“]([^\"“”]{8,600})[\"”]")
_MARK = re.compile(r"[\"“”]")
_OPENS_AFTER = "([—–-"  # besides a space or the start: what a straight opening mark follows
_CLOSING = re.compile(r"[\"”](?=[\s,.;:!?)]|$)|”")
_SPEAKING = frozenset(
    "said says stated told tells warned warns added adds insisted insists argued argues "
    "declared declares wrote writes claimed claims noted notes explained asked".split()
)
_SUBJECT_WORDS = 6  # a name this early in a sentence is most often what it is about
_QUOTE_WORDS = 30  # the longest quote shown, in words (the Actor quote's bound)
# Words before a name that say what someone is, not who.
TITLES = frozenset(
    "President Prime Minister Secretary-General Secretary General Chancellor Foreign "
    "Defence Defense Chief Spokesman Spokeswoman Spokesperson Senator Governor Mayor King "
    "Queen Prince "
    "Mr Mrs Ms Dr Sir Lord Pope Leader Commander Ambassador Premier Vice Deputy".split()
)
# Capitalised words that start sentences or name days and months, never people.
_NOT_NAMES = frozenset(
    "The A An In On At As After Before Following Earlier Later Meanwhile However But And "
    "He She They It This That These Those His Her Their Its We I You Our Speaking Over "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April "
    "May June July August September October November December".split()
)
# Roles of those who write an article, not act in it.
_BYLINE = re.compile(
    r"\b(author|writer|writing|reporter|correspondent|journalist|editor|byline)\b", re.I
)
POSITION_CHARS = 200  # the Actor.position field's maxLength


@dataclass(frozen=True)
class Mention:
    """Someone a source names as speaking or acting, in one sentence."""

    name: str
    role: str
    cite: str  # "N.K": source N, sentence K
    position: str  # the verb's clause, verbatim, capitalised


def find(sentences: Mapping[int, Mapping[int, str]]) -> list[Mention]:
    """Mentions in the sentences of each source (source -> sentence id -> text), in
    order; a bare surname counts when a full name ending in it occurs in the sources."""
    raw: list[tuple[str, str, str, str]] = []
    prose = _prose(sentences)
    for source, numbered in prose.items():
        for number, sentence in numbered.items():
            for pattern in (_GOVERNMENT, _PERSON):
                for match in pattern.finditer(sentence):
                    title, name = _split_title(match.group("name"))
                    role = (match.groupdict().get("role") or title).strip()
                    clause = sentence[match.start("verb") :].strip()
                    raw.append((name, role, f"{source}.{number}", clause))
    full = _full_names(prose)
    found: list[Mention] = []
    for name, role, cite, clause in raw:
        if len(name.split()) == 1:
            if name not in full:
                continue
            name, title = full[name]
            role = role or title
        # "..., Stoltenberg told reporters." / "said in a statement." tell nothing.
        if name and not _ATTRIBUTION.match(clause) and not _EMPTY.match(clause):
            found.append(Mention(name, role, cite, _position(clause)))
    return found


def key(name: str) -> str:
    """What tells actors apart: the last capitalised word of the name, lower case."""
    words = [w for w in re.split(r"[\s-]+", name) if w[:1].isupper()]
    return words[-1].lower() if words else name.strip().lower()


def weak(position: str, name: str, role: str) -> bool:
    """A position that says nothing: a few words, the name or role again, a list of
    names, or a loop."""
    text = position.strip().rstrip(".").lower()
    words = WORD.findall(text)
    if len(words) < 5 or text in (name.strip().lower(), role.strip().lower()):
        return True
    if len(words) < 8 and name.strip().lower() in text:  # "Paula Reyes (politician): opponent"
        return True
    # "Government of Finland, Interior Minister Aino Virtanen, Prime Minister ..."
    written = WORD.findall(position)[1:]
    if sum(w[:1].isupper() for w in written) / len(written) >= 0.6:
        return True
    # Another field's words leaked in: "...; exposed to job losses; likelihood high".
    if re.search(r"\b(likelihood|impact)\s+(low|medium|high)\b", text):
        return True
    # "Interior minister, Prime minister, Government of Finland, Russian government."
    parts = [p for p in position.split(",") if p.strip()]
    if len(parts) >= 3 and all(len(p.split()) <= 4 for p in parts):
        return True
    # A small model stuck in a loop: "Governor, Governor, Governor, ...", or a clause twice.
    if max(words.count(word) for word in set(words)) > max(3, len(words) // 3):
        return True
    grams = [" ".join(words[i : i + 4]) for i in range(len(words) - 3)]
    return len(set(grams)) < len(grams)


def sentence_about(name: str, sentences: Mapping[int, Mapping[int, str]]) -> Mention | None:
    """The first sentence of the sources that names ``name`` (by :func:`key`) among its
    first :data:`_SUBJECT_WORDS` words, where a sentence says what they do, else the
    first that names them at all, as a position in the source's own words, for an
    actor no verb pattern found."""
    wanted = key(name)
    # Article text before titles (sentence 1), which name more than they say.
    ordered = sorted(
        ((number == 1, source, number, text) for source, numbered in sentences.items()
         for number, text in numbered.items()),
        key=lambda item: item[0],
    )  # fmt: skip
    naming = [
        (source, number, sentence, WORD.findall(sentence.lower()))
        for _, source, number, sentence in ordered
        if not _headline(sentence)
    ]
    for words_in in (_SUBJECT_WORDS, None):
        for source, number, sentence, words in naming:
            if wanted in words[:words_in]:
                return Mention(name, "", f"{source}.{number}", _position(sentence.strip()))
    return None


def quote_of(name: str, sentences: Mapping[int, Mapping[int, str]]) -> tuple[str, list[str]] | None:
    """Words the sources quote ``name`` saying, with the ids of the sentences they
    stand in: the first quotation of 4 to 30 words (the end of a longer one) that
    ends in, or just before, a sentence naming them outside its quotation marks with
    a verb of speaking ("“We will not be intimidated,” Stoltenberg said."). A quotation
    may run over sentences. Grounding checks the attribution as for any quote."""
    wanted = key(name)
    for source, numbered in sentences.items():
        numbers = list(numbered)
        for i, number in enumerate(numbers):
            if not _speaks(wanted, _outside(numbered[number])):
                continue
            ids = numbers[max(0, i - 2) : i + 3]
            # Where each sentence of the window starts and ends in it.
            spans, offset = {}, 0
            for n in ids:
                spans[n] = (offset, offset + len(numbered[n]))
                offset += len(numbered[n]) + 1
            window = " ".join(numbered[n] for n in ids)
            at, end = spans[number]
            # Only a quotation that stands (in part) in the sentence naming them.
            for start, stop in _quotations(window):
                if start <= end and stop >= at and (said := _within(window[start:stop])):
                    cites = [
                        f"{source}.{n}" for n, (a, b) in spans.items() if a <= stop and b >= start
                    ]
                    return said, cites
    return None


def _outside(sentence: str) -> str:
    """The sentence without its quotations; text before a closing mark that no mark
    opened is the end of a quotation begun in a sentence before."""
    for match in _MARK.finditer(sentence):
        if _opens(sentence, match.start()):
            break
        if _CLOSING.match(sentence, match.start()):
            sentence = sentence[match.end() :]
            break
    return _QUOTATION.sub(" ", sentence)


def _opens(text: str, at: int) -> bool:
    """Whether the quotation mark at ``at`` opens a quotation: a curly one, or a
    straight one at the start, after a space, a bracket or a dash."""
    before = text[at - 1] if at else " "
    return text[at] == "“" or (text[at] == '"' and (before.isspace() or before in _OPENS_AFTER))


def _speaks(wanted: str, text: str) -> bool:
    """Whether ``text`` has the name (its :func:`key`) next to a verb of speaking:
    "Stoltenberg said", "Stoltenberg told reporters", "said Stoltenberg"."""
    name = rf"\b{re.escape(wanted)}\b"
    verb = rf"\b(?:{'|'.join(_SPEAKING)})\b"
    near = rf"{name}(?:\s+\w+)?\s+{verb}|{verb}\s+(?:\w+\s+)?{name}"
    return re.search(near, text, re.IGNORECASE) is not None


def _quotations(text: str) -> list[tuple[int, int]]:
    """Where the quotations of ``text`` stand (inside their marks), each from an
    opening mark (:func:`_opens`) to the next mark. A closing mark with no opening one
    is left: its quotation began before."""
    found: list[tuple[int, int]] = []
    start: int | None = None
    for match in _MARK.finditer(text):
        if _opens(text, match.start()):
            start = match.end()
        elif start is not None:
            found.append((start, match.start()))
            start = None
    return found


def _within(quote: str) -> str:
    """``quote`` if it has 4 to 30 words, else its last sentences that do, or ""."""
    parts = re.split(r"(?<=[.!?])\s+", quote.strip(" ,;:"))
    while parts and len(" ".join(parts).split()) > _QUOTE_WORDS:
        parts = parts[1:]
    said = " ".join(parts)
    return said if len(said.split()) >= 4 else ""


def byline(text: str) -> bool:
    """Whether a name, role or position says "the article's writer" ("Author: ...",
    "news editor", "Writing")."""
    return bool(_BYLINE.search(text))


def _prose(sentences: Mapping[int, Mapping[int, str]]) -> dict[int, dict[int, str]]:
    """The sentences without headlines (see :func:`_headline`)."""
    return {
        source: {number: text for number, text in numbered.items() if not _headline(text)}
        for source, numbered in sentences.items()
    }


def _full_names(prose: Mapping[int, Mapping[int, str]]) -> dict[str, tuple[str, str]]:
    """Surname -> the first full name of two or more words that ends in it, and the
    title written before it ("Russian President"), in sentences without headlines."""
    full: dict[str, tuple[str, str]] = {}
    for numbered in prose.values():
        for sentence in numbered.values():
            for match in _FULL.finditer(sentence):
                title, name = _split_title(match.group(0))
                if len(name.split()) > 1:
                    full.setdefault(name.split()[-1], (name, title))
    return full


def _split_title(words: str) -> tuple[str, str]:
    """("US President", "Joe Biden") from "US President Joe Biden"."""
    tokens = words.split()
    while tokens and tokens[0] in _NOT_NAMES:
        tokens.pop(0)
    title: list[str] = []
    while len(tokens) > 1 and (tokens[0] in TITLES or tokens[0].isupper() or _adjective(tokens)):
        title.append(tokens.pop(0))
    if tokens and tokens[-1].endswith(("'s", "’s")):
        tokens[-1] = tokens[-1][:-2]
    return " ".join(title), " ".join(tokens)


def _adjective(tokens: list[str]) -> bool:
    """A nationality before a title or a full name: "Russian President ..."."""
    return len(tokens) > 2 and tokens[0].endswith(("ian", "ish", "ese", "an", "ch"))


def _headline(sentence: str) -> bool:
    """A title-cased line, where every word is capitalised and names cannot be told."""
    initials = [w[0] for w in sentence.split() if w[0].isalpha()]
    return len(initials) >= 4 and sum(c.isupper() for c in initials) / len(initials) > 0.7


def _position(clause: str) -> str:
    clause = clause[:1].upper() + clause[1:]
    if len(clause) <= POSITION_CHARS:
        return clause
    return clause[: POSITION_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


# Words that say what kind of body an actor is, not which: "German government" and
# "US government" are two actors.
_GENERIC = frozenset(
    "government ministry minister officials office department council party forces army "
    "police agency committee court spokesman spokeswoman".split()
)
_TITLE_WORDS = frozenset(title.lower() for title in TITLES)


def same_actor(a: str, b: str) -> bool:
    """Whether two names are one actor: one's distinctive words (capitalised, not a
    title, not a kind of body) are all in the other's ("Stoltenberg", "Jens
    Stoltenberg"); names of kinds of body alone compare whole."""
    mine, theirs = name_key(a), name_key(b)
    if not mine or not theirs:
        return " ".join(a.lower().split()) == " ".join(b.lower().split())
    return mine <= theirs or theirs <= mine


def name_key(name: str) -> set[str]:
    """The words that tell an actor apart: capitalised, not a title, not a kind of body."""
    words = {w.lower() for w in WORD.findall(name) if w[:1].isupper() and len(w) > 2}
    distinctive = words - _TITLE_WORDS - _GENERIC
    return distinctive or words - _TITLE_WORDS
