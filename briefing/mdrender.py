"""Render a :class:`~briefing.models.Briefing` as Markdown.

**Markdown** is assembled line by line. Untrusted text goes through :func:`md_text`, which
folds it onto one line (so it cannot start a new block: no headings, HTML blocks, list items
or link reference definitions), backslash-escapes ``\\ ` * _ [ ]`` (no emphasis, code or
links), turns ``<`` that could open a tag or autolink into ``&lt;`` (``\\<`` is not an escape
in every renderer, e.g. Python-Markdown) and escapes entity-like ``&`` and leading block
markers. Source URLs become ``<url>`` autolinks only when :func:`http_url` accepts them.
The only raw HTML in the Markdown is brief's own ``<a id="story-N"></a>`` anchors. (GFM
renderers still auto-link bare ``http(s)://`` and ``www.`` text; that shows its target and
cannot run code.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from briefing.models import Briefing, Source, Story
from briefing.render import (
    as_sentence,
    cite_numbers,
    clean,
    days_text,
    grounding_line,
    grounding_reasons,
    http_url,
    outlet_name,
    own_link,
    summary_line,
    usage_line,
)

# CommonMark backslash escapes, https://spec.commonmark.org/0.31.2/#backslash-escapes
_MD_INLINE = re.compile(r"([\\`*_\[\]])")
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_MD_LEADING = re.compile(r"^(?:([#>=+-])|(\d+)([.)]))")
_MD_TRAILING_HASHES = re.compile(r"(?<=\s)(#+)$")


def md_text(text: str) -> str:
    """Untrusted ``text`` as inert Markdown inline text on one line, still readable."""
    text = " ".join(clean(text).split())
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_ENTITY.sub(r"\\&", text)
    text = _MD_TAG.sub("&lt;", text)
    text = _MD_LEADING.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)
    return _MD_TRAILING_HASHES.sub(lambda m: "\\#" * len(m[1]), text)


# --- Markdown ----------------------------------------------------------------------------


def _md_cites(numbers: Iterable[int]) -> str:
    marks = "".join(f"[{n}]" for n in numbers)
    return f" {marks}" if marks else ""


def _md_unverified(reason: str | None) -> str:
    return f" *(unverified: {md_text(reason)})*" if reason else ""


def _md_story(story: Story, sources: dict[int, Source]) -> list[str]:
    def cites(item_cites: list[str]) -> str:
        return _md_cites(cite_numbers(item_cites, story.sources))

    out = [
        f'<a id="story-{story.number}"></a>',
        "",
        f"## {story.number}. {md_text(story.headline)}",
        "",
    ]
    out += _md_continues(story, cites)
    if story.top_line.strip():
        out += [f"**{md_text(story.top_line)}**", ""]
    if story.summary.strip():
        out += [md_text(story.summary) + _md_cites(story.sources), ""]

    def section(title: str, items: list[str], lead: str = "") -> None:
        if not items and not lead:
            return
        out.extend([f"**{title}**", ""])
        if lead:
            out.extend([lead, ""])
        if items:
            out.extend([*items, ""])

    actors = []
    for a in story.actors:
        line = f"- **{md_text(a.name)}**"
        if a.role.strip():
            line += f" ({md_text(a.role)})"
        if a.position.strip():
            line += f": {md_text(as_sentence(a.position))}"
        if a.quote.strip():
            line += f" “{md_text(a.quote)}”"
        actors.append(line + cites(a.cites) + _md_unverified(a.unverified))
    section("Key actors", actors)

    section(
        "Risks (likelihood and impact: low, medium, high)",
        [
            f"- {md_text(r.risk)} — exposed: {md_text(r.exposed)}; likelihood {r.likelihood}, "
            f"impact {r.impact}{cites(r.cites)}{_md_unverified(r.unverified)}"
            + (f" — “{md_text(r.reason)}”" if r.reason.strip() else "")
            for r in story.risks
        ],
    )
    section(
        "Where the outlets agree",
        [
            f"- {md_text(p.text)}{cites(p.cites)}{_md_unverified(p.unverified)}"
            for p in story.agreement
        ],
    )
    framings = []
    for f in story.framings:
        line = f"- *{md_text(outlet_name(sources, f.source))}* [{f.source}]: {md_text(f.framing)}"
        if f.wording.strip():
            line += f" — “{md_text(f.wording)}”"
        framings.append(line + _md_unverified(f.unverified))
    section("How the framing differs", framings, md_text(story.divergence))
    section(
        "Timeline",
        [
            f"- **{md_text(e.date)}**: {md_text(e.event)}{cites(e.cites)}"
            f"{_md_unverified(e.unverified)}"
            for e in story.timeline
        ],
    )
    section("Open questions", [f"- {md_text(q)}" for q in story.open_questions if q.strip()])
    return out


def _md_continues(story: Story, cites: Callable[[list[str]], str]) -> list[str]:
    """A continuing story's lead: the earlier story (linked) and what is new since."""
    earlier, new = story.continues, story.new_since
    if earlier is None:
        return []
    link = own_link(earlier.link)
    title = f"[{md_text(earlier.headline)}]({link})" if link else f"“{md_text(earlier.headline)}”"
    out = [f"*Continues {title}, in the briefings of {days_text(story)}.*", ""]
    if new is None:
        return out
    lines = [f"- {md_text(p.text)}{cites(p.cites)}" for p in new.facts]
    lines += [
        f"- **{md_text(c.name)}** now: {md_text(as_sentence(c.now))} (before: "
        f"{md_text(as_sentence(c.before))}){cites(c.cites)}"
        for c in new.changed
    ]
    if new.actors:
        lines.append(f"- New in the story: {', '.join(md_text(a) for a in new.actors)}")
    if new.outlets:
        lines.append(f"- New outlets: {', '.join(md_text(o) for o in new.outlets)}")
    if lines:
        out += [f"**New since {earlier.date.isoformat()}**", "", *lines, ""]
    return out


