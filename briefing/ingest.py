"""Reading a folder of articles (.txt, .md, .html) into :class:`Article` records.

The folder is walked in sorted order, one file in memory at a time. A file that
cannot be used (binary, empty, too large, unreadable, unsupported, hidden, a link
out of the folder, the same text as an earlier file) becomes a :class:`Problem`
with a one-line reason; the other files are still read.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import os
import re
import stat
import textwrap
import unicodedata
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import charset_normalizer
import markdown
import yaml

from briefing.errors import InputError
from briefing.models import Article, Problem

FORMATS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
READS = ".txt, .md, .html"
TITLE_MAX = 200  # a first line longer than this is a paragraph, not a headline
LISTED_PROBLEMS = 5  # how many skipped files an InputError names

# Byte order marks, longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BLANK_RUNS = re.compile(r"\n{3,}")
# YAML front matter: a first line '---', the YAML, then a line '---' (or '...').
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_HTML_TAG = re.compile(r"<html[\s>]", re.IGNORECASE)
# Readability strips this wrapper from JSON-LD before parsing it (Readability.js,
# _getJSONLD); some sites (aktualne.cz) wrap their JSON-LD in it.
_CDATA = re.compile(r"^\s*<!\[CDATA\[|\]\]>\s*$")


class _Unusable(Exception):
    """A file brief cannot use; the message is the one-line reason."""


# --- Public API ----------------------------------------------------------------------------


def article_id(text: str) -> str:
    """First 16 hex digits of the sha256 of ``text`` with its whitespace normalised."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


def iter_folder(folder: Path, *, max_bytes: int = 10_000_000) -> Iterator[Article | Problem]:
    """Yield an Article per usable file of ``folder`` (recursively, in sorted order)
    and a Problem per skipped file. Raises InputError if ``folder`` is not a folder."""
    _check_folder(folder)
    return _articles(folder, max_bytes)


def read_folder(
    folder: Path, *, max_bytes: int = 10_000_000
) -> tuple[list[Article], list[Problem]]:
    """Read every article of ``folder``; raises InputError if none is usable."""
    articles: list[Article] = []
    problems: list[Problem] = []
    for item in iter_folder(folder, max_bytes=max_bytes):
        if isinstance(item, Article):
            articles.append(item)
        else:
            problems.append(item)
    if not articles:
        raise InputError(_no_article_message(folder, problems))
    return articles, problems


def read_article(path: Path, root: Path, *, max_bytes: int = 10_000_000) -> Article:
    """Read one article file; ``root`` is the input folder its path is given relative to.
    Raises InputError naming the file and the reason it cannot be used."""
    try:
        return _read(path, _relative(path, root), max_bytes)
    except _Unusable as err:
        raise InputError(f"Cannot use {path}: {err}.") from None


# --- Walking the folder --------------------------------------------------------------------


def _check_folder(folder: Path) -> None:
    if not folder.exists():
        raise InputError(
            f"Input folder {folder} does not exist. Check the path, or create it and put "
            f"the articles ({READS}) in it."
        )
    if not folder.is_dir():
        raise InputError(
            f"Input {folder} is not a folder. Give the folder that holds the articles "
            f"({READS}), not a single file."
        )


def _articles(root: Path, max_bytes: int) -> Iterator[Article | Problem]:
    first_path: dict[str, str] = {}  # article id -> path of the first file with that text
    for path, skip, benign in _entries(root, root.resolve()):
        rel = _relative(path, root)
        if skip:
            yield Problem(path=rel, reason=skip, skipped=benign)
            continue
        try:
            article = _read(path, rel, max_bytes)
        except _Unusable as err:
            yield Problem(path=rel, reason=str(err))
            continue
        if article.id in first_path:
            yield Problem(path=rel, reason=f"same text as {first_path[article.id]}")
            continue
        first_path[article.id] = rel
        yield article


def _entries(directory: Path, real_root: Path) -> Iterator[tuple[Path, str | None, bool]]:
    """Files to read under ``directory`` as (path, None, False), and the others as
    (path, reason, benign), in sorted order. Benign ones are not articles at all
    (hidden files, other file types, READMEs); the rest are articles brief cannot use."""
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as err:
        yield directory, f"cannot open this folder: {_os_reason(err)}", False
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            kind = "folder" if entry.is_dir(follow_symlinks=False) else "file"
            yield path, f"hidden {kind}, skipped", True
            continue
        if entry.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                yield path, "broken symbolic link", False
                continue
            if not target.is_relative_to(real_root):
                yield path, f"symbolic link to {target}, outside the folder: not followed", False
                continue
            if target.is_dir():
                yield (
                    path,
                    "symbolic link to a folder: not followed (that folder is read itself)",
                    True,
                )
                continue
        if entry.is_dir(follow_symlinks=False):
            yield from _entries(path, real_root)
        elif not entry.is_file():
            yield path, "not a regular file (a device, pipe or socket)", False
        elif (suffix := path.suffix.lower()) not in FORMATS:
            kind = f"file type {suffix}" if suffix else "file without an extension"
            yield path, f"unsupported {kind} (brief reads {READS})", True
        elif path.stem.upper() == "README":
            yield path, "a README, not an article: skipped", True
        else:
            yield path, None, False


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _no_article_message(folder: Path, problems: list[Problem]) -> str:
    if not problems:
        return f"Input folder {folder} holds no article. Put the articles ({READS}) in it."
    listed = "; ".join(f"{p.path} ({p.reason})" for p in problems[:LISTED_PROBLEMS])
    more = len(problems) - LISTED_PROBLEMS
    if more > 0:
        listed += f"; and {more} more"
    return (
        f"Input folder {folder} holds no usable article: skipped {len(problems)} "
        f"file{'s' if len(problems) != 1 else ''}: {listed}. "
        f"Fix these files or add articles ({READS})."
    )


