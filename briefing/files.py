"""Files written so that a reader sees the old one or the whole new one, never half.

Briefings, the archive's pages, a job's state and the schedule's files all go through
:func:`atomic_write`: a temporary file in the same folder, flushed to disk, renamed
over the target (POSIX ``rename`` is atomic within a file system), then the folder
entry flushed too. A set of files that belong together (a briefing's formats, the
archive's pages) goes through :func:`write_set`: all of them are written before any
is renamed, so the set switches from the old files to the new ones at once.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from briefing.errors import RenderError


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the whole new one.

    The text goes to a temporary file in the same folder, is flushed to disk, then renamed
    over ``path``. On any error the temporary file is removed and ``path`` is untouched.
    """
    write_set({path: text})


def write_set(texts: Mapping[Path, str]) -> None:
    """Write each ``path: text`` (UTF-8) so that the set switches at once: all the new
    files, or, on any error, all the old ones as they were (a briefing's .md, .html and
    .json never mix two runs).

    Every text goes to a temporary file beside its target and is flushed to disk; only
    when all are written are they renamed over their targets. Should a rename fail
    midway, the targets already switched get their old files back (kept as hard links
    while the set switches) or, if they had none, are removed. No temporary is left.
    """
    data: dict[Path, bytes] = {}
    for path, text in texts.items():
        try:
            data[path] = text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise RenderError(f"could not write {path}: the text is not valid Unicode ({e})") from e
    temps: dict[Path, Path] = {}
    try:
        for path, blob in data.items():
            temps[path] = _temporary(path)
            _fill(temps[path], path, blob)
        _switch(temps)
    finally:
        for temp in temps.values():
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
    for folder in dict.fromkeys(path.parent for path in data):
        _sync_folder(folder)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def _fill(temp: Path, path: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``temp`` and flush it to disk."""
    try:
        # 0o666 and the user's umask, like any new file (tempfile would force 0o600).
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:
        raise RenderError(
            f"could not write {path}: {e.strerror or e}; check that {path.parent} exists "
            "and is writable"
        ) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise _failed(path, e) from e


def _switch(temps: Mapping[Path, Path]) -> None:
    """Rename each temporary over its target, or, if one rename fails, none."""
    kept: dict[Path, Path | bytes | None] = {}  # target -> its old file (None: there was none)
    try:
        for path in temps:
            kept[path] = _keep(path) if len(temps) > 1 else None
        done: list[Path] = []
        for path, temp in temps.items():
            try:
                os.replace(temp, path)
            except BaseException as e:
                _restore(done, kept)
                if isinstance(e, OSError):
                    raise _failed(path, e) from e
                raise
            done.append(path)
    finally:
        for old in kept.values():
            if isinstance(old, Path):
                with contextlib.suppress(OSError):
                    old.unlink(missing_ok=True)


def _keep(path: Path) -> Path | bytes | None:
    """The old file at ``path``, to put back: a hard link to it (no copy, no space), its
    bytes where the file system has no hard links, None if there is no file."""
    link = _temporary(path)
    try:
        os.link(path, link)
    except FileNotFoundError:
        return None
    except OSError:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise _failed(path, e) from e
    return link


def _restore(done: list[Path], kept: Mapping[Path, Path | bytes | None]) -> None:
    """Put back the old files of the targets in ``done`` (best effort, newest first)."""
    for path in reversed(done):
        old = kept[path]
        with contextlib.suppress(OSError, RenderError):
            if isinstance(old, Path):
                os.replace(old, path)
            elif isinstance(old, bytes):
                temp = _temporary(path)
                try:
                    _fill(temp, path, old)
                    os.replace(temp, path)
                finally:
                    temp.unlink(missing_ok=True)
            else:
                path.unlink(missing_ok=True)


def _failed(path: Path, e: OSError) -> RenderError:
    return RenderError(
        f"could not write {path}: {e.strerror or e}; check the free space and "
        f"permissions of {path.parent}"
    )


def _sync_folder(folder: Path) -> None:
    """Flush the folder entry of a renamed file to disk, where the OS allows it (POSIX)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
