from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import overload

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briefing import chunking, ingest
from briefing.chunking import (
    chunk_article,
    chunk_sentences,
    load_encoding,
    number_lines,
    split_sentences,
)
from briefing.errors import ConfigError
from briefing.models import Article, Chunk, Sentence

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "seeds"
SEED = SEEDS / "000_67eed8baa2c05698.txt"

ENC = load_encoding()

# Modest example counts: CI has 2 cores.
few = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def squash(text: str) -> str:
    """The text without any whitespace."""
    return "".join(text.split())


def tokens(text: str) -> int:
    """What the pipeline counts: every string as plain text."""
    return len(ENC.encode(text, disallowed_special=()))


# --- Sentences ----------------------------------------------------------------------------


WORD = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=12
) | st.sampled_from(["Mr.", "U.S.", "e.g.", "Dr.", "3.5", "...", '"Yes."', "«non»", "日本語。"])
SPACE = st.sampled_from([" ", " ", " ", "  ", "\n", "\t", "\u00a0", "\r\n"])


@st.composite
def sentence_texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.tuples(WORD, SPACE), min_size=1, max_size=14))
    text = "".join(w + s for w, s in words).strip()
    return text + draw(st.sampled_from([".", "!", "?", "", ".\u201d", "…"]))


@st.composite
def articles(draw: st.DrawFn) -> list[list[str]]:
    """Paragraphs of sentences; some paragraphs empty, some made of many tiny sentences."""
    tiny = st.lists(st.sampled_from(["A.", "B!", "Ok.", "Hi?", "x."]), min_size=1, max_size=40)
    paragraph = st.lists(sentence_texts(), max_size=6) | tiny
    return draw(st.lists(paragraph, max_size=6))


def join_article(paragraphs: list[list[str]], breaks: list[str]) -> str:
    return "".join(" ".join(p) + b for p, b in zip(paragraphs, breaks, strict=False))


@few
@given(st.text(max_size=400))
def test_split_sentences_any_text(text: str) -> None:
    sentences = split_sentences(text)
    assert [s.number for s in sentences] == list(range(1, len(sentences) + 1))
    cursor = 0
    for sentence in sentences:
        assert sentence.text and sentence.text == sentence.text.strip()
        found = text.find(sentence.text, cursor)
        assert found >= 0  # an exact substring, in order
        cursor = found + len(sentence.text)
    assert squash("".join(s.text for s in sentences)) == squash(text)
    paragraphs = [s.paragraph for s in sentences]
    assert all(b - a in (0, 1) for a, b in zip([0, *paragraphs], paragraphs, strict=False))


@few
@given(articles(), st.lists(st.sampled_from(["\n\n", "\n \n\n", "\r\n\r\n", "\n\t\n"]), min_size=6))
def test_split_sentences_paragraphs(paragraphs: list[list[str]], breaks: list[str]) -> None:
    text = join_article(paragraphs, breaks)
    sentences = split_sentences(text)
    real = [" ".join(p) for p in paragraphs if squash(" ".join(p))]
    assert len({s.paragraph for s in sentences}) == len(real)
    for sentence in sentences:
        assert sentence.text in real[sentence.paragraph]
    assert squash("".join(s.text for s in sentences)) == squash(text)


# --- Chunks -------------------------------------------------------------------------------


def check_chunks(chunks: list[Chunk], max_tokens: int, article_id: str = "a1") -> None:
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.article_id == article_id
        assert chunk.sentences
        assert chunk.tokens == tokens(number_lines(chunk.sentences)) <= max_tokens


def check_pieces(units: list[Sentence], sentences: list[Sentence]) -> None:
    """``units`` (in order, no repeats) are ``sentences`` or consecutive pieces of them."""
    assert [u.number for u in units] == sorted(u.number for u in units)
    by_number = {s.number: s for s in sentences}
    assert {u.number for u in units} == set(by_number)
    for number, sentence in by_number.items():
        pieces = [u for u in units if u.number == number]
        assert all(p.paragraph == sentence.paragraph for p in pieces)
        cursor = 0
        for piece in pieces:
            found = sentence.text.find(piece.text, cursor)
            assert found >= 0
            cursor = found + len(piece.text)
        assert squash("".join(p.text for p in pieces)) == squash(sentence.text)


