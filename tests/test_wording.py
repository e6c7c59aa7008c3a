"""An outlet's own words: phrases of its article that no other article of the story uses."""

from __future__ import annotations

from conftest import SEEDS

from briefing import wording
from briefing.sourcetext import normalise


def seeds() -> dict[int, str]:
    return {n: p.read_text(encoding="utf-8") for n, p in enumerate(sorted(SEEDS.glob("*.txt")), 1)}


def test_the_seeds_outlets_word_the_same_event_differently() -> None:
    texts = seeds()
    own = wording.own_phrases(texts)
    assert own == {1: "dismissed recent warnings", 2: "shrugged off warnings"}
    for number, phrase in own.items():  # the article's words, and only its own
        assert normalise(phrase) in normalise(texts[number])
        assert all(normalise(phrase) not in normalise(t) for n, t in texts.items() if n != number)


def test_quoted_words_are_not_the_outlet_s() -> None:
    texts = {
        1: 'The minister said "a reckless gamble" was under way.',
        2: "The minister spoke about the budget.",
    }
    assert "reckless gamble" not in wording.own_phrases(texts).get(1, "")


def test_plain_words_come_before_names_and_stop_words_never_edge_a_phrase() -> None:
    texts = {
        1: "Mayor Deb Lawson declared drastic water rationing for the town.",
        2: "Mayor Deb Lawson spoke to the town.",
    }
    assert wording.own_phrases(texts)[1] == "declared drastic water"


def test_texts_with_nothing_of_their_own_get_no_phrase() -> None:
    same = "Dockers struck again on Monday at the harbour."
    assert wording.own_phrases({1: same, 2: same}) == {}
