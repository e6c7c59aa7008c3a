"""Render a :class:`~briefing.models.Briefing` as HTML and JSON, and write the files
(Markdown: :mod:`briefing.mdrender`).

Everything a briefing says came from an article or from the model, so every piece of its text
is untrusted.

**HTML** is built by one Jinja2 template (``briefing/templates/page.html.j2``) in an
environment with ``autoescape=True``. Every ``{{ ... }}`` in the template is HTML-escaped by
markupsafe (``& < > " '`` become entities), so untrusted text can only ever become text nodes
or quoted attribute values; the template never uses ``|safe`` and nothing is passed in as
``Markup``, with one exception built to keep the same guarantee: the prose of the stories
(top lines, summaries, positions, risks, points, framings, the divergence) goes through the
``markdown`` package (:func:`prose`), so that the emphasis a model writes shows as such. The
text is HTML-escaped *before* Markdown sees it, so no raw HTML can reach the page through
Markdown, and every Markdown rule that makes a link, an image, an autolink, raw HTML, a code
span (it would escape the text twice) or a block (headings, lists, code blocks, quotes,
rules) is switched off: what comes out is the escaped text with ``<em>`` and ``<strong>``
at most. The only untrusted values that reach an attribute are source URLs, and they are put in
``href`` only when :func:`http_url` accepts them (scheme ``http``/``https``, a host, no
whitespace or control characters); any other URL (``javascript:``, ``data:``, relative, ...)
is shown as text. All other ``href`` values are ``#story-N`` / ``#source-N`` built from
integers. Control characters, lone surrogates and Unicode noncharacters are removed from
every value on the way out (Jinja's ``finalize``), so the page always encodes as UTF-8 and
parses without errors. A Content-Security-Policy meta tag (no scripts, no external loads) is a
second line of defence; the page has no JavaScript and loads nothing from the network.

Markdown is written by :mod:`briefing.mdrender`, which says how it keeps text inert.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import markdown
import markupsafe

from briefing import charts, files
from briefing.errors import RenderError
from briefing.models import Briefing, Source, StepUsage, Story, Usage

FORMATS = ("md", "html", "json")

_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# C0/C1 controls (not tab, newline, carriage return), lone surrogates and the Unicode
# noncharacters: HTML5 calls all of them parse errors ("control-character-in-input-stream",
# "noncharacter-in-input-stream"), https://html.spec.whatwg.org/#parse-errors
# Those outside the Basic Multilingual Plane have a pattern of their own, used only on
# text that has such characters: with them in one class, every search cost 3 to 4.5 us
# on an 80-character sentence instead of 0.6, and HTML calls it ~12,000 times.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ASTRAL_INVALID = re.compile(
    "["
    + "".join(
        f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17)
    )
    + "]"
)
_LANG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
_LEVELS = ("low", "medium", "high")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]|$)")
# Languages and scripts written right to left: the CLDR "characterOrder" right-to-left
# locales (https://github.com/unicode-org/cldr, common/main/*.xml) and the ISO 15924
# codes of right-to-left scripts.
_RTL_LANGUAGES = frozenset(
    "ar arc ckb dv fa he iw ks ps sd syr ug ur yi mzn lrc glk nqo rhg".split()
)
_RTL_SCRIPTS = frozenset("arab hebr thaa syrc nkoo adlm rohg mand samr".split())


# --- text helpers ------------------------------------------------------------------------


def clean(text: str) -> str:
    """``text`` without characters that are invalid in HTML or unencodable in UTF-8."""
    text = _INVALID.sub("", text)
    if not text.isascii() and _ASTRAL.search(text):
        text = _ASTRAL_INVALID.sub("", text)
    return text


def http_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL that is safe to link to, else None."""
    if not url:
        return None
    url = url.strip()
    if any(c.isspace() or c in '<>"`' for c in url) or clean(url) != url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


# The names a job's archive gives briefings (briefing/archive.py): a date, then
# optionally a time of day (and a counter).
BRIEFING_STEM = r"\d{4}-\d{2}-\d{2}(?:-\d{4}(?:\d{2})?(?:-\d+)?)?"
_OWN_LINK = re.compile(BRIEFING_STEM + r"\.(?:html|md)(?:#story-\d+)?")


def own_link(link: str | None) -> str | None:
    """``link`` if it is one brief makes to an earlier briefing of its output folder
    (``2026-11-21.html#story-2``), else None: only those become links."""
    return link if link and _OWN_LINK.fullmatch(link) else None


def days_text(story: Story) -> str:
    """The days a continuing story ran before, oldest first: "2026-11-20, 2026-11-21"."""
    if story.continues is None:
        return ""
    days = [ref.date for ref in story.continues.before] + [story.continues.date]
    return ", ".join(day.isoformat() for day in dict.fromkeys(days))