def _md_source(source: Source) -> list[str]:
    line = f"{source.number}. {md_text(source.outlet)} — {md_text(source.title or '(untitled)')}"
    if source.published:
        line += f" ({md_text(source.published)})"
    url = http_url(source.url)
    if url:
        line += f" <{url}>"
    elif source.url:
        line += f" {md_text(source.url)}"
    lines = [line]
    if source.duplicates:
        lines.append("   also as: " + ", ".join(md_text(p) for p in source.duplicates))
    return lines


def to_markdown(briefing: Briefing) -> str:
    """The briefing as Markdown that reads well in a terminal and renders safely anywhere."""
    sources = {s.number: s for s in briefing.sources}
    out = [
        f"# {md_text(briefing.title)}",
        "",
        f"{briefing.date.isoformat()} · {summary_line(briefing)}",
        "",
    ]
    if briefing.top_lines:
        out += ["## Top lines", ""]
        out += [
            f"{i}. [{md_text(t.text)}](#story-{t.story}){_md_cites(t.sources)}"
            for i, t in enumerate(briefing.top_lines, 1)
        ]
        out.append("")
    for story in briefing.stories:
        out += _md_story(story, sources)
    if briefing.sources:
        out += ["## Sources", ""]
        for source in briefing.sources:
            out += _md_source(source)
        out.append("")
    out += [
        "---",
        "",
        f"- Model: {md_text(briefing.model)}",
        f"- Usage: {usage_line(briefing.usage)}",
        f"- Grounding: {grounding_line(briefing)}",
        *[f"  - {md_text(line)}" for line in grounding_reasons(briefing)],
        "",
    ]
    if briefing.problems:
        out += ["**Left out**", ""]
        out += [f"- {md_text(p.path)}: {md_text(p.reason)}" for p in briefing.problems]
        out.append("")
    return "\n".join(out)
