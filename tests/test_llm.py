"""The LLM boundary, through the real openai client against the local fake server."""

from __future__ import annotations

import gc
import json
import re
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest
from fake_openai import FakeServer, Reply, completion
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from briefing.backoff import Backoff
from briefing.cache import Cache
from briefing.errors import CallError, LLMError, OutputError
from briefing.llm import LLM, make_client, strict_schema
from briefing.models import ChunkNotes, StoryDraft


class Verdict(BaseModel):
    """A tiny contract for these tests."""

    answer: str = Field(description="The answer.")
    confidence: int = Field(ge=0, le=100, description="0 to 100.")


MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]
GOOD = {"answer": "yes", "confidence": 90}


def llm_for(server: FakeServer, **kwargs: Any) -> LLM:
    client = make_client(
        server.base_url, kwargs.pop("api_key", None), timeout=kwargs.pop("timeout", 30.0)
    )
    kwargs.setdefault("backoff", Backoff(0))  # no retries unless a test asks for them
    return LLM(client, "fake-model", **kwargs)


def test_contract_structured_answer_and_usage(fake_server: FakeServer) -> None:
    fake_server.script.append(GOOD)
    llm = llm_for(fake_server)
    result = llm.ask("test", MESSAGES, Verdict, subject="a.txt")
    assert result == Verdict(**GOOD)
    request = fake_server.requests[0]
    assert request["model"] == "fake-model"
    assert request["response_format"]["type"] == "json_schema"
    sent = request["response_format"]["json_schema"]
    assert sent["name"] == "Verdict" and sent["strict"] is True
    assert sent["schema"]["properties"]["confidence"]["description"] == "0 to 100."
    assert llm.usage.calls == 1 and llm.usage.by_step["test"].calls == 1
    assert llm.usage.prompt_tokens > 0 and llm.usage.completion_tokens > 0


def test_strict_schema_closes_every_object() -> None:
    for model in (ChunkNotes, StoryDraft):
        schema = strict_schema(model)
        objects = [schema, *schema.get("$defs", {}).values()]
        for node in objects:
            assert node["additionalProperties"] is False
            assert set(node["required"]) == set(node["properties"])
        assert "unverified" not in json.dumps(schema)  # brief's own fields stay hidden


def test_falls_back_when_server_refuses_json_schema(fake_server: FakeServer) -> None:
    fake_server.refuse_json_schema = True
    fake_server.script.append(GOOD)
    llm = llm_for(fake_server)
    assert llm.ask("test", MESSAGES, Verdict, subject="a.txt").answer == "yes"
    second = fake_server.requests[1]["response_format"]
    assert second["type"] == "json_object"
    assert second["schema"]["title"] == "Verdict"
    assert llm.mode == "json_object_schema"
    # The mode sticks: the next call goes straight to json_object.
    fake_server.script.append(GOOD)
    llm.ask("test", MESSAGES, Verdict, subject="a.txt")
    assert fake_server.requests[2]["response_format"]["type"] == "json_object"


def test_reasks_once_with_the_validation_error(fake_server: FakeServer) -> None:
    fake_server.script += [{"answer": "yes", "confidence": 250}, GOOD]
    llm = llm_for(fake_server)
    assert llm.ask("test", MESSAGES, Verdict, subject="a.txt").confidence == 90
    reask = fake_server.requests[1]["messages"]
    assert reask[-2]["role"] == "assistant"
    assert "confidence" in reask[-1]["content"] and "100" in reask[-1]["content"]
    assert llm.usage.calls == 2


def test_second_bad_answer_is_an_error_naming_the_subject(fake_server: FakeServer) -> None:
    bad = Reply(body=completion({"messages": MESSAGES}, "not json at all"))
    fake_server.script += [bad, bad]
    with pytest.raises(OutputError, match=r"inbox/b\.txt.*Verdict.*re-ask"):
        llm_for(fake_server).ask("test", MESSAGES, Verdict, subject="inbox/b.txt")
    assert len(fake_server.requests) == 2


def test_truncated_answer_is_reasked(fake_server: FakeServer) -> None:
    cut = Reply(body=completion({"messages": MESSAGES}, '{"answer": "ye', finish="length"))
    fake_server.script += [cut, GOOD]
    llm = llm_for(fake_server)
    assert llm.ask("test", MESSAGES, Verdict, subject="a.txt").answer == "yes"
    reask = fake_server.requests[1]["messages"]
    assert "cut off" in reask[-1]["content"]
    assert all(m["role"] != "assistant" for m in reask)  # the cut-off answer is not resent


