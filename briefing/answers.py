"""What a chat-completions server sends back, checked before brief uses any of it.

The ``openai`` client builds its objects without validation and hands back the bare
text of an answer that is not JSON (a proxy's "502 Bad Gateway" page sent as 200):
code that reads ``response.choices[0].message`` then fails with AttributeError.
:func:`completion` validates the body into brief's own small models instead, and an
answer of any other shape is :class:`Garbled`: a passing fault, tried again like a
5xx (:mod:`briefing.llm`).
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field, ValidationError

SERVER_TEXT = 300  # characters of a server's error message shown
GARBLED_TEXT = 80  # characters shown of an answer that is not JSON


class Garbled(Exception):
    """A 2xx answer that is not a chat completion: an HTML error page from a proxy,
    JSON of another shape, bytes. A passing fault, tried again like a 5xx."""


class Message(BaseModel):
    content: str | None = None
    refusal: str | None = None


class Choice(BaseModel):
    message: Message
    finish_reason: str | None = None


class Usage(BaseModel):
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)


class Completion(BaseModel):
    """What brief reads of a chat completion; every answer is checked against it
    before use."""

    choices: list[Choice]
    usage: Usage | None = None


def completion(content_type: str, body: bytes) -> Completion:
    """The answer's body as a :class:`Completion`; :class:`Garbled` if it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        kind = content_type.split(";")[0].strip() or "no content type"
        text = body[:GARBLED_TEXT].decode("utf-8", "replace")
        raise Garbled(f"{kind}, not JSON: {' '.join(text.split())[:GARBLED_TEXT]!r}") from None
    if isinstance(data, dict) and "choices" not in data and "error" in data:
        error = data["error"]
        said = error.get("message") if isinstance(error, dict) else error
        raise Garbled(f"an error in a 200 answer: {str(said)[:SERVER_TEXT]}")
    try:
        return Completion.model_validate(data)
    except ValidationError as err:
        raise Garbled(f"JSON of another shape ({describe(err)})") from None


def describe(err: Exception) -> str:
    """A validation error as a short line (its first five faults), for a message or a
    re-ask; any other error as its text."""
    if isinstance(err, ValidationError):
        parts = []
        for item in err.errors()[:5]:
            where = ".".join(str(p) for p in item["loc"]) or "answer"
            parts.append(f"{where}: {item['msg']}")
        return "; ".join(parts)
    return str(err)
