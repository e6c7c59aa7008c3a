"""Sentences ranked by what most outlets say (briefing/salience.py)."""

from __future__ import annotations

from conftest import SHARED

from briefing.ingest import read_article
from briefing.salience import Ranking
from briefing.sentences import split_sentences

MULTILING = SHARED / "multiling2011" / "clusters"


def numbered(*texts: str) -> dict[int, dict[int, str]]:
    return {n: {s.number: s.text for s in split_sentences(text)} for n, text in enumerate(texts, 1)}


def cluster(name: str) -> dict[int, dict[int, str]]:
    folder = MULTILING / name
    texts = [read_article(p, folder).text for p in sorted(folder.glob("*.txt"))]
    assert len(texts) == 10, folder
    return numbered(*texts)


def test_what_most_outlets_say_ranks_above_what_one_says() -> None:
    ranking = Ranking(
        numbered(
            "Storms closed the busy port of Riga on Monday morning. A local baker sold bread.",
            "The busy port of Riga closed on Monday morning after storms. Fishermen stayed home.",
            "Storms shut the busy Riga port on Monday morning, officials said. Tourists waited.",
        )
    )
    best = ranking.ranked[0]
    assert "Riga" in best.text
    said_once = next(r for r in ranking.ranked if "baker" in r.text)
    assert ranking.supporting(said_once) == []
    assert ranking.ranked.index(said_once) > 2
    assert sorted(ranking.supporting(best)) == sorted(
        r.cite for r in ranking.ranked if "Riga" in r.text and r.source != best.source
    )
    agreed = ranking.agreement(3, support=2)
    assert [r.cite for r in agreed] == [best.cite]
    # What the summary says already is no point of agreement again.
    assert ranking.agreement(3, support=2, besides=[best]) == []


def test_headlines_and_datelines_are_not_summary_lines() -> None:
    ranking = Ranking(cluster("M002"))
    chosen = ranking.summary(250)
    assert 150 <= sum(len(r.text.split()) for r in chosen) <= 250
    for r in chosen:
        assert r.text.rstrip("\"'”’)").endswith((".", "!", "?")), r.text
        assert "2007" not in r.text.split()[:4], r.text  # no "Friday, March 23, 2007"
    # None repeats another.
    texts = [r.text for r in chosen]
    assert len(set(texts)) == len(texts)


def test_a_summary_does_not_repeat_its_top_line() -> None:
    sources = numbered(
        "Storms closed the port of Riga on Monday. Ships waited at sea for two days.",
        "The port of Riga closed on Monday after storms. Ferries to Stockholm were cancelled.",
    )
    ranking = Ranking(sources)
    assert "Riga" in ranking.summary(12)[0].text
    summary = ranking.summary(40, avoid="Storms closed the port of Riga on Monday.")
    assert all("Riga" not in r.text for r in summary), summary


def test_the_excerpt_keeps_each_lead_then_the_best_ranked() -> None:
    sources = cluster("M001")
    shown = Ranking(sources).excerpt(30)
    assert set(shown) == set(sources)
    assert sum(map(len, shown.values())) == 30
    ranking = Ranking(sources)
    for source, numbers in shown.items():
        assert numbers == sorted(numbers)
        prose = [
            n for n, t in sources[source].items() if t.rstrip("\"'”’)").endswith((".", "!", "?"))
        ]
        assert set(prose[:2]) <= set(numbers)
    # Past the leads, nothing shown ranks below something left out.
    left_out = [r for r in ranking.ranked if r.number not in shown.get(r.source, [])]
    assert left_out
    assert all(r.score <= 1 / 3 + 0.5 + 1e-9 or r.number in shown[r.source] for r in left_out)


def test_sentences_that_warn_most_come_first() -> None:
    ranking = Ranking(
        numbered(
            "Medvedev warned that the conflict could escalate into an all-out war soon. "
            "Putin said talks may resume in the spring of next year. "
            "The ministers met in Prague on Friday for two long days of talks."
        )
    )
    assert [r.number for r in ranking.warnings(8)] == [1, 2]
    assert ranking.warnings(13) == []  # none of 13 words or more
