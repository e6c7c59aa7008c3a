"""The run's stories and what each of their calls is sent.

:func:`prepare` groups the articles into stories (:mod:`briefing.clustering`),
numbers them as sources in story order, and splits and chunks each
(:mod:`briefing.chunking`). The messages of each step's call are built here, with
their size in tokens: a story is written in one call when its articles fit the
context window with room for the answer (:func:`one_call_tokens`, :func:`room`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import tiktoken

from briefing import chunking, clustering, wording
from briefing.config import Config
from briefing.errors import ConfigError
from briefing.evidence import Evidence
from briefing.models import Article, Chunk, ChunkNotes, Source, StoryFromSources
from briefing.prompts import Prompts, field_guide
from briefing.salience import Ranking
from briefing.sourcetext import SourceText

# Room left in the context window for the chat template's own tokens.
_MARGIN = 64
# Tokens of an article's frame in the direct prompt besides its outlet, title and date
# ("<article>", "Source 12:", "Title:", "Published:", line breaks).
_SOURCE_HEAD = 24
_OWN = 4  # phrases of each outlet's own the direct prompt shows
_WARNINGS, _WARNING_WORDS = 6, 8  # sentences that warn, of 8 words or more, it points to
_WARNING_LINE = 12 + 3 * _WARNINGS  # tokens of the line that points to them, at most
# Tokens of the line that shows them, at most: its words and each phrase (2 or 3 words,
# quoted, a comma) with room to spare.
_OWN_LINE = 8 + 8 * _OWN
# An estimate below this share of the limit is taken without an exact count (the
# estimate errs high; sentence numbers past 999 cost a token more than in the chunks).
_SURE = 0.9


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
    shared: list[str] = field(default_factory=list)  # what the story's articles share
    # The article as its map notes are traced to it (briefing.notes.traceable_facts):
    # found once for all its chunks, let go once its notes are in.
    source: SourceText | None = None


def prepare(
    articles: Sequence[Article], encoding: tiktoken.Encoding, config: Config
) -> Iterator[list[Doc]]:
    """Stories as lists of numbered, chunked documents, one at a time.

    The articles are grouped first (which needs them all); each story's articles
    are then split and chunked only when the story is taken, so a run can send its
    first story to the model while later stories are still being chunked."""
    if config.chunk_tokens + config.max_output_tokens + 600 > (config.context_window):
        raise ConfigError(
            f"chunk_tokens ({config.chunk_tokens}) + max_output_tokens "
            f"({config.max_output_tokens}) do not leave room for the prompt in a "
            f"context window of {config.context_window}. Lower --chunk-tokens."
        )
    return _chunked(articles, encoding, config)


def _chunked(
    articles: Sequence[Article], encoding: tiktoken.Encoding, config: Config
) -> Iterator[list[Doc]]:
    groups = clustering.group(articles)
    # Split and chunked on two threads, a few articles ahead of the story being taken.
    pieces = chunking.chunk_articles(
        [article for group in groups for article in group.articles],
        encoding,
        max_tokens=config.chunk_tokens,
        overlap=config.chunk_overlap,
    )
    number = 0
    with contextlib.closing(pieces):
        for group in groups:
            docs = []
            for article in group.articles:
                number += 1
                sentences, chunks = next(pieces)
                copies = group.copies.get(article.id, [])
                text = {s.number: s.text for s in sentences}
                docs.append(Doc(number, article, copies, chunks, text, shared=group.shared))
            yield docs


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


def room(config: Config) -> int:
    """Prompt tokens a call may take: the context window less the answer's room."""
    return config.context_window - config.max_output_tokens - _MARGIN


def one_call_tokens(
    prompts: Prompts, docs: Sequence[Doc], encoding: tiktoken.Encoding, config: Config
) -> int | None:
    """The prompt tokens of a story's direct call, estimated from the tokens of its
    chunks (counted already) without rendering them, or None when stories are not
    written directly. Sentences in two chunks (the overlap) count twice and runs of
    spaces count in full, so the estimate errs high; the call counts its messages
    exactly when the estimate comes near the limit."""
    if not config.writes_directly:
        return None
    overhead = _direct_overhead(prompts, encoding)
    heads = sum(
        chunking.count_tokens(f"{a.source} {a.title} {a.published}", encoding)
        for a in (d.article for d in docs)
    )
    heads += (_SOURCE_HEAD + (_OWN_LINE if len(docs) > 1 else 0)) * len(docs) + _WARNING_LINE
    return overhead + heads + sum(c.tokens for d in docs for c in d.chunks)


