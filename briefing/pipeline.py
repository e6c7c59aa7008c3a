"""From articles to a briefing: map, group, reduce, ground.

1. **Group** the articles into stories and fold near-duplicates
   (:mod:`briefing.clustering`); number the sources in story order.
2. **Map**: every chunk of every article becomes :class:`ChunkNotes`, citing its
   sentences; brief turns the model's bare ``"K"`` into ``"N.K"``.
3. **Reduce**: the notes of a story become a :class:`StoryDraft`. When they do not
   fit the context window (measured with tiktoken), they are merged in stages:
   packed into batches that fit, each batch merged into one set of notes, until
   the story call fits. Nothing is cut.
4. **Ground**: every item is checked against the sources (:mod:`briefing.grounding`).

Calls run concurrently (``concurrency``) and every call goes through
:class:`briefing.llm.LLM`, so usage is counted and answers are cached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, TypeVar

import tiktoken

from briefing import chunking, clustering, drafts, workers
from briefing.config import Config
from briefing.errors import CallError, ConfigError, LLMError
from briefing.grounding import Checker, SourceText, count_untraced, traceable_facts
from briefing.llm import LLM
from briefing.models import (
    Article,
    Briefing,
    Chunk,
    ChunkNotes,
    Grounding,
    Problem,
    Source,
    Story,
    StoryDraft,
    TopLine,
)
from briefing.prompts import Prompts, field_guide


class Progress(Protocol):
    """Told how many model calls the run expects and how many are done."""

    def grow(self, calls: int) -> None: ...

    def advance(self, calls: int = 1) -> None: ...


# Room left in the context window for the chat template's own tokens.
_MARGIN = 64
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass
class Doc:
    """An article in the run: its source number, sentences and chunks."""

    number: int
    article: Article
    copies: list[Article]
    chunks: list[Chunk]
    sentences: dict[int, str]
    notes: list[ChunkNotes] = field(default_factory=list)
    failed: str | None = None
    untraced: list[str] = field(default_factory=list)  # map facts no sentence supports


@dataclass
class Pipeline:
    """One briefing run; everything it uses is passed in."""

    llm: LLM
    prompts: Prompts
    encoding: tiktoken.Encoding
    config: Config
    progress: Progress | None = None

    # -- the run ---------------------------------------------------------------------------

    def run(
        self,
        articles: Sequence[Article],
        problems: Iterable[Problem] = (),
        *,
        now: dt.datetime,
    ) -> Briefing:
        stories = prepare(articles, self.encoding, self.config)
        docs = [doc for story in stories for doc in story]
        problems = list(problems)
        if self.progress is not None:
            self.progress.grow(sum(len(doc.chunks) for doc in docs) + len(stories))
        # Map calls, then each story's call as soon as its notes are in (briefing/workers.py).
        written = workers.staged(
            max(1, self.config.concurrency or 1),
            [[(doc, chunk) for doc in story for chunk in doc.chunks] for story in stories],
            self._map_one,
            lambda i, notes: self._written(_noted(stories[i], notes)),
        )
        grounding = Grounding()
        # Articles the map step or their story's call could not use, each once.
        problems += [Problem(path=d.article.path, reason=d.failed) for d in docs if d.failed]
        results = [story for story in written if story is not None]
        if not results:
            # The articles were readable: every one failed at the model.
            raise LLMError(
                "no article could be briefed: "
                + "; ".join(f"{p.path}: {p.reason}" for p in problems[:5])
            )
        results.sort(key=lambda story: _importance(story[0], story[1]), reverse=True)
        final: list[Story] = []
        for position, (live, _, checked, report) in enumerate(results, start=1):
            for drop in report.failures:
                drop.story = position
            _add(grounding, report)
            final.append(
                Story(**checked.model_dump(), number=position, sources=[d.number for d in live])
            )
        return Briefing(
            title=f"Briefing, {now:%d %B %Y}".replace(" 0", " "),
            date=now.date(),
            generated_at=now,
            language=self.config.language,
            model=self.llm.model,
            top_lines=[
                TopLine(text=story.top_line, story=story.number, sources=story.sources)
                for story in final
            ],
            stories=final,
            sources=[_source(doc) for doc in sorted(docs, key=lambda d: d.number)],
            usage=self.llm.usage,
            grounding=grounding,
            problems=problems,
        )

    # -- map ----------------------------------------------------------------------------------

    def _map_one(self, job: tuple[Doc, Chunk]) -> ChunkNotes | None:
        doc, chunk = job
        if doc.failed:
            return None
        messages = map_messages(self.prompts, doc, chunk, field_guide(ChunkNotes))
        subject = f"{doc.article.path} (passage {chunk.index + 1} of {len(doc.chunks)})"
        try:
            notes = self.llm.ask("map", messages, ChunkNotes, subject=subject)
        except CallError as err:
            doc.failed = str(err)
            return None
        finally:
            self._tick(1)
        notes = _globalise(notes, doc.number, {s.number for s in chunk.sentences})
        source = SourceText(doc.number, doc.article.text, doc.sentences, doc.article.published)
        kept = traceable_facts(notes.facts, source)
        doc.untraced += [fact.text for fact in notes.facts if fact not in kept]
        notes.facts = kept
        return notes

    # -- reduce -------------------------------------------------------------------------------

    def _written(
        self, docs: list[Doc]
    ) -> tuple[list[Doc], StoryDraft, StoryDraft, Grounding] | None:
        """A story's call, then its draft completed and checked against its sources, in
        the worker that made the call (while other calls are in flight). Returns the
        articles still in it, the draft as written and as checked, and what the check
        found (numbered story 0 until the briefing's order is known)."""
        draft = self._story(docs)
        live = [d for d in docs if not d.failed]
        if draft is None or not live:
            return None
        checker = Checker(
            0,
            [SourceText(d.number, d.article.text, d.sentences, d.article.published) for d in live],
            keep_unverified=self.config.keep_unverified,
        )
        noted = {d.number: d.notes for d in live}
        outlets = {d.number: d.article.source for d in live}
        checked = drafts.settle(
            checker.check(drafts.complete(draft, noted, {d.number: d.sentences for d in live})),
            outlets,
            {d.number: d.article.text for d in live},
        )
        count_untraced(checker.report, [fact for d in live for fact in d.untraced])
        return live, draft, checked, checker.report

    def _story(self, docs: list[Doc]) -> StoryDraft | None:
        if not docs:
            self._tick(1)
            return None
        sources = [
            {
                "number": d.number,
                "outlet": d.article.source,
                "title": d.article.title,
                "published": d.article.published,
                "framing": " ".join(n.framing for n in d.notes[:1]).strip(),
            }
            for d in docs
        ]
        guide = field_guide(StoryDraft)
        blocks = [
            render_notes(notes, f"Source {d.number}, passage {i + 1}")
            for d in docs
            for i, notes in enumerate(d.notes)
        ]
        overhead = count_messages(
            self.encoding, self.prompts.render("story", sources=sources, notes="", guide=guide)
        )
        budget = self.config.context_window - self.config.max_output_tokens - _MARGIN - overhead
        subject = "story of " + ", ".join(d.article.path for d in docs)
        try:
            blocks = self._merge_until(blocks, budget, subject=docs[0].article.path)
            messages = self.prompts.render(
                "story", sources=sources, notes="\n\n".join(blocks), guide=guide
            )
            draft = self.llm.ask("story", messages, StoryDraft, subject=subject)
        except CallError as err:
            # One story the model cannot write (or whose notes cannot be merged)
            # does not cost the others: its articles are reported as left out.
            for doc in docs:
                doc.failed = str(err)
            return None
        finally:
            self._tick(1)
        if len(docs) == 1:
            draft.divergence = ""
        return draft

    def _merge_until(self, blocks: list[str], budget: int, *, subject: str) -> list[str]:
        """Merge note blocks in stages until they fit ``budget`` tokens together."""
        guide = field_guide(ChunkNotes)
        overhead = count_messages(
            self.encoding, self.prompts.render("merge", notes="", guide=guide)
        )
        merge_budget = self.config.context_window - self.config.max_output_tokens - _MARGIN
        merge_budget -= overhead
        if budget < 2 * self.config.max_output_tokens:
            raise ConfigError(
                f"context_window {self.config.context_window} is too small to reduce notes "
                f"of up to {self.config.max_output_tokens} tokens; raise --context-window."
            )
        rounds = 0
        while (
            sum(chunking.count_tokens(b, self.encoding) for b in blocks) + 2 * len(blocks) > budget
        ):
            rounds += 1
            batches = _pack(
                blocks, [chunking.count_tokens(b, self.encoding) for b in blocks], merge_budget
            )
            if self.progress is not None:
                self.progress.grow(sum(1 for batch in batches if len(batch) > 1))

            merged = self._parallel(
                batches,
                partial(self._merge_batch, guide=guide, label=f"{subject} (merge round {rounds})"),
            )
            if len(merged) >= len(blocks):
                raise ConfigError(
                    f"{subject}: the notes cannot be reduced to fit the context window "
                    f"({self.config.context_window} tokens); raise --context-window."
                )
            blocks = merged
        return blocks

    def _merge_batch(self, batch: list[str], *, guide: str, label: str) -> str:
        if len(batch) == 1:
            return batch[0]
        messages = self.prompts.render("merge", notes="\n\n".join(batch), guide=guide)
        notes = self.llm.ask("merge", messages, ChunkNotes, subject=label)
        self._tick(1)
        return render_notes(notes, f"Merged notes ({label})")

    # -- helpers ---------------------------------------------------------------------------

    def _parallel(self, items: Sequence[_T], fn: Callable[[_T], _R]) -> list[_R]:
        workers = max(1, self.config.concurrency or 1)
        if workers == 1 or len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items))

    def _tick(self, n: int) -> None:
        if self.progress is not None:
            self.progress.advance(n)