LONG = st.one_of(
    st.text(st.sampled_from("abcdefghij"), min_size=200, max_size=3000),  # no spaces
    st.text(st.characters(codec="utf-8"), min_size=100, max_size=1500),  # any unicode
    st.lists(
        st.sampled_from(["日本語", "😀", "é", "ß", "word", "—"]), min_size=50, max_size=600
    ).map("".join),
    st.lists(WORD, min_size=40, max_size=300).map(" ".join),
)


@st.composite
def sentence_lists(draw: st.DrawFn, long: bool = True) -> list[Sentence]:
    texts = draw(
        st.lists(sentence_texts() | LONG if long else sentence_texts(), min_size=1, max_size=25)
    )
    out: list[Sentence] = []
    paragraph = 0
    for number, text in enumerate(texts, 1):
        paragraph += draw(st.integers(0, 1))
        out.append(Sentence(number=number, text=text.strip() or "x", paragraph=paragraph))
    return out


@few
@given(sentence_lists(), st.integers(16, 160))
def test_chunks_fit_and_keep_every_sentence(sentences: list[Sentence], max_tokens: int) -> None:
    chunks = chunk_sentences("a1", sentences, ENC, max_tokens=max_tokens)
    check_chunks(chunks, max_tokens)
    check_pieces([u for c in chunks for u in c.sentences], sentences)


@few
@given(sentence_lists())
def test_line_counts_of_one_encoding_equal_each_line_encoded(sentences: list[Sentence]) -> None:
    lines = number_lines(sentences).split("\n")
    assert chunking.line_counts(lines, ENC) == [tokens(line + "\n") for line in lines]


def test_line_counts_of_lone_surrogates_and_nothing() -> None:
    lines = ["[1] broken \ud800 text", "[2] ok."]
    assert chunking.line_counts(lines, ENC) == [tokens(line + "\n") for line in lines]
    assert chunking.line_counts([], ENC) == []


def test_line_counts_of_lines_with_newlines_of_their_own() -> None:
    # More newlines than lines: the counts cannot come from the newline tokens.
    for lines in (["One.\nTwo.", "Three."], ["word", "", "", "x"], ["a\n\n\nb", " \n"]):
        assert chunking.line_counts(lines, ENC) == [tokens(line + "\n") for line in lines]


# Texts a caller may give: blank, or starting with spaces, beside ordinary sentences.
ODD_TEXTS = st.sampled_from(["", " ", "   ", "\t", "\n", "\u2028", " x", "\u00a0y.", "  \n z"])


@few
@given(st.lists(sentence_texts() | ODD_TEXTS, min_size=1, max_size=12), st.integers(1, 1200))
def test_numbered_counts_equal_each_numbered_line_encoded(texts: list[str], first: int) -> None:
    sentences = [Sentence(number=first + i, text=t, paragraph=0) for i, t in enumerate(texts)]
    lines = number_lines(sentences).split("\n")
    assert chunking.numbered_counts(sentences, ENC) == [tokens(line + "\n") for line in lines]


@few
@given(sentence_lists(long=False), st.data())
def test_overlap_repeats_trailing_sentences_within_its_budget(
    sentences: list[Sentence], data: st.DataObject
) -> None:
    # A budget that every sentence fits, so that chunks hold whole sentences.
    longest = max(tokens(number_lines([s]) + "\n") for s in sentences)
    max_tokens = data.draw(st.integers(max(16, longest), longest + 200))
    overlap = data.draw(st.integers(0, max_tokens - 1))
    chunks = chunk_sentences("a1", sentences, ENC, max_tokens=max_tokens, overlap=overlap)
    check_chunks(chunks, max_tokens)
    units: list[Sentence] = list(chunks[0].sentences)
    for before, chunk in itertools.pairwise(chunks):
        seen = units[-1].number
        old = [s for s in chunk.sentences if s.number <= seen]
        if overlap == 0:
            assert not old
        if old:
            assert old == before.sentences[-len(old) :]
            assert len(old) < len(before.sentences)
            assert tokens(number_lines(old) + "\n") <= overlap
        units += chunk.sentences[len(old) :]
    check_pieces(units, sentences)


@few
@given(sentence_lists(), st.integers(16, 120), st.data())
def test_overlap_with_long_sentences_always_progresses(
    sentences: list[Sentence], max_tokens: int, data: st.DataObject
) -> None:
    overlap = data.draw(st.integers(0, max_tokens - 1))
    chunks = chunk_sentences("a1", sentences, ENC, max_tokens=max_tokens, overlap=overlap)
    check_chunks(chunks, max_tokens)
    assert {u.number for c in chunks for u in c.sentences} == {s.number for s in sentences}
    for before, chunk in itertools.pairwise(chunks):
        assert chunk.sentences[-1].number >= before.sentences[-1].number
        assert chunk.sentences[0].number >= before.sentences[0].number


