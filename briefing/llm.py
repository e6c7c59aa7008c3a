"""The boundary to the model: any OpenAI-compatible chat-completions server.

:meth:`LLM.ask` sends rendered messages and returns a validated Pydantic object.
The model is the contract: its JSON schema goes with the request as
``response_format`` ``json_schema`` (strict). Servers that refuse that get
``json_object`` with the schema attached (llama-cpp-python's form), then plain
``json_object``; the first form a server accepts is kept for the rest of the run.
An answer that is not valid JSON for the schema (or empty, or a refusal) is
re-asked once with the validation error; a second failure is an
:class:`OutputError` naming the subject.

Passing faults (429, 5xx, a lost connection, a timeout, a garbled response) are
tried again with the bounded backoff of :mod:`briefing.backoff`, which honours
``Retry-After`` and pauses every call of the run when the server asks for it.
When the tries are used up the call fails with a :class:`CallError` naming the
subject and the cause, and the run goes on without that article; a server that
cannot be reached at all, or that refuses the key or the model, fails the run.

Every request's token usage goes into the run's :class:`Usage`; answers are
cached by content (see :mod:`briefing.cache`).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import re
import threading
from typing import Any, TypeVar, cast

import openai

# openai imports its chat resource on first use (0.05 s); imported with brief, it no
# longer holds up a run's first requests, which all wait for that import.
import openai.resources.chat.chat
from pydantic import BaseModel, ValidationError

from briefing.answers import SERVER_TEXT, Garbled, completion, describe
from briefing.backoff import Backoff, retried, retry_after
from briefing.budget import Budget
from briefing.cache import Cache, cache_key
from briefing.deadline import Deadline
from briefing.errors import BriefError, CallError, LLMError, OutputError, unexpected
from briefing.models import Usage, json_schema
from briefing.secrets import Scrubber, url_secrets
from briefing.slots import Slots

T = TypeVar("T", bound=BaseModel)

MODES = ("json_schema", "json_object_schema", "json_object")
log = logging.getLogger(__name__)
_ERROR_CODE = re.compile(r"^Error code: \d+ - ")
_REFUSED_REQUEST = frozenset({400, 413, 422})  # bad request, too large, unprocessable
NO_KEY = "sk-no-key-needed"


def make_client(
    base_url: str | None,
    api_key: str | None,
    *,
    timeout: float = 300.0,
    max_retries: int = 0,
    http_client: Any = None,
) -> openai.OpenAI:
    """An ``openai`` client; servers that need no key get a placeholder.

    By default the client itself does not retry: :class:`LLM` does, so that one
    ``Retry-After`` can pause every call of the run (:mod:`briefing.backoff`).
    """
    return openai.OpenAI(
        base_url=base_url,
        api_key=api_key or NO_KEY,
        timeout=timeout,
        max_retries=max_retries,
        http_client=http_client,
    )


@functools.cache  # built once per model
def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the strict form OpenAI requires: every object
    closed (``additionalProperties: false``) and every property required; item
    citations come last. Cached: callers must not change the result."""
    schema = copy.deepcopy(json_schema(model))

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                # Citations last: a model writing in schema order states the item
                # first, then the sentences it took it from.
                properties = node["properties"]
                node["properties"] = {
                    key: properties[key] for key in sorted(properties, key=lambda k: k == "cites")
                }
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            for key, value in node.items():
                if key != "default":
                    close(value)
            node.pop("default", None)
        elif isinstance(node, list):
            for item in node:
                close(item)

    close(schema)
    return schema


