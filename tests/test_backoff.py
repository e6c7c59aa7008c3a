"""The retry policy: how long to wait, and the pause shared by all calls."""

from __future__ import annotations

import datetime as dt

import pytest

from briefing.backoff import Backoff, retried, retry_after

NOW = dt.datetime(2026, 11, 22, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # OpenAI's own header wins
        ({"retry-after": "Sun, 22 Nov 2026 07:00:30 GMT"}, 30.0),  # an HTTP date
        ({"retry-after": "Sun, 22 Nov 2026 06:59:00 GMT"}, 0.0),  # already past
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-4"}, None),
        ({"retry-after": "inf"}, None),
        ({}, None),
    ],
)
def test_retry_after_forms(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(headers, now=NOW) == seconds


@pytest.mark.parametrize(("status", "again"), [(429, True), (500, True), (503, True),
                                                (408, True), (400, False), (401, False),
                                                (404, False), (422, False)])  # fmt: skip
def test_which_statuses_are_retried(status: int, again: bool) -> None:
    assert retried(status) is again


def test_delays_grow_to_a_ceiling_with_jitter() -> None:
    backoff = Backoff(first=0.5, longest=8.0)
    for attempt, full in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        for _ in range(20):
            assert 0.75 * full <= backoff.delay(attempt) <= full


def test_pause_holds_every_caller_until_it_is_over() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    backoff = Backoff(clock=lambda: now[0], sleep=sleep)
    backoff.wait_turn()
    assert slept == []  # no pause in force: no wait
    backoff.pause_all(2.0)
    backoff.pause_all(0.5)  # a shorter request does not cut the pause short
    backoff.wait_turn()
    assert slept == [2.0] and now[0] == 102.0
    backoff.wait_turn()
    assert slept == [2.0]


def test_long_waits_are_not_honoured() -> None:
    backoff = Backoff(max_wait=120)
    assert backoff.honours(120) and not backoff.honours(121) and not backoff.honours(None)
    with pytest.raises(ValueError, match="retries"):
        Backoff(-1)
