"""Reading a folder of articles (.txt, .md, .html) into :class:`Article` records.

The folder is walked in sorted order, one file in memory at a time. A file that
cannot be used (binary, empty, too large, unreadable, unsupported, hidden, a link
out of the folder, the same text as an earlier file) becomes a :class:`Problem`
with a one-line reason; the other files are still read.
"""

from __future__ import annotations

import codecs
import collections
import hashlib
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

import charset_normalizer

from briefing.errors import InputError, unexpected
from briefing.formats import Unusable, domain, from_html, from_markdown, from_text
from briefing.models import Article, Problem

FORMATS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
READS = ".txt, .md, .html"
LISTED_PROBLEMS = 5  # how many skipped files an InputError names
MAX_DEPTH = 32  # folders below the input folder that are read; deeper ones are named
log = logging.getLogger(__name__)

# Byte order marks, longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BLANK_RUNS = re.compile(r"\n{3,}")
# Control characters, and the bidirectional controls that make a name read other
# than it is (Unicode TR36, 2.1; "Trojan Source", CVE-2021-42574).
# Surrogates stand for the bytes of a name that is not UTF-8 (PEP 383): they cannot
# be printed or written to a UTF-8 file.
_UNSAFE_NAME = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_REPLACEMENT = "\ufffd"
# The characters str.isspace() accepts (Python 3.11) other than " " and "\n".
_OTHER_SPACES = (
    "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def article_id(text: str) -> str:
    """First 16 hex digits of the sha256 of ``text`` with its whitespace normalised."""
    return hashlib.sha256(_squeezed(text).encode("utf-8")).hexdigest()[:16]


def _squeezed(text: str) -> str:
    """``" ".join(text.split())``, without the split when a read article has only
    single spaces and newlines, at most two in a row, for whitespace: the split makes a
    string per word (a third of reading a folder); these checks are C scans."""
    if not any(char in text for char in _OTHER_SPACES):
        squeezed = text.replace("\n\n", " ").replace("\n", " ")
        if "  " not in squeezed and squeezed[:1] != " " and squeezed[-1:] != " ":
            return squeezed
    return " ".join(text.split())


def iter_folder(
    folder: Path, *, max_bytes: int = 10_000_000, exclude: Path | None = None
) -> Iterator[Article | Problem]:
    """Yield an Article per usable file of ``folder`` (recursively, in sorted order)
    and a Problem per skipped file. Raises InputError if ``folder`` is not a folder.

    ``exclude`` is a folder not to read (brief's own output folder, when it lies
    inside the input folder: last run's briefing is not an article)."""
    _check_folder(folder)
    skip = exclude.resolve() if exclude is not None else None
    return _articles(folder, max_bytes, skip)


def read_folder(
    folder: Path, *, max_bytes: int = 10_000_000, exclude: Path | None = None
) -> tuple[list[Article], list[Problem]]:
    """Read every article of ``folder``; raises InputError if none is usable."""
    articles: list[Article] = []
    problems: list[Problem] = []
    for item in iter_folder(folder, max_bytes=max_bytes, exclude=exclude):
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
    except Unusable as err:
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


def _articles(root: Path, max_bytes: int, exclude: Path | None) -> Iterator[Article | Problem]:
    first_path: dict[str, str] = {}  # article id -> path of the first file with that text
    for path, skip, benign in _entries(root, root.resolve(), exclude):
        rel = _relative(path, root)
        if skip:
            yield _problem(rel, skip, skipped=benign)
            continue
        if _UNSAFE_NAME.search(rel):
            yield _problem(
                rel,
                "the name holds control characters or bytes that are not UTF-8: rename the file",
            )
            continue
        try:
            article = _read(path, rel, max_bytes)
        except Unusable as err:
            yield _problem(rel, str(err))
            continue
        except Exception as err:  # a file no reader foresaw costs only itself
            log.exception("reading %s", rel)
            yield _problem(rel, f"cannot be read: {unexpected(err)}")
            continue
        if article.id in first_path:
            yield _problem(rel, f"same text as {first_path[article.id]}")
            continue
        first_path[article.id] = rel
        yield article


def _problem(rel: str, reason: str, *, skipped: bool = False) -> Problem:
    """A Problem whose path and reason are safe to print on a terminal: a file name
    can hold escape sequences that would retitle or rewrite the user's terminal."""
    return Problem(path=_printable(rel), reason=_printable(reason), skipped=skipped)


def _printable(text: str) -> str:
    return _UNSAFE_NAME.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _entries(
    directory: Path, real_root: Path, exclude: Path | None = None
) -> Iterator[tuple[Path, str | None, bool]]:
    """Files to read under ``directory`` as (path, None, False), and the others as
    (path, reason, benign), in sorted order. Benign ones are not articles at all
    (hidden files, other file types, READMEs); the rest are articles brief cannot use.

    The walk keeps its own stack of open folders, at most :data:`MAX_DEPTH` deep: a
    recursive walk ends in a RecursionError on a folder nested ~1,000 levels deep."""
    listing = _listing(directory)
    if isinstance(listing, str):
        yield directory, listing, False
        return
    stack = [listing]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        path = Path(entry.path)
        try:
            kind = _kind(entry, path, real_root, exclude)
        except OSError as err:
            kind = (f"cannot read it: {_os_reason(err)}", False)
        if kind is not None:
            yield path, *kind
        elif len(stack) > MAX_DEPTH:
            reason = f"a folder more than {MAX_DEPTH} levels deep: not read (move its files up)"
            yield path, reason, False
        elif isinstance(listing := _listing(path), str):
            yield path, listing, False
        else:
            stack.append(listing)


def _listing(directory: Path) -> Iterator[os.DirEntry[str]] | str:
    """The folder's entries in sorted order, or the reason it cannot be read."""
    try:
        with os.scandir(directory) as scan:
            return iter(sorted(scan, key=lambda entry: entry.name))
    except OSError as err:
        return f"cannot open this folder: {_os_reason(err)}"


def _kind(
    entry: os.DirEntry[str], path: Path, real_root: Path, exclude: Path | None
) -> tuple[str | None, bool] | None:
    """What :func:`_entries` says of a file, as (reason or None, benign); None for a
    folder to walk into."""
    if entry.name.startswith("."):
        kind = "folder" if entry.is_dir(follow_symlinks=False) else "file"
        return f"hidden {kind}, skipped", True
    if entry.is_symlink():
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return "broken symbolic link", False
        if not target.is_relative_to(real_root):
            return f"symbolic link to {target}, outside the folder: not followed", False
        if target.is_dir():
            return "symbolic link to a folder: not followed (that folder is read itself)", True
    if entry.is_dir(follow_symlinks=False):
        if exclude is not None and path.resolve() == exclude:
            return "brief's output folder, skipped", True
        return None
    if not entry.is_file():
        return "not a regular file (a device, pipe or socket)", False
    if (suffix := path.suffix.lower()) not in FORMATS:
        kind = f"file type {suffix}" if suffix else "file without an extension"
        return f"unsupported {kind} (brief reads {READS})", True
    if path.stem.upper() == "README":
        return "a README, not an article: skipped", True
    return None, False


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
        raise Unusable(f"unsupported file type {path.suffix or '(none)'} (brief reads {READS})")
    text = _normalise(_decode(_read_bytes(path, max_bytes)))
    if not text:
        raise Unusable("empty file")
    if kind == "text":
        fields = from_text(text)
    elif kind == "markdown":
        fields = from_markdown(text)
    else:
        fields = from_html(text)
    body = fields.pop("text")
    if kind != "text":  # a .txt article is already normalised
        body = _normalise(body)
    if not body:
        raise Unusable("no article text found")
    source = fields.pop("source", None) or domain(fields.get("url")) or path.stem
    return Article(id=article_id(body), path=rel, text=body, source=source, **fields)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; a file over ``max_bytes`` is refused before it is read.

    Plain descriptor calls: open, fstat, read, close. ``path.stat()`` then
    ``path.open()`` made eight system calls per file (a buffered file also asks
    whether it is a terminal and where it stands), twice the time of these four.
    O_NONBLOCK: a named pipe opens at once (fstat then refuses it) instead of
    waiting for a writer; it changes nothing for a regular file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise Unusable("not a regular file")
            if info.st_size > max_bytes:
                raise Unusable(_too_large(info.st_size, max_bytes))
            # As many bytes as fstat gave, and one more: a read of max_bytes would
            # set aside that much memory for each file (a third of reading it).
            data = _read_fd(fd, info.st_size + 1)
            if len(data) > info.st_size:  # the file has grown since fstat
                data += _read_fd(fd, max_bytes + 1 - len(data))
        finally:
            os.close(fd)
    except OSError as err:
        raise Unusable(f"cannot read the file: {_os_reason(err)}") from None
    if len(data) > max_bytes:
        raise Unusable(_too_large(len(data), max_bytes))
    return data


def _read_fd(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes from ``fd``, fewer only at the end of the file."""
    parts: list[bytes] = []
    while size > 0:
        part = os.read(fd, size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _too_large(size: int, max_bytes: int) -> str:
    return (
        f"too large: {size:,} bytes, over the limit of {max_bytes:,} bytes "
        "(split it into smaller files)"
    )


def _os_reason(err: OSError) -> str:
    if isinstance(err, PermissionError):
        return "permission denied (check the file's permissions)"
    return (err.strerror or str(err)).lower()


def decode(data: bytes) -> str:
    """Text from bytes as brief reads a file's (raises Unusable for binary data)."""
    return _decode(data)


def _decode(data: bytes) -> str:
    """Text from bytes: a byte order mark, else UTF-8, else the detected charset."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise Unusable(f"binary file (not valid {encoding} after its mark)") from None
    if b"\x00" in data:
        raise Unusable("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few broken bytes (a cut multibyte character, a stray byte pasted
    # in) is still UTF-8: it has well-formed multibyte sequences, which Latin-1 or
    # cp1252 text next to never has (a letter from C2-DF followed by a C1 control).
    # The broken bytes become U+FFFD; the rest of the article is kept as written.
    lenient = data.decode("utf-8", errors="replace")
    broken = lenient.count(_REPLACEMENT)
    formed = sum(1 for ch in lenient if ord(ch) > 127) - broken
    if formed and broken <= 4 * formed:
        return lenient
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise Unusable("binary file (not text in any known encoding)")
    return str(best)


def _normalise(text: str) -> str:
    """NFC, Unix line ends, no trailing spaces, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    # Lines end in whitespace only after a space or another kind of whitespace: most
    # texts have neither, and these scans cost a tenth of cutting the text into lines.
    if " \n" in text or text.endswith(" ") or any(c in text for c in _OTHER_SPACES):
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    if "\n\n\n" in text:  # most texts have no run: `in` tells 15 times faster than re
        text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()


# Scripts that name their language well enough to set a page's language and
# direction; text in Latin or Cyrillic script says too little, and stays English.
_SCRIPTS = (
    (re.compile("[\u0590-\u05ff]"), "he"),
    (re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]"), "ar"),
    (re.compile("[\u3040-\u30ff]"), "ja"),  # kana: Japanese, even beside Han
    (re.compile("[\uac00-\ud7af]"), "ko"),
    (re.compile("[\u4e00-\u9fff]"), "zh"),
)


def language_of(articles: Sequence[Article]) -> str:
    """The language most of ``articles`` are in: the language their files declare
    (an HTML page's lang, front matter), else the one their script names (Arabic,
    Hebrew, Japanese, Korean, Chinese), else English."""
    found: collections.Counter[str] = collections.Counter()
    for article in articles:
        declared = (article.language or "").strip()
        found[declared or _script_language(article.text)] += 1
    return found.most_common(1)[0][0] if found else "en"


def _script_language(text: str) -> str:
    sample = text[:2000]
    letters = sum(1 for char in sample if char.isalpha()) or 1
    for script, language in _SCRIPTS:
        if len(script.findall(sample)) * 3 >= letters:  # a third of the letters at least
            return language
    return "en"