def cite_numbers(cites: Iterable[str], fallback: Iterable[int] = ()) -> list[int]:
    """Source numbers of sentence ids ``"N.K"``: unique and sorted; ``fallback`` if none."""
    numbers = set()
    for cite in cites:
        head = cite.strip().split(".", 1)[0]
        if head.isascii() and head.isdigit():
            numbers.add(int(head))
    return sorted(numbers or set(fallback))


def as_sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…\"'”’)" else text + "."


def outlet_name(sources: dict[int, Source], number: int) -> str:
    source = sources.get(number)
    return source.outlet if source and source.outlet.strip() else f"Source {number}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def summary_line(briefing: Briefing) -> str:
    line = (
        f"{_count(len(briefing.stories), 'story', 'stories')} from "
        f"{_count(len(briefing.sources), 'source', 'sources')} · generated "
        f"{briefing.generated_at.isoformat(sep=' ', timespec='minutes')}"
    )
    if briefing.partial:
        left = sum(1 for problem in briefing.problems if not problem.skipped)
        line += f" · partial: {_count(left, 'file', 'files')} left out (listed at the end)"
    return line


def usage_line(usage: Usage | StepUsage) -> str:
    line = f"{_count(usage.calls, 'model call', 'model calls')}"
    if usage.cached:
        line += f", {_count(usage.cached, 'answer', 'answers')} from the cache"
    return f"{line}; {usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} completion tokens"


def grounding_line(briefing: Briefing) -> str:
    g = briefing.grounding
    return (
        f"{g.checked:,} checked, {g.verified:,} verified, {g.dropped:,} dropped, "
        f"{g.kept_unverified:,} kept unverified"
    )


def grounding_reasons(briefing: Briefing) -> list[str]:
    """What grounding removed (or marked) and why, one line per kind and reason."""
    counts = Counter((f.kind, f.reason) for f in briefing.grounding.failures)
    return [f"{kind} ×{n}: {reason}" for (kind, reason), n in counts.most_common()]


# --- HTML --------------------------------------------------------------------------------


# Markdown rules left on for prose: the rest could make links, images, raw HTML or blocks.
_INLINE_KEPT = frozenset({"escape", "entity", "em_strong"})
_BLOCKS_KEPT = frozenset({"empty", "paragraph"})
_PARAGRAPH = re.compile(r"\A<p>(.*)</p>\Z", re.DOTALL)


def _markdown() -> markdown.Markdown:
    """A Markdown converter that makes only emphasis (``<em>``, ``<strong>``)."""
    md = markdown.Markdown(output_format="html")
    rules: tuple[tuple[Any, frozenset[str]], ...] = (
        (md.inlinePatterns, _INLINE_KEPT),
        (md.parser.blockprocessors, _BLOCKS_KEPT),
    )
    for registry, kept in rules:
        # Registry has no public list of its names; _data maps each name to its rule.
        for name in [item for item in registry._data if item not in kept]:
            registry.deregister(name)
    # No raw HTML is read; the stash then holds only entities, which
    # the raw_html postprocessor puts back.
    md.preprocessors.deregister("html_block")
    return md


_converters = threading.local()


def prose(value: Any) -> markupsafe.Markup:
    """Untrusted text as HTML through the ``markdown`` package: escaped first, then
    converted with only emphasis (see the module's text)."""
    text = clean(str(value or ""))
    if not text.strip():
        return markupsafe.Markup("")
    md = getattr(_converters, "md", None)
    if md is None:
        md = _converters.md = _markdown()
    html = md.reset().convert(str(markupsafe.escape(" ".join(text.split()))))
    inner = _PARAGRAPH.match(html)
    return markupsafe.Markup(inner.group(1) if inner else html)


def _finalize(value: Any) -> Any:
    """Applied by Jinja to every ``{{ ... }}`` value before it is escaped."""
    if value is None:
        return ""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return clean(value)
    return value


def _load_template(name: str) -> str:
    source = importlib.resources.files("briefing").joinpath("templates", name)
    return source.read_text(encoding="utf-8")


