"""The run's token budget (--max-tokens): unit rules, then `brief make` on the fake server."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import ROOT
from fake_openai import FakeServer

from briefing import chunking
from briefing.budget import PROMPT_MARGIN, Budget
from briefing.cli import cli
from briefing.errors import BudgetError, CallError

STORIES = ROOT / "tests" / "data" / "stories"
ENC = chunking.load_encoding()
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello."}]


def test_a_call_is_held_at_its_worst_case_then_charged_what_it_used() -> None:
    prompt = math.ceil(
        sum(chunking.count_tokens(m["content"], ENC) + 4 for m in MESSAGES) * PROMPT_MARGIN
    )
    budget = Budget(prompt + 100, ENC)
    held = budget.reserve(MESSAGES, 100, subject="a")
    assert held == prompt + 100 and budget.held == held
    with pytest.raises(BudgetError, match=r"b: not sent.*--max-tokens") as err:
        budget.reserve(MESSAGES, 1, subject="b")  # the first call may still use it all
    assert isinstance(err.value, CallError)  # the pipeline leaves the article out
    budget.settle(held, 30)
    assert (budget.spent, budget.held, budget.refused) == (30, 0, 1)
    budget.settle(budget.reserve(MESSAGES, 1, subject="c"), None)  # usage unknown: all held
    assert budget.spent == 30 + prompt + 1


def make(tmp_path: Path, server: FakeServer, *extra: str) -> tuple[Result, dict[str, int]]:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["make", str(STORIES), "--base-url", server.base_url, "--out", str(out), "--format",
         "json", "--no-cache", "--concurrency", "2", "--max-output-tokens", "512",
         "--config", str(tmp_path / "none.toml"), *extra],
        env={"BRIEF_CACHE_DIR": str(tmp_path / "cache"), "OPENAI_API_KEY": None},
    )  # fmt: skip
    usage = json.loads(next(out.glob("*.json")).read_text())["usage"] if out.exists() else {}
    return result, usage


def test_max_tokens_stops_sending_and_reports_the_rest(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    full, usage = make(tmp_path / "full", fake_server)
    assert full.exit_code == 0, full.output
    spent = usage["prompt_tokens"] + usage["completion_tokens"]
    sent = len(fake_server.requests)
    fake_server.requests.clear()

    limit = spent // 2
    half, usage = make(tmp_path / "half", fake_server, "--max-tokens", str(limit))
    assert half.exit_code == 3, half.output  # written, but partial
    assert usage["prompt_tokens"] + usage["completion_tokens"] <= limit
    assert 0 < len(fake_server.requests) < sent
    assert "left out" in half.output and f"--max-tokens {limit}" in half.output
