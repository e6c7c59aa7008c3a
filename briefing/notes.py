"""Sentence ids and notes between the steps.

The model cites sentences by the number it is shown; brief turns it into ``N.K``
(source N, sentence K), the id the rest of the run uses. A map call shows one
passage numbered as its article is (:func:`globalise`); a direct story call shows
all articles of the story numbered 1, 2, 3, ... across them (:func:`story_ids`,
:func:`resolve`): a bare number is what a model cites best, and at 2 to 3 tokens it
costs about half of an ``[N.K]`` mark on every sentence. Map notes are shown to the
reduce prompts as compact text (:func:`render`) and packed into batches for merge
calls (:func:`pack`). A map fact that cannot be traced to its article is dropped
and counted (:func:`traceable_facts`, :func:`count_untraced`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from briefing.grounding import Checker
from briefing.models import ChunkNotes, Drop, Fact, Grounding, StoryFromSources
from briefing.sourcetext import SourceText

F = TypeVar("F", bound=Fact)


def render(notes: ChunkNotes, header: str) -> str:
    """Notes as compact text for the reduce prompts. Quotes and dated events are left
    out: brief carries them over from the map notes itself (:func:`drafts.complete`), so
    the model neither pays for copying them nor gets a chance to alter them."""

    def cites(ids: list[str]) -> str:
        return f" [{', '.join(ids)}]" if ids else ""

    lines = [f"## {header}"]
    if notes.facts:
        lines.append("facts:")
        lines += [f"- {f.text}{cites(f.cites)}" for f in notes.facts]
    if notes.actors:
        lines.append("actors:")
        lines += [f"- {a.name} ({a.role}): {a.position}{cites(a.cites)}" for a in notes.actors]
    if notes.risks:
        lines.append("risks:")
        lines += [
            f"- {r.risk}; exposed: {r.exposed}; likelihood {r.likelihood}, impact {r.impact}"
            f"{cites(r.cites)}"
            for r in notes.risks
        ]
    return "\n".join(lines)


def globalise(notes: ChunkNotes, number: int, valid: set[int]) -> ChunkNotes:
    """Turn the map step's bare sentence numbers into ``N.K`` ids; drop unknown ones."""

    def fix(ids: list[str]) -> list[str]:
        out = []
        for cite in ids:
            tail = cite.strip().strip("[]").rsplit(".", 1)[-1]
            if tail.isdigit() and int(tail) in valid:
                out.append(f"{number}.{int(tail)}")
        return list(dict.fromkeys(out))

    for item in [*notes.facts, *notes.actors, *notes.risks, *notes.events]:
        item.cites = fix(item.cites)
    return notes


def pack(blocks: list[str], sizes: list[int], budget: int) -> list[list[str]]:
    """Consecutive blocks packed greedily into batches of at most ``budget`` tokens."""
    batches: list[list[str]] = []
    current: list[str] = []
    used = 0
    for block, size in zip(blocks, sizes, strict=True):
        if current and used + size > budget:
            batches.append(current)
            current, used = [], 0
        current.append(block)
        used += size + 2
    if current:
        batches.append(current)
    return batches


def story_ids(sentences: Iterable[tuple[int, Iterable[int]]]) -> list[str]:
    """The ``N.K`` id of every sentence of a story's sources, given as (source number,
    its sentence ids) in source order: sentence ``i + 1`` of the direct call is item
    ``i``."""
    return [f"{n}.{k}" for n, numbered in sentences for k in numbered]


def resolve(
    answer: StoryFromSources, ids: list[str], numbers: list[int] | None = None
) -> StoryFromSources:
    """The direct call's bare sentence numbers turned into ``N.K`` ids; numbers it was
    not shown are dropped. An ``N.K`` id the model wrote itself is kept if it exists.
    When no framing names a source of the story (``numbers``, in order) but each names
    one of 1 to their count, a small model counted the outlets from 1 ("Source 5" is
    its 1): each framing gets the source it counted."""
    known = set(ids)
    given = [f.source for f in answer.framings]
    counted = all(1 <= n <= len(numbers or ()) for n in given)
    if numbers and given and counted and not set(given) & set(numbers):
        for framing in answer.framings:
            framing.source = numbers[framing.source - 1]

    def fix(cites: list[str]) -> list[str]:
        out = []
        for cite in cites:
            cite = cite.strip().strip("[]").strip()
            if cite.isdigit() and 1 <= int(cite) <= len(ids):
                out.append(ids[int(cite) - 1])
            elif cite in known:
                out.append(cite)
        return list(dict.fromkeys(out))

    for item in [*answer.actors, *answer.risks, *answer.agreement, *answer.framings]:
        item.cites = fix(item.cites)
    for event in answer.timeline:
        event.cites = fix(event.cites)
    return answer


def traceable_facts(facts: list[F], source: SourceText) -> list[F]:
    """The facts of one article's map notes that can be traced to it: those with a
    valid citation, and those without one that a sentence of the article supports
    (that sentence becomes the citation). The others, the model's own invention or
    what an article told it to write, are dropped here: the story's headline,
    top line and summary are written from the notes and are not checked item by item.
    """
    checker = Checker(source.number, [source])
    kept = []
    for fact in facts:
        if not fact.cites and (best := checker._best_sentence(fact.text)) is not None:
            fact.cites = [best]
        if fact.cites:
            kept.append(fact)
    return kept


def count_untraced(report: Grounding, facts: Iterable[str]) -> None:
    """Count in ``report`` the map facts :func:`traceable_facts` dropped."""
    for fact in facts:
        report.checked += 1
        report.dropped += 1
        report.failures.append(
            Drop(
                story=0,
                kind="fact",
                item=fact,
                reason="no valid citation and no sentence of its article supports the fact",
            )
        )
