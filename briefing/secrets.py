"""The one place where text that came from outside is made safe to show or write.

A server's error message, a refusal, an SMTP reply or an exception's text can repeat
what brief sent: the API key in an Authorization header, the password in a
``--base-url http://user:pw@host`` or after an SMTP login. It can also hold terminal
escape sequences (``ESC]0;title BEL`` retitles the terminal, ``ESC[2J`` clears it).
A :class:`Scrubber` takes out both; every message brief prints, logs or writes into
a briefing passes through one: the model boundary's errors (:mod:`briefing.llm`),
the mail's (:mod:`briefing.mail`), the terminal and the run logs
(:mod:`briefing.cli`, :mod:`briefing.runlog`, :mod:`briefing.jobs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

# Environment variables whose values are secrets: OPENAI_API_KEY, BRIEF_SMTP_PASSWORD, ...
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
SHORTEST_SECRET = 4  # shorter values would scrub ordinary words
MASK = "***"
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")
# ESC-introduced sequences first (CSI ... final byte; OSC/DCS/APC ... BEL or ST), so that
# their parameters go with them; then any other control character, and the
# bidirectional controls that make text read other than it is.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def secrets(env: Mapping[str, str], given: Iterable[str | None] = ()) -> list[str]:
    """The secret values to scrub: the environment's keys, tokens and passwords, and
    the ``given`` ones (an --api-key flag, a password from the keyring), longest first."""
    found = {value for name, value in env.items() if SECRET_NAME.search(name)}
    found.update(value for value in given if value)
    return sorted((v for v in found if len(v) >= SHORTEST_SECRET), key=len, reverse=True)


def url_secrets(url: str | None) -> list[str]:
    """The password (and user) a URL carries, as written and decoded."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [value for value in (parts.password, parts.username) if value]
    return found + [unquote(value) for value in found]


class Scrubber:
    """Takes secrets out of a text: each known value, URL passwords, Bearer tokens;
    and the control characters and escape sequences that would act on a terminal."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values = sorted(
            {v for v in values if len(v) >= SHORTEST_SECRET}, key=len, reverse=True
        )

    def with_values(self, values: Iterable[str]) -> Scrubber:
        """This scrubber, knowing ``values`` too."""
        return Scrubber([*self.values, *values])

    def __call__(self, text: str) -> str:
        """``text`` without secrets or escapes; line breaks and tabs are kept (a trace)."""
        for value in self.values:
            text = text.replace(value, MASK)
        text = _USERINFO.sub(MASK + "@", text)
        text = _BEARER.sub(r"\1" + MASK, text)
        return _CONTROL.sub(" ", _ESCAPES.sub(" ", text))

    def line(self, text: str) -> str:
        """``text`` scrubbed, on one line: for the terminal and one-line messages."""
        return " ".join(self(text).split())
