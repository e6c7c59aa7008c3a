"""The output contract: bounds from the schema, and text cut off at a bound."""

from __future__ import annotations

import pytest

from briefing.models import Point, StoryDraft, shorten

CUT = (
    "The sources agree that Stoltenberg dismissed Putin's warnings about Western weapons "
    "for strikes inside Russian territory, in a more assertive stance against Russian "
    "aggression. The US and several other"
)


def test_a_text_cut_at_its_bound_ends_at_its_last_full_sentence() -> None:
    assert shorten(CUT, len(CUT)).endswith("against Russian aggression.")


def test_a_text_without_a_sentence_end_is_cut_at_a_word_and_marked() -> None:
    out = shorten("word " * 80, 250)
    assert len(out) <= 250 and out.endswith("word…")


@pytest.mark.parametrize("text", ["NATO leader", "A full sentence.", "x" * 100 + "."])
def test_texts_within_their_bound_are_kept(text: str) -> None:
    assert shorten(text, 120) == text


def test_the_model_s_cut_off_point_is_shortened_on_validation() -> None:
    point = Point.model_validate(
        {"text": CUT + " countries gave Ukraine the greenlight", "cites": []}
    )
    assert point.text.endswith("aggression.") and len(point.text) <= 250


def test_over_long_lists_are_cut_to_their_bound() -> None:
    actors = [{"name": f"A{i}", "role": "r", "position": "p"} for i in range(9)]
    draft = StoryDraft.model_validate(
        {"headline": "h", "top_line": "t", "summary": "s", "divergence": "", "actors": actors}
    )
    assert len(draft.actors) == 6


@pytest.mark.parametrize("text", [CUT, "word " * 80, "x" * 300, "A sentence. " * 30])
@pytest.mark.parametrize("limit", [60, 120, 250])
def test_shortening_twice_changes_nothing(text: str, limit: int) -> None:
    once = shorten(text, limit)
    assert len(once) <= limit and shorten(once, limit) == once


def test_list_items_lose_citation_marks_and_repeats() -> None:
    draft = StoryDraft.model_validate(
        {
            "headline": "h",
            "top_line": "t",
            "summary": "s",
            "divergence": "",
            "open_questions": ["What next? [1.7, 1.8]", "What next? [2.3]", "Who pays?"],
        }
    )
    assert draft.open_questions == ["What next?", "Who pays?"]


def test_bracketed_cites_stay_cites() -> None:
    assert Point.model_validate({"text": "x", "cites": ["[1.7]", "2.3"]}).cites == ["[1.7]", "2.3"]
