"""The threads that make a run's model calls, story by story.

A run has two stages per story: a map call per chunk of its articles, then one
story call once all of them are answered. :func:`staged` runs both stages on one
pool of ``size`` threads, without a barrier between the stages: a story's call
starts as soon as its own map calls are done, while other threads go on with the
next stories' map calls. Work is taken in story order, a story call before any
map call of a later story, so

* the pool stays full to the end (no wait for the slowest map call of the whole
  run before the first story call), and
* a run that stops early (``--max-tokens`` spent) has finished whole stories, the
  first ones (the largest), instead of notes on every article and no story.

The groups may come from a generator: the caller's thread takes each group as it is
produced and its jobs start at once, while the caller produces the next (a run's
first calls go out before the last stories are chunked).

The first exception a job raises stops the pool and is raised to the caller; jobs
not yet started are dropped.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

_A = TypeVar("_A")
_B = TypeVar("_B")
_R = TypeVar("_R")

_LAST = float("inf")  # the priority of the "stop" entries, after every job
# How often, in seconds, a thread that computes hands the interpreter to one whose
# I/O has finished, during a run (Python's default is 5 ms).
SWITCH_INTERVAL = 0.0005


class _Run(Generic[_A, _B, _R]):
    def __init__(
        self,
        first: Callable[[_A], _B],
        then: Callable[[int, list[_B]], _R],
    ) -> None:
        self.first, self.then = first, then
        self.outs: list[list[Any]] = []
        self.waiting: list[int] = []  # first-stage jobs left per group
        self.results: list[Any] = []
        self.left = 0  # jobs added and not finished
        self.error: BaseException | None = None
        self.done = threading.Condition()
        self.jobs: queue.PriorityQueue[tuple[tuple[float, int, int], Callable[[], None]]]
        self.jobs = queue.PriorityQueue()
        self.order = itertools.count()

    def push(self, group: int, stage: int, job: Callable[[], None]) -> None:
        # Lower runs sooner: earlier stories first; within a story, its call first.
        self.jobs.put(((group, stage, next(self.order)), job))

    def add(self, group: Sequence[_A]) -> None:
        """Queue a group's jobs: its first-stage jobs, or its second stage if it has none."""
        with self.done:
            i = len(self.outs)
            self.outs.append([None] * len(group))
            self.waiting.append(len(group))
            self.results.append(None)
            self.left += len(group) + 1
        if not group:
            self.push(i, 0, self._then_job(i))
        for j, item in enumerate(group):
            self.push(i, 1, self._first_job(i, j, item))

    def _first_job(self, i: int, j: int, item: _A) -> Callable[[], None]:
        def job() -> None:
            value = self.first(item)
            with self.done:
                self.outs[i][j] = value
                self.waiting[i] -= 1
                ready = self.waiting[i] == 0
            if ready:
                self.push(i, 0, self._then_job(i))

        return job

    def _then_job(self, i: int) -> Callable[[], None]:
        def job() -> None:
            self.results[i] = self.then(i, self.outs[i])
            self.outs[i] = []  # the first stage's answers are no longer needed

        return job

    def work(self) -> None:
        while True:
            key, job = self.jobs.get()
            if key[0] == _LAST:
                return
            if self.error is None:
                try:
                    job()
                except BaseException as err:  # raised again in the caller's thread
                    with self.done:
                        self.error = self.error or err
            with self.done:
                self.left -= 1
                self.done.notify_all()


def staged(
    size: int,
    groups: Iterable[Sequence[_A]],
    first: Callable[[_A], _B],
    then: Callable[[int, list[_B]], _R],
) -> list[_R]:
    """``then(i, [first(a) for a in group_i])`` for every group, on ``size`` threads.

    ``groups`` is consumed in the caller's thread, each group's jobs queued as soon
    as it is produced. The results come in group order."""
    if size <= 1:
        return [then(i, [first(item) for item in group]) for i, group in enumerate(groups)]
    run: _Run[_A, _B, _R] = _Run(first, then)
    threads = [threading.Thread(target=run.work, daemon=True) for _ in range(size)]
    for thread in threads:
        thread.start()
    try:
        for group in groups:
            if run.error is not None:
                break
            run.add(group)
        with run.done:
            while run.left and run.error is None:
                run.done.wait(0.5)  # wakes up for Ctrl-C too
    except BaseException as err:
        run.error = run.error or err
        raise
    finally:
        for _ in threads:
            run.jobs.put(((_LAST, 0, next(run.order)), lambda: None))
        if run.error is None:
            for thread in threads:
                thread.join()
    if run.error is not None:
        raise run.error
    return list(run.results)


@contextlib.contextmanager
def responsive(interval: float = SWITCH_INTERVAL) -> Iterator[None]:
    """Threads waiting on the network get the interpreter back sooner.

    A thread whose answer has arrived waits for the interpreter lock while another
    thread checks a story: up to 5 ms each time, at every socket and SQLite call.
    On 8 threads against a stub server (bench/bench_pipeline.py, N=200) that added
    0.54 s of gaps between calls to a 5.7 s run; with a 0.5 ms switch interval,
    0.17 s. The previous interval is restored afterwards.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, interval))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
