"""From articles to a briefing: group, write each story, ground.

1. **Group** the articles into stories and fold near-duplicates
   and number the sources in story order (:mod:`briefing.stories`).
2. **Direct**: a story whose articles fit the context window with room for the
   answer (measured with tiktoken) is written in one call on the articles
   themselves (:class:`StoryFromSources`): one call instead of a call per chunk
   plus one, and the model reads the sources, not notes on them. Its sentences are
   numbered across the story; brief turns the numbers into ``N.K`` ids.
3. Otherwise, **map**: every chunk of every article becomes :class:`ChunkNotes`,
   citing its sentences; brief turns the model's bare ``"K"`` into ``"N.K"``.
   Then **reduce**: the notes of a story become a :class:`StoryDraft`. When they do
   not fit the context window they are merged in stages: packed into batches that
   fit, each batch merged into one set of notes, until the story call fits. Nothing
   is cut. A direct answer that breaks the schema even after its re-ask also takes
   this way, so one bad article costs only itself.
4. **Ground**: every item is checked against the sources (:mod:`briefing.grounding`).
   What a check reads of the sources is found while the calls are out, on a thread
   of its own (:mod:`briefing.evidence`), so an answer's check only compares.

Calls run concurrently (``concurrency``) and every call goes through
:class:`briefing.llm.LLM`, so usage is counted and answers are cached.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, TypeVar

import tiktoken

from briefing import chunking, drafts, ingest, workers
from briefing.config import Config
from briefing.errors import BriefError, CallError, ConfigError, LLMError, OutputError, unexpected
from briefing.evidence import Evidence, Reader
from briefing.grounding import Checker
from briefing.llm import LLM
from briefing.models import (
    Article,
    Briefing,
    Chunk,
    ChunkNotes,
    Grounding,
    Problem,
    Story,
    StoryDraft,
    StoryFromSources,
    TopLine,
)
from briefing.notes import count_untraced, globalise, pack, resolve, story_ids, traceable_facts
from briefing.notes import render as render_notes
from briefing.prompts import Prompts, field_guide
from briefing.sourcetext import SourceText
from briefing.stories import (
    Doc,
    count_messages,
    evidence_of,
    map_messages,
    noted,
    one_call_messages,
    prepare,
    room,
    source_of,
)


class Progress(Protocol):
    """Told how many model calls the run expects and how many are done."""

    def grow(self, calls: int) -> None: ...

    def advance(self, calls: int = 1) -> None: ...


# Stories whose evidence is read ahead of the stories taken for their call (its small
# parts, a few KB a story), at least: the bench folder's 40 stories fit.
READ_AHEAD = 64
# Threads beyond the concurrency: each has its next request built and waiting for a
# slot, and sends it as soon as an answer frees one, while the thread that got that
# answer parses it (measured with bench/bench_pipeline.py's stub: see
# docs/PERFORMANCE.md, issue 7's sixth round).
SPARE_THREADS = 2
log = logging.getLogger(__name__)
_T = TypeVar("_T")
# A story as written and as checked: its articles, the draft, the checked draft, the report.
_Written = tuple[list["Doc"], StoryDraft, StoryDraft, Grounding]
_R = TypeVar("_R")


@dataclass
class Pipeline:
    """One briefing run; everything it uses is passed in."""

    llm: LLM
    prompts: Prompts
    encoding: tiktoken.Encoding
    config: Config
    progress: Progress | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # -- the run ---------------------------------------------------------------------------

    def run(
        self,
        articles: Sequence[Article],
        problems: Iterable[Problem] = (),
        *,
        now: dt.datetime,
    ) -> Briefing:
        stories: list[list[Doc]] = []
        direct: list[list[dict[str, str]] | None] = []  # a one-call story's messages
        # What each story's check reads of its sources, found before its answer comes.
        reader = Reader(drafts.OWN_PHRASES, ahead=max(READ_AHEAD, 2 * self.concurrency))

        def produced() -> Iterator[list[tuple[Doc, Chunk]]]:
            """Each story's map jobs (none when it is written in one call), as it is
            chunked: its calls start while later stories are still being chunked, and
            its messages are ready before a thread takes it."""
            for story in prepare(articles, self.encoding, self.config):
                messages = one_call_messages(self.prompts, story, self.encoding, self.config)
                stories.append(story)
                direct.append(messages)
                reader.add(evidence_of(story))
                jobs = [] if messages else [(d, c) for d in story for c in d.chunks]
                self._grow(len(jobs) + 1)
                yield jobs
            reader.start()  # after the first calls have gone, so as not to delay them

        def then(i: int, notes: list[ChunkNotes | None]) -> Future[_Written | None] | None:
            found = reader.take(i)
            checks.submit(found.find_large)  # while the call is out, before its check
            return self._drafted(checks, noted(stories[i], notes), direct[i], found)

        problems = list(problems)
        # Map calls, then each story's call as soon as its notes are in (briefing/workers.py).
        # Each draft is checked on a thread of its own, so the thread that made the
        # call goes on to the next one instead of grounding the answer first.
        with (
            reader,
            workers.responsive(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="brief-check") as checks,
        ):
            pending = workers.staged(self._threads, produced(), self._map_one, then)
            written = [None if job is None else job.result() for job in pending]
        docs = [doc for story in stories for doc in story]
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
                Story(
                    **checked.model_dump(),
                    number=position,
                    sources=[d.number for d in live],
                    grouped_by=live[0].shared if live else [],
                )
            )
        return Briefing(
            title=f"Briefing, {now:%d %B %Y}".replace(" 0", " "),
            date=now.date(),
            generated_at=now,
            language=self.config.language or ingest.language_of(articles),
            model=self.llm.model,
            top_lines=[
                TopLine(text=story.top_line, story=story.number, sources=story.sources)
                for story in final
            ],
            stories=final,
            sources=[source_of(doc) for doc in sorted(docs, key=lambda d: d.number)],
            usage=self.llm.usage,
            grounding=grounding,
            problems=problems,
        )

    @property
    def concurrency(self) -> int:
        return max(1, self.config.concurrency or 1)

    @property
    def _threads(self) -> int:
        """Threads making the calls: the concurrency, and SPARE_THREADS more whose next
        requests are built and wait for a slot (:mod:`briefing.slots`)."""
        return self.concurrency + SPARE_THREADS if self.concurrency > 1 else 1

    # -- map ----------------------------------------------------------------------------------

    def _map_one(self, job: tuple[Doc, Chunk]) -> ChunkNotes | None:
        doc, chunk = job
        if doc.failed:
            return None
        subject = f"{doc.article.path} (passage {chunk.index + 1} of {len(doc.chunks)})"
        try:
            return self._noted_chunk(doc, chunk, subject)
        except CallError as err:
            doc.failed = str(err)
        except BriefError:
            raise  # the server cannot be used: the run stops
        except Exception as err:  # a fault no one foresaw costs only this article
            doc.failed = _unforeseen(err, subject)
        return None

    def _noted_chunk(self, doc: Doc, chunk: Chunk, subject: str) -> ChunkNotes:
        messages = map_messages(self.prompts, doc, chunk, field_guide(ChunkNotes))
        try:
            notes = self.llm.ask("map", messages, ChunkNotes, subject=subject)
        finally:
            self._tick(1)
        notes = globalise(notes, doc.number, {s.number for s in chunk.sentences})
        kept = traceable_facts(notes.facts, self._traced(doc))
        doc.untraced += [fact.text for fact in notes.facts if fact not in kept]
        notes.facts = kept
        return notes

    def _traced(self, doc: Doc) -> SourceText:
        """The article that ``doc``'s map notes are traced to, its sentences' content
        words found: once for all its chunks, not once per chunk (which made a long
        article's CPU grow with the square of its length, issue 21). ``_noted`` lets
        go of it."""
        with self._lock:
            if doc.source is None:
                source = SourceText(
                    doc.number, doc.article.text, doc.sentences, doc.article.published
                )
                source.content_words  # noqa: B018 (found now, once: a cached property)
                doc.source = source
            return doc.source

    # -- reduce -------------------------------------------------------------------------------

    def _drafted(
        self,
        checks: Executor,
        docs: list[Doc],
        direct: list[dict[str, str]] | None,
        evidence: Evidence,
    ) -> Future[_Written | None] | None:
        """A story's call; its check is handed to ``checks``."""
        try:
            draft = self._story(docs, direct)
        except BriefError:
            raise
        except Exception as err:  # a fault no one foresaw costs only this story
            _fail(docs, _unforeseen(err, _story_subject(docs)))
            return None
        live = [d for d in docs if not d.failed]
        if draft is None or not live:
            return None
        if {d.number for d in live} != evidence.numbers:  # an article failed at the model
            evidence = evidence_of(live)
        return checks.submit(self._written, live, draft, evidence)

    def _written(self, live: list[Doc], draft: StoryDraft, evidence: Evidence) -> _Written | None:
        """A story's draft completed and checked against its sources (``evidence``): the
        articles in it, the draft as written and as checked, and what the check found
        (numbered story 0 until the briefing's order is known). None, with its articles
        left out, if the check meets a fault no one foresaw."""
        try:
            return self._checked(live, draft, evidence)
        except Exception as err:
            _fail(live, _unforeseen(err, "the check of the " + _story_subject(live)))
            return None

    def _checked(self, live: list[Doc], draft: StoryDraft, evidence: Evidence) -> _Written:
        checker = Checker(0, evidence.sources(), keep_unverified=self.config.keep_unverified)
        noted = {d.number: d.notes for d in live}
        outlets = {d.number: d.article.source for d in live}
        checked = drafts.settle(
            checker.check(drafts.complete(draft, noted, evidence)), outlets, evidence
        )
        count_untraced(checker.report, [fact for d in live for fact in d.untraced])
        return live, draft, checked, checker.report

    def _story(self, docs: list[Doc], direct: list[dict[str, str]] | None) -> StoryDraft | None:
        """The story call: on the articles themselves (``direct``, their messages) when
        they fit the window, else (or when the model cannot answer that) on their notes."""
        subject = _story_subject(docs)
        if direct is not None and docs:
            try:
                answer = self.llm.ask("direct", direct, StoryFromSources, subject=subject)
                ids = story_ids((d.number, d.sentences) for d in docs)
                numbers = [d.number for d in docs]
                return _one_source(resolve(answer, ids, numbers).draft(), docs)
            except OutputError:
                # The model could not write it all at once: notes first, as for a
                # story too long for one call, so a bad article costs only itself.
                self._grow(1)
                docs = self._notes(docs)
            except CallError as err:
                _fail(docs, err)
                return None
            finally:
                self._tick(1)
        if not docs:  # no article left (every one failed at the model)
            self._tick(1)
            return None
        try:
            draft = self.llm.ask("story", self._from_notes(docs), StoryDraft, subject=subject)
        except CallError as err:
            _fail(docs, err)
            return None
        finally:
            self._tick(1)
        return _one_source(draft, docs)

    def _notes(self, docs: list[Doc]) -> list[Doc]:
        """Map calls for the chunks of ``docs`` (a story the direct call failed on);
        the articles still in the run, with their notes."""
        jobs = [(doc, chunk) for doc in docs for chunk in doc.chunks]
        self._grow(len(jobs))
        return noted(docs, self._parallel(jobs, self._map_one))

    def _from_notes(self, docs: list[Doc]) -> list[dict[str, str]]:
        """The story step's messages on the articles' notes, merged until they fit."""
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
        budget = room(self.config) - overhead
        blocks = self._merge_until(blocks, budget, subject=docs[0].article.path)
        return self.prompts.render("story", sources=sources, notes="\n\n".join(blocks), guide=guide)

    def _merge_until(self, blocks: list[str], budget: int, *, subject: str) -> list[str]:
        """Merge note blocks in stages until they fit ``budget`` tokens together."""
        guide = field_guide(ChunkNotes)
        overhead = count_messages(
            self.encoding, self.prompts.render("merge", notes="", guide=guide)
        )
        merge_budget = room(self.config)
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
            batches = pack(
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
        if self.concurrency == 1 or len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(fn, items))

    def _grow(self, n: int) -> None:
        if self.progress is not None:
            self.progress.grow(n)

    def _tick(self, n: int) -> None:
        if self.progress is not None:
            self.progress.advance(n)


def _fail(docs: list[Doc], err: CallError | str) -> None:
    """One story the model cannot write (or whose notes cannot be merged) does not
    cost the others: its articles are reported as left out."""
    for doc in docs:
        doc.failed = str(err)


def _story_subject(docs: Sequence[Doc]) -> str:
    return "story of " + ", ".join(d.article.path for d in docs)


def _unforeseen(err: Exception, subject: str) -> str:
    """The reason an article is left out after ``err``, which no part of brief
    expected; its trace goes to the run log."""
    log.exception("%s", subject)
    return f"{subject}: {unexpected(err)}"


def _one_source(draft: StoryDraft, docs: list[Doc]) -> StoryDraft:
    """A story of one article compares no outlets."""
    if len(docs) == 1:
        draft.divergence = ""
    return draft


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
