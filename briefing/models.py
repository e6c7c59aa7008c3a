"""The data brief works with, as Pydantic models.

Two kinds live here:

* Records brief builds itself (:class:`Article`, :class:`Sentence`, :class:`Chunk`,
  :class:`Source`, :class:`Usage`, :class:`Briefing`).
* Output contracts the model fills (:class:`ChunkNotes` and :class:`StoryDraft`
  with their items). Their docstrings and ``Field(description=...)`` are the
  instructions the model reads: they become the JSON schema sent with the request
  and the field guide rendered into the prompt. Fields marked ``SkipJsonSchema``
  are filled by brief after the call and are not shown to the model.

Citations are sentence ids of the form ``"N.K"``: sentence ``K`` of source ``N``
in the briefing's numbered source list. Inside the map step, where the model sees
a single article, it cites the bare sentence number ``"K"`` and brief adds ``N``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, computed_field, model_validator
from pydantic.json_schema import SkipJsonSchema

Level = Literal["low", "medium", "high"]
# A sentence id in brackets, as the notes show them: it belongs in ``cites``, and a
# small model copying it into a text field would only clutter the text.
_CITE_MARK = re.compile(r"\s*\\?\[\d+(?:\.\d+)?(?:,\s*\d+(?:\.\d+)?)*(?:\\?\]|,?\s*\d*\.?\d*$)")


def most(n: int, description: str) -> Any:
    """A list field the model may fill with at most ``n`` items.

    The bound goes into the schema (``maxItems``: servers that build a grammar from
    the schema stop the model there, which keeps answers short and cheap); items past
    it are cut rather than failing validation, so a server that ignores the bound
    costs no re-ask.
    """
    return Field(default_factory=list, description=description, json_schema_extra={"maxItems": n})


def text(n: int, description: str, default: str | None = None) -> Any:
    """A text field of at most ``n`` characters (``maxLength`` in the schema).

    A small model that starts to repeat itself is stopped by the bound instead of
    running to the token limit; longer text from servers that ignore it is cut.
    """
    extra: dict[str, JsonValue] = {"maxLength": n}
    if default is None:
        return Field(description=description, json_schema_extra=extra)
    return Field(default=default, description=description, json_schema_extra=extra)


class Answer(BaseModel):
    """Base of what the model writes: unknown keys are ignored, over-long lists and
    texts are cut to the bounds their schema states."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _cut(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            value = data.get(name)
            items, chars = extra.get("maxItems"), extra.get("maxLength")
            if isinstance(items, int) and isinstance(value, list):
                value = value[:items]
                inner = extra.get("items")
                limit = inner.get("maxLength") if isinstance(inner, dict) else None
                if isinstance(limit, int) and name == "cites":
                    value = [v[:limit] if isinstance(v, str) else v for v in value]
                elif isinstance(limit, int):  # texts: no citation marks, no repeats
                    value = [
                        shorten(_CITE_MARK.sub("", v).strip(), limit) if isinstance(v, str) else v
                        for v in value
                    ]
                    value = list(dict.fromkeys(v for v in value if v != ""))
                data[name] = value
            elif isinstance(chars, int) and isinstance(value, str):
                data[name] = shorten(_CITE_MARK.sub("", value).strip(), chars)
        return data


_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?(?=\s|$)")


