"""The one error hierarchy of brief.

Every error brief raises on purpose is a :class:`BriefError`. Its message is
written for the person at the terminal: it names the file, field or setting at
fault and says what to do. The CLI prints the message (never a traceback) and
exits with :attr:`BriefError.exit_code`.

Exit codes (also in ``brief --help``):

* 0: the briefing was written.
* 1: the run failed (server, model, output or configuration problem).
* 2: bad usage: a wrong option, a missing folder, no usable article.
* 3: partial: the briefing was written, but some files or articles were left out.
* 4: busy: another run of the same scheduled job is still going; this one did nothing.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_BUSY = 4


class BriefError(Exception):
    """Base class: a problem with a message that tells the user what to do."""

    exit_code: int = EXIT_FAILED


class ConfigError(BriefError):
    """A setting is missing or has a wrong value (flag, environment or config file)."""


class InputError(BriefError):
    """The input folder is missing, unreadable, or holds no usable article."""

    exit_code = EXIT_USAGE


class PromptError(BriefError):
    """A prompt template is missing, broken, or uses a variable brief does not pass."""


class LLMError(BriefError):
    """The model server could not be used: unreachable, wrong key, unknown model, ..."""


class CallError(LLMError):
    """One model call failed for good: its retries or its re-ask were used up.

    The run goes on without the article or story the call was for, and names it."""


class BudgetError(CallError):
    """A call was not sent: it would take the run past its token budget (--max-tokens)."""


class OutputError(CallError):
    """The model's answer did not fit the expected schema, even after one re-ask."""


class EngineError(BriefError):
    """The embedded local model or its server engine is missing or broken."""


class RenderError(BriefError):
    """A briefing could not be rendered or written."""


class JobError(BriefError):
    """A scheduled job is unknown, badly configured, or could not be (un)installed."""


class BusyError(JobError):
    """Another run of the same job holds its lock."""

    exit_code = EXIT_BUSY


class FeedError(BriefError):
    """A news feed or one of its pages could not be fetched or read (a job's sources).

    During ``brief run`` it costs only its feed or entry, which is named in the
    briefing's left-out list; ``brief sources`` raises it for a bad URL or name."""


class MailError(BriefError):
    """The briefing could not be sent by email (settings, server, login)."""


class UnsentError(MailError):
    """A job's briefing was published but its email failed: the email waits in the
    job's state, and the next run sends it (without briefing again)."""


def unexpected(err: BaseException) -> str:
    """An exception brief did not foresee, in one short line for a message: its type
    and its text. The trace goes to the run log (see :mod:`briefing.runlog`)."""
    text = " ".join(str(err).split())
    if len(text) > 200:
        text = text[:200] + "…"
    name = type(err).__name__
    return (
        f"unexpected {name}: {text}; the trace is in the run log"
        if text
        else (f"unexpected {name}; the trace is in the run log")
    )
