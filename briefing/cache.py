"""A content-addressed cache of model answers, in SQLite.

The key is a hash of everything that decides the answer: the model name, the
rendered messages (so the template and the input text), the output schema and the
sampling settings. A re-run over unchanged articles therefore makes no model call,
and a run killed halfway redoes only the calls that had not finished: each answer
is committed as soon as it arrives. WAL mode lets concurrent runs read while one
writes.

Only validated answers are stored; the API key is never part of a key or a value.

:func:`compiled_templates` keeps the Jinja templates (prompts and pages) compiled
between runs, next to the answers.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from briefing.errors import ConfigError

SCHEMA_VERSION = 1
SQLITE_FULL = 13  # https://www.sqlite.org/rescode.html#full


def cache_key(**parts: Any) -> str:
    """A stable hash of the JSON form of ``parts``."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def compiled_templates(cache_dir: Path) -> jinja2.BytecodeCache | None:
    """Jinja's cache of compiled templates in ``cache_dir/templates``, or None when
    that folder cannot be made (the templates are then compiled on every run).

    Compiling the page and prompt templates takes about 0.1 s of every run, after
    the last answer for the page; loading them compiled takes a few ms. Jinja keys
    each entry by the template's name and checks its source, so an edited prompt is
    compiled again."""
    folder = cache_dir / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _BestEffort(str(folder))


class _BestEffort(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept where they can be: a full disk, a folder that became
    unwritable or a damaged entry costs only the compiling, never the run (Jinja's
    own class raises the OSError of a failed write out of ``get_template``)."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError):  # unreadable: compile afresh
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):  # Jinja removes its temporary file on any error
            super().dump_bytecode(bucket)


class CacheFull(ConfigError):
    """The cache's disk is full: the run can go on without the cache."""


def is_full(err: BaseException) -> bool:
    """Whether ``err`` says the disk (or the user's quota) is full."""
    if isinstance(err, OSError):
        return err.errno in (errno.ENOSPC, errno.EDQUOT)
    return getattr(err, "sqlite_errorcode", None) == SQLITE_FULL


def open_cache(path: Path, warn: Callable[[str], None] | None = None) -> Cache | None:
    """The answer cache at ``path``; on a full disk, ``warn`` is told why and the run
    goes on without one (None). A damaged cache file is still an error."""
    try:
        return Cache(path)
    except CacheFull as err:
        if warn is not None:
            warn(str(err))
        return None


class Cache:
    """Model answers by key. Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.failure: str | None = None  # the first error after opening, if any
        db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = db = sqlite3.connect(path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS answers ("
                " key TEXT PRIMARY KEY, step TEXT NOT NULL, answer TEXT NOT NULL,"
                " prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,"
                " created REAL NOT NULL DEFAULT (strftime('%s', 'now')))"
            )
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.commit()
        except (sqlite3.Error, OSError) as err:
            if db is not None:  # not left open to the garbage collector
                db.close()
            reason = err.strerror if isinstance(err, OSError) and err.strerror else err
            if is_full(err):
                raise CacheFull(
                    f"the answer cache {path} cannot be written ({reason}); this run keeps "
                    "no answers. Free some space there or set BRIEF_CACHE_DIR to another folder."
                ) from err
            raise ConfigError(
                f"cache {path}: {reason}. Remove the file, set BRIEF_CACHE_DIR to another "
                "folder, or run with --no-cache."
            ) from err

    def get(self, key: str) -> tuple[str, int, int] | None:
        """The stored answer and its token counts, or None (also when the cache has
        become unreadable during the run: the call is then made again)."""
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT answer, prompt_tokens, completion_tokens FROM answers WHERE key = ?",
                    (key,),
                ).fetchone()
            except sqlite3.Error as err:
                self.failure = self.failure or str(err)
                return None
        return (str(row[0]), int(row[1]), int(row[2])) if row else None

    def put(
        self, key: str, step: str, answer: str, prompt_tokens: int, completion_tokens: int
    ) -> None:
        """Store an answer. A cache that can no longer be written (a full disk, a
        damaged file) does not stop the run: the answer is used, only not kept, and
        :attr:`failure` says why."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO answers"
                    " (key, step, answer, prompt_tokens, completion_tokens)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (key, step, answer, prompt_tokens, completion_tokens),
                )
                self._db.commit()
            except sqlite3.Error as err:
                self.failure = self.failure or str(err)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