class LLM:
    """Structured calls to one model on one server. Thread-safe."""

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        *,
        usage: Usage | None = None,
        cache: Cache | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1200,
        mode: str = "json_schema",
        backoff: Backoff | None = None,
        budget: Budget | None = None,
        slots: int | None = None,
        scrub: Scrubber | None = None,
    ) -> None:
        if mode not in MODES:
            raise LLMError(f"unknown structured-output mode {mode!r}; use one of {MODES}.")
        self.client = client
        self.model = model
        self.usage = usage if usage is not None else Usage()
        self.cache = cache
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.mode = mode
        self.backoff = backoff if backoff is not None else Backoff()
        self.budget = budget
        # What errors must not show: the key and the password of a user:pw@ base URL.
        key = getattr(client, "api_key", None)
        secrets = [key] if key and key != NO_KEY else []
        secrets += url_secrets(str(getattr(client, "base_url", "")))
        self.scrub = (scrub or Scrubber()).with_values(secrets)
        # At most ``slots`` requests in flight, however many threads ask: see slots.py.
        self._slots = Slots(slots, client) if slots else None
        self._lock = threading.Lock()

    def ask(self, step: str, messages: list[dict[str, str]], output: type[T], *, subject: str) -> T:
        """Send ``messages`` and return the answer as ``output``.

        ``subject`` names what the call is about (an article, a story) in errors.
        Every call ends as an answer or a :class:`BriefError`: whatever else goes wrong
        in it (a fault no branch here foresaw) is logged with its trace and fails the
        call as a :class:`CallError`, so it costs only its subject.
        """
        try:
            return self._ask(step, messages, output, subject=subject)
        except BriefError as err:
            # Whatever the server said (a refusal, an error page) may repeat the key
            # or hold terminal escapes: every message leaves scrubbed, on one line.
            said = self.scrub.line(str(err))
            if said == str(err):
                raise
            raise type(err)(said) from err.__cause__
        except Exception as err:
            log.exception("model call for %s", subject)
            raise CallError(self.scrub.line(f"{subject}: {unexpected(err)}")) from err

    def _ask(
        self, step: str, messages: list[dict[str, str]], output: type[T], *, subject: str
    ) -> T:
        schema = strict_schema(output)
        key = cache_key(
            model=self.model,
            messages=messages,
            schema=schema,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
        )
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            with self._lock:
                self.usage.add_cached(step)
            return output.model_validate_json(hit[0])

        conversation = list(messages)
        prompt_tokens = completion_tokens = 0
        for attempt in (1, 2):
            content, finish, used = self._metered(step, conversation, output, schema, subject)
            prompt_tokens += used[0]
            completion_tokens += used[1]
            try:
                if finish == "refusal":
                    raise ValueError(f"the model refused to answer ({content.strip()[:200]})")
                if finish == "empty":
                    raise ValueError("the server's response held no answer (no choices)")
                if finish == "length":
                    raise ValueError(
                        f"the answer was cut off at {self.max_tokens} tokens; answer more briefly"
                    )
                answer = _strip_fences(content)
                result = output.model_validate_json(answer)
            except (ValidationError, ValueError) as err:
                problem = describe(err)
                if attempt == 2:
                    raise OutputError(
                        f"{subject}: the model's answer did not fit the {output.__name__} "
                        f"schema, even after one re-ask: {problem}. Try a larger model "
                        "(--model) or a smaller --chunk-tokens."
                    ) from err
                if finish == "length":
                    # Showing the model its cut-off answer would only leave less room
                    # for the new one: ask afresh, for less.
                    conversation = [
                        *messages,
                        {
                            "role": "user",
                            "content": "Your previous answer was too long and was cut off. "
                            "Answer again, much more briefly: fewer items, short sentences.",
                        },
                    ]
                    continue
                conversation += [
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": f"That answer is not valid: {problem}. "
                        "Reply again with corrected JSON only.",
                    },
                ]
                continue
            if self.cache is not None:
                # The answer as the server sent it, not as validated: validation cuts
                # and cleans, and doing that twice need not give the same text, which
                # would change the next prompt and miss the cache on a re-run.
                self.cache.put(key, step, answer, prompt_tokens, completion_tokens)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _metered(
        self,
        step: str,
        messages: list[dict[str, str]],
        output: type[BaseModel],
        schema: dict[str, Any],
        subject: str,
    ) -> tuple[str, str | None, tuple[int, int]]:
        """:meth:`_complete` within the run's token budget, if it has one."""
        if self.budget is None:
            return self._complete(step, messages, output, schema, subject)
        held = self.budget.reserve(messages, self.max_tokens, subject=subject)
        used: int | None = None
        try:
            result = self._complete(step, messages, output, schema, subject)
            used = sum(result[2]) or None
            return result
        finally:
            self.budget.settle(held, used)

    def _complete(
        self,
        step: str,
        messages: list[dict[str, str]],
        output: type[BaseModel],
        schema: dict[str, Any],
        subject: str,
    ) -> tuple[str, str | None, tuple[int, int]]:
        """One request, switching to a fallback output mode if the server refuses one,
        and trying again (bounded, with backoff) after passing faults."""
        tries = 0
        while True:
            mode = self.mode
            tries += 1
            self.backoff.wait_turn()
            try:
                with (
                    self._slots.held() if self._slots else contextlib.nullcontext(),
                    Deadline(_seconds(getattr(self.client, "timeout", None))) as deadline,
                    self.client.chat.completions.with_streaming_response.create(
                        model=self.model,
                        messages=cast(Any, messages),
                        temperature=self.temperature,
                        max_tokens=self.max_tokens,
                        response_format=cast(Any, _response_format(mode, output.__name__, schema)),
                    ) as raw,
                ):
                    body = deadline.read(raw)
                response = completion(raw.headers.get("content-type", ""), body)
            except openai.BadRequestError as err:
                if _refuses_format(err) and mode != MODES[-1]:
                    with self._lock:
                        if self.mode == mode:
                            self.mode = MODES[MODES.index(mode) + 1]
                    tries -= 1  # not a fault: the same request in another form
                    continue
                raise self._error(err, subject, tries) from err
            except (openai.OpenAIError, Garbled) as err:
                if not self._pause(err, tries):
                    raise self._error(err, subject, tries) from err
                continue
            used = response.usage
            tokens = (used.prompt_tokens, used.completion_tokens) if used else (0, 0)
            with self._lock:
                self.usage.add(step, *tokens)
            if not response.choices:
                return "", "empty", tokens
            message = response.choices[0].message
            if message.refusal and not message.content:
                return message.refusal, "refusal", tokens
            return message.content or "", response.choices[0].finish_reason, tokens

    def _pause(self, err: Exception, tries: int) -> bool:
        """Wait before the next try of a call that met ``err``; False if it is not
        a passing fault or its tries are used up."""
        if isinstance(err, openai.APIStatusError):
            if not retried(err.status_code):
                return False
            wait = retry_after(err.response.headers)
        elif isinstance(err, openai.APIConnectionError | Garbled):
            wait = None
        else:
            return False
        if tries > self.backoff.retries:
            return False
        if wait is not None:
            if not self.backoff.honours(wait):
                return False  # a wait longer than a run should take: fail now
            self.backoff.pause_all(wait)  # every call of the run waits, not just this one
        else:
            self.backoff.sleep(self.backoff.delay(tries))
        return True

    def _error(self, err: Exception, subject: str, tries: int = 1) -> LLMError:
        """The error for a call that failed for good (:meth:`ask` scrubs its message).

        A :class:`CallError` (the run goes on without ``subject``) for faults of one
        call; a plain :class:`LLMError` (the run stops) for a server brief cannot use."""
        kind, text = self._explain(err, subject, tries)
        return kind(text)

    def _explain(self, err: Exception, subject: str, tries: int) -> tuple[type[LLMError], str]:
        base = str(self.client.base_url).rstrip("/")
        after = f" (after {tries} tries)" if tries > 1 else ""
        again = "Run again later (finished answers are cached)"
        if isinstance(err, Garbled):
            return CallError, (
                f"{subject}: the model server at {base} sent an answer that is not a "
                f"chat completion{after}: {err}. {again}; check that --base-url is an "
                "OpenAI-compatible API (it usually ends in /v1)."
            )
        if isinstance(err, openai.APITimeoutError):
            return CallError, (
                f"{subject}: the model server at {base} did not answer in time{after}. "
                "Raise --timeout, or use a faster model."
            )
        if isinstance(err, openai.APIConnectionError):
            if _refused(err):
                return LLMError, (
                    f"cannot reach the model server at {base}. Start it, or point brief at "
                    "another one with --base-url (or OPENAI_BASE_URL)."
                )
            return CallError, (
                f"{subject}: the connection to the model server at {base} was lost{after} "
                f"({_cause(err)}). {again}; check the server's log."
            )
        if isinstance(err, openai.AuthenticationError | openai.PermissionDeniedError):
            return LLMError, (
                f"the model server at {base} rejected the API key. Set a valid key in "
                "OPENAI_API_KEY (or --api-key)."
            )
        if isinstance(err, openai.NotFoundError):
            return LLMError, (
                f"the model server at {base} has no model {self.model!r} (or no chat "
                "completions endpoint). Choose another with --model (or BRIEF_MODEL)."
            )
        if isinstance(err, openai.APIStatusError):
            if err.status_code == 429:
                what = "kept refusing (rate limit or quota)"
            else:
                said = _ERROR_CODE.sub("", err.message)  # the client's own prefix
                what = f"answered {err.status_code}: {said[:SERVER_TEXT]}"
            if err.status_code in _REFUSED_REQUEST:
                # This request was refused (too long for the model, say); the
                # others may pass: the run goes on without this article.
                return CallError, f"{subject}: the model server at {base} {what}."
            if not retried(err.status_code):
                return LLMError, f"{subject}: the model server at {base} {what}"
            wait = retry_after(err.response.headers)
            if wait is not None and not self.backoff.honours(wait):
                what += f"; it asked to wait {wait:.0f} s, longer than brief waits"
            return CallError, (
                f"{subject}: the model server at {base} {what}{after}. {again}, "
                "or lower --concurrency."
            )
        return LLMError, f"{subject}: {err}"