def test_code_fenced_json_is_accepted(fake_server: FakeServer) -> None:
    fenced = "```json\n" + json.dumps(GOOD) + "\n```"
    fake_server.script.append(Reply(body=completion({"messages": MESSAGES}, fenced)))
    assert llm_for(fake_server).ask("test", MESSAGES, Verdict, subject="a").answer == "yes"


def test_cache_answers_without_a_request(fake_server: FakeServer, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.sqlite3")
    fake_server.script.append(GOOD)
    first = llm_for(fake_server, cache=cache)
    first.ask("test", MESSAGES, Verdict, subject="a")
    second = llm_for(fake_server, cache=Cache(tmp_path / "c.sqlite3"))
    assert second.ask("test", MESSAGES, Verdict, subject="a") == Verdict(**GOOD)
    assert len(fake_server.requests) == 1
    assert second.usage.calls == 0 and second.usage.cached == 1
    # A different prompt is a different key.
    fake_server.script.append(GOOD)
    second.ask("test", [*MESSAGES[:1], {"role": "user", "content": "Other?"}], Verdict, subject="a")
    assert len(fake_server.requests) == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_says_what_to_do() -> None:
    client = make_client(f"http://127.0.0.1:{_closed_port()}/v1", None, max_retries=0)
    with pytest.raises(LLMError, match=r"cannot reach the model server.*--base-url"):
        LLM(client, "m", backoff=Backoff(0)).ask("test", MESSAGES, Verdict, subject="a")


@pytest.mark.parametrize(
    ("status", "pattern"),
    [
        (401, "rejected the API key.*OPENAI_API_KEY"),
        (404, "has no model 'fake-model'.*--model"),
        (500, "answered 500"),
    ],
)
def test_server_errors_are_one_clear_line(
    fake_server: FakeServer, status: int, pattern: str
) -> None:
    secret = "sk-test-SECRET-0123456789"
    body = {"error": {"message": f"Incorrect API key provided: {secret}"}}
    fake_server.script.append(Reply(status, body))
    with pytest.raises(LLMError, match=pattern) as caught:
        llm_for(fake_server, api_key=secret).ask("test", MESSAGES, Verdict, subject="a")
    assert secret not in str(caught.value)
    assert "\n" not in str(caught.value)


# --- Faults: a server that misbehaves ----------------------------------------------------------

FIRST = 0.05  # the tests' first backoff pause, in seconds (brief's is 0.5)


def _good() -> Reply:
    return Reply(body=completion({"messages": MESSAGES}, json.dumps(GOOD)))


# Passing faults, retried with backoff: (reply, what the final error says).
TRANSIENT: dict[str, tuple[Reply, str]] = {
    "429 with Retry-After": (
        Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}),
        r"rate limit",
    ),
    "429 without Retry-After": (Reply(429, {"error": {"message": "slow down"}}), r"rate limit"),
    "500": (Reply(500, {"error": {"message": "boom"}}), r"answered 500: .*boom"),
    "503": (Reply(503, {"error": {"message": "overloaded"}}), r"answered 503"),
    "connection reset": (Reply(reset=True), r"connection .* was lost .*reset"),
    "slower than the timeout": (Reply(delay=1.5, body={}), r"did not answer in time"),
    "malformed JSON body": (Reply(body=b'{"id": "x", "choices": [{"mess'), r"not JSON"),
}


@pytest.mark.parametrize("fault", TRANSIENT)
def test_passing_fault_is_retried_with_backoff(fake_server: FakeServer, fault: str) -> None:
    reply, _ = TRANSIENT[fault]
    fake_server.script += [reply, reply, _good()]
    llm = llm_for(fake_server, backoff=Backoff(3, first=FIRST), timeout=0.5)
    assert llm.ask("test", MESSAGES, Verdict, subject="a.txt") == Verdict(**GOOD)
    assert len(fake_server.requests) == 3
    gaps = [b - a for a, b in zip(fake_server.times, fake_server.times[1:], strict=False)]
    waited = float(reply.headers.get("Retry-After", 0))
    # Each pause is at least the server's Retry-After, else the backoff (jitter cuts
    # at most a quarter), and the second pause is the longer one.
    assert gaps[0] >= max(waited, 0.75 * FIRST)
    assert gaps[1] >= max(waited, 0.75 * 2 * FIRST)


