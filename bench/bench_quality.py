"""Score briefings for content: ROUGE against human summaries, tokens, what grounding dropped,
and the actors (issue 18).

Reads briefing JSON files written by ``brief make`` (this script does not run the model;
each JSON says which model made it and what it cost). For a briefing of the MultiLing
2011 articles (``../shared/corpus/multiling2011/clusters``, each cluster of 10 WikiNews
articles with two human summaries in ``references/`` and two system summaries in
``peers/``), it prints per cluster:

- the briefing's story for the cluster (the one holding most of its articles): its
  top line and summary, in words, and ROUGE-1 / ROUGE-2 F1 against the two references
  (Google's ``rouge-score``, Porter stemming; the mean over the two references);
- the lead baseline at the same length: the articles' first sentences in turn (first
  sentence of each article in file order, then the second, ...), cut to as many words
  as the briefing's text, so that length does not decide;
- the same lead and the two peers at 250 words, the references' length.

For any briefing (MultiLing or examples/) it prints: articles, model calls, prompt and
generated tokens, generated tokens per article, items checked and dropped by
grounding, actors, and the actors that are not a named person, organisation or
government by the rule below, and pairs of actors of one story that are one actor
(:func:`briefing.speakers.same_actor`, or one's role listed as the other's name), each
listed for a reader to check.

The rule for "not a named entity": a name none of whose words (past the first) is
capitalised and that is not an acronym ("Consumer price inflation") nor a named
country's body ("British government"), or a name that is a common noun of the list
below ("Unemployment", "Inflation", "Investors"). It is a
screen, not a judge: the list printed under the table is the evidence.

Run: .venv/bin/python bench/bench_quality.py BRIEFING.json [BRIEFING.json ...]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from itertools import combinations
from pathlib import Path

from rouge_score import rouge_scorer

from briefing.models import Actor, Briefing, Story
from briefing.speakers import same_actor

REPO = Path(__file__).resolve().parents[1]
MULTILING = REPO.parent / "shared" / "corpus" / "multiling2011"
CLUSTER = re.compile(r"(M\d{3})\d\.english")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“])")
REFERENCE_WORDS = 250
# Words that name a thing, a measure or a crowd, not an actor, when they are the name.
COMMON = frozenset(
    "unemployment inflation prices price rates rate investors markets market economy "
    "growth consumers households voters residents people public citizens officials "
    "analysts experts critics demand supply exports imports wages jobs".split()
)
# Words that, after a capitalised name of a country or place, make it a body that acts.
BODIES = frozenset(
    "government ministry parliament police army navy military council cabinet "
    "administration court".split()
)
SMALL = frozenset("of the and for in on at to de du la le von van der".split())


def words(text: str) -> list[str]:
    return text.split()


def cut(text: str, n: int) -> str:
    return " ".join(words(text)[:n])


def lead(articles: list[str], n: int) -> str:
    """The articles' sentences in turn: each one's first, then each one's second..."""
    split = [[s for s in SENTENCE.split(" ".join(a.split())) if s.strip()] for a in articles]
    out: list[str] = []
    for depth in range(max(map(len, split), default=0)):
        for sentences in split:
            if depth < len(sentences):
                out.append(sentences[depth])
        if sum(len(s.split()) for s in out) >= n:
            break
    return cut(" ".join(out), n)


def texts_of(pattern: str) -> list[str]:
    """The texts of the MultiLing files matching ``pattern``, in file-name order."""
    return [p.read_text(encoding="utf-8") for p in sorted(MULTILING.glob(pattern))]


def rouge(
    scorer: rouge_scorer.RougeScorer, text: str, references: list[str]
) -> tuple[float, float]:
    scores = [scorer.score(ref, text) for ref in references]
    r1 = sum(s["rouge1"].fmeasure for s in scores) / len(scores)
    r2 = sum(s["rouge2"].fmeasure for s in scores) / len(scores)
    return r1, r2


def story_text(story: Story) -> str:
    return " ".join(t for t in (story.top_line.strip(), story.summary.strip()) if t)


