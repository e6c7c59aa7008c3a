"""The LLM boundary, through the real openai client against the local fake server."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeServer, Reply, completion
from pydantic import BaseModel, Field

from briefing.cache import Cache
from briefing.errors import LLMError, OutputError
from briefing.llm import LLM, make_client, strict_schema
from briefing.models import ChunkNotes, StoryDraft


class Verdict(BaseModel):
    """A tiny contract for these tests."""

    answer: str = Field(description="The answer.")
    confidence: int = Field(ge=0, le=100, description="0 to 100.")


MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]
GOOD = {"answer": "yes", "confidence": 90}


def llm_for(server: FakeServer, **kwargs: Any) -> LLM:
    client = make_client(server.base_url, kwargs.pop("api_key", None), max_retries=0)
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
        LLM(client, "m").ask("test", MESSAGES, Verdict, subject="a")


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
