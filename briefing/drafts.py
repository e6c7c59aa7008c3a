"""What brief adds to the story the model wrote, from the map notes and the sources.

The story call sees compact notes and may leave things out or word them loosely;
brief completes and settles its draft with what the notes already hold:

* :func:`complete` (before grounding): one framing per outlet; no article writers
  as actors; the actors the sources show speaking or acting (:mod:`briefing.speakers`)
  and those that several notes name; a position from the source where the model's
  says nothing; the notes' risks when the draft has none; quotes carried over
  verbatim from the notes; the timeline of the notes' dated events;
* :func:`settle` (after grounding): a framing must tell its outlet from the others;
  the divergence text must name at least two of the story's outlets and say
  something of its own; otherwise brief writes it from the outlets' framings.

A story written directly from its articles (no map notes) is completed from the
sources' sentences themselves (:mod:`briefing.extracts`): summary, points of
agreement, quotes and timeline; the risks of either kind of story are listed once,
each with the sentence that warns of it.
"""

from __future__ import annotations

import re
from typing import Any

from briefing import extracts, speakers
from briefing.evidence import Evidence, script
from briefing.extracts import long_words
from briefing.models import (
    Actor,
    ActorNote,
    ChunkNotes,
    Event,
    EventNote,
    Framing,
    Risk,
    RiskNote,
    StoryDraft,
)
from briefing.sourcetext import content_words

# The notes of a story: source number -> the notes of each of its chunks.
Noted = dict[int, list[ChunkNotes]]

_SEVERITY = {"low": 1, "medium": 2, "high": 3}
_TIMELINE = 8  # dated events shown per story
_ACTORS = 6  # actors shown per story (the StoryDraft bound)
_MIN_ACTORS = 4  # below this, the most-noted actors the story call left out are added
# A divergence sharing this share of its content words with its own field
# description echoes the instructions instead of saying something.
_ECHO = 0.6
_WORD = speakers.WORD
_LEAKED = re.compile(r"[;,]\s*(?:exposed|likelihood|impact)\b", re.I)
_SUMMARY_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_REPEATED = 0.8  # a summary sentence with this share of its words in the top line repeats it
_DIVERGENCE_CHARS = 400  # the StoryDraft field's maxLength
# Framings of two outlets sharing this share of their words say the same of both.
_SAME_FRAMING = 0.8
# A framing that only says an article reports something: "The article discusses ...".
_META = re.compile(
    r"\s*(?:the|this|its)\s+(?:article|piece|report|story|outlet|text|coverage)\s+"
    r"(?:discusses|reports|describes|covers|highlights|talks about|is about|focuses on|"
    r"provides|presents|examines|explores|mentions|details|outlines)\b",
    re.IGNORECASE,
)
_SOURCE_N = re.compile(r"\b[Ss]ource\s+(\d+)\b")
_OWN_PHRASES = 2  # an outlet's own phrases that stand in for a framing saying nothing of it
# Own phrases looked for: one more, in case one is the framing's own wording.
OWN_PHRASES = _OWN_PHRASES + 1


def severity(risk: Risk | RiskNote) -> int:
    """Likelihood times impact, 1 (low, low) to 9 (high, high)."""
    return _SEVERITY[risk.likelihood] * _SEVERITY[risk.impact]


def complete(draft: StoryDraft, noted: Noted, evidence: Evidence) -> StoryDraft:
    """A copy of ``draft`` completed from the notes and the sources' numbered
    sentences (``evidence.sentences``); see the module's text."""
    draft = draft.model_copy(deep=True)
    _fill_framings(draft, noted)
    _keep_shared_actors(draft, noted)
    mentions = evidence.mentions()
    # The article's writer ("Author: Dave DeCamp") is not an actor, unless the sources
    # show them speaking or acting.
    acting = {speakers.key(m.name) for m in mentions}
    draft.actors = [
        a
        for a in draft.actors
        if speakers.key(a.name) in acting
        or not any(speakers.byline(text) for text in (a.name, a.role, a.position))
    ]
    _add_speakers(draft, mentions, evidence)
    for risk in draft.risks:  # "Escalation; exposed: NATO; likelihood high" -> "Escalation"
        risk.risk = _LEAKED.split(risk.risk)[0].strip() or risk.risk
    extracts.risks(draft, evidence)
    _carry_over(draft, noted)
    extracts.quotes(draft, evidence)
    extracts.summary_and_agreement(draft, evidence)
    if not draft.timeline:
        draft.timeline = extracts.timeline(evidence)
    draft.summary = summary_past(draft.top_line, draft.summary)
    return _strip_scripts(draft, evidence.scripts())