def prepare(
    articles: Sequence[Article], encoding: tiktoken.Encoding, config: Config
) -> list[list[Doc]]:
    """Stories as lists of numbered, chunked documents."""
    if config.chunk_tokens + config.max_output_tokens + 600 > (config.context_window):
        raise ConfigError(
            f"chunk_tokens ({config.chunk_tokens}) + max_output_tokens "
            f"({config.max_output_tokens}) do not leave room for the prompt in a "
            f"context window of {config.context_window}. Lower --chunk-tokens."
        )
    stories: list[list[Doc]] = []
    number = 0
    for group in clustering.group(articles):
        docs = []
        for article in group.articles:
            number += 1
            sentences = chunking.split_sentences(article.text)
            chunks = chunking.chunk_sentences(
                article.id,
                sentences,
                encoding,
                max_tokens=config.chunk_tokens,
                overlap=config.chunk_overlap,
            )
            copies = group.copies.get(article.id, [])
            text = {s.number: s.text for s in sentences}
            docs.append(Doc(number, article, copies, chunks, text))
        stories.append(docs)
    return stories


def map_messages(prompts: Prompts, doc: Doc, chunk: Chunk, guide: str) -> list[dict[str, str]]:
    """The map step's messages for one chunk of one article."""
    return prompts.render(
        "map",
        outlet=doc.article.source,
        title=doc.article.title,
        published=doc.article.published,
        part=chunk.index + 1,
        parts=len(doc.chunks),
        passage=chunking.number_lines(chunk.sentences),
        guide=guide,
    )