def test_long_sentence_is_cut_at_spaces_into_fitting_pieces() -> None:
    words = [f"word{i}" for i in range(400)]
    sentence = Sentence(number=7, text=" ".join(words) + ".", paragraph=2)
    chunks = chunk_sentences("a1", [sentence], ENC, max_tokens=40)
    check_chunks(chunks, 40)
    pieces = [u for c in chunks for u in c.sentences]
    assert len(pieces) > 5
    assert all(p.number == 7 and p.paragraph == 2 for p in pieces)
    assert " ".join(p.text for p in pieces) == sentence.text
    assert number_lines(pieces[:2]).startswith(f"[7] {pieces[0].text}\n[7] word")


def test_long_sentence_without_spaces_keeps_every_character() -> None:
    text = "😀日本語é" * 300
    chunks = chunk_sentences("a1", [Sentence(number=1, text=text, paragraph=0)], ENC, max_tokens=16)
    check_chunks(chunks, 16)
    assert "".join(u.text for c in chunks for u in c.sentences) == text


def test_line_that_only_fits_with_its_newline_is_cut() -> None:
    # "[1] x!!)" is 6 tokens but "[1] x!!)\n" 5: find a sentence that fits only with its newline.
    for n in range(40):
        text = "word " * n + 'x">--}}'
        line = f"[1] {text}"
        if tokens(line + "\n") == 30 < tokens(line):
            break
    else:
        pytest.fail("no sentence found that is longer alone than with its newline")
    sentences = [Sentence(number=1, text=text, paragraph=0)]
    chunks = chunk_sentences("a1", sentences, ENC, max_tokens=30)
    check_chunks(chunks, 30)
    check_pieces([u for c in chunks for u in c.sentences], sentences)
    # Followed by another sentence, its line with the newline fits the chunk.
    sentences.append(Sentence(number=2, text="x", paragraph=0))
    check_chunks(chunk_sentences("a1", sentences, ENC, max_tokens=30), 30)


def test_chunks_end_at_a_paragraph_break_near_the_end() -> None:
    def sentence(number: int, paragraph: int) -> Sentence:
        return Sentence(number=number, text=f"Sentence {number} says a thing.", paragraph=paragraph)

    line = tokens(number_lines([sentence(1, 0)]) + "\n")  # 9 tokens
    # Paragraph 0 fills 90% of the budget, paragraph 1 would fit one more line.
    first = [sentence(n, 0) for n in range(1, 10)]
    second = [sentence(n, 1) for n in range(10, 20)]
    chunks = chunk_sentences("a1", first + second, ENC, max_tokens=10 * line)
    assert chunks[0].sentences == first
    # A break at the start of the budget is too far back to be used.
    early = [sentence(1, 0), *[sentence(n, 1) for n in range(2, 30)]]
    chunks = chunk_sentences("a1", early, ENC, max_tokens=10 * line)
    assert len(chunks[0].sentences) >= 9


def test_seed_article_chunks() -> None:
    text = SEED.read_text(encoding="utf-8")
    article = Article(id="67eed8baa2c05698", path=SEED.name, title="NATO", source="seed", text=text)
    sentences = split_sentences(text)
    for max_tokens, overlap in [(2000, 0), (200, 0), (120, 40), (40, 10)]:
        chunks = chunk_article(article, ENC, max_tokens=max_tokens, overlap=overlap)
        check_chunks(chunks, max_tokens, article.id)
        assert {u.number for c in chunks for u in c.sentences} == {s.number for s in sentences}
    assert len(chunk_article(article, ENC, max_tokens=2000)) == 1
    chunks = chunk_article(article, ENC, max_tokens=120, overlap=40)
    assert any(
        after.sentences[0] == before.sentences[-1] for before, after in itertools.pairwise(chunks)
    )


def test_no_sentences_no_chunks() -> None:
    assert chunk_sentences("a1", [], ENC, max_tokens=100) == []


@pytest.mark.parametrize(
    ("max_tokens", "overlap", "message"),
    [(8, 0, "max_tokens=8"), (15, 0, "at least 16"), (100, 100, "overlap"), (100, -1, "overlap")],
)
def test_bad_budgets_are_config_errors(max_tokens: int, overlap: int, message: str) -> None:
    sentences = [Sentence(number=1, text="Short.", paragraph=0)]
    with pytest.raises(ConfigError, match=message):
        chunk_sentences("a1", sentences, ENC, max_tokens=max_tokens, overlap=overlap)


