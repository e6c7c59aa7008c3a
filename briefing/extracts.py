"""What brief takes from a story's sources itself, for the model not to copy.

A small model copying text costs tokens and makes what grounding throws away; these
parts of a story are the sources' own sentences and words, cited:

* :func:`summary_and_agreement`: the summary is the best ranked sentences
  (:mod:`briefing.salience`), verbatim, none repeating another or the top line; "where
  the outlets agree" is the sentences other outlets state too, cited in each;
* :func:`quotes`: the words a source quotes each actor saying
  (:func:`briefing.speakers.quote_of`);
* :func:`timeline`: each day the sentences name (:func:`briefing.dates.found`), told
  by its best ranked sentence;
* :func:`risks`: the model's risks, each once, none that only tells what happened, each
  with the sentence of the sources that warns of it.
"""

from __future__ import annotations

from briefing import dates, speakers
from briefing.evidence import Evidence
from briefing.models import Event, Point, Risk, StoryDraft
from briefing.salience import LINK

_WORD = speakers.WORD
_REPEATED = 0.8  # a text with this share of its long words in another says it again
_TIMELINE_FOUND = 4  # days of a story, taken from its sentences
# Summary words for a story of n articles: BASE + EACH * n, at most MOST.
_SUMMARY_BASE, _SUMMARY_EACH, _SUMMARY_MOST = 50, 20, 250
_AGREEMENT = 3  # the StoryDraft bound
# A risk's reason is a sentence that warns (salience.Ranking.warnings), at a cosine of
# _REASON or more with the risk's words (LINK: they share a word of weight), a cited
# sentence counting _CITED more.
_REASON, _CITED = LINK, 0.1
_REASON_WORDS = 8  # a shorter sentence ("That could be a while.") gives no reason
_SUPPORT = 2  # other outlets that must say a point for it to be agreement (fewer if fewer)


def risks(draft: StoryDraft, evidence: Evidence) -> None:
    """The draft's risks, each once; a "risk" that tells what happened (the top line
    again) is no risk; each keeps the sentence that warns of it."""
    draft.risks = [r for r in _distinct(draft.risks) if not _repeats(r.risk, draft.top_line)]
    _reasons(draft, evidence)


def _repeats(text: str, said: str) -> bool:
    """Whether ``text`` says ``said`` again: :data:`_REPEATED` of its long words are in it."""
    words = long_words(text)
    return bool(words) and len(words & long_words(said)) >= _REPEATED * len(words)


def _distinct(risks: list[Risk]) -> list[Risk]:
    """The risks without those that say again what one before them says (a small model
    sometimes writes one risk three times over, a word changed); the repeat's citations
    go to the risk it repeats."""
    kept: list[tuple[Risk, set[str]]] = []
    for risk in risks:
        words = long_words(risk.risk)
        same = next(
            (k for k, seen in kept if len(words & seen) >= _REPEATED * len(words | seen)), None
        )
        if same is None or not words:
            kept.append((risk, words))
        else:
            same.cite_also(*risk.cites)
    return [risk for risk, _ in kept]


def _reasons(draft: StoryDraft, evidence: Evidence) -> None:
    """Each risk gets the sentence of the sources that warns of it (``warnings``),
    the one most like its words, a sentence it cites first: its reason, in the source's
    own words, cited. Two risks that come to the same sentence are one risk said twice;
    a risk no such sentence shares a word with keeps none."""
    ranking = evidence.ranking()
    warning = ranking.warnings(_REASON_WORDS)
    kept: list[Risk] = []
    used: dict[str, Risk] = {}
    for risk in draft.risks:
        said = f"{risk.risk} {risk.exposed}"
        scored = [
            (alike + (_CITED if r.cite in risk.cites else 0), r)
            for r in warning
            if (alike := ranking.similarity(r, [said])) >= _REASON
        ]
        best = max(scored, key=lambda item: item[0], default=(0.0, None))[1]
        if best is None:
            kept.append(risk)
        elif best.cite in used:  # the same warning again
            first = used[best.cite]
            first.cite_also(*risk.cites)
        else:
            risk.reason = best.text
            risk.cite_also(best.cite)
            used[best.cite] = risk
            kept.append(risk)
    draft.risks = kept


def summary_words(sources: int) -> int:
    """Words of a summary brief takes from the sources for a story of ``sources``
    articles: more articles say more (the MultiLing references give 250 words to ten)."""
    return min(_SUMMARY_MOST, _SUMMARY_BASE + _SUMMARY_EACH * sources)


def summary_and_agreement(draft: StoryDraft, evidence: Evidence) -> None:
    """A story written from its articles (no summary of the model's) gets the sentences
    most of its outlets say, verbatim; a story of several outlets with no agreement
    gets the sentences two or more other outlets say too, each cited with theirs."""
    ranking = evidence.ranking()
    chosen = []
    if not draft.summary.strip():
        chosen = ranking.summary(summary_words(len(evidence.sentences)), avoid=draft.top_line)
        draft.summary = " ".join(r.text for r in chosen)
    if not draft.agreement and (sources := len(evidence.sentences)) > 1:
        support = min(_SUPPORT, sources - 1)
        draft.agreement = [
            Point(text=r.text, cites=[r.cite, *ranking.supporting(r)])
            for r in ranking.agreement(_AGREEMENT, support, besides=chosen)
        ]


def timeline(evidence: Evidence) -> list[Event]:
    """The timeline of a story written from its articles: for each day a sentence of
    the sources names (:func:`briefing.dates.found`), its best ranked such sentence,
    verbatim; the most told days, in date order."""
    days: dict[str, Event] = {}
    for r in evidence.ranking().ranked:
        if len(days) == _TIMELINE_FOUND:
            break
        day = dates.found(r.text, evidence.published.get(r.source))
        if day is not None and day not in days:
            days[day] = Event(date=day, event=r.text, cites=[r.cite])
    return sorted(days.values(), key=lambda e: e.date)


def quotes(draft: StoryDraft, evidence: Evidence) -> None:
    """An actor without a quote gets the words the sources quote them saying
    (:func:`briefing.speakers.quote_of`), cited."""
    for actor in draft.actors:
        if not actor.quote.strip() and (found := speakers.quote_of(actor.name, evidence.sentences)):
            actor.quote = found[0]
            actor.cite_also(*found[1])


def long_words(text: str) -> set[str]:
    """The words of more than three letters, lower case: what framings are compared by."""
    return {w for w in _WORD.findall(text.lower()) if len(w) > 3}
