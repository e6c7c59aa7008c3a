"""``brief make`` as a library call: folder in, briefing files out.

:func:`make` wires the parts together: it reads the folder, picks the model
server (the configured one, or the embedded local model that it starts and stops
itself), runs the pipeline and writes the files. :func:`plan` does everything up
to the first model call and reports what a run would cost (``--dry-run``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from briefing import chunking, engine, ingest, render, weights
from briefing.budget import Budget
from briefing.cache import compiled_templates, open_cache
from briefing.config import Config, Price
from briefing.errors import EXIT_OK, EXIT_PARTIAL, ConfigError
from briefing.llm import LLM, make_client
from briefing.models import Article, Briefing, ChunkNotes, Problem, StoryDraft
from briefing.pipeline import Pipeline, Progress
from briefing.prompts import Prompts, field_guide
from briefing.stories import count_messages, map_messages, one_call_messages, prepare

LOCAL_SLOTS = 2
# Remote APIs serve many requests at once: with 8 in flight a run of 200 articles
# takes 1.09 to 1.10 times the latency floor ceil(calls / 8) * L with one call per
# story (medians of three runs), 1.07 with notes first, against a stub answering in
# about a second (bench/bench_pipeline.py, docs/PERFORMANCE.md); the shared 429
# backoff slows every call down together when a server asks.
REMOTE_CONCURRENCY = 8

# Typical answer sizes, measured on the examples with the embedded model; used only
# for --dry-run estimates.
MAP_ANSWER_TOKENS = 350
STORY_ANSWER_TOKENS = 700

# USD per million prompt / completion tokens for --dry-run, from the providers' price
# pages as of 2025 (openai.com/api/pricing); a [prices."MODEL"] table in the config
# file overrides or adds a model. The embedded model runs here: no charge.
PRICES: dict[str, Price] = {
    "embedded": Price(prompt=0, completion=0),
    "gpt-4o-mini": Price(prompt=0.15, completion=0.60),
    "gpt-4o": Price(prompt=2.50, completion=10.00),
    "gpt-4.1": Price(prompt=2.00, completion=8.00),
    "gpt-4.1-mini": Price(prompt=0.40, completion=1.60),
    "gpt-4.1-nano": Price(prompt=0.10, completion=0.40),
}


@dataclass
class Result:
    briefing: Briefing
    files: list[Path]

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.briefing.partial else EXIT_OK


@dataclass
class ArticlePlan:
    path: str
    tokens: int
    chunks: int


@dataclass
class GroupPlan:
    """One story as grouped: its articles (path, title, outlet), the near-duplicates
    folded into them (copy's path, kept article's path), and what its articles share."""

    articles: list[tuple[str, str, str]]
    copies: list[tuple[str, str]]
    shared: list[str]


@dataclass
class Plan:
    """What a run would do: per article tokens and chunks, the stories as grouped,
    calls and tokens in all."""

    model: str
    articles: list[ArticlePlan]
    stories: int
    map_calls: int
    story_calls: int
    prompt_tokens: int
    completion_tokens: int
    problems: list[str] = field(default_factory=list)
    cost: float | None = None
    price: Price | None = None
    price_from: str = ""  # "config file" or "brief's table"
    max_tokens: int | None = None
    groups: list[GroupPlan] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return self.map_calls + self.story_calls

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def make(
    folder: Path,
    config: Config,
    *,
    now: dt.datetime,
    cache_dir: Path,
    use_cache: bool = True,
    progress: Progress | None = None,
    http_client: Any = None,
    warn: Callable[[str], None] | None = None,
) -> Result:
    """Brief the articles in ``folder``; write the files to ``config.out_dir``."""
    articles, problems = ingest.read_folder(folder, exclude=config.out_dir)
    compiled = compiled_templates(cache_dir)
    briefing = brief(
        articles,
        problems,
        config,
        now=now,
        cache_dir=cache_dir,
        use_cache=use_cache,
        progress=progress,
        http_client=http_client,
        warn=warn,
    )
    stem = now.date().isoformat()
    files = render.write_briefing(briefing, config.out_dir, stem, config.formats, compiled=compiled)
    return Result(briefing, files)


def brief(
    articles: Sequence[Article],
    problems: Sequence[Problem],
    config: Config,
    *,
    now: dt.datetime,
    cache_dir: Path,
    use_cache: bool = True,
    progress: Progress | None = None,
    http_client: Any = None,
    warn: Callable[[str], None] | None = None,
) -> Briefing:
    """Brief ``articles`` (already read) on the configured model; writes no file.
    ``warn`` hears, in one line, of a cache that cannot be written (the run goes on)."""
    prompts = Prompts(config.prompts_dir, compiled=compiled_templates(cache_dir))
    cache = open_cache(cache_dir / "answers.sqlite3", warn) if use_cache else None
    try:
        with endpoint(config, cache_dir) as (base_url, model, concurrency):
            # Made before the tokenizer loads, not beside it: on a side thread its
            # imports (httpcore2, truststore) waited for the interpreter at every file
            # they read while the tokenizer held it, and the first call waited for them
            # (the first request left 0.29 s into a run on average, 0.26 s now; seven
            # runs each, bench folder, C=8).
            client = make_client(
                base_url,
                config.api_key,
                timeout=config.timeout,
                http_client=http_client,
            )
            encoding = chunking.load_encoding(config.encoding, cache_dir)
            llm = LLM(
                client,
                model,
                cache=cache,
                temperature=config.temperature,
                max_tokens=config.max_output_tokens,
                budget=None if config.max_tokens is None else Budget(config.max_tokens, encoding),
                slots=concurrency,
            )
            run_config = config.model_copy(update={"concurrency": concurrency})
            pipeline = Pipeline(llm, prompts, encoding, run_config, progress)
            return pipeline.run(articles, problems, now=now)
    finally:
        if cache is not None:
            cache.close()
            if cache.failure is not None and warn is not None:
                warn(
                    f"the answer cache {cache.path} could not keep every answer "
                    f"({cache.failure}); the briefing is whole, but a re-run asks those again."
                )


@contextlib.contextmanager
def endpoint(config: Config, cache_dir: Path) -> Iterator[tuple[str | None, str, int]]:
    """The server to use: base URL, model name and default concurrency.

    With no base URL and no API key configured, brief starts the embedded model
    and stops it when the block ends (also on errors and Ctrl-C).
    """
    if not config.uses_embedded_model:
        model = config.model or "gpt-4o-mini"
        yield config.base_url, model, config.concurrency or REMOTE_CONCURRENCY
        return
    model_path = config.model_path or weights.default_model_path(cache_dir)
    if not weights.engine_available() or not model_path.is_file():
        raise ConfigError(
            "no model server is configured and the embedded local model is not installed. "
            "Either install it: pip install 'brief[local]' && brief model install; "
            "or use a server: set OPENAI_API_KEY (and --model), or pass --base-url "
            "(e.g. http://localhost:11434/v1)."
        )
    if config.model_path is None:
        weights.verify(model_path)
    # Two slots and two requests in flight: measured on 2 cores, 4 requests take
    # 13.4 s with 2 slots against 20.7 s with 1 (bench/bench_engine.py).
    slots = config.concurrency or LOCAL_SLOTS
    with engine.LocalServer(
        model_path, ctx=config.context_window, parallel=slots, speculative=config.speculative
    ) as server:
        yield server.base_url, server.model, slots


def plan(folder: Path, config: Config) -> Plan:
    """Everything up to the first model call; no request is made."""
    articles, problems = ingest.read_folder(folder, exclude=config.out_dir)
    prompts = Prompts(config.prompts_dir)
    encoding = chunking.load_encoding(config.encoding)
    stories = list(prepare(articles, encoding, config))
    map_guide = field_guide(ChunkNotes)
    story_guide = field_guide(StoryDraft)
    rows: list[ArticlePlan] = []
    groups: list[GroupPlan] = []
    prompt_tokens = 0
    map_calls = 0
    for docs in stories:
        groups.append(
            GroupPlan(
                articles=[(d.article.path, d.article.title, d.article.source) for d in docs],
                copies=[(c.path, d.article.path) for d in docs for c in d.copies],
                shared=list(docs[0].shared) if docs else [],
            )
        )
        rows += [
            ArticlePlan(
                d.article.path, chunking.count_tokens(d.article.text, encoding), len(d.chunks)
            )
            for d in docs
        ]
        direct = one_call_messages(prompts, docs, encoding, config)
        if direct is not None:  # one call on the articles themselves
            prompt_tokens += count_messages(encoding, direct)
            continue
        for doc in docs:
            for chunk in doc.chunks:
                messages = map_messages(prompts, doc, chunk, map_guide)
                prompt_tokens += count_messages(encoding, messages)
                map_calls += 1
        notes = sum(len(doc.chunks) for doc in docs) * MAP_ANSWER_TOKENS
        prompt_tokens += notes + count_messages(
            encoding, prompts.render("story", sources=[], notes="", guide=story_guide)
        )
    completion = map_calls * MAP_ANSWER_TOKENS + len(stories) * STORY_ANSWER_TOKENS
    model = config.model or ("embedded" if config.uses_embedded_model else "gpt-4o-mini")
    price = config.prices.get(model, PRICES.get(model))
    price_from = "config file" if model in config.prices else "brief's table"
    cost = (
        None
        if price is None
        else (prompt_tokens * price.prompt + completion * price.completion) / 1_000_000
    )
    return Plan(
        model=model,
        articles=rows,
        stories=len(stories),
        map_calls=map_calls,
        story_calls=len(stories),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        problems=[f"{p.path}: {p.reason}" for p in problems],
        cost=None if cost is None else math.ceil(cost * 10_000) / 10_000,
        price=price,
        price_from=price_from if price is not None else "",
        max_tokens=config.max_tokens,
        groups=groups,
    )