# --- Reading one file ----------------------------------------------------------------------


def _read(path: Path, rel: str, max_bytes: int) -> Article:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise _Unusable(f"unsupported file type {path.suffix or '(none)'} (brief reads {READS})")
    text = _normalise(_decode(_read_bytes(path, max_bytes)))
    if not text:
        raise _Unusable("empty file")
    if kind == "text":
        fields = _from_text(text)
    elif kind == "markdown":
        fields = _from_markdown(text)
    else:
        fields = _from_html(text)
    body = fields.pop("text")
    if kind != "text":  # a .txt article is already normalised
        body = _normalise(body)
    if not body:
        raise _Unusable("no article text found")
    source = fields.pop("source", None) or _domain(fields.get("url")) or path.stem
    return Article(id=article_id(body), path=rel, text=body, source=source, **fields)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; a file over ``max_bytes`` is refused before it is read."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise _Unusable("not a regular file")
        if info.st_size > max_bytes:
            raise _Unusable(_too_large(info.st_size, max_bytes))
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)  # the file may have grown since stat
    except OSError as err:
        raise _Unusable(f"cannot read the file: {_os_reason(err)}") from None
    if len(data) > max_bytes:
        raise _Unusable(_too_large(len(data), max_bytes))
    return data


def _too_large(size: int, max_bytes: int) -> str:
    return (
        f"too large: {size:,} bytes, over the limit of {max_bytes:,} bytes "
        "(split it, or raise the limit)"
    )


def _os_reason(err: OSError) -> str:
    if isinstance(err, PermissionError):
        return "permission denied (check the file's permissions)"
    return (err.strerror or str(err)).lower()


def _decode(data: bytes) -> str:
    """Text from bytes: a byte order mark, else UTF-8, else the detected charset."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise _Unusable(f"binary file (not valid {encoding} after its mark)") from None
    if b"\x00" in data:
        raise _Unusable("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise _Unusable("binary file (not text in any known encoding)")
    return str(best)


def _normalise(text: str) -> str:
    """NFC, Unix line ends, no trailing spaces, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _first_line_title(text: str) -> str:
    line = next((line.strip() for line in text.split("\n") if line.strip()), "")
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


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return host or None


# --- Formats -------------------------------------------------------------------------------


def _from_text(text: str) -> dict[str, Any]:
    # The headline stays the first paragraph of the text: headlines carry framing.
    return {"title": _first_line_title(text), "text": text}


def _from_markdown(text: str) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        meta = _front_matter(match.group(1))
        text = text[match.end() :]
    elif text.startswith("---\n"):
        raise _Unusable("front matter is not closed: add a line '---' after it")
    blocks = _MarkdownText.blocks(markdown.markdown(text, extensions=["extra"]))
    body = "\n\n".join(block for _, block in blocks)
    if not body:
        raise _Unusable("no text after the front matter" if match else "no text, only markup")
    heading = next((block for tag, block in blocks if tag == "h1"), None)
    title = _text_field(meta.get("title")) or heading or _first_line_title(body)
    title = " ".join(title.split())
    return {
        "title": title,
        "text": _lead_with(title, body),
        "source": _text_field(meta.get("source")),
        "url": _text_field(meta.get("url")),
        "published": _text_field(meta.get("published", meta.get("date"))),
        "author": _text_field(meta.get("author")),
        "language": _text_field(meta.get("language", meta.get("lang"))),
    }


def _front_matter(block: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        # +2: the opening '---' is line 1 of the file and YAML counts from 0.
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).split("\n")[0]
        raise _Unusable(
            f"broken front matter: YAML error{where}: {problem} "
            "(fix the block between the '---' lines)"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _Unusable("front matter is not a list of 'key: value' lines")
    return {str(key).lower(): value for key, value in data.items()}


def _text_field(value: object) -> str | None:
    """A front matter value as text (YAML reads dates as dates)."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    return " ".join(str(value).split()) or None


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


def _from_html(html: str) -> dict[str, Any]:
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
        raise _Unusable("not an HTML page")
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
        raise _Unusable("no article text found in the page")
    # One paragraph per top-level block (paragraph, heading, list, table, quote).
    paragraphs = (_squeeze(xmltotxt(block, False)) for block in doc.body)
    body = "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
    if not body:
        raise _Unusable("no article text found in the page")
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
