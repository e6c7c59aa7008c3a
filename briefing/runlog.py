"""The run log: what went wrong in a run, with its traces, in brief's state folder.

The terminal gets one line per problem (:mod:`briefing.cli`); the trace behind an
unexpected one goes here, for a bug report. Every line is scrubbed before it is written
(:mod:`briefing.secrets`): the values of the environment's keys, tokens and
passwords, the API key given on the command line, passwords in URLs
(``http://user:pw@host``), ``Bearer`` tokens, terminal escape sequences. A log that
cannot be written (a read-only home, a full disk) is no reason to stop a run: brief
goes on without it.

The log rotates at :data:`MAX_BYTES`, keeping :data:`BACKUPS` old files.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
from pathlib import Path
from types import TracebackType

from briefing.secrets import Scrubber

MAX_BYTES = 1_000_000
BACKUPS = 3
LOGGER = "briefing"


class _Formatter(logging.Formatter):
    def __init__(self, scrub: Scrubber) -> None:
        super().__init__("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
        self.scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(super().format(record))


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.errors += 1


class RunLog:
    """A context in which brief's loggers write to ``path`` (scrubbed by ``scrub``),
    and an exception that ends a thread is logged there instead of printed."""

    def __init__(self, path: Path, scrub: Scrubber) -> None:
        self.path: Path | None = path
        self.scrub = scrub
        self._counter = _Counter()
        self._file: logging.Handler | None = None
        self._hook = threading.excepthook
        self._saved = (logging.NOTSET, True)

    @property
    def errors(self) -> int:
        """How many unexpected errors (logged with their traces) this run had."""
        return self._counter.errors

    def where(self) -> str:
        """Where the trace is, for a message to the user."""
        if self.path is None:
            return "no run log could be written"
        return f"the trace is in {self.path}"

    def __enter__(self) -> RunLog:
        logger = logging.getLogger(LOGGER)
        self._saved = (logger.level, logger.propagate)
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                handler = logging.handlers.RotatingFileHandler(
                    self.path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
                )
            except OSError:
                self.path = None
            else:
                handler.setFormatter(_Formatter(self.scrub))
                logger.addHandler(handler)
                self._file = handler
        logger.addHandler(self._counter)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # nothing of it reaches the terminal
        threading.excepthook = self._thread_died
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        logger = logging.getLogger(LOGGER)
        threading.excepthook = self._hook
        logger.setLevel(self._saved[0])
        logger.propagate = self._saved[1]
        logger.removeHandler(self._counter)
        if self._file is not None:
            logger.removeHandler(self._file)
            self._file.close()
            self._file = None

    def _thread_died(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "a thread"
        logging.getLogger(LOGGER).error(
            "%s ended with an error",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
        )
