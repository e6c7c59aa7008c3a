"""How what went wrong reaches the person at the terminal: the CLI's last line of defence.

Each command of :mod:`briefing.cli` runs inside :func:`errors`. A :class:`BriefError`
is one line on stderr and its exit code. Any other exception is logged with its trace
to the run log (:mod:`briefing.runlog`) and shown as one line naming the error, where
in brief it came from and where the trace is (exit 1): never a traceback on the
terminal. Every line shown or logged is scrubbed first (:mod:`briefing.secrets`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path

from briefing.console import log_path
from briefing.errors import EXIT_FAILED, BriefError, unexpected
from briefing.models import Problem
from briefing.runlog import RunLog
from briefing.secrets import Scrubber, secrets, url_secrets

runs = logging.getLogger("briefing.cli")  # the run log's lines about the run itself


def say(text: str) -> None:
    """One line on stderr."""
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def errors(api_key: str | None = None, base_url: str | None = None) -> Iterator[RunLog]:
    """Show a BriefError as one line on stderr and exit with its code; any other
    exception as one line naming where it came from and where its trace is (exit 1).
    What reaches the terminal and the log is scrubbed of the environment's secrets,
    of ``api_key`` (a flag's) and of the password in ``base_url``."""
    urls = [base_url, os.environ.get("OPENAI_BASE_URL")]
    given = [api_key, *(value for url in urls for value in url_secrets(url))]
    scrub = Scrubber(secrets(os.environ, given))
    with RunLog(log_path(), scrub) as log:
        runs.info("brief %s", " ".join(sys.argv[1:]))
        try:
            yield log
        except BriefError as err:
            runs.warning("%s", err)
            say(f"brief: {scrub.line(str(err))}")
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            say("brief: interrupted; nothing was written.")
            sys.exit(130)
        except Exception as err:
            runs.exception("unexpected error")
            say(f"brief: {scrub.line(_unforeseen(err, log))}")
            sys.exit(EXIT_FAILED)


def last_resort(err: Exception) -> None:
    """For an exception from outside any :func:`errors` (a command without one)."""
    with RunLog(log_path(), Scrubber(secrets(os.environ))) as log:
        runs.exception("unexpected error in brief %s", " ".join(sys.argv[1:]))
        say(f"brief: {log.scrub.line(_unforeseen(err, log))}")
    sys.exit(EXIT_FAILED)


def problems(log: RunLog, found: Iterable[Problem], *, skipped: bool = True) -> None:
    """Name each file or article left out (and, with ``skipped``, each file skipped)
    on stderr and in the run log."""
    for problem in found:
        if problem.skipped and not skipped:
            continue
        verb = "skipped" if problem.skipped else "left out"
        say(log.scrub.line(f"brief: {verb} {problem.path}: {problem.reason}"))
        level = logging.INFO if problem.skipped else logging.WARNING
        runs.log(level, "%s %s: %s", verb, problem.path, problem.reason)


def _unforeseen(err: Exception, log: RunLog) -> str:
    return f"{unexpected(err).split(';')[0]} in {origin(err)}; {log.where()}. Please report it."


def origin(err: BaseException) -> str:
    """Where in brief an exception was raised: the innermost frame of brief's own
    code (file:line, function), else the innermost frame."""
    frames = traceback.extract_tb(err.__traceback__)
    ours = [f for f in frames if f"{os.sep}briefing{os.sep}" in f.filename] or frames
    if not ours:
        return "brief"
    frame = ours[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} ({frame.name})"