@pytest.mark.parametrize("fault", TRANSIENT)
def test_lasting_fault_fails_the_call_naming_article_and_cause(
    fake_server: FakeServer, fault: str
) -> None:
    reply, cause = TRANSIENT[fault]
    if "Retry-After" in reply.headers:  # do not wait seconds per try here
        reply = Reply(reply.status, reply.body, {"retry-after-ms": "20"})
    fake_server.when["Hi?"] = reply
    llm = llm_for(fake_server, backoff=Backoff(2, first=FIRST), timeout=0.5)
    with pytest.raises(CallError, match=r"^inbox/b\.txt: .*" + cause) as caught:
        llm.ask("test", MESSAGES, Verdict, subject="inbox/b.txt")
    assert "after 3 tries" in str(caught.value)
    assert len(fake_server.requests) == 3  # bounded: one try and two retries
    assert "\n" not in str(caught.value)


def test_retry_after_over_the_limit_fails_at_once(fake_server: FakeServer) -> None:
    fake_server.when["Hi?"] = Reply(429, {"error": {"message": "quota"}}, {"Retry-After": "86400"})
    llm = llm_for(fake_server, backoff=Backoff(3, first=FIRST))
    with pytest.raises(CallError, match=r"asked to wait 86400 s, longer than brief waits"):
        llm.ask("test", MESSAGES, Verdict, subject="a.txt")
    assert len(fake_server.requests) == 1


# Answers that arrive but are not usable: re-asked once, then an OutputError.
BAD_OUTPUT: dict[str, tuple[Reply, str]] = {
    "JSON breaking the schema": (
        Reply(body=completion({"messages": MESSAGES}, '{"answer": "yes", "confidence": 250}')),
        r"confidence: Input should be less than or equal to 100",
    ),
    "finish_reason length": (
        Reply(body=completion({"messages": MESSAGES}, '{"answer": "ye', finish="length")),
        r"cut off",
    ),
    "empty content": (Reply(body=completion({"messages": MESSAGES}, "")), r"Field required"),
    "no choices": (Reply(body={"object": "chat.completion", "choices": []}), r"held no answer"),
    "refusal": (
        Reply(
            body={
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "refusal": "I can't help with that.",
                        },
                        "finish_reason": "stop",
                    }
                ]
            }
        ),
        r"the model refused to answer \(I can't help with that\.\)",
    ),
}


@pytest.mark.parametrize("fault", BAD_OUTPUT)
def test_bad_answer_is_reasked_once_and_then_named(fake_server: FakeServer, fault: str) -> None:
    reply, cause = BAD_OUTPUT[fault]
    fake_server.script += [reply, _good()]
    llm = llm_for(fake_server, backoff=Backoff(3, first=FIRST))
    assert llm.ask("test", MESSAGES, Verdict, subject="a.txt") == Verdict(**GOOD)
    assert len(fake_server.requests) == 2
    fake_server.script += [reply, reply, _good()]
    with pytest.raises(OutputError, match=r"^inbox/b\.txt: .*Verdict.*" + cause):
        llm.ask(
            "test", [*MESSAGES, {"role": "user", "content": "2"}], Verdict, subject="inbox/b.txt"
        )
    assert len(fake_server.requests) == 4  # one re-ask, not more
    assert fake_server.script == [_good()]


def test_one_retry_after_pauses_every_call_in_flight(fake_server: FakeServer) -> None:
    """Four calls at once; the first answer is a 429 with Retry-After: 1. The three
    other calls were already sent and are answered (slowly); every request sent
    after the 429 arrived, new calls and the retry alike, waits out the second."""
    fake_server.script.append(Reply(429, {"error": {"message": "busy"}}, {"Retry-After": "1"}))
    fake_server.script += [
        Reply(delay=0.5, body=completion({"messages": MESSAGES}, json.dumps(GOOD)))
    ] * 3
    fake_server.script += [_good()] * 5
    llm = llm_for(fake_server, backoff=Backoff(3, first=FIRST))

    def ask(n: int) -> Verdict:
        question = [*MESSAGES[:1], {"role": "user", "content": f"Question {n}?"}]
        return llm.ask("test", question, Verdict, subject=f"{n}.txt")

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, range(8)))
    assert answers == [Verdict(**GOOD)] * 8
    times = fake_server.times
    assert len(times) == 9  # eight calls and one retry
    refused_at = times[0]
    later = [t - refused_at for t in times[4:]]
    assert min(later) >= 1.0, later