def _seconds(timeout: object) -> float | None:
    """The client's timeout in seconds (a number, or httpx's Timeout: its read value)."""
    if isinstance(timeout, int | float):
        return float(timeout)
    read = getattr(timeout, "read", None)
    return float(read) if isinstance(read, int | float) else None


def _response_format(mode: str, name: str, schema: dict[str, Any]) -> dict[str, Any]:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_object"}


def _refuses_format(err: openai.BadRequestError) -> bool:
    text = f"{err.message} {err.body}".lower()
    return any(word in text for word in ("response_format", "json_schema", "schema"))


def _refused(err: openai.APIConnectionError) -> bool:
    """Whether the connection could not be opened at all (nothing listens there):
    the cause is the HTTP library's ConnectError (httpx or the httpx2 fork the
    openai client ships with)."""
    return any(type(cause).__name__ == "ConnectError" for cause in _causes(err))


def _causes(err: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cause = err.__cause__ or err.__context__
    while cause is not None and len(chain) < 5:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


def _cause(err: openai.APIConnectionError) -> str:
    causes = _causes(err)
    return str(causes[-1]) if causes and str(causes[-1]) else str(err)


def _strip_fences(content: str) -> str:
    """Some servers wrap JSON in a Markdown code fence even in JSON mode."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip() or "{}"
