from __future__ import annotations

import threading
import time

import pytest

from briefing.lookahead import ordered_map


def helpers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("brief-lookahead")]


def slow_square(n: int) -> int:
    time.sleep(0.002 * (n % 3))  # later items often finish first
    return n * n


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_results_come_in_order(threads: int) -> None:
    items = list(range(40))
    assert list(ordered_map(slow_square, items, threads=threads, ahead=3)) == [n * n for n in items]
    assert not helpers()


def test_nothing_runs_before_the_first_result_is_asked_for() -> None:
    started: list[int] = []

    def note(n: int) -> int:
        started.append(n)
        return n

    results = ordered_map(note, list(range(10)), threads=2, ahead=2)
    time.sleep(0.01)
    assert not started and not helpers()
    assert next(results) == 0
    assert max(started) <= 2  # the item asked for and at most `ahead` more
    results.close()
    assert not helpers()


@pytest.mark.parametrize("bad", [0, 1, 5])
def test_an_error_is_raised_in_its_place(bad: int) -> None:
    def fail_at_bad(n: int) -> int:
        if n == bad:
            raise KeyError(n)
        return slow_square(n)

    got: list[int] = []
    with pytest.raises(KeyError):
        got.extend(ordered_map(fail_at_bad, list(range(12)), threads=2, ahead=4))
    assert got == [n * n for n in range(bad)]
    assert not helpers()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ordered_map(slow_square, [1], threads=0, ahead=1)
    with pytest.raises(ValueError, match="at least 1"):
        ordered_map(slow_square, [1], threads=1, ahead=0)
