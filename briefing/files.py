"""Files written so that a reader sees the old one or the whole new one, never half.

Briefings, the archive's pages, a job's state and the schedule's files all go through
:func:`atomic_write`: a temporary file in the same folder, flushed to disk, renamed
over the target (POSIX ``rename`` is atomic within a file system), then the folder
entry flushed too.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from briefing.errors import RenderError


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the whole new one.

    The text goes to a temporary file in the same folder, is flushed to disk, then renamed
    over ``path``. On any error the temporary file is removed and ``path`` is untouched.
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise RenderError(f"could not write {path}: the text is not valid Unicode ({e})") from e
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
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
        os.replace(temp, path)
        _sync_folder(path.parent)
    except BaseException as e:
        temp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise RenderError(
                f"could not write {path}: {e.strerror or e}; check the free space and "
                f"permissions of {path.parent}"
            ) from e
        raise


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
