"""The article formats brief reads: plain text, Markdown with front matter, HTML.

Each reader takes the decoded, normalised text of a file and returns the fields of
an :class:`~briefing.models.Article` (``text``, ``title`` and what metadata the
file has). A file that holds no usable article raises :class:`Unusable` with the
reason; :mod:`briefing.ingest` turns it into a :class:`~briefing.models.Problem`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import yaml
from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# "By Anton Belov | Zarya International | 21 November 2026" (date optional)
_BYLINE = re.compile(r"^By ([^|]{2,80}?)\s*\|\s*([^|]{2,80}?)\s*(?:\|\s*(.{4,40}))?$")
TITLE_MAX = 200  # a first line longer than this is a paragraph, not a headline

# YAML front matter: a first line '---', the YAML, then a line '---' (or '...').
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_YEAR_MONTH = re.compile(r"\d{4}(?:-(?:0[1-9]|1[0-2]))?")  # ISO 8601's reduced precision
_HTML_TAG = re.compile(r"<html[\s>]", re.IGNORECASE)
# Readability strips this wrapper from JSON-LD before parsing it (Readability.js,
# _getJSONLD); some sites (aktualne.cz) wrap their JSON-LD in it.
_CDATA = re.compile(r"^\s*<!\[CDATA\[|\]\]>\s*$")


# CommonMark with tables, as markdown-it-py parses it: in linear time, and with
# nesting bounded (maxNesting), so no article can make parsing hang. Python-Markdown,
# used before, took 16 s over a line of 10,000 '[' (and grows with its square).
_MARKDOWN = MarkdownIt("commonmark").enable("table")


class Unusable(Exception):
    """A file brief cannot use; the message is the one-line reason."""


# --- Public API ----------------------------------------------------------------------------


def _first_line_title(text: str) -> str:
    # The first line that is not blank (all before it is whitespace), found without
    # splitting the whole article into lines to keep one.
    line = text.lstrip().partition("\n")[0].strip()
    if len(line) <= TITLE_MAX:
        return line
    return textwrap.shorten(line, width=120, placeholder="…")


def _lead_with(title: str, text: str) -> str:
    """``text`` with the headline as its first paragraph, as in a .txt article. A
    headline among the first paragraphs (after a dateline, say) is moved up."""
    key = _key(title)
    if not key:
        return text
    head = text.split("\n\n", 3)
    for index, paragraph in enumerate(head[:3]):
        if _key(paragraph) == key:
            if index == 0:
                return text
            del head[index]
            break
    return "\n\n".join([title, *head])


def _squeeze(block: str) -> str:
    """An HTML block's text: its whitespace runs as single spaces, no empty lines."""
    lines = (" ".join(line.split()) for line in block.split("\n"))
    return "\n".join(line for line in lines if line)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def domain(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return host or None


def from_text(text: str) -> dict[str, Any]:
    """A plain-text article: the first line is the headline (it stays the first
    paragraph of the text: headlines carry framing). A byline of the form
    ``By NAME | OUTLET | DATE`` among the first lines, as wire copy and the examples
    carry, gives the author, the outlet and the date."""
    fields: dict[str, Any] = {"title": _first_line_title(text), "text": text}
    for line in text.split("\n", 6)[1:6]:
        match = _BYLINE.match(line.strip())
        if match:
            fields["author"], fields["source"] = match.group(1), match.group(2)
            if match.group(3):
                fields["published"] = _date(match.group(3)) or match.group(3)
            break
    return fields


def _date(text: str) -> str | None:
    """An ISO date from a written date such as '21 November 2026'."""
    # No text fits two of these, so the order only sets the cost: ISO first, as
    # machine-written bylines give it (a failed strptime raises and catches an error).
    for pattern in ("%Y-%m-%d", "%d %B %Y", "%B %d, %Y", "%d %b %Y"):
        try:
            return dt.datetime.strptime(text.strip(), pattern).date().isoformat()
        except ValueError:
            continue
    return None


def from_markdown(text: str) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        meta = _front_matter(match.group(1))
        text = text[match.end() :]
    elif text.startswith("---\n"):
        raise Unusable("front matter is not closed: add a line '---' after it")
    blocks = _MarkdownText.blocks(_MARKDOWN.render(text))
    body = "\n\n".join(block for _, block in blocks)
    if not body:
        raise Unusable("no text after the front matter" if match else "no text, only markup")
    heading = next((block for tag, block in blocks if tag == "h1"), None)
    title = meta.get("title") or heading or _first_line_title(body)
    title = " ".join(title.split())
    return {
        **{key: meta.get(key) for key in ("source", "url", "published", "author", "language")},
        "title": title,
        "text": _lead_with(title, body),
    }


FRONT_MATTER_DEPTH = 16  # YAML nesting front matter may have; an article needs two


class _FrontMatterLoader(yaml.BaseLoader):
    """YAML that builds only strings, lists and mappings, and refuses aliases and
    deep nesting.

    * Every scalar stays the text it was written as (``yaml.BaseLoader``): a loader
      that builds dates, numbers or tagged objects raises from inside the parse on
      a value such as ``2026-02-30``. The values are checked afterwards, field by
      field (:class:`FrontMatter`), with messages that name the field.
    * No aliases: an article can nest them so that reading its values expands a few
      lines into gigabytes (the "billion laughs" attack).
    * At most :data:`FRONT_MATTER_DEPTH` levels: PyYAML composes nested nodes by
      recursion, and a few thousand ``[`` exhaust Python's stack.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._refuse("aliases (*name) are not allowed in front matter")
        self._depth += 1
        try:
            if self._depth > FRONT_MATTER_DEPTH:
                self._refuse(f"nested deeper than {FRONT_MATTER_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _refuse(self, problem: str) -> None:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        raise yaml.composer.ComposerError(None, None, problem, mark)


class FrontMatter(BaseModel):
    """The front matter fields brief uses, each checked; other keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    title: str | None = None
    source: str | None = None
    url: str | None = None
    published: str | None = Field(default=None, description="ISO 8601 date or datetime.")
    author: str | None = None
    language: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _text(cls, value: object) -> str | None:
        """One line of text; a list of texts (two authors) is joined with commas."""
        if value is None:
            return None
        if isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise ValueError("a list may hold only plain values, not lists or mappings")
            value = ", ".join(value)
        if not isinstance(value, str):
            raise ValueError("must be text, not a list of 'key: value' lines")
        return " ".join(value.split()) or None

    @field_validator("published")
    @classmethod
    def _when(cls, value: str | None) -> str | None:
        if value is None:
            return None
        when = iso_date(value)
        if when is None:
            raise ValueError(
                f"{value[:40]!r} is not a date (write it as YYYY-MM-DD, "
                "e.g. 2026-11-21, or remove the line)"
            )
        return when


def iso_date(text: str) -> str | None:
    """``text`` as an ISO 8601 date or datetime, if it is a real one (``2026-02-30``
    is not): ISO forms, ``Z`` included, a year or a year and month alone, and written
    dates ('21 November 2026')."""
    text = text.strip()
    if _YEAR_MONTH.fullmatch(text):  # a date as precise as the source gives it
        return text
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return _date(text)
    if len(text) <= len("2026-11-21"):
        return when.date().isoformat()
    return when.isoformat()


def _front_matter(block: str) -> dict[str, Any]:
    try:
        data = yaml.load(block, Loader=_FrontMatterLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        # +2: the opening '---' is line 1 of the file and YAML counts from 0.
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).split("\n")[0]
        raise Unusable(
            f"broken front matter: YAML error{where}: {problem} "
            "(fix the block between the '---' lines)"
        ) from None
    if data is None or data == "":
        return {}
    if not isinstance(data, dict):
        raise Unusable("front matter is not a list of 'key: value' lines")
    fields = {str(key).lower(): value for key, value in data.items()}
    fields.setdefault("published", fields.get("date"))
    fields.setdefault("language", fields.get("lang"))
    try:
        return FrontMatter.model_validate(fields).model_dump()
    except ValidationError as err:
        first = err.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise Unusable(f"front matter field '{name}': {message}") from None


class _MarkdownText(HTMLParser):
    """Plain text blocks of the HTML that ``markdown`` writes: one per paragraph,
    heading, list item, quote paragraph, code block or table row."""

    BLOCKS = frozenset("p h1 h2 h3 h4 h5 h6 li pre blockquote tr dt dd div hr ul ol table".split())
    SKIPPED = frozenset(("script", "style"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._parts: list[str] = []
        self._skipping = 0

    @classmethod
    def blocks(cls, html: str) -> list[tuple[str, str]]:
        """(tag, text) of each block of ``html``."""
        parser = cls()
        parser.feed(html)
        parser.close()
        parser._flush("")
        return parser.found

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self._parts.append("\n")
        elif tag in ("td", "th") and "".join(self._parts).strip():
            self._parts.append(" | ")
        elif tag == "img":
            self._parts.append(dict(attrs).get("alt") or "")
        elif tag in self.BLOCKS:
            self._flush(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BLOCKS:
            self._flush(tag)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._parts.append(data)

    def _flush(self, tag: str) -> None:
        text = _squeeze("".join(self._parts))
        self._parts.clear()
        if text:
            self.found.append((tag, text))


def html_text(html: str) -> str:
    """The text of an HTML fragment (a feed entry's content), one paragraph per block."""
    return "\n\n".join(block for _, block in _MarkdownText.blocks(html))


def from_html(html: str) -> dict[str, Any]:
    # trafilatura is imported here: importing it reads its settings file.
    import trafilatura
    from trafilatura.settings import Document
    from trafilatura.utils import load_html
    from trafilatura.xml import xmltotxt

    # A bare fragment (a saved article body) is refused, with a logged error, by
    # load_html unless wrapped in a page, as its docstring advises.
    if not _HTML_TAG.search(html):
        html = f"<html><body>{html}</body></html>"
    tree = load_html(html)
    if tree is None:
        raise Unusable("not an HTML page")
    # Read before extraction; trafilatura works on the parsed tree and is given no
    # URL, so neither it nor htmldate (its date finder) ever fetches anything.
    language = _html_language(tree)
    headline, publisher = _json_ld(tree)
    doc = trafilatura.bare_extraction(
        tree,
        with_metadata=True,
        include_comments=False,  # readers' comments are not the article
        include_tables=True,
    )
    if not isinstance(doc, Document) or doc.body is None:
        raise Unusable("no article text found in the page")
    # One paragraph per top-level block (paragraph, heading, list, table, quote).
    paragraphs = (_squeeze(xmltotxt(block, False)) for block in doc.body)
    body = "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
    if not body:
        raise Unusable("no article text found in the page")
    title = " ".join((headline or doc.title or "").split()) or _first_line_title(body)
    return {
        "title": title,
        "text": _lead_with(title, body),
        "source": publisher or doc.sitename or None,
        "url": doc.url or None,
        "published": doc.date or None,
        "author": doc.author or None,
        "language": language,
    }


def _html_language(tree: Any) -> str | None:
    """The page's language: <html lang>, else Content-Language, else og:locale."""
    lang = (tree.get("lang") or tree.get("xml:lang") or "").strip()
    if lang:
        return str(lang)
    for meta in tree.iterfind(".//meta[@content]"):
        name = (meta.get("http-equiv") or meta.get("property") or "").lower()
        if name in ("content-language", "og:locale"):
            return str(meta.get("content")).strip().replace("_", "-") or None
    return None


def _json_ld(tree: Any) -> tuple[str | None, str | None]:
    """The headline and publisher name of the page's schema.org article, if any.

    Preferred over og:title, as Readability does: og:title is a sharing title that
    often carries the site's name ("... | Aktuálně.cz"), the headline does not.
    """
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(_CDATA.sub("", script.text or ""), strict=False)
        except ValueError:
            continue
        for item in _json_ld_items(data):
            kinds = item.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if not any(isinstance(k, str) and k.endswith(("Article", "Posting")) for k in kinds):
                continue
            headline = item.get("headline")
            publisher = item.get("publisher")
            name = publisher.get("name") if isinstance(publisher, dict) else None
            return (
                headline.strip() if isinstance(headline, str) and headline.strip() else None,
                name.strip() if isinstance(name, str) and name.strip() else None,
            )
    return None, None


def _json_ld_items(data: object) -> Iterator[dict[str, Any]]:
    items = data if isinstance(data, list) else [data]
    for item in items:
        if isinstance(item, dict):
            yield item
            graph = item.get("@graph")
            if isinstance(graph, list):
                yield from (node for node in graph if isinstance(node, dict))
