"""A story's evidence: what its checks read of its sources, found once, on any thread."""

from __future__ import annotations

import threading
import time

import pytest

from briefing import speakers, wording
from briefing.evidence import Evidence

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


def test_find_all_leaves_nothing_for_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    found = story()
    found.find_all(3)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("found again")

    monkeypatch.setattr(speakers, "find", fail)
    monkeypatch.setattr(wording, "own_phrase_lists", fail)
    found.mentions(), found.own_phrases(3), found.sources(), found.vocabulary(), found.scripts()


def test_an_empty_story_has_nothing_to_find() -> None:
    found = Evidence()
    assert found.sources() == [] and found.mentions() == [] and found.own_phrases(3) == {}
    assert found.scripts() == {"", "LATIN"} and found.numbers == set()
