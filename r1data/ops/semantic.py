"""Matches by meaning: benchmark leaks (`decontaminate --semantic`) and duplicates (`dedup --semantic`), from sentence
embeddings (r1data/embed.py) compared exactly, block by block, with numpy: no approximate index.

A rephrased leak keeps its problem's meaning and, almost always, its quantities; a templated sibling keeps the
meaning and changes a quantity (or the answer). So a benchmark item is a leak of a training row when the row is one
of its nearest neighbours and

- the cosine similarity is at least `threshold` (the meaning alone) and the quantities do not conflict, or
- it is at least `with_quantities`, the item is the row's nearest, and most of their quantities agree
  (`min_quantities` of the two multisets, each quantity weighted by how rare it is among the benchmark's items:
  agreeing on a 2 or a 10 says little, on a 1,350 much), or
- it is at least `same_quantities` and the two hold the same quantities, at least `min_same` of them
  (a story retold with other names and objects keeps its numbers exactly).

Both have gold answers and they differ: a sibling, never a leak. The same answer is no evidence by itself (GSM8K's
answers are small numbers that hundreds of different problems share), so it lowers no threshold. The defaults were
chosen on 200 rephrasings of GSM8K test problems written by a model, against clean GSM8K and MATH training rows; the
200 of MATH-500 problems were held out (`python benchmarks/bench_decontaminate.py --semantic`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from r1data.ops.answers import normalize_answer, plainly_different
from r1data.ops.paraphrase import numbers

BLOCK = 4096  # rows per matrix product: BLOCK x items x 4 bytes of similarities at a time
AnswersEquivalent = Callable[[list[tuple[str, str]]], list[bool]]


@dataclass(frozen=True)
class SemanticParams:
    threshold: float = 0.85
    with_quantities: float = 0.65
    min_quantities: float = 0.75
    same_quantities: float = 0.55
    min_same: int = 3
    top_k: int = 3  # nearest items looked at per row


def top_k(rows: np.ndarray, items: np.ndarray, k: int, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """For each row, its k most similar items (unit vectors: dot = cosine), most similar first: (similarities,
    item indices), exact, `block` rows at a time."""
    k = max(1, min(k, items.shape[0]))
    sims = np.empty((rows.shape[0], k), dtype=np.float32)
    idx = np.empty((rows.shape[0], k), dtype=np.int64)
    for lo in range(0, rows.shape[0], block):
        s = rows[lo : lo + block] @ items.T
        part = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < items.shape[0] else np.tile(np.arange(k), (len(s), 1))
        vals = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        idx[lo : lo + block] = np.take_along_axis(part, order, axis=1)
        sims[lo : lo + block] = np.take_along_axis(vals, order, axis=1)
    return sims, idx


def similar_pairs(vecs: np.ndarray, threshold: float, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair i < j whose cosine similarity is at least `threshold`: (left, right, similarity), exact, computed
    `block` rows against the rows after them at a time (n^2 / 2 products: minutes at 100,000 rows on two cores)."""
    lefts, rights, sims = [], [], []
    n = vecs.shape[0]
    below = np.tril(np.ones((block, block), dtype=bool))  # the diagonal block: only pairs i < j count
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        for at in range(lo, n, block):  # this block against itself and every later block
            s = vecs[lo:hi] @ vecs[at : at + block].T
            if at == lo:
                s[below[: hi - lo, : hi - lo]] = -2.0
            r, c = np.nonzero(s >= threshold)
            lefts.append(r + lo)
            rights.append(c + at)
            sims.append(s[r, c])
    if not lefts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return (
        np.concatenate(lefts).astype(np.int64),
        np.concatenate(rights).astype(np.int64),
        np.concatenate(sims).astype(np.float32),
    )


def quantities(a: Counter, b: Counter) -> tuple[int, int]:
    """(shared, all): the two multisets of quantities' intersection and union sizes."""
    return sum((a & b).values()), sum((a | b).values())


@dataclass
class Leak:
    row: int
    item: int
    similarity: float
    shared: int  # quantities in common
    quantities: int  # quantities of the two together (union)
    rule: str  # which clause flagged it: meaning, quantities, same quantities


def _answer(value: str | None) -> str:
    return normalize_answer(value) if value else ""


