"""At most N requests of a run in flight to the model server, however many threads ask.

A story that falls back to notes runs its map calls on a pool of its own, so the
limit cannot be the number of threads. A request takes its slot as it leaves, once
openai has built it, and gives it back when the answer's headers are in, before
openai parses the answer: httpx's event hooks on the client openai sends through. A
thread with its next request built (the run has a few threads more than its
concurrency, :data:`briefing.pipeline.SPARE_THREADS`) then sends it the moment
another's answer arrives, instead of building it after. A client without an httpx
client to hook is held to the slots around the whole call.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import openai


class Slots:
    """``size`` slots for the requests sent through ``client``. Thread-safe."""

    def __init__(self, size: int, client: openai.OpenAI) -> None:
        self._free = threading.BoundedSemaphore(size)
        self._mine = threading.local()  # this thread: asking, and holding a slot
        self.hooked = _hook(client, self)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """One call of this thread's within the slots: its request takes one as it
        leaves (the hooks), or, with no hooks, the call takes one here."""
        if not self.hooked:
            with self._free:
                yield
            return
        self._mine.asking = True
        try:
            yield
        finally:  # also when no answer came: a refused connection, a timeout
            self._mine.asking = False
            self.give()

    def take(self, request: object) -> None:
        """httpx's request hook: a request of a call within :meth:`held` takes a slot
        as it leaves; a thread never holds two (a redirect's next request takes one
        again once the redirect's answer has given the first back)."""
        mine = self._mine
        if getattr(mine, "asking", False) and not getattr(mine, "held", False):
            self._free.acquire()
            mine.held = True

    def give(self, response: object = None) -> None:
        """httpx's response hook: the answer is in, its slot is free."""
        if getattr(self._mine, "held", False):
            self._mine.held = False
            self._free.release()


def _hook(client: openai.OpenAI, slots: Slots) -> bool:
    """Add ``slots``' hooks to the httpx client that ``client`` sends through (openai
    keeps it in ``_client``); False if there is none to hook."""
    http = getattr(client, "_client", None)
    hooks = getattr(http, "event_hooks", None)
    if not isinstance(hooks, dict) or not {"request", "response"} <= hooks.keys():
        return False
    http.event_hooks = {  # type: ignore[union-attr]
        **hooks,
        "request": [*_alive(hooks["request"]), _Hook(slots.take)],
        "response": [*_alive(hooks["response"]), _Hook(slots.give)],
    }
    return True


class _Hook:
    """An httpx event hook that calls a method of a :class:`Slots` while it exists: a
    client passed in by the caller, used for run after run, does not keep every run's
    slots (and their LLM) alive, and the hooks of those gone are dropped when another
    run hooks it."""

    def __init__(self, method: Callable[[object], None]) -> None:
        self._method = weakref.WeakMethod(method)

    def __call__(self, message: object) -> None:
        method = self._method()
        if method is not None:
            method(message)

    @property
    def alive(self) -> bool:
        return self._method() is not None


def _alive(hooks: list[Any]) -> list[Any]:
    return [hook for hook in hooks if not isinstance(hook, _Hook) or hook.alive]
