from __future__ import annotations

from pathlib import Path

from briefing.chunking import number_lines
from briefing.sentences import split_sentences

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "seeds"
SEED = SEEDS / "000_67eed8baa2c05698.txt"


def squash(text: str) -> str:
    """The text without any whitespace."""
    return "".join(text.split())


def test_seed_article_sentences() -> None:
    text = SEED.read_text(encoding="utf-8")
    sentences = split_sentences(text)
    assert 15 <= len(sentences) <= 30
    assert [s.number for s in sentences] == list(range(1, len(sentences) + 1))
    quote = [s for s in sentences if "This is nothing new." in s.text]
    assert len(quote) == 1
    assert quote[0].text.startswith('"This is nothing new.')
    # The title, the "NATO" tag line and the comment form are their own paragraphs.
    assert sentences[0].paragraph == 0 and sentences[0].text.startswith("NATO Chief")
    assert sentences[1].text == "NATO" and sentences[1].paragraph == 1
    assert any(s.text == "Leave a Reply" for s in sentences)
    assert max(s.paragraph for s in sentences) == 10
    assert squash("".join(s.text for s in sentences)) == squash(text)


def test_split_sentences_edge_texts() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n \t\n") == []
    sentences = split_sentences("\ufeffFirst one. Second\x00one.\r\n\r\n\r\nThird one here.")
    assert [s.text for s in sentences] == ["\ufeffFirst one.", "Second\x00one.", "Third one here."]
    assert [s.paragraph for s in sentences] == [0, 0, 1]
    # A lone surrogate (text decoded with "surrogateescape") is kept, not fatal.
    assert [s.text for s in split_sentences("Bad \udc80 byte. Next.")] == [
        "Bad \udc80 byte.",
        "Next.",
    ]


def test_line_breaks_inside_a_paragraph_stay_in_the_sentence() -> None:
    sentences = split_sentences("It was a long\nsentence with a break. And another.")
    assert [s.text for s in sentences] == [
        "It was a long\nsentence with a break.",
        "And another.",
    ]
    assert number_lines(sentences) == ("[1] It was a long sentence with a break.\n[2] And another.")


def test_a_paragraph_of_only_whitespace_takes_no_index() -> None:
    sentences = split_sentences("\n\nOne here. Two here.\n\n\u2028 \n\nThree.\n\n")
    assert [(s.text, s.paragraph) for s in sentences] == [
        ("One here.", 0),
        ("Two here.", 0),
        ("Three.", 1),
    ]


def test_a_headline_and_a_dateline_are_sentences_of_their_own() -> None:
    text = (
        "15 Royal Navy sailors captured at gunpoint by Iranian guards\n"
        "Friday, March 23, 2007\n"
        "Fifteen British Royal Navy personnel have been captured. The Royal Navy insists "
        "they were in Iraqi waters.\n"
    )
    assert [s.text for s in split_sentences(text)] == [
        "15 Royal Navy sailors captured at gunpoint by Iranian guards",
        "Friday, March 23, 2007",
        "Fifteen British Royal Navy personnel have been captured.",
        "The Royal Navy insists they were in Iraqi waters.",
    ]
    assert {s.paragraph for s in split_sentences(text)} == {0}


def test_hard_wrapped_lines_do_not_split_a_sentence() -> None:
    text = (
        "The committee voted on Tuesday to approve the budget for the coming\n"
        "year after a long debate in which Members from both sides of the House\n"
        "raised concerns about spending on roads. The Minister said the plan\n"
        "was fair.\n"
    )
    assert [s.text.replace("\n", " ") for s in split_sentences(text)] == [
        "The committee voted on Tuesday to approve the budget for the coming year after a "
        "long debate in which Members from both sides of the House raised concerns about "
        "spending on roads.",
        "The Minister said the plan was fair.",
    ]
