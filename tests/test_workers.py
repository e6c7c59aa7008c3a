"""The pool that runs map calls and story calls (briefing/workers.py)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from briefing import workers

GROUPS = [["a", "b", "c"], [], ["d"], ["e", "f"]]


@pytest.mark.parametrize("size", [1, 2, 8])
def test_each_group_gets_its_first_stage_results_in_order(size: int) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def first(item: str) -> str:
        with lock:
            seen.append(item)
        return item.upper()

    def then(i: int, results: list[str]) -> str:
        return f"{i}:{''.join(results)}"

    assert workers.staged(size, GROUPS, first, then) == ["0:ABC", "1:", "2:D", "3:EF"]
    assert sorted(seen) == ["a", "b", "c", "d", "e", "f"]


def test_a_group_is_finished_before_later_groups_start_when_one_thread_runs() -> None:
    order: list[str] = []
    workers.staged(1, GROUPS, order.append, lambda i, _: order.append(str(i)))
    assert order == ["a", "b", "c", "0", "1", "d", "2", "e", "f", "3"]


def test_a_later_story_call_waits_only_for_its_own_group() -> None:
    """The second group's call runs while the first group's slow job is still held."""
    release = threading.Event()
    done: list[int] = []

    def first(item: str) -> str:
        if item == "slow":
            assert release.wait(10), "the second group never finished"
        return item

    def then(i: int, results: list[str]) -> int:
        done.append(i)
        if i == 1:
            release.set()
        return i

    assert workers.staged(2, [["slow"], ["quick"]], first, then) == [0, 1]
    assert done == [1, 0]


def test_the_first_error_stops_the_pool_and_reaches_the_caller() -> None:
    def first(item: str) -> str:
        if item == "d":
            raise ValueError("server gone")
        return item

    with pytest.raises(ValueError, match="server gone"):
        workers.staged(2, GROUPS, first, lambda i, r: r)


def test_a_run_switches_threads_sooner_and_restores_the_interval() -> None:
    before = sys.getswitchinterval()
    with workers.responsive(0.0002):
        assert sys.getswitchinterval() == pytest.approx(0.0002)
    assert sys.getswitchinterval() == before
    with pytest.raises(RuntimeError), workers.responsive(0.0002):
        raise RuntimeError("a failed run")
    assert sys.getswitchinterval() == before


@pytest.mark.parametrize("size", [1, 2])
def test_groups_start_as_they_are_produced(size: int) -> None:
    """A generator of groups: the first group's call is made before the second group
    exists (a run's first stories go out while later ones are still being chunked)."""
    called = threading.Event()

    def groups() -> Iterator[list[str]]:
        yield ["a"]
        assert called.wait(10), "the first group waited for the second to be produced"
        yield ["b"]

    def then(i: int, results: list[str]) -> str:
        called.set()
        return f"{i}:{''.join(results)}"

    assert workers.staged(size, groups(), str.upper, then) == ["0:A", "1:B"]


def test_an_error_while_producing_stops_the_pool() -> None:
    def groups() -> Iterator[list[str]]:
        yield ["a"]
        raise ValueError("bad article")

    before = threading.active_count()
    with pytest.raises(ValueError, match="bad article"):
        workers.staged(2, groups(), str.upper, lambda i, r: r)
    for thread in threading.enumerate():
        if thread.name.startswith("Thread-") and thread.daemon:
            thread.join(5)
    assert threading.active_count() <= before
