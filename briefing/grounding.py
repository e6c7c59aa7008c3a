"""Check every item of a story against the source texts; drop what fails.

What is checked, for each story the model wrote:

* citations: each ``"N.K"`` must name sentence ``K`` of source ``N``, and ``N`` must
  be one of the story's sources; other ids are removed;
* actors: the name must occur in a cited article (verbatim, or every capitalised
  word of it as a word of the text);
* quotes and framing wordings: the words must occur in a cited article, after
  normalising whitespace, quote marks, dashes and case; a quote found in another
  source of the story is re-attributed to that source;
* who said it: a quote must stand in quotation marks in a source, and the source
  must not give those words to another actor of the story (the nearest actor named
  outside quotation marks, in the quoting sentence or the sentences before it). A
  quote the source gives to another actor moves to that actor when they have none;
* risks, agreement points and timeline events: need a valid citation; without one,
  the sentence of the story's sources that shares most content words with the
  item must share at least :data:`SUPPORT` of them, and then becomes the citation;
* agreement points, in a story of several sources: two of them must support it;
* prose: each summary sentence and the top line need a supporting sentence (as
  above) and every name and number in them must occur in the sources; a headline
  naming what no source names is replaced by the first source's title.

Failed items are dropped, or kept with ``unverified`` set when the user asks
(``--keep-unverified``). Every check is counted in :class:`Grounding`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from briefing.dates import MONTHS, WEEKDAYS, as_precise_as
from briefing.models import (
    Actor,
    Cited,
    Drop,
    Event,
    Framing,
    Grounding,
    Point,
    Risk,
    StoryDraft,
)
from briefing.sourcetext import CJK, SourceText, content_words, normalise
from briefing.speakers import TITLES, WORD

SUPPORT = 0.5
C = TypeVar("C", bound=Cited)
# A sentence ends at . ! ? and a space, or at a full-width 。！？ (Chinese and Japanese
# put no space after them).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s|(?<=[。！？])\s*")
# Words of a name that do not tell people apart.
_TITLES = frozenset(title.lower() for title in TITLES) | {"the"}
# Capitalised words that do not make a name: titles, days, months.
_NOT_EVIDENCE = _TITLES | frozenset(WEEKDAYS) | frozenset(MONTHS)
_YEAR = re.compile(r"\b(?:1[89]|2[0-9])\d\d\b")


class Checker:
    """Grounds the items of one story against its sources."""

    def __init__(
        self, story: int, sources: Iterable[SourceText], *, keep_unverified: bool = False
    ) -> None:
        self.story = story
        self.sources = {source.number: source for source in sources}
        self.keep_unverified = keep_unverified
        self.report = Grounding()

    # -- entry point -------------------------------------------------------------------

    def check(self, draft: StoryDraft) -> StoryDraft:
        """A copy of ``draft`` with failing items removed (or marked) and cites fixed."""
        draft = draft.model_copy(deep=True)
        self._attribute(draft.actors)
        draft.actors = self._keep(draft.actors, self._actor, "actor")
        draft.risks = self._keep(draft.risks, self._supported("risk"), "risk")
        draft.agreement = self._keep(draft.agreement, self._agreed, "point")
        draft.timeline = self._keep(draft.timeline, self._supported("event"), "event")
        draft.framings = self._keep(draft.framings, self._framing, "framing")
        self._ground_prose(draft)
        return draft

    def _ground_prose(self, draft: StoryDraft) -> None:
        """The summary keeps the sentences the sources support; an unsupported top
        line becomes the summary's first sentence; a headline naming what no source
        names becomes the first source's title."""
        kept = []
        for sentence in map(str.strip, _SENTENCE_END.split(draft.summary.strip())):
            if not sentence:
                continue
            reason = self._unsupported(sentence)
            if reason is None or self._fail_prose("summary sentence", sentence, reason):
                kept.append(sentence)
        draft.summary = "".join(
            sentence if CJK.search(sentence[-1:]) or sentence[-1:] in "。！？" else sentence + " "
            for sentence in kept
        ).strip()
        reason = self._unsupported(draft.top_line)
        if reason is not None and not self._fail_prose("top line", draft.top_line, reason):
            draft.top_line = kept[0] if kept else draft.top_line
        elif not draft.summary:  # nothing of the summary held: the supported top line
            draft.summary = draft.top_line
        strange = self._unknown_names(draft.headline)
        self.report.checked += 1
        self.report.verified += not strange
        if strange and self.sources:
            reason = f"no source names {', '.join(strange)}"
            if not self._fail_prose("headline", draft.headline, reason):
                first = self.sources[min(self.sources)]
                draft.headline = first.text.strip().splitlines()[0][:100]

    def _unsupported(self, sentence: str) -> str | None:
        """Why the sources do not support ``sentence``, or None when they do: every
        name and number in it occurs in them, and one sentence of them shares
        :data:`SUPPORT` of its content words."""
        self.report.checked += 1
        if strange := self._unknown_names(sentence):
            return f"no source names {', '.join(strange)}"
        if self._best_sentence(sentence) is None and content_words(sentence):
            return "no sentence of the sources says this"
        self.report.verified += 1
        return None

    def _unknown_names(self, text: str) -> list[str]:
        """Capitalised words and numbers that occur in no source (in any case)."""
        words = WORD.findall(text)
        suspects = [w for w in words if w[:1].isupper() or w[:1].isdigit()]
        return [w for w in dict.fromkeys(suspects) if not self._anywhere(w)]

    def _anywhere(self, word: str) -> bool:
        lower = word.lower()
        if CJK.search(lower):  # no spaces to find words by: "2026年" within a run
            return any(lower in source.normal for source in self.sources.values())
        return any(lower in source.words for source in self.sources.values())

    def _fail_prose(self, kind: str, text: str, reason: str) -> bool:
        """Count a failed text; True when it is to be kept (marked unverified runs)."""
        self._fail(kind, text, reason)
        return self.keep_unverified

    # -- the checks: each returns None when the item passes, else the reason ----------

    def _actor(self, actor: Actor) -> str | None:
        self._fix_cites(actor)
        cited = self._cited_sources(actor) or list(self.sources.values())
        if not any(self._name_in(actor.name, source) for source in cited):
            return "name does not occur in the cited articles"
        if _unnamed(actor.name, cited):
            return "not a named person, organisation or government"
        if not actor.cites:
            actor.cites = self._first_mention(actor.name)
        if actor.quote.strip():
            self.report.checked += 1
            where = self._find_phrase(actor.quote, self._cited_sources(actor), quoted=True)
            if where is None:
                reason = (
                    "no source of this story puts these words in quotation marks"
                    if self._find_phrase(actor.quote, [])
                    else "quote does not occur in any source of this story"
                )
                self._fail("quote", actor.quote, reason)
                if self.keep_unverified:
                    actor.unverified = reason
                else:
                    actor.quote = ""
            else:
                self.report.verified += 1
                self._add_cite(actor, where, actor.quote)
        return None

    def _attribute(self, actors: list[Actor]) -> None:
        """Take a quote from an actor when its source gives the words to another actor
        of the story; that actor gets it if they have no quote of their own."""
        for actor in actors:
            if not actor.quote.strip():
                continue
            other = self._speaker(actor, actors)
            if other is None:
                continue
            reason = f"the source gives these words to {other.name}"
            self.report.checked += 1
            self._fail("quote", actor.quote, reason)
            if not other.quote.strip():
                other.quote, other.cites = actor.quote, [*other.cites, *actor.cites]
            if self.keep_unverified:
                actor.unverified = reason
            else:
                actor.quote = ""

    def _speaker(self, actor: Actor, actors: list[Actor]) -> Actor | None:
        """Another actor that the quoting source names as the speaker, if any."""
        source = self._find_phrase(actor.quote, self._cited_sources(actor), quoted=True)
        part = next(
            (p for p in (q.strip(" \"'.,;:") for q in normalise(actor.quote).split("...")) if p),
            "",
        )
        if source is None or not part:
            return None
        for window in source.speaker_windows(part):
            words = set(WORD.findall(window))
            named = [a for a in actors if _name_words(a.name) & words]
            if any(a is actor for a in named):
                return None
            if named:
                return named[0]
        return None

    def _supported(self, kind: str) -> Callable[[Risk | Point | Event], str | None]:
        def check(item: Risk | Point | Event) -> str | None:
            self._fix_cites(item)
            if isinstance(item, Event) and (wrong := self._unsourced_year(item)):
                return f"the year {wrong} occurs in no source of this story"
            if not item.cites:
                best = self._best_sentence(_label(item))
                if best is None:
                    return f"no valid citation and no sentence of the sources supports the {kind}"
                item.cites = [best]
            if isinstance(item, Event):
                self._date_as_cited(item)
            return None

        return check

    def _agreed(self, point: Point) -> str | None:
        """A point the outlets agree on needs support in two sources or more (when the
        story has two): its cites, or a sentence of another source that shares
        :data:`SUPPORT` of its content words, which is then cited too."""
        failed = self._supported("point")(point)
        if failed is not None or len(self.sources) < 2:
            return failed
        cited = {source.number for source in self._cited_sources(point)}
        for source in self.sources.values():
            if source.number not in cited and (best := self._best_sentence(point.text, [source])):
                point.cites.append(best)
                cited.add(source.number)
        if len(cited) < 2:
            return "only one source of this story says this"
        return None

    def _date_as_cited(self, event: Event) -> None:
        """The event's date cut to the precision its cited sentences give
        (:func:`briefing.dates.as_precise_as`): the most precise any of them supports."""
        best = ""
        for cite in event.cites:
            number, _, k = cite.partition(".")
            source = self.sources.get(int(number)) if number.isdigit() else None
            if source is None or not k.isdigit():
                continue
            date = as_precise_as(event.date, source.sentences.get(int(k), ""), source.published)
            if len(date) > len(best):
                best = date
        if best and best != event.date:
            event.date = best

    def _unsourced_year(self, event: Event) -> str | None:
        """A year in the event's date that no source of the story mentions."""
        for year in _YEAR.findall(event.date):
            if not any(
                year in source.text or year in (source.published or "")
                for source in self.sources.values()
            ):
                return str(year)
        return None

    def _framing(self, framing: Framing) -> str | None:
        source = self.sources.get(framing.source)
        if source is None:
            return f"source [{framing.source}] is not part of this story"
        self._fix_cites(framing)
        if framing.wording.strip():
            self.report.checked += 1
            if self._find_phrase(framing.wording, [source]) is not source:
                reason = f"wording not found in source [{source.number}]"
                self._fail("wording", framing.wording, reason)
                if self.keep_unverified:
                    framing.unverified = reason
                else:
                    framing.wording = ""
            else:
                self.report.verified += 1
        return None

    # -- helpers ----------------------------------------------------------------------

    def _keep(self, items: list[C], check: Callable[[C], str | None], kind: str) -> list[C]:
        kept: list[C] = []
        for item in items:
            self.report.checked += 1
            reason = check(item)
            if reason is None:
                self.report.verified += 1
                kept.append(item)
                continue
            self._fail(kind, _label(item), reason)
            if self.keep_unverified:
                item.unverified = reason  # type: ignore[attr-defined]
                kept.append(item)
        return kept

    def _fail(self, kind: str, item: str, reason: str) -> None:
        self.report.failures.append(Drop(story=self.story, kind=kind, item=item, reason=reason))
        if self.keep_unverified:
            self.report.kept_unverified += 1
        else:
            self.report.dropped += 1

    def _fix_cites(self, item: Cited) -> None:
        """Keep the cites that name a sentence of a source of this story."""
        valid: list[str] = []
        # A model may write several ids in one string: "1.2, 1.3".
        for cite in [part for cites in item.cites for part in cites.split(",") if part.strip()]:
            number, _, sentence = cite.strip().strip("[]").partition(".")
            source = self.sources.get(int(number)) if number.isdigit() else None
            if source is not None and sentence.isdigit() and int(sentence) in source.sentences:
                valid.append(f"{source.number}.{int(sentence)}")
            else:
                self.report.failures.append(
                    Drop(
                        story=self.story,
                        kind="citation",
                        item=cite,
                        reason="names no sentence of this story's sources",
                    )
                )
        item.cites = list(dict.fromkeys(valid))

    def _cited_sources(self, item: Cited) -> list[SourceText]:
        numbers = dict.fromkeys(cite.split(".")[0].strip(" [") for cite in item.cites)
        return [self.sources[int(n)] for n in numbers if n.isdigit() and int(n) in self.sources]

    def _name_in(self, name: str, source: SourceText) -> bool:
        if normalise(name) in source.normal:
            return True
        capitals = [w.lower() for w in WORD.findall(name) if w[:1].isupper()]
        return bool(capitals) and all(word in source.words for word in capitals)

    def _first_mention(self, name: str) -> list[str]:
        key = normalise(name).split()[-1] if name.split() else ""
        for source in self.sources.values():
            for number, sentence in source.sentences.items():
                if key and key in normalise(sentence):
                    return [f"{source.number}.{number}"]
        return []

    def _find_phrase(
        self, phrase: str, first: list[SourceText], *, quoted: bool = False
    ) -> SourceText | None:
        """The source whose text holds ``phrase`` (each part between ellipses, in order),
        trying ``first`` first. With ``quoted``, each part must also stand inside a
        quotation of that source."""
        parts = [p.strip(" \"'.,;:") for p in normalise(phrase).split("...")]
        parts = [p for p in parts if p]
        if not parts:
            return None
        if quoted:
            candidates = [s for s in self.sources.values() if all(s.quotes(p) for p in parts)]
            if not candidates:
                return None
            preferred = [s for s in first if s in candidates]
            return self._find_phrase(phrase, preferred or candidates)
        rest = [s for s in self.sources.values() if s not in first]
        for source in [*first, *rest]:
            position = 0
            for part in parts:
                found = source.normal.find(part, position)
                if found < 0:
                    break
                position = found + len(part)
            else:
                return source
        return None

    def _add_cite(self, item: Cited, source: SourceText, phrase: str) -> None:
        first = normalise(phrase).split("...")[0].strip(" \"'.,;:")
        # The quote may run over several sentences: cite the one it starts in.
        probe = _SENTENCE_END.split(first, maxsplit=1)[0][:40]
        for number, sentence in source.sentences.items():
            if probe and probe in normalise(sentence):
                cite = f"{source.number}.{number}"
                if cite not in item.cites:
                    item.cites.append(cite)
                return

    def _best_sentence(self, text: str, among: list[SourceText] | None = None) -> str | None:
        words = content_words(text)
        if not words:
            return None
        best, score = None, 0.0
        for source in self.sources.values() if among is None else among:
            for number, content in source.content_words.items():
                overlap = len(words & content) / len(words)
                if overlap > score:
                    best, score = f"{source.number}.{number}", overlap
        return best if score >= SUPPORT else None