def multiling_table(briefing: Briefing) -> list[str]:
    """Per cluster of the briefing's sources: ROUGE of its story, the lead and the peers."""
    clusters: dict[str, set[int]] = defaultdict(set)
    for source in briefing.sources:
        match = CLUSTER.search(source.path)
        if match:
            clusters[match[1]].add(source.number)
    if not clusters:
        return []
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    lines = [
        "| cluster | its articles in the story | words | R-1 | R-2 | lead, same words: R-1 | R-2 "
        "| lead 250: R-2 | peer 1: R-2 | peer 2: R-2 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cluster, numbers in sorted(clusters.items()):
        refs = texts_of(f"references/{cluster}.*.txt")
        peers = texts_of(f"peers/{cluster}.*.txt")
        texts = texts_of(f"clusters/{cluster}/*.txt")
        story = max(briefing.stories, key=lambda s: len(numbers & set(s.sources)))
        text = story_text(story)
        n = len(words(text))
        r1, r2 = rouge(scorer, text, refs)
        l1, l2 = rouge(scorer, lead(texts, n), refs)
        _, l250 = rouge(scorer, lead(texts, REFERENCE_WORDS), refs)
        peer = [f"{rouge(scorer, cut(p, REFERENCE_WORDS), refs)[1]:.3f}" for p in peers]
        held = len(numbers & set(story.sources))
        lines.append(
            f"| {cluster} | {held} of {len(numbers)} | {n} | {r1:.3f} | {r2:.3f} | {l1:.3f} | "
            f"{l2:.3f} | {l250:.3f} | {' | '.join(peer)} |"
        )
    return lines


def looks_unnamed(name: str) -> bool:
    parts = [w for w in re.findall(r"[\w'’.-]+", name) if w.lower() not in SMALL]
    if not parts:
        return True
    if name.strip().lower() in COMMON:
        return True
    if any(w.isupper() and len(w) > 1 for w in parts):  # an acronym: NATO, BBC
        return False
    # "British government", "German government spokesman": a named country's body.
    if parts[0][:1].isupper() and any(w.lower() in BODIES for w in parts[1:]):
        return False
    return len(parts) > 1 and not any(w[:1].isupper() for w in parts[1:])


def holds(a: Actor, b: Actor) -> bool:
    """Whether ``b`` is ``a``'s role listed as a name ("Estonian Prime Minister")."""
    return bool(a.role.strip()) and " ".join(a.role.lower().split()) == " ".join(
        b.name.lower().split()
    )


def counts(briefing: Briefing) -> tuple[list[str], list[str], list[str]]:
    """One table row; the actors that look unnamed; the duplicate pairs."""
    articles = len(briefing.sources)
    usage, g = briefing.usage, briefing.grounding
    actors = [(s.number, a.name) for s in briefing.stories for a in s.actors]
    unnamed = [f"story {n}: {name}" for n, name in actors if looks_unnamed(name)]
    twice = [
        f"story {s.number}: {a.name} / {b.name}"
        for s in briefing.stories
        for a, b in combinations(s.actors, 2)
        if same_actor(a.name, b.name) or holds(a, b) or holds(b, a)
    ]
    row = [
        str(articles),
        str(usage.calls),
        f"{usage.prompt_tokens:,}",
        f"{usage.completion_tokens:,}",
        f"{usage.completion_tokens / max(1, articles):.0f}",
        f"{g.checked}",
        f"{g.dropped} ({g.dropped / max(1, g.checked):.0%})",
        str(len(actors)),
        str(len(unnamed)),
        str(len(twice)),
    ]
    return row, unnamed, twice


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("briefings", nargs="+", type=Path, help="briefing JSON files")
    args = parser.parse_args()
    print(
        "| briefing | model | articles | calls | prompt tokens | generated tokens | generated "
        "per article | items checked | dropped | actors | not named entities | duplicates |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    notes: list[str] = []
    tables: list[str] = []
    for path in args.briefings:
        try:
            briefing = Briefing.model_validate_json(path.read_bytes())
        except (OSError, ValueError) as err:
            print(f"{path}: not a briefing JSON ({err})", file=sys.stderr)
            return 2
        row, unnamed, twice = counts(briefing)
        print(f"| {path} | {briefing.model} | {' | '.join(row)} |")
        notes += [f"- {path}: not a named entity? {item}" for item in unnamed]
        notes += [f"- {path}: one actor twice? {item}" for item in twice]
        table = multiling_table(briefing)
        if table:
            tables += ["", f"ROUGE F1 of {path} (MultiLing 2011 references):", "", *table]
    print("\n".join(tables))
    if notes:
        print("\n" + "\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