def summary_past(top_line: str, summary: str) -> str:
    """``summary`` without its sentences that only say the top line again: a summary
    adds to its top line (a small model often starts it with the top line, word for
    word)."""
    said = content_words(top_line)
    if not said:
        return summary
    kept = [
        sentence
        for sentence in _SUMMARY_SENTENCE.split(summary.strip())
        if (words := content_words(sentence)) and len(words & said) < _REPEATED * len(words)
    ]
    return " ".join(kept)


def _strip_scripts(draft: StoryDraft, scripts: frozenset[str]) -> StoryDraft:
    """Letters of a script that none of the sources use, removed from every text of
    the draft: a small model sometimes slips into Chinese mid-sentence."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            kept = "".join(c for c in value if script(c) in scripts)
            return " ".join(kept.split()) if kept != value else value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return StoryDraft.model_validate(clean(draft.model_dump()))


def _add_speakers(draft: StoryDraft, mentions: list[speakers.Mention], evidence: Evidence) -> None:
    """One entry per actor; weak positions and missing roles get the source's own
    words (where it shows them speaking or acting, else the first sentence naming
    them); then the actors the sources show speaking or acting are added, most
    mentioned first, and go before the others."""
    by_key: dict[str, list[speakers.Mention]] = {}
    for mention in mentions:
        by_key.setdefault(speakers.key(mention.name), []).append(mention)
    unique: dict[str, Actor] = {}
    for actor in draft.actors:
        same = unique.get(speakers.key(actor.name)) or next(
            (kept for kept in unique.values() if speakers.same_actor(actor.name, kept.name)), None
        )
        if same is None:
            unique[speakers.key(actor.name)] = actor
        else:  # one actor listed twice ("Bank of England", "Bank of England (Governor ...)")
            same.cite_also(*actor.cites)
            if not same.quote.strip() and actor.quote.strip():
                same.quote = actor.quote
    draft.actors = list(unique.values())
    sentences, vocabulary = evidence.sentences, evidence.vocabulary()

    def unsourced(text: str) -> bool:
        """Names or numbers (after a sentence's first word) that no source has."""
        return any(
            (w[:1].isupper() or w[:1].isdigit()) and w.lower() not in vocabulary
            for w in _WORD.findall(text)[1:]
        )

    for actor in draft.actors:
        found = by_key.get(speakers.key(actor.name), [])
        if sentences and unsourced(actor.role):
            actor.role = ""
        if speakers.weak(actor.position, actor.name, actor.role) or (
            sentences and unsourced(actor.position)
        ):
            actor.position = ""
            better = found[0] if found else speakers.sentence_about(actor.name, sentences)
            if better is not None and not unsourced(better.position):
                actor.position = better.position
                actor.cite_also(better.cite)
        if found and not actor.role.strip():
            actor.role = next((m.role for m in found if m.role), "")
    present = set(unique)
    for name_key, found in sorted(by_key.items(), key=lambda item: -len(item[1])):
        if name_key not in present and not any(
            speakers.same_actor(found[0].name, actor.name) for actor in draft.actors
        ):
            first = found[0]
            role = next((m.role for m in found if m.role), "")
            draft.actors.append(
                Actor(name=first.name, role=role, position=first.position, cites=[first.cite])
            )
            present.add(name_key)
    # Those the sources show speaking or acting first: a name the model gave that no
    # source shows doing anything ("Merrin Dam") is the first to go past the bound.
    draft.actors.sort(key=lambda actor: speakers.key(actor.name) not in by_key)
    # A role listed as a name ("Estonian Prime Minister") is the actor who holds it.
    holders = {" ".join(a.role.lower().split()): a for a in draft.actors if a.role.strip()}
    for actor in list(draft.actors):
        holder = holders.get(" ".join(actor.name.lower().split()))
        if holder is not None and holder is not actor:
            holder.cite_also(*actor.cites)
            draft.actors.remove(actor)
    del draft.actors[_ACTORS:]


def settle(
    draft: StoryDraft, outlets: dict[int, str], evidence: Evidence | None = None
) -> StoryDraft:
    """The draft with a divergence that names the outlets it compares.

    ``outlets`` maps the story's source numbers to outlet names; ``evidence`` holds
    their article texts. A story of one outlet has no divergence. A framing whose wording
    grounding removed gets the article's own phrase (:mod:`briefing.wording`); framings
    that say the same of two outlets become each outlet's own phrases. A model's
    divergence that names fewer than two of the outlets (by name or as
    "source N"), or echoes its instructions, is replaced by one built from the
    framings that survived grounding."""
    draft = draft.model_copy(deep=True)
    if len(set(outlets)) > 1:  # one framing per outlet: its own words where the model gave none
        have = {f.source for f in draft.framings}
        draft.framings += [Framing(source=n, framing="") for n in sorted(outlets) if n not in have]
        draft.framings.sort(key=lambda f: f.source)
    # Framings that say the same of two outlets, or only that an article reports
    # ("The article discusses the impact..."), tell nothing of the outlet.
    same = _alike(draft.framings, outlets) + [
        f for f in draft.framings if _META.match(f.framing) or not f.framing.strip()
    ]
    if same or any(not f.wording.strip() for f in draft.framings):  # else not needed
        own = (evidence or Evidence()).own_phrases(OWN_PHRASES)
        for framing in draft.framings:
            if not framing.wording.strip() and framing.source in own:
                framing.wording, framing.unverified = own[framing.source][0], None
        for framing in same:
            phrases = [p for p in own.get(framing.source, []) if p != framing.wording]
            if not phrases and framing.wording.strip() and _META.match(framing.framing):
                phrases = [framing.wording.strip()]  # the one phrase found: better than nothing
            if phrases:
                quoted = ", ".join(f"“{p}”" for p in phrases[:_OWN_PHRASES])
                framing.framing = f"In its own words: {quoted}"
        draft.framings = [f for f in draft.framings if f.framing.strip()]
    if len(set(outlets)) < 2:
        draft.divergence = ""
        return draft
    text = draft.divergence.strip()
    if (
        _names(text, outlets) >= 2
        and not _echoes(text, outlets)
        and not _same_of_each(text, outlets)
    ):
        draft.divergence = _outlets_named(text, outlets)
        return draft
    framings = [f for f in draft.framings if f.source in outlets and f.framing.strip()]
    if len({f.source for f in framings}) < 2:
        draft.divergence = ""
        return draft
    draft.divergence = _compare(framings, outlets)
    return draft


def _alike(framings: list[Framing], outlets: dict[int, str]) -> list[Framing]:
    """The framings that say the same of two outlets, and so tell nothing about either
    (a model writing all outlets in one answer sometimes gives them one line, with only
    the outlet's name changed): they become each outlet's own words, phrases no other
    outlet of the story uses."""
    names = set().union(*(long_words(name) for name in outlets.values()))
    words = [long_words(f.framing) - names for f in framings]
    return [
        framing
        for i, framing in enumerate(framings)
        if words[i]
        and any(
            other.source != framing.source
            and len(words[i] & words[j]) / len(words[i] | words[j]) >= _SAME_FRAMING
            for j, other in enumerate(framings)
        )
    ]


def _compare(framings: list[Framing], outlets: dict[int, str]) -> str:
    """ "Outlet A: its framing ("wording"); Outlet B: ..." within the field's length,
    leaving out wordings, then shortening framings, when it would not fit."""
    names = list(outlets.values())
    labels = {
        n: outlet if outlet.strip() and names.count(outlet) == 1 else f"{outlet} (source {n})"
        for n, outlet in outlets.items()
    }
    room = _DIVERGENCE_CHARS - 2 * len(framings)
    for with_wording in (True, False):
        parts = []
        for framing in framings:
            part = f"{labels[framing.source]}: {framing.framing.strip().rstrip('.')}"
            if with_wording and framing.wording.strip() and not framing.unverified:
                part += f' ("{framing.wording.strip()}")'
            parts.append(part)
        if sum(map(len, parts)) <= room:
            return "; ".join(parts) + "."
    share = room // len(parts)
    return (
        "; ".join(p if len(p) <= share else p[: share - 1].rsplit(" ", 1)[0] + "…" for p in parts)
        + "."
    )


def _outlets_named(text: str, outlets: dict[int, str]) -> str:
    """``text`` with "Source 2" (the prompt's numbering, which a reader does not see)
    written as the outlet's name, when the story has no other outlet of that name."""
    names = list(outlets.values())

    def name(match: re.Match[str]) -> str:
        outlet = outlets.get(int(match[1]), "").strip()
        return outlet if outlet and names.count(outlets[int(match[1])]) == 1 else match[0]

    return _SOURCE_N.sub(name, text)


def _names(text: str, outlets: dict[int, str]) -> int:
    """How many of the outlets ``text`` names, by outlet name or as "source N"."""
    lower = text.lower()
    return sum(
        1
        for number, outlet in outlets.items()
        if f"source {number}" in lower or (outlet.strip() and outlet.strip().lower() in lower)
    )


def _same_of_each(text: str, outlets: dict[int, str]) -> bool:
    """Whether ``text`` says the same of two outlets ("source 1 frames it as X, while
    source 2 frames it as X"): what follows each outlet's name, up to the next, shares
    :data:`_SAME_FRAMING` of its words with what follows another's."""
    names = [
        re.escape(name)
        for number, outlet in outlets.items()
        for name in (f"source {number}", outlet.strip())
        if name
    ]
    if not names:
        return False
    parts = re.split("|".join(sorted(names, key=len, reverse=True)), text, flags=re.I)[1:]
    words = [w for w in map(long_words, parts) if len(w) >= 3]
    return any(
        len(a & b) / len(a | b) >= _SAME_FRAMING
        for i, a in enumerate(words)
        for b in words[i + 1 :]
    )


def _echoes(text: str, outlets: dict[int, str]) -> bool:
    """Whether ``text``, its outlet names aside, mostly repeats its field description
    ("The outlets' framing differs, naming them: A, B.")."""
    description = StoryDraft.model_fields["divergence"].description or ""
    text = text.lower()
    for outlet in outlets.values():
        text = text.replace(outlet.lower(), " ")
    own = long_words(text)
    given = long_words(description)
    return bool(own) and len(own & given) / len(own) >= _ECHO


def _fill_framings(draft: StoryDraft, noted: Noted) -> None:
    """One framing per source: the model's, else the map notes' own framing line."""
    have = {f.source for f in draft.framings}
    for number, notes in noted.items():
        if number not in have and len(noted) > 1:
            line = next((n.framing for n in notes if n.framing.strip()), "")
            if line:
                draft.framings.append(Framing(source=number, framing=line))
    draft.framings.sort(key=lambda f: f.source)


def _carry_over(draft: StoryDraft, noted: Noted) -> None:
    """Quotes and the timeline come from the map notes, not from the story call
    (a story written directly from its articles brings its own).

    An actor of the story gets the first quote the notes give for someone of the
    same surname (grounding then checks it is a real quotation of a source); the
    timeline is the notes' dated events, without repeats, in date order."""
    people = [actor for all_notes in noted.values() for n in all_notes for actor in n.actors]
    if not draft.risks:  # the story call wrote none: the notes' risks, most severe first
        noted_risks = [r for all_notes in noted.values() for n in all_notes for r in n.risks]
        noted_risks.sort(key=lambda r: -severity(r))
        draft.risks = [Risk(**r.model_dump()) for r in noted_risks[:2]]
    for actor in draft.actors:
        key = speakers.key(actor.name)
        match = next(
            (n for n in people if n.quote.strip() and key and speakers.key(n.name) == key), None
        )
        if match is not None:
            actor.quote = match.quote
            actor.cite_also(*match.cites)
    events: dict[tuple[str, str], Event] = {}
    dated: list[Event | EventNote] = [*draft.timeline]
    dated += [event for notes in noted.values() for n in notes for event in n.events]
    for event in dated:
        date = event.date.strip()
        if any(ch.isdigit() for ch in date):
            same = (date, event.event.strip().lower())
            events.setdefault(same, Event(date=date, event=event.event, cites=event.cites))
    draft.timeline = sorted(events.values(), key=lambda e: e.date)[:_TIMELINE]


def _keep_shared_actors(draft: StoryDraft, noted: Noted) -> None:
    """Map-reduce without loss of people: an actor that the notes of two or more
    sources name (or, in a one-source story, any noted actor) and that the story
    call left out is added back, with the role, position and citations of its notes."""
    present = {speakers.key(actor.name) for actor in draft.actors}
    seen: dict[str, tuple[ActorNote, set[int]]] = {}
    for number, all_notes in noted.items():
        for notes in all_notes:
            for note in notes.actors:
                key = speakers.key(note.name)
                if key:
                    seen.setdefault(key, (note, set()))[1].add(number)
    needed = 2 if len(noted) > 1 else 1
    ranked = sorted(seen.items(), key=lambda item: -len(item[1][1]))
    for key, (note, sources) in ranked:
        if len(draft.actors) >= _ACTORS:
            break
        # Two sources name them, or the story is short of actors.
        enough = len(sources) >= needed or len(draft.actors) < _MIN_ACTORS
        if key not in present and enough:
            draft.actors.append(
                Actor(name=note.name, role=note.role, position=note.position, cites=note.cites)
            )
            present.add(key)
