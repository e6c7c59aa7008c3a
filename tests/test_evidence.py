"""A story's evidence: what its checks read of its sources, found once, on any thread."""

from __future__ import annotations

import threading
import time

import pytest

from briefing import speakers, wording
from briefing.evidence import Evidence, Reader

TEXTS = {
    1: 'NATO chief Jens Stoltenberg said Kyiv may strike targets inside Russia. "We will '
    'not be intimidated," he said.',
    2: "Kremlin spokesman Dmitry Peskov warned of a dangerous escalation. Москва ответит.",
}
SENTENCES = {
    1: {
        1: "NATO chief Jens Stoltenberg said Kyiv may strike targets inside Russia.",
        2: '"We will not be intimidated," he said.',
    },
    2: {
        1: "Kremlin spokesman Dmitry Peskov warned of a dangerous escalation.",
        2: "Москва ответит.",
    },
}


def story() -> Evidence:
    return Evidence(SENTENCES, TEXTS, {1: "2024-05-30", 2: None})


def test_sources_are_ready_to_ground_against() -> None:
    sources = story().sources()
    assert [s.number for s in sources] == [1, 2]
    assert sources[0].published == "2024-05-30" and sources[1].published is None
    assert sources[0].sentences == SENTENCES[1]
    assert "content_words" in vars(sources[0])  # found already, not on the first check
    assert "stoltenberg" in sources[0].content_words[1]


def test_parts_are_what_the_checks_would_find_themselves() -> None:
    found = story()
    assert found.mentions() == speakers.find(SENTENCES)
    assert found.own_phrases(3) == wording.own_phrase_lists(TEXTS, count=3)
    assert {"stoltenberg", "peskov", "москва"} <= found.vocabulary()
    assert found.scripts() == {"", "LATIN", "CYRILLIC"}
    assert found.numbers == {1, 2}


def test_each_part_is_found_once() -> None:
    found = story()
    assert found.mentions() is found.mentions()
    assert found.own_phrases(3) is found.own_phrases(3)
    assert found.own_phrases(1) == wording.own_phrase_lists(TEXTS, count=1)


def test_threads_asking_at_once_share_one_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = speakers.find

    def slow_find(sentences: dict[int, dict[int, str]]) -> list[speakers.Mention]:
        calls.append(threading.current_thread().name)
        time.sleep(0.05)  # long enough for every thread to ask while it runs
        return real(sentences)

    monkeypatch.setattr(speakers, "find", slow_find)
    found = story()
    answers: list[list[speakers.Mention]] = []
    threads = [threading.Thread(target=lambda: answers.append(found.mentions())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(answers) == 4 and all(answer is answers[0] for answer in answers)


def test_found_ahead_leaves_nothing_for_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    found = story()
    found.find_small(3)
    assert "sources" not in found._found  # the texts are copied only when the call is out
    found.find_large()

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("found again")

    monkeypatch.setattr(speakers, "find", fail)
    monkeypatch.setattr(wording, "own_phrase_lists", fail)
    found.mentions(), found.own_phrases(3), found.sources(), found.vocabulary(), found.scripts()


def test_an_empty_story_has_nothing_to_find() -> None:
    found = Evidence()
    assert found.sources() == [] and found.mentions() == [] and found.own_phrases(3) == {}
    assert found.scripts() == {"", "LATIN"} and found.numbers == set()


class Recorded(Evidence):
    """Evidence that notes when the reader finds it."""

    def __init__(self, number: int, log: list[int]) -> None:
        super().__init__()
        self.number, self.log = number, log

    def find_small(self, own_phrases: int) -> None:
        self.log.append(self.number)


def settled(log: list[int], size: int) -> list[int]:
    """``log`` once it has ``size`` entries (or after 5 s), and a moment more."""
    deadline = time.monotonic() + 5
    while len(log) < size and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)  # room for a read it should not make
    return list(log)


def test_the_reader_stays_within_its_distance_of_the_stories_taken() -> None:
    log: list[int] = []
    with Reader(3, ahead=2) as reader:
        stories = [Recorded(n, log) for n in range(5)]
        for found in stories:
            reader.add(found)
        reader.start()
        assert settled(log, 2) == [0, 1]
        assert reader.take(0) is stories[0]
        assert settled(log, 3) == [0, 1, 2]
        reader.take(2)  # out of order: stories before 3 are all taken or read
        assert settled(log, 5) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="story 2 was taken before"):
        reader.take(2)


def test_leaving_stops_a_reader_that_waits() -> None:
    log: list[int] = []
    with Reader(3, ahead=1) as reader:
        for n in range(3):
            reader.add(Recorded(n, log))
        reader.start()
        assert settled(log, 1) == [0]
    assert not reader._thread.is_alive()
    assert log == [0]


def test_a_story_taken_before_the_reader_came_is_not_read() -> None:
    log: list[int] = []
    with Reader(3, ahead=1) as reader:
        for n in range(3):
            reader.add(Recorded(n, log))
        reader.take(0), reader.take(1)
        reader.start()
        assert settled(log, 1) == [2]