class QuantityWeights:
    """How much agreeing on a quantity says: its inverse document frequency over the benchmark's items (a 2 or a 10
    is in hundreds of GSM8K problems, a 1,350 in one). A quantity no item holds weighs as the rarest."""

    def __init__(self, item_numbers: Sequence[Counter]) -> None:
        n = len(item_numbers)
        counts = Counter(q for c in item_numbers for q in c)
        self.weight = {q: math.log((n + 1) / (k + 1)) + 1e-3 for q, k in counts.items()}
        self.unseen = math.log(n + 1) + 1e-3

    def share(self, mine: Counter, theirs: Counter) -> float:
        """The weighted share of the two multisets' union that both hold (1.0 when neither has a quantity)."""
        union = mine | theirs
        if not union:
            return 1.0
        mass = sum(self.weight.get(q, self.unseen) * k for q, k in union.items())
        return sum(self.weight.get(q, self.unseen) * k for q, k in (mine & theirs).items()) / mass


def find_leaks(
    row_texts: Sequence[str],
    row_vecs: np.ndarray,
    item_texts: Sequence[str],
    item_vecs: np.ndarray,
    row_answers: Sequence[str | None] | None = None,
    item_answers: Sequence[str | None] | None = None,
    params: SemanticParams = SemanticParams(),
    answers_equivalent: AnswersEquivalent | None = None,
) -> tuple[list[Leak], int]:
    """The leaks among the rows (at most one per row: its most similar qualifying item), and how many near
    neighbours were kept apart as siblings (gold answers differ)."""
    if not len(row_texts) or not len(item_texts):
        return [], 0
    floor = min(params.threshold, params.with_quantities, params.same_quantities)
    sims, idx = top_k(row_vecs, item_vecs, params.top_k)
    item_numbers = [numbers(t) for t in item_texts]
    weights = QuantityWeights(item_numbers)
    candidates: list[tuple[int, int, float, str]] = []  # (row, item, similarity, rule)
    pending: list[tuple[int, int, float, int, tuple[str, str]]] = []
    siblings = 0

    def judged(r: int, i: int, s: float, rank: int) -> None:
        mine, theirs = numbers(row_texts[r]), item_numbers[i]
        shared, union = quantities(mine, theirs)
        rule = _rule(s, shared, union, weights.share(mine, theirs), rank == 0, params)
        if rule:
            candidates.append((r, i, s, rule))

    for r in np.flatnonzero(sims[:, 0] >= floor).tolist():
        for rank, (s, i) in enumerate(zip(sims[r].tolist(), idx[r].tolist(), strict=True)):
            if s < floor:
                break
            a = _answer(row_answers[r]) if row_answers is not None else ""
            b = _answer(item_answers[i]) if item_answers is not None else ""
            if a and b:
                differ = plainly_different(a, b)
                if differ is None:
                    pending.append((r, i, s, rank, (row_answers[r], item_answers[i])))  # type: ignore[index]
                    continue
                if differ:
                    siblings += 1
                    continue
            judged(r, i, s, rank)
    if pending:
        keys = list(dict.fromkeys(p[4] for p in pending))
        same = answers_equivalent(keys) if answers_equivalent is not None else [False] * len(keys)
        verdicts = dict(zip(keys, same, strict=True))
        for r, i, s, rank, key in pending:
            if verdicts[key]:
                judged(r, i, s, rank)
            else:
                siblings += 1
    best: dict[int, tuple[int, int, float, str]] = {}
    for cand in candidates:
        if cand[0] not in best or cand[2] > best[cand[0]][2]:
            best[cand[0]] = cand
    leaks = []
    for r, i, s, rule in sorted(best.values()):
        shared, union = quantities(numbers(row_texts[r]), item_numbers[i])
        leaks.append(Leak(r, i, round(float(s), 4), shared, union, rule))
    return leaks, siblings


def _rule(similarity: float, shared: int, union: int, weighted: float, nearest: bool, p: SemanticParams) -> str | None:
    agree = shared / union if union else 1.0  # no quantities on either side: nothing conflicts
    if similarity >= p.threshold and agree >= 0.5:
        return "meaning"
    if similarity >= p.with_quantities and nearest and union and weighted >= p.min_quantities:
        return "quantities"  # the row's nearest item, and they agree on their rarer quantities
    if similarity >= p.same_quantities and union and shared == union and shared >= p.min_same:
        return "same quantities"
    return None