def test_smallest_budget_holds_any_character() -> None:
    budget = chunking.MIN_MAX_TOKENS
    text = "\U0001f9ea\U00010348\u0fd5" * 20  # 4-byte characters, rare in the vocabulary
    chunks = chunk_sentences(
        "a1", [Sentence(number=999_999, text=text, paragraph=0)], ENC, max_tokens=budget
    )
    check_chunks(chunks, budget)
    assert "".join(u.text for c in chunks for u in c.sentences) == text


# --- Many articles on threads ---------------------------------------------------------------

STORIES = Path(__file__).resolve().parent / "data" / "stories"


class Recorded(Sequence[Article]):
    """Articles that note the highest position anyone has taken from them."""

    def __init__(self, articles: list[Article]) -> None:
        self.articles, self.taken = articles, -1

    def __len__(self) -> int:
        return len(self.articles)

    @overload
    def __getitem__(self, index: int) -> Article: ...
    @overload
    def __getitem__(self, index: slice) -> list[Article]: ...
    def __getitem__(self, index: int | slice) -> Article | list[Article]:
        item = self.articles[index]  # an IndexError ends the iteration
        if isinstance(index, int):
            self.taken = max(self.taken, index)
        return item


def story_articles() -> list[Article]:
    articles, _ = ingest.read_folder(STORIES)
    text = SEED.read_text(encoding="utf-8")
    seed = Article(id="67eed8baa2c05698", path=SEED.name, title="NATO", source="seed", text=text)
    return [*articles, seed]


def unsplittable() -> Article:
    """An article whose text is not a string: splitting it raises TypeError."""
    return Article.model_construct(id="bad", path="bad.txt", title="", source="x", text=None)


def chunk_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("brief-lookahead")]


@pytest.mark.parametrize(("max_tokens", "overlap"), [(64, 0), (200, 40), (2000, 60)])
def test_chunk_articles_equal_the_sequential_path_in_order(max_tokens: int, overlap: int) -> None:
    articles = story_articles()
    expected = []
    for article in articles:
        sentences = split_sentences(article.text)
        chunks = chunk_sentences(article.id, sentences, ENC, max_tokens=max_tokens, overlap=overlap)
        expected.append((sentences, chunks))
    for workers in (1, 2, 3):
        got = chunking.chunk_articles(
            articles, ENC, max_tokens=max_tokens, overlap=overlap, workers=workers
        )
        assert list(got) == expected
    assert not chunk_threads()


@pytest.mark.parametrize("workers", [1, 2])
def test_chunk_articles_is_lazy_and_raises_in_place(workers: int) -> None:
    articles = Recorded([*story_articles(), unsplittable(), *story_articles()])
    bad = len(articles) // 2
    results = chunking.chunk_articles(articles, ENC, max_tokens=300, workers=workers)
    first = next(results)
    # The first result came before the failing article was taken, and at most
    # 2 * workers articles (one more while refilling) were taken ahead of it.
    assert first[1][0].article_id == articles[0].id
    assert articles.taken <= 2 * workers + 1 < bad
    got = [first]
    with pytest.raises(TypeError):
        got.extend(results)
    assert [chunks[0].article_id for _, chunks in got] == [a.id for a in articles.articles[:bad]]
    assert articles.taken <= bad + 2 * workers + 1
    assert not chunk_threads()


def test_closing_chunk_articles_early_stops_its_threads() -> None:
    articles = Recorded(story_articles() * 4)
    results = chunking.chunk_articles(articles, ENC, max_tokens=300, workers=2)
    next(results)
    assert chunk_threads()
    results.close()
    assert not chunk_threads()
    assert articles.taken <= 5
    # A consumer that stops without closing: collecting the iterator stops them too.
    results = chunking.chunk_articles(articles, ENC, max_tokens=300, workers=2)
    next(results)
    del results
    gc.collect()
    assert not chunk_threads()


def test_chunk_articles_checks_its_arguments_at_once() -> None:
    with pytest.raises(ConfigError, match="overlap"):
        chunking.chunk_articles([unsplittable()], ENC, max_tokens=100, overlap=100)
    with pytest.raises(ValueError, match="workers"):
        chunking.chunk_articles([unsplittable()], ENC, max_tokens=100, workers=0)
    assert list(chunking.chunk_articles([], ENC, max_tokens=100)) == []