@functools.cache
def template(
    name: str = "page.html.j2", compiled: jinja2.BytecodeCache | None = None
) -> jinja2.Template:
    """A page template of briefing/templates: autoescaped, strict, every value cleaned;
    ``compiled`` keeps it compiled between runs (:func:`briefing.cache.compiled_templates`)."""
    env = jinja2.Environment(
        bytecode_cache=compiled,
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = prose
    try:
        return env.get_template(name)
    except (OSError, jinja2.TemplateError) as e:
        raise RenderError(
            f"the HTML templates in briefing/templates could not be loaded ({e}); reinstall brief"
        ) from e


def text_direction(language: str) -> str:
    """``"rtl"`` for a language written right to left (``ar``, ``he-IL``, ``az-Arab``...)."""
    tags = language.lower().replace("_", "-").split("-")
    scripts = {t for t in tags[1:] if len(t) == 4}
    if scripts & _RTL_SCRIPTS:
        return "rtl"
    if scripts:
        return "ltr"
    return "rtl" if tags[0] in _RTL_LANGUAGES else "ltr"


def _covered(story: Story, sources: dict[int, Source]) -> str:
    outlets = dict.fromkeys(outlet_name(sources, n) for n in story.sources)
    head = _count(len(story.sources), "source", "sources")
    return f"{head}: {', '.join(outlets)}" if outlets else head


def to_html(briefing: Briefing, compiled: jinja2.BytecodeCache | None = None) -> str:
    """The briefing as one self-contained HTML page (inline CSS, no scripts, no requests)."""
    sources = {s.number: s for s in briefing.sources}
    lang = briefing.language if _LANG.fullmatch(briefing.language) else "und"
    keys = charts.risk_keys(briefing)
    helpers: dict[str, Callable[..., Any]] = {
        "cite_numbers": cite_numbers,
        "covered": lambda story: _covered(story, sources),
        "risk_key": lambda story, index: keys[(story, index)],
        "http_url": http_url,
        "own_link": own_link,
        "days_text": days_text,
        "sentence": as_sentence,
        "day": lambda text: text[:10] if _ISO_DAY.match(text) else text,
        "outlet": lambda n: outlet_name(sources, n),
        "level": lambda v: v if v in _LEVELS else "unknown",
    }
    return template("page.html.j2", compiled).render(
        b=briefing,
        lang=lang,
        dir=text_direction(lang),
        long_date=f"{briefing.date:%A} {briefing.date.day} {briefing.date:%B %Y}",
        matrix=charts.risk_matrix(briefing),
        grid=charts.coverage_grid(briefing),
        known_sources=set(sources),
        summary_line=summary_line(briefing),
        usage_line=usage_line,
        grounding_line=grounding_line(briefing),
        grounding_reasons=grounding_reasons(briefing),
        **helpers,
    )


# --- JSON and files ----------------------------------------------------------------------


def to_json(briefing: Briefing) -> str:
    """The briefing as indented JSON; :meth:`Briefing.model_validate_json` reads it back."""
    return briefing.model_dump_json(indent=2)


def write_briefing(
    briefing: Briefing,
    out_dir: Path,
    stem: str,
    formats: Sequence[str],
    *,
    compiled: jinja2.BytecodeCache | None = None,
) -> list[Path]:
    """Write ``out_dir/{stem}.{ext}`` for each of ``formats``; returns the paths written.

    Everything is rendered before the first file is written, and the files are written
    as one set (:func:`briefing.files.write_set`): a failure, even on the last file,
    leaves the files of that name as they were, never some new and some old.
    """
    texts = briefing_texts(briefing, out_dir, stem, formats, compiled=compiled)
    make_folder(out_dir)
    files.write_set(texts)
    return list(texts)


def briefing_texts(
    briefing: Briefing,
    out_dir: Path,
    stem: str,
    formats: Sequence[str],
    *,
    compiled: jinja2.BytecodeCache | None = None,
) -> dict[Path, str]:
    """The files :func:`write_briefing` would write, path by path, rendered; none written."""
    if not _STEM.fullmatch(stem) or ".." in stem:
        raise RenderError(
            f"bad output name {stem!r}: use letters, digits, '.', '_' and '-' only, starting "
            "with a letter or digit and without '..'"
        )
    wanted = list(dict.fromkeys(formats))
    if not wanted:
        raise RenderError(f"no output format chosen; pick from {', '.join(FORMATS)}")
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise RenderError(
            f"unknown output format {', '.join(map(repr, unknown))}; "
            f"valid formats are {', '.join(FORMATS)}"
        )
    from briefing import mdrender  # it imports this module

    renderers: dict[str, Callable[[Briefing], str]] = {
        "md": mdrender.to_markdown,
        "html": lambda b: to_html(b, compiled),
        "json": to_json,
    }
    return {out_dir / f"{stem}.{fmt}": renderers[fmt](briefing) for fmt in wanted}


def make_folder(out_dir: Path) -> None:
    """Create the output folder (and its parents) if it is missing."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RenderError(
            f"could not create the output folder {out_dir}: {e.strerror or e}; "
            "check the path or choose another output folder"
        ) from e