def _unnamed(name: str, sources: Iterable[SourceText]) -> bool:
    """Whether ``name`` names no one: none of its words (past titles, days and months)
    is an acronym or a word its sources capitalise inside a sentence ("Consumer price
    inflation", "Unemployment", "Investors"). Names in scripts without capitals pass, and
    so does a thing named after a proper adjective ("Western weapons"): a screen for the
    common nouns a small model lists, not a named-entity recogniser."""
    words = [w for w in WORD.findall(name) if len(w) > 1]
    if not any(w.lower() != w.upper() for w in words):
        return False
    if any(w.isupper() for w in words):  # NATO, BBC, EU
        return False
    evidence = {w.lower() for w in words if w[:1].isupper()} - _NOT_EVIDENCE
    return not any(evidence & source.capitalised for source in sources)


def _name_words(name: str) -> set[str]:
    """The words of a name that identify it: its capitalised words, less titles."""
    words = {w.lower() for w in WORD.findall(name) if w[:1].isupper()}
    return {w for w in words if w not in _TITLES and len(w) > 2}


def _label(item: Cited) -> str:
    """The text of an item, for reports and for the support check."""
    for attribute in ("name", "risk", "text", "event", "framing"):
        value = getattr(item, attribute, None)
        if isinstance(value, str):
            return value
    return ""