def shorten(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters. A text that runs to the bound was cut off
    (by the server's grammar or here): it ends at its last full sentence when that
    keeps most of it, else at a word, marked "…". Shortening twice changes nothing."""
    if len(text) < limit * 0.95 or (len(text) <= limit and text.endswith("…")):
        return text
    cut = text[:limit]
    if _SENTENCE_END.search(cut[-2:]):
        return cut.strip()
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    if ends and ends[-1] >= limit * 0.4:
        return cut[: ends[-1]].strip()
    return cut[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


class Article(BaseModel):
    """One input article, as read from the folder."""

    id: str = Field(description="Content hash of the text (first 16 hex digits of sha256).")
    path: str = Field(description="Path of the file, relative to the input folder.")
    title: str
    source: str = Field(description="The outlet: site name, front matter, or the domain.")
    url: str | None = None
    published: str | None = Field(default=None, description="ISO 8601 date or datetime.")
    author: str | None = None
    language: str | None = None
    text: str


class Sentence(BaseModel):
    """A sentence of an article; ``number`` starts at 1 and is what the model cites."""

    number: int
    text: str
    paragraph: int = Field(description="Index of the paragraph the sentence belongs to.")


class Chunk(BaseModel):
    """A run of whole sentences of one article that fits the token budget."""

    article_id: str
    index: int = Field(description="Position of the chunk in its article, from 0.")
    sentences: list[Sentence]
    tokens: int = Field(description="Tokens of the numbered chunk text as sent to the model.")


# --- What the model writes: the map step -------------------------------------------------


class Cited(Answer):
    cites: list[str] = Field(
        default_factory=list,
        description="Ids of the sentences this is taken from, exactly as shown in brackets.",
        json_schema_extra={"maxItems": 6, "items": {"type": "string", "maxLength": 12}},
    )

    def cite_also(self, *cites: str) -> None:
        """Add ``cites`` after the item's own, each once, in order."""
        self.cites = list(dict.fromkeys([*self.cites, *cites]))


class Fact(Cited):
    """A fact the text states (not an opinion about it)."""

    text: str = text(160, "The fact in one short sentence of your own.")


class ActorNote(Cited):
    """A person, government or organisation that acts or speaks in the text."""

    name: str = text(80, "The name of a person, government or organisation, as written.")
    role: str = text(60, "Their title or function, as the text gives it.")
    position: str = text(160, "What they say or want, in one short sentence.")
    quote: str = text(
        200,
        "Their own words that the text puts in quotation marks, copied exactly "
        "(at most 30 words); empty if the text does not quote them.",
        default="",
    )


class RiskNote(Cited):
    """Something that could go wrong, as the text describes it."""

    risk: str = text(160, "What could happen, in one short sentence.")
    exposed: str = text(80, "Who or what would be hit.")
    likelihood: Level = Field(description="How likely the text makes it seem.")
    impact: Level = Field(description="How bad it would be.")


class EventNote(Cited):
    """A dated event the text reports."""

    date: str = text(40, "The date as the text gives it, YYYY-MM-DD when known.")
    event: str = text(160, "What happened, in one short sentence.")


class ChunkNotes(Answer):
    """Notes on one passage of a news article. Only what the passage says; no outside
    knowledge, nothing invented."""

    facts: list[Fact] = most(5, "The main facts, most important first.")
    actors: list[ActorNote] = most(6, "Every person, government or body that acts or speaks.")
    risks: list[RiskNote] = most(3, "Risks the passage mentions or implies.")
    events: list[EventNote] = most(3, "Events with a date the passage gives; else empty.")
    framing: str = text(
        250,
        "How this outlet frames the events: its tone and the loaded words it uses, quoted, "
        "in one sentence.",
    )


# --- What the model writes: the reduce step ----------------------------------------------


class Actor(Cited):
    """A key actor of the story."""

    name: str = text(80, "Name as the sources write it.")
    role: str = text(100, "Who they are.")
    position: str = text(200, "Their position in one sentence.")
    # Quotes are not rewritten by the model: brief carries them over from the notes.
    quote: SkipJsonSchema[str] = ""
    unverified: SkipJsonSchema[str | None] = None


class Risk(Cited):
    """What could happen next and who would be exposed."""

    risk: str = text(250, "What could happen, as a sentence: who or what would suffer what.")
    exposed: str = text(120, "Who or what is exposed.")
    likelihood: Level = Field(description="How likely, from the sources.")
    impact: Level = Field(description="How severe.")
    # The sources' own sentence that warns of it, verbatim: found by brief (extracts.py).
    reason: SkipJsonSchema[str] = ""
    unverified: SkipJsonSchema[str | None] = None


class Point(Cited):
    """A point the sources agree on."""

    text: str = text(250, "The point in one sentence.")
    unverified: SkipJsonSchema[str | None] = None


class Framing(Cited):
    """How one outlet frames the story."""

    source: int = Field(description="The source number of the outlet's article, e.g. 2.")
    framing: str = text(250, "Its framing in one sentence.")
    wording: str = text(120, "A short telling phrase from that article, verbatim.", default="")
    unverified: SkipJsonSchema[str | None] = None


class OutletFraming(Framing):
    """How one outlet frames the story."""

    framing: str = text(150, "What this outlet stresses or leaves out, in at most 20 words.")
    # The outlet's own phrase is found by brief (briefing/wording.py), not copied by the model.
    wording: SkipJsonSchema[str] = ""


class Event(Cited):
    """A dated event of the story."""

    date: str = text(40, "YYYY-MM-DD, or the date as the sources give it.")
    event: str = text(200, "What happened.")
    unverified: SkipJsonSchema[str | None] = None


class StoryDraft(Answer):
    """One story (an event or development) as several outlets report it. Use only the
    notes given; do not add outside knowledge."""

    headline: str = text(100, "A neutral headline of at most 12 words.")
    top_line: str = text(250, "The one sentence a busy reader must know.")
    # Room for the summary brief takes from ten articles' sentences (250 words, extracts.py);
    # the model is asked for 3 to 5 sentences.
    summary: str = text(1800, "3 to 5 sentences: what happened, why it matters.")
    actors: list[Actor] = most(6, "The key actors and their positions.")
    risks: list[Risk] = most(4, "What could go wrong next.")
    agreement: list[Point] = most(3, "What the outlets agree on.")
    framings: list[Framing] = most(6, "One entry per outlet: how it frames the story.")
    divergence: str = text(
        400, "How the outlets' framing differs, naming them; empty if only one outlet."
    )
    # Built by brief from the dated events of the notes, not written by the model.
    timeline: SkipJsonSchema[list[Event]] = Field(default_factory=list)
    open_questions: list[str] = Field(
        default_factory=list,
        description="Questions the sources leave open.",
        json_schema_extra={"maxItems": 3, "items": {"type": "string", "maxLength": 200}},
    )


class StoryFromSources(StoryDraft):
    """One story (an event or development) as several outlets report it, written from
    the numbered sentences of its articles. Use only those sentences; do not add
    outside knowledge."""

    top_line: str = text(200, "The one sentence a busy reader must know, in your own words.")
    # Taken from the articles by brief (briefing/salience.py), not written by the model:
    # the sentences most outlets say, verbatim; what they agree on; each outlet's phrase.
    summary: SkipJsonSchema[str] = ""
    agreement: SkipJsonSchema[list[Point]] = Field(default_factory=list)
    actors: list[Actor] = most(4, "The key people, governments and organisations, each once.")
    risks: list[Risk] = most(4, "Every risk the articles warn of, most severe first.")
    framings: list[OutletFraming] = most(  # type: ignore[assignment]
        6, "One entry per outlet: what it stresses or leaves out, in its own tone."
    )
    # The days the articles name, with their own sentences: found by brief (extracts.py).
    timeline: SkipJsonSchema[list[Event]] = Field(default_factory=list)
    # A small model's open questions are ones any reader could ask without the articles.
    open_questions: SkipJsonSchema[list[str]] = Field(default_factory=list)

    def draft(self) -> StoryDraft:
        """The story as the notes' story call would have written it, dated events
        included (brief checks them against the articles)."""
        return StoryDraft.model_validate(self.model_dump())


# --- The briefing -------------------------------------------------------------------------


class StoryRef(BaseModel):
    """A story of an earlier briefing of the same job: where it is."""

    briefing: str = Field(description="The briefing's name, e.g. 2026-11-21.")
    date: dt.date
    story: int = Field(description="The story's number in that briefing.")
    link: str | None = Field(
        default=None,
        description="Its place, relative to the output folder: 2026-11-21.html#story-2.",
    )


class Earlier(StoryRef):
    """The story of an earlier briefing that a story continues (found by brief)."""

    headline: str
    before: list[StoryRef] = Field(
        default_factory=list, description="The days the story ran before that one, oldest first."
    )


class Change(BaseModel):
    """An actor whose position is not the one the earlier story gave."""

    name: str
    before: str
    now: str
    cites: list[str] = Field(default_factory=list)


class NewSince(BaseModel):
    """What a continuing story adds to the earlier one, found by brief by comparing the
    two: its items the earlier story did not say, its actors and outlets not in it."""

    facts: list[Point] = Field(default_factory=list)
    actors: list[str] = Field(default_factory=list, description="Actors new to the story.")
    changed: list[Change] = Field(default_factory=list)
    outlets: list[str] = Field(default_factory=list, description="Outlets new to the story.")


class Story(StoryDraft):
    """A story of the briefing: the model's draft plus what brief derived."""

    number: int = Field(description="Position of the story in the briefing, from 1.")
    sources: list[int] = Field(description="Source numbers of the articles in this story.")
    grouped_by: list[str] = Field(
        default_factory=list,
        description="Why these articles are one story: the terms most of them share "
        "(names, places, what happened), heaviest first; for a single article, its own "
        "heaviest terms.",
    )
    continues: Earlier | None = Field(
        default=None, description="The earlier briefing's story this one continues, if any."
    )
    new_since: NewSince | None = None


class TopLine(BaseModel):
    text: str
    story: int = Field(description="Number of the story it leads to.")
    sources: list[int]


class Source(BaseModel):
    """An entry of the briefing's numbered source list."""

    number: int
    article_id: str
    title: str
    outlet: str
    path: str
    url: str | None = None
    published: str | None = None
    duplicates: list[str] = Field(
        default_factory=list, description="Paths of near-identical copies of this article."
    )


class StepUsage(BaseModel):
    calls: int = Field(default=0, description="Requests sent to the model.")
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Usage(BaseModel):
    """Token usage of the run, in total and by pipeline step."""

    calls: int = Field(default=0, description="Requests sent to the model.")
    cached: int = Field(default=0, description="Answers reused from the cache (no request).")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    by_step: dict[str, StepUsage] = Field(default_factory=dict)

    def add(self, step: str, prompt: int, completion: int) -> None:
        """Count one request to the model."""
        part = self.by_step.setdefault(step, StepUsage())
        for record in (self, part):
            record.calls += 1
            record.prompt_tokens += prompt
            record.completion_tokens += completion

    def add_cached(self, step: str) -> None:
        """Count one answer taken from the cache: no request, no tokens spent."""
        part = self.by_step.setdefault(step, StepUsage())
        self.cached += 1
        part.cached += 1


class Drop(BaseModel):
    """An item removed (or marked) because it is not supported by its sources."""

    story: int
    kind: str = Field(description="actor, quote, risk, point, framing, event or citation.")
    item: str
    reason: str


class Grounding(BaseModel):
    """What brief checked against the source texts, and what failed."""

    checked: int = 0
    verified: int = 0
    dropped: int = 0
    kept_unverified: int = 0
    failures: list[Drop] = Field(default_factory=list)


class Problem(BaseModel):
    """A file or article that is not in the briefing, and why."""

    path: str
    reason: str
    skipped: bool = Field(
        default=False,
        description="True for files that are not articles (hidden, unsupported type, "
        "README): reported, but they do not make the run partial.",
    )


class Briefing(BaseModel):
    """The briefing brief writes as Markdown, HTML and JSON."""

    title: str
    date: dt.date
    generated_at: dt.datetime
    language: str = "en"
    model: str
    top_lines: list[TopLine]
    stories: list[Story]
    sources: list[Source]
    usage: Usage = Field(default_factory=Usage)
    grounding: Grounding = Field(default_factory=Grounding)
    problems: list[Problem] = Field(default_factory=list)

    @computed_field(  # type: ignore[prop-decorator]
        description="True when articles were left out (listed in problems): the briefing "
        "covers only the rest."
    )
    @property
    def partial(self) -> bool:
        return any(not problem.skipped for problem in self.problems)


@functools.cache  # pydantic takes 6 to 10 ms per schema, and two steps need each one
def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model.model_json_schema()``, built once per model: the field guide in the prompt
    (:func:`briefing.prompts.field_guide`) and the schema sent with each call
    (:func:`briefing.llm.strict_schema`) are both made from it. Callers must not change
    the result."""
    return model.model_json_schema()
