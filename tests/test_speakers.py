"""Who speaks or acts in the sources, found in their sentences."""

from __future__ import annotations

import pytest
from conftest import SEEDS

from briefing import speakers
from briefing.chunking import split_sentences


def numbered(*texts: str) -> dict[int, dict[int, str]]:
    return {n: {s.number: s.text for s in split_sentences(text)} for n, text in enumerate(texts, 1)}


@pytest.fixture(scope="module")
def seeds() -> dict[int, dict[int, str]]:
    return numbered(*(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))))


def test_the_seeds_actors_are_found_with_roles_and_positions(
    seeds: dict[int, dict[int, str]],
) -> None:
    found = speakers.find(seeds)
    first = {}
    for mention in found:
        first.setdefault(mention.name, mention)
    assert set(first) == {
        "Jens Stoltenberg",
        "Vladimir Putin",
        "Joe Biden",
        "German government",
        "Dmitry Medvedev",
    }
    assert first["Joe Biden"].role == "US President"
    assert first["Vladimir Putin"].role == "Russian President"  # from "Russian President
    assert first["Dmitry Medvedev"].role == "a senior Russian security official"
    assert first["Dmitry Medvedev"].position.startswith("Stated that Moscow was not bluffing")
    assert first["German government"].position.startswith("Confirmed that Ukraine could use")
    for mention in found:  # positions are the source's words, cited to their sentence
        source, sentence = (int(x) for x in mention.cite.split("."))
        clause = mention.position.rstrip("…")
        assert clause[1:] in seeds[source][sentence], mention


def test_a_clause_that_tells_nothing_is_no_mention() -> None:
    assert speakers.find(numbered("Lena Hartmann said in a statement.")) == []


def test_the_seeds_author_and_attributions_are_not_positions(
    seeds: dict[int, dict[int, str]],
) -> None:
    found = speakers.find(seeds)
    assert "Dave DeCamp" not in {m.name for m in found}
    assert not [m for m in found if m.position.startswith("Told reporters")]


@pytest.mark.parametrize(
    ("sentence", "name", "role"),
    [
        (
            "Prime Minister Keir Starmer said the plan would go ahead.",
            "Keir Starmer",
            "Prime Minister",
        ),
        (
            "Anna Berg, the union's chair, warned of further strikes.",
            "Anna Berg",
            "the union's chair",
        ),
        ("On Monday Anna Berg has also rejected the offer.", "Anna Berg", ""),
        ("The French government announced new checks.", "French government", ""),
    ],
)
def test_shapes_of_naming(sentence: str, name: str, role: str) -> None:
    [mention] = speakers.find(numbered(sentence))
    assert (mention.name, mention.role) == (name, role)


def test_a_bare_surname_counts_only_with_a_full_name_elsewhere() -> None:
    assert speakers.find(numbered("Berg warned of strikes.")) == []
    found = speakers.find(
        numbered("Union chair Anna Berg met managers.", "Berg warned of strikes.")
    )
    assert [(m.name, m.cite) for m in found] == [("Anna Berg", "2.1")]


def test_title_case_headlines_and_pronouns_name_no_one() -> None:
    text = "Chief Executive Dismisses Union Warnings Over Pay\n\nHe said the offer stands."
    assert speakers.find(numbered(text)) == []


def test_long_clauses_are_cut_at_a_word_within_the_field() -> None:
    sentence = "Anna Berg said " + "the dockers will strike again " * 20 + "."
    [mention] = speakers.find(numbered(sentence))
    assert len(mention.position) <= speakers.POSITION_CHARS
    assert mention.position.endswith("…") and mention.position.startswith("Said the dockers")


@pytest.mark.parametrize(
    ("position", "weak"),
    [
        ("Speaking", True),
        ("NATO leader", True),
        ("Governor, Governor, Governor, Governor, Hugh Pendleton (Chief economist)", True),
        ("Said in a statement.", True),
        ("Cut interest rates to 3.25%, exposed to job losses; likelihood high, impact high.", True),
        ("Interior minister, Prime minister, Government of Finland, Russian government.", True),
        ("Jens Stoltenberg (politician): opponent.", True),
        (
            "Government of Finland, Interior Minister Aino Virtanen, Prime Minister Kristjan Mägi",
            True,
        ),
        ("Declared Stage 3 restrictions due to heat. Declared Stage 3 restrictions.", True),
        ("Warns NATO against arming Kyiv.", False),
        ("Says Kyiv may strike inside Russia.", False),
        ("Says the war in Ukraine is a war Russia chose and Russia can end.", False),
    ],
)
def test_weak_positions(position: str, weak: bool) -> None:
    assert speakers.weak(position, "Jens Stoltenberg", "NATO leader") is weak


def test_byline_roles() -> None:
    assert speakers.byline("Author") and speakers.byline("news editor")
    assert not speakers.byline("Russian President")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Jens Stoltenberg", "Stoltenberg", True),
        ("NATO Secretary General Jens Stoltenberg", "Jens Stoltenberg", True),
        ("German government", "US government", False),
        ("German government", "the German Government", True),
        ("Vladimir Putin", "Dmitry Medvedev", False),
        ("Government", "government", True),
    ],
)
def test_same_actor(a: str, b: str, same: bool) -> None:
    assert speakers.same_actor(a, b) is same


def test_quotes_are_found_with_their_speaker_across_sentences(
    seeds: dict[int, dict[int, str]],
) -> None:
    # The quotation opens a sentence before the one naming Stoltenberg.
    quote, cites = speakers.quote_of("Jens Stoltenberg", seeds) or ("", [])
    assert quote.startswith("It has been the case for a long time")
    assert quote.endswith("to not do that")
    assert "1.6" in cites
    # Putin is named next to Stoltenberg's quotations but quoted nowhere.
    assert speakers.quote_of("Vladimir Putin", seeds) is None


def test_a_quote_belongs_to_the_speaker_of_its_own_sentence() -> None:
    sources = numbered(
        'NATO added ships. "Any attack will be met with a united response," spokeswoman '
        'Ingrid Solheim said. Kremlin spokesman Grigory Lavrentyev told reporters: "Russia '
        'has nothing to do with this. They should present evidence." The talks go on.'
    )
    assert speakers.quote_of("Ingrid Solheim", sources) == (
        "Any attack will be met with a united response",
        ["1.2"],
    )
    quote, cites = speakers.quote_of("Grigory Lavrentyev", sources) or ("", [])
    assert quote == "Russia has nothing to do with this. They should present evidence."
    assert cites == ["1.3", "1.4"]
    # A quotation longer than 30 words gives its last sentences within them.
    long = " ".join(["word"] * 40)
    sources = numbered(f'"{long}. Then we act at once and together," the minister Ann Lee said.')
    assert speakers.quote_of("Ann Lee", sources) == (
        "Then we act at once and together",
        ["1.1", "1.2"],
    )
    assert speakers.quote_of("Bob Ray", sources) is None