def test_no_more_requests_in_flight_than_slots(fake_server: FakeServer) -> None:
    """Six threads ask at once through two slots: the requests reach the server two
    at a time, each pair once the pair before it is answered."""
    fake_server.script += [
        Reply(delay=0.3, body=completion({"messages": MESSAGES}, json.dumps(GOOD)))
    ] * 6
    llm = llm_for(fake_server, slots=2)

    def ask(n: int) -> Verdict:
        question = [*MESSAGES[:1], {"role": "user", "content": f"Question {n}?"}]
        return llm.ask("test", question, Verdict, subject=f"{n}.txt")

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(ask, range(6)))
    assert answers == [Verdict(**GOOD)] * 6
    times = sorted(fake_server.times)
    assert len(times) == 6
    assert times[2] - times[0] >= 0.25 and times[4] - times[2] >= 0.25, times


def test_a_request_without_an_answer_gives_its_slot_back(fake_server: FakeServer) -> None:
    """The slot a request takes as it leaves is given back when no answer comes (the
    connection reset here), so the next request, from any thread, is sent."""
    fake_server.script += [Reply(reset=True), GOOD, GOOD]
    llm = llm_for(fake_server, slots=1)
    with pytest.raises(CallError, match="reset"):
        llm.ask("test", MESSAGES, Verdict, subject="a.txt")
    answers: list[Verdict] = []
    other = threading.Thread(  # daemon: a slot never given back fails the test, not the run
        target=lambda: answers.append(
            llm.ask("test", [*MESSAGES, MESSAGES[1]], Verdict, subject="b.txt")
        ),
        daemon=True,
    )
    other.start()
    other.join(timeout=10)
    assert answers == [Verdict(**GOOD)], "the failed request kept its slot"
    question = [*MESSAGES, {"role": "user", "content": "Again?"}]
    assert llm.ask("test", question, Verdict, subject="c.txt") == Verdict(**GOOD)
    assert len(fake_server.requests) == 3


def test_slots_without_an_httpx_client_to_hook_hold_the_whole_call(
    fake_server: FakeServer,
) -> None:
    """A client brief cannot hook (no httpx client where openai keeps it) is held to
    the slots around each whole call: still two requests at a time."""
    fake_server.script += [
        Reply(delay=0.3, body=completion({"messages": MESSAGES}, json.dumps(GOOD)))
    ] * 4
    client = make_client(fake_server.base_url, None, timeout=30.0)

    class Unhooked:  # the same calls, through an object without ``_client``
        chat = client.chat

    llm = LLM(Unhooked(), "fake-model", backoff=Backoff(0), slots=2)  # type: ignore[arg-type]

    def ask(n: int) -> Verdict:
        question = [*MESSAGES[:1], {"role": "user", "content": f"Question {n}?"}]
        return llm.ask("test", question, Verdict, subject=f"{n}.txt")

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(ask, range(4))) == [Verdict(**GOOD)] * 4
    times = sorted(fake_server.times)
    assert times[2] - times[0] >= 0.25, times


