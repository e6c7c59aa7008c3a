"""Shared fixtures: the fake OpenAI-compatible server and paths to test material."""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import pytest
from fake_openai import FakeServer
from feed_server import FeedServer

import briefing

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus"
SEEDS = SHARED / "seeds"
EXAMPLES = ROOT / "examples"
BRIEFING = str(Path(briefing.__file__).resolve().parent)
_T = TypeVar("_T")


@pytest.fixture
def web() -> Iterator[FeedServer]:
    """A local web server of news feeds and pages (tests/feed_server.py)."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()


def lines_run(work: Callable[[], _T]) -> tuple[_T, int]:
    """``work()`` and how many lines of brief's own code (briefing/) it ran, in every
    thread it started: a count of brief's Python operations that, unlike a time, is
    the same on any machine and load. Each iteration of a comprehension or generator
    expression is a line, so work that grows with the square of the input shows."""
    count = itertools.count()

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            next(count)
        return local

    def call(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(BRIEFING) else None

    before = sys.gettrace()
    sys.settrace(call)
    threading.settrace(call)
    try:
        result = work()
    finally:
        sys.settrace(before)
        threading.settrace(before)
    return result, next(count)