def count_messages(encoding: tiktoken.Encoding, messages: list[dict[str, str]]) -> int:
    """Tokens of chat messages, with ~4 tokens of chat framing each."""
    return sum(chunking.count_tokens(m["content"], encoding) + 4 for m in messages)


def render_notes(notes: ChunkNotes, header: str) -> str:
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


def _noted(docs: list[Doc], notes: list[ChunkNotes | None]) -> list[Doc]:
    """Give each article its map notes (in chunk order); the articles still in the run."""
    answers = iter(notes)
    for doc in docs:
        doc.notes += [n for n in (next(answers) for _ in doc.chunks) if n is not None]
    return [doc for doc in docs if not doc.failed]


def _globalise(notes: ChunkNotes, number: int, valid: set[int]) -> ChunkNotes:
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


def _pack(blocks: list[str], sizes: list[int], budget: int) -> list[list[str]]:
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


def _importance(docs: list[Doc], draft: StoryDraft) -> tuple[int, int]:
    width = sum(1 + len(d.copies) for d in docs)
    severity = max((drafts.severity(r) for r in draft.risks), default=0)
    return width, severity


def _add(total: Grounding, part: Grounding) -> None:
    total.checked += part.checked
    total.verified += part.verified
    total.dropped += part.dropped
    total.kept_unverified += part.kept_unverified
    total.failures += part.failures


def _source(doc: Doc) -> Source:
    article = doc.article
    return Source(
        number=doc.number,
        article_id=article.id,
        title=article.title,
        outlet=article.source,
        path=article.path,
        url=article.url,
        published=article.published,
        duplicates=[f"{c.source} ({c.path})" for c in doc.copies],
    )