def one_call_messages(
    prompts: Prompts, docs: Sequence[Doc], encoding: tiktoken.Encoding, config: Config
) -> list[dict[str, str]] | None:
    """The messages of the story's call on its articles, when they fit the window,
    else None. The fit is estimated from the chunks (:func:`one_call_tokens`) and the
    messages are counted exactly only when the estimate comes within ``_SURE`` of the
    limit."""
    limit, most = room(config), config.sentences_shown
    if config.writes_directly and docs and most and sum(len(d.sentences) for d in docs) > most:
        ranking = Ranking({d.number: d.sentences for d in docs})
        messages = direct_messages(prompts, docs, ranking.excerpt(most), ranking)
        return messages if count_messages(encoding, messages) <= limit else None
    size = one_call_tokens(prompts, docs, encoding, config)
    if size is None or size > limit or not docs:
        return None
    messages = direct_messages(prompts, docs)
    if size > limit * _SURE and count_messages(encoding, messages) > limit:
        return None  # the estimate was short: notes first after all
    return messages


@functools.lru_cache(maxsize=8)
def _direct_overhead(prompts: Prompts, encoding: tiktoken.Encoding) -> int:
    """Tokens of the direct prompt without articles: the same for every story of a run."""
    return count_messages(encoding, direct_messages(prompts, []))


def direct_messages(
    prompts: Prompts,
    docs: Sequence[Doc],
    shown: Mapping[int, Sequence[int]] | None = None,
    ranking: Ranking | None = None,
) -> list[dict[str, str]]:
    """The direct story step's messages: every article of the story, its sentences
    numbered on from the article before, in the order of
    :func:`briefing.notes.story_ids`; only the sentences ``shown`` (source -> its
    sentence numbers) when given, under the same numbers. ``ranking``: the story's
    sentences ranked, when the caller has it already."""
    # Phrases each outlet alone uses: what its framing is read from (briefing/wording.py).
    texts = {d.number: d.article.text for d in docs}
    own = wording.own_phrase_lists(texts, count=_OWN) if len(docs) > 1 else {}
    sources, before = [], 0
    position: dict[str, int] = {}  # "N.K" -> the number the model is shown
    for d in docs:
        keep = None if shown is None else set(shown.get(d.number, ()))
        lines = []
        for i, (number, text) in enumerate(d.sentences.items(), before + 1):
            if keep is None or number in keep:
                position[f"{d.number}.{number}"] = i
                lines.append(f"[{i}] {' '.join(text.split())}")
        before += len(d.sentences)
        sources.append(
            {
                "number": d.number,
                "outlet": d.article.source,
                "title": d.article.title,
                "published": d.article.published,
                "text": "\n".join(lines),
                "own": own.get(d.number, []),
            }
        )
    # The sentences that warn of something, as the model is shown them: where its
    # risks are to be read (a small model otherwise lists causes or misses them).
    ranking = ranking or Ranking({d.number: d.sentences for d in docs})
    shown_warnings = [r.cite for r in ranking.warnings(_WARNING_WORDS) if r.cite in position]
    warnings = sorted(position[cite] for cite in shown_warnings[:_WARNINGS])
    return prompts.render(
        "direct", sources=sources, warnings=warnings, guide=field_guide(StoryFromSources)
    )


def count_messages(encoding: tiktoken.Encoding, messages: list[dict[str, str]]) -> int:
    """Tokens of chat messages, with ~4 tokens of chat framing each."""
    return sum(chunking.count_tokens(m["content"], encoding) + 4 for m in messages)


def noted(docs: list[Doc], notes: list[ChunkNotes | None]) -> list[Doc]:
    """Give each article its map notes (in chunk order); the articles still in the run.
    A story written directly from its articles has no notes."""
    answers = iter(notes)
    for doc in docs if notes else ():
        doc.notes += [n for n in (next(answers) for _ in doc.chunks) if n is not None]
    for doc in docs:
        doc.source = None  # its notes are traced: the map step's copy of it goes
    return [doc for doc in docs if not doc.failed]


def evidence_of(docs: Iterable[Doc]) -> Evidence:
    """What grounding and the drafts read of ``docs``: sentences, texts, dates."""
    docs = list(docs)
    return Evidence(
        {d.number: d.sentences for d in docs},
        {d.number: d.article.text for d in docs},
        {d.number: d.article.published for d in docs},
    )


def source_of(doc: Doc) -> Source:
    """``doc``'s entry in the briefing's numbered source list."""
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
