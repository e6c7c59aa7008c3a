"""How well brief's sentence ranking (briefing/salience.py) picks a story's summary, with
no model: ROUGE on the MultiLing 2011 clusters against their human references, next to
the lead baseline at the same length (issue 18).

For each cluster of ``../shared/corpus/multiling2011/clusters`` (10 WikiNews articles,
two human summaries of ~250 words), the articles are read and split as ``brief make``
reads them (:func:`briefing.ingest.read_article`, :func:`briefing.sentences.split_sentences`),
ranked as one story, and the summary (:meth:`briefing.salience.Ranking.summary`) taken
at each length of ``--words``. Each is scored with Google's ``rouge-score`` (Porter
stemming, F1, mean over the two references) next to the lead at the same number of
words (the articles' first sentences in turn, as in bench/bench_quality.py).

The ranking's constants are LexRank's published ones, not fitted to these clusters
(there are three, and they are also what bench_quality.py scores).

Run: .venv/bin/python bench/bench_salience.py [--words 60 100 250]
"""

from __future__ import annotations

import argparse

from bench_quality import MULTILING, cut, lead, rouge
from rouge_score import rouge_scorer

from briefing.ingest import read_article
from briefing.salience import Ranking
from briefing.sentences import split_sentences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, nargs="+", default=[60, 100, 250])
    args = parser.parse_args()
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    print("| cluster | words | ranked R-1 | R-2 | lead R-1 | R-2 |")
    print("|---|---:|---:|---:|---:|---:|")
    for cluster in sorted((MULTILING / "clusters").iterdir()):
        paths = sorted(cluster.glob("*.txt"))
        articles = [read_article(p, cluster) for p in paths]
        sentences = {
            n: {s.number: s.text for s in split_sentences(a.text)}
            for n, a in enumerate(articles, 1)
        }
        references = [
            p.read_text(encoding="utf-8")
            for p in sorted((MULTILING / "references").glob(f"{cluster.name}*"))
        ]
        ranking = Ranking(sentences)
        for n in args.words:
            text = cut(" ".join(r.text for r in ranking.summary(n)), n)
            baseline = lead([a.text for a in articles], len(text.split()))
            r1, r2 = rouge(scorer, text, references)
            l1, l2 = rouge(scorer, baseline, references)
            scores = " | ".join(f"{x:.3f}" for x in (r1, r2, l1, l2))
            print(f"| {cluster.name} | {len(text.split())} | {scores} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