def test_a_callers_http_client_keeps_its_hooks_and_no_old_llm(fake_server: FakeServer) -> None:
    """brief hooks the caller's httpx client to count its slots: the caller's own hooks
    still run, and a client used run after run keeps no earlier run's LLM alive."""
    fake_server.script += [GOOD] * 3
    seen: list[str] = []
    http = openai.DefaultHttpxClient(event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    client = make_client(fake_server.base_url, None, http_client=http)
    for _ in range(3):
        earlier = LLM(client, "fake-model", backoff=Backoff(0), slots=2)
        assert earlier.ask("test", MESSAGES, Verdict, subject="a.txt") == Verdict(**GOOD)
        gone = weakref.ref(earlier)
        del earlier
        gc.collect()
        assert gone() is None
    assert seen == ["/v1/chat/completions"] * 3
    assert len(http.event_hooks["request"]) <= 3  # the caller's, and at most two of brief's


def test_unreachable_server_fails_the_run_after_its_retries() -> None:
    client = make_client(f"http://127.0.0.1:{_closed_port()}/v1", None)
    llm = LLM(client, "m", backoff=Backoff(2, first=0.01))
    with pytest.raises(LLMError, match=r"cannot reach the model server") as caught:
        llm.ask("test", MESSAGES, Verdict, subject="a")
    assert not isinstance(caught.value, CallError)  # not one article's fault: the run stops


def test_server_text_in_errors_is_one_short_printable_line(fake_server: FakeServer) -> None:
    message = "overloaded\x1b]0;pwned\x07\n" + "x" * 5000
    fake_server.script.append(Reply(500, {"error": {"message": message}}))
    with pytest.raises(CallError, match="answered 500: overloaded") as caught:
        llm_for(fake_server).ask("test", MESSAGES, Verdict, subject="a.txt")
    text = str(caught.value)
    assert "\x1b" not in text and "\x07" not in text and "\n" not in text
    assert len(text) < 600


# --- Whatever the server answers, a call ends as an answer or a named failure -------------

HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def test_an_html_error_page_with_status_200_is_retried_then_named(
    fake_server: FakeServer,
) -> None:
    """A proxy's error page sent as 200 text/html: the openai client hands back its
    bare text, which used to end the run with AttributeError."""
    page = Reply(body=HTML_502, headers={"Content-Type": "text/html"})
    fake_server.script += [page, _good()]
    llm = llm_for(fake_server, backoff=Backoff(3, first=0.001))
    assert llm.ask("test", MESSAGES, Verdict, subject="a.txt") == Verdict(**GOOD)
    fake_server.script += [page] * 4
    with pytest.raises(CallError) as caught:
        llm.ask("test", MESSAGES, Verdict, subject="inbox/b.txt")
    message = str(caught.value)
    assert message.startswith("inbox/b.txt: ") and "(after 4 tries)" in message
    assert "text/html, not JSON: '<html><head><title>502 Bad Gateway" in message
    assert len(fake_server.requests) == 6


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ({"choices": "none"}, "choices: Input should be a valid list"),
        ({"choices": [{"message": {"content": 5}}]}, "content: Input should be a valid string"),
        ({"choices": [{"message": None}]}, "message: Input should be a valid dictionary"),
        ({"choices": [], "usage": {"prompt_tokens": -4}}, "prompt_tokens"),
        ({"error": {"message": "upstream overloaded"}}, "error in a 200 answer: upstream"),
        ([1, 2, 3], "Input should be a valid dictionary"),
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_answers_of_another_shape_are_named_not_raised(
    fake_server: FakeServer, body: Any, cause: str
) -> None:
    fake_server.script += [Reply(body=body)] * 2
    llm = llm_for(fake_server, backoff=Backoff(1, first=0.001))
    with pytest.raises(CallError, match=r"^a\.txt: .*not a chat completion.*" + re.escape(cause)):
        llm.ask("test", MESSAGES, Verdict, subject="a.txt")


def test_a_fault_no_branch_foresaw_fails_only_the_call(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = llm_for(fake_server, api_key="sk-test-SECRET-1234")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("sk-test-SECRET-1234 went missing")

    monkeypatch.setattr("briefing.llm.completion", broken)
    fake_server.script.append(GOOD)
    with pytest.raises(CallError) as caught:
        llm.ask("test", MESSAGES, Verdict, subject="a.txt")
    assert str(caught.value).startswith("a.txt: unexpected KeyError: ")
    assert "SECRET" not in str(caught.value) and "run log" in str(caught.value)


STATUSES = [200] * 6 + [201, 204, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503]
CONTENT_TYPES = [
    "application/json", "application/json; charset=utf-8", "text/html", "text/plain", "",
    "application/json; charset=utf-16", "application/octet-stream", "x/\x7f",
]  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """What a server, a proxy or a broken network may send as an answer's body."""
    good = json.dumps(GOOD)
    content = draw(st.sampled_from([good, "", "{", '{"answer": 3}', "```json\n" + good + "```"]))
    completion_like = {
        "id": "x",
        "choices": draw(
            st.sampled_from(
                [
                    [{"message": {"content": content}, "finish_reason": "stop"}],
                    [{"message": {"content": content}, "finish_reason": "length"}],
                    [{"message": {"refusal": "no", "content": None}}],
                    [],
                    [{"message": {"content": draw(JSON_VALUES)}}],
                    draw(JSON_VALUES),
                ]
            )
        ),
        "usage": draw(
            st.sampled_from([None, {"prompt_tokens": 3, "completion_tokens": 4}])
            | st.dictionaries(st.sampled_from(["prompt_tokens", "completion_tokens"]), JSON_VALUES)
        ),
    }
    kind = draw(st.sampled_from(["completion", "json", "bytes", "html", "nested", "error"]))
    if kind == "completion":
        return json.dumps(completion_like).encode()
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "html":
        return HTML_502
    if kind == "nested":
        return b"[" * draw(st.integers(1, 50_000))
    return json.dumps({"error": draw(JSON_VALUES)}).encode()


@st.composite
def replies(draw: st.DrawFn) -> Reply:
    body = draw(bodies())
    headers = {"Content-Type": draw(st.sampled_from(CONTENT_TYPES))}
    for name in draw(st.sets(st.sampled_from(["retry-after", "retry-after-ms", "x-junk"]))):
        headers[name] = draw(
            st.sampled_from(["0", "1", "-1", "nan", "inf", "1e309", "soon", "", "99999"])
            | st.from_regex(r"[ -~]{0,30}", fullmatch=True)
        )
    cut = draw(st.none() | st.integers(0, max(0, len(body) - 1)))
    return Reply(status=draw(st.sampled_from(STATUSES)), body=body, headers=headers, cut=cut)


@pytest.fixture(scope="module")
def world() -> Iterator[FakeServer]:
    """One server for every generated case (hypothesis runs many in one test)."""
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=st.lists(replies(), min_size=1, max_size=8), retries=st.integers(0, 3))
def test_any_answer_ends_as_a_result_or_a_named_failure(
    world: FakeServer, answers: list[Reply], retries: int
) -> None:
    """Property: whatever the server sends (status, content type, headers, body, an
    answer cut off), a call returns a valid answer or raises a BriefError whose one-line
    message names its subject or the server; nothing else escapes, and the run's usage
    stays whole numbers."""
    world.script[:] = answers
    world.requests.clear()
    backoff = Backoff(retries, first=0.0005, longest=0.001, max_wait=0.01)
    llm = llm_for(world, timeout=5.0, backoff=backoff, api_key="sk-prop-SECRET-42")
    try:
        result = llm.ask("test", MESSAGES, Verdict, subject="inbox/a.txt")
    except CallError as err:
        assert str(err).startswith("inbox/a.txt: "), err
        assert "\n" not in str(err) and "SECRET" not in str(err)
    except LLMError as err:  # the server refused the key or has no such model
        assert world.base_url.removesuffix("/v1") in str(err), err
    else:
        assert isinstance(result, Verdict)
    assert isinstance(llm.usage.prompt_tokens, int) and llm.usage.prompt_tokens >= 0
    assert isinstance(llm.usage.completion_tokens, int)
    assert len(world.requests) <= 2 * (retries + 1) + 4  # bounded: re-ask, retries, modes


def test_timeout_is_a_deadline_for_a_server_that_drips_its_answer(
    fake_server: FakeServer,
) -> None:
    """A byte every 0.05 s: no read waits long, and the answer (about 200 bytes) took
    10 s under a timeout of 1 s, and was accepted. Now the request ends at the deadline,
    as a timeout: tried again, then named."""
    drip = Reply(body=completion({"messages": MESSAGES}, json.dumps(GOOD)), drip=0.05)
    fake_server.script += [drip, drip]
    llm = llm_for(fake_server, timeout=1.0, backoff=Backoff(1, first=0.001))
    started = time.monotonic()
    with pytest.raises(CallError, match=r"^a\.txt: .*did not answer in time \(after 2 tries\)"):
        llm.ask("test", MESSAGES, Verdict, subject="a.txt")
    assert time.monotonic() - started < 4.0  # two tries of 1 s, not two of 10 s
    fake_server.script.append(GOOD)  # the connection pool still serves the next call
    assert llm.ask("test", MESSAGES, Verdict, subject="b.txt") == Verdict(**GOOD)


def test_an_answer_within_the_deadline_is_read_whole(fake_server: FakeServer) -> None:
    """The deadline cuts only what runs past it: a slow start and a slow drip that end
    in time are read whole (2 s and about 1 s under --timeout 4)."""
    body = completion({"messages": MESSAGES}, json.dumps(GOOD))
    fake_server.script += [Reply(body=body, delay=2.0), Reply(body=body, drip=0.005)]
    llm = llm_for(fake_server, timeout=4.0)
    for subject in ("a.txt", "b.txt"):
        assert llm.ask("test", MESSAGES, Verdict, subject=subject) == Verdict(**GOOD)
    assert len(fake_server.requests) == 2
