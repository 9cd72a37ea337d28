"""Matches by meaning: benchmark leaks (`decontaminate --semantic`) and duplicates (`dedup --semantic`), from sentence
embeddings (r1data/embed.py) compared exactly, block by block, with numpy: no approximate index.

A rephrased leak keeps its problem's meaning and, almost always, its quantities; a templated sibling keeps the
meaning and changes a quantity (or the answer). So a benchmark item is a leak of a training row when the row is one
of its nearest neighbours and

- the cosine similarity is at least `threshold` (the meaning alone) and the quantities do not conflict, or
- it is at least `with_quantities` and most quantities agree (`min_quantities` of the two multisets), or
- it is at least `same_quantities` and the two hold the same quantities, at least `min_same` of them
  (a story retold with other names and objects keeps its numbers exactly).

Both have gold answers and they differ: a sibling, never a leak. The same answer is no evidence by itself (GSM8K's
answers are small numbers that hundreds of different problems share), so it lowers no threshold. The defaults were
chosen on 200 rephrasings of GSM8K test problems written by a model, against clean GSM8K and MATH training rows; the
200 of MATH-500 problems were held out (`python benchmarks/bench_decontaminate.py --semantic`).
"""

from __future__ import annotations

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
    item_numbers: dict[int, Counter] = {}
    candidates: list[tuple[int, int, float, str]] = []  # (row, item, similarity, rule)
    pending: list[tuple[int, int, float, tuple[str, str]]] = []
    siblings = 0
    for r in np.flatnonzero(sims[:, 0] >= floor).tolist():
        mine = numbers(row_texts[r])
        for s, i in zip(sims[r].tolist(), idx[r].tolist(), strict=True):
            if s < floor:
                break
            theirs = item_numbers.setdefault(i, numbers(item_texts[i]))
            shared, union = quantities(mine, theirs)
            a = _answer(row_answers[r]) if row_answers is not None else ""
            b = _answer(item_answers[i]) if item_answers is not None else ""
            if a and b:
                differ = plainly_different(a, b)
                if differ is None:
                    pending.append((r, i, s, (row_answers[r], item_answers[i])))  # type: ignore[index]
                    continue
                if differ:
                    siblings += 1
                    continue
            rule = _rule(s, shared, union, params)
            if rule:
                candidates.append((r, i, s, rule))
    if pending:
        keys = list(dict.fromkeys(p[3] for p in pending))
        same = answers_equivalent(keys) if answers_equivalent is not None else [False] * len(keys)
        verdicts = dict(zip(keys, same, strict=True))
        for r, i, s, key in pending:
            if not verdicts[key]:
                siblings += 1
                continue
            shared, union = quantities(numbers(row_texts[r]), item_numbers[i])
            rule = _rule(s, shared, union, params)
            if rule:
                candidates.append((r, i, s, rule))
    best: dict[int, tuple[int, int, float, str]] = {}
    for cand in candidates:
        if cand[0] not in best or cand[2] > best[cand[0]][2]:
            best[cand[0]] = cand
    leaks = []
    for r, i, s, rule in sorted(best.values()):
        shared, union = quantities(numbers(row_texts[r]), item_numbers[i])
        leaks.append(Leak(r, i, round(float(s), 4), shared, union, rule))
    return leaks, siblings


def _rule(similarity: float, shared: int, union: int, p: SemanticParams) -> str | None:
    agree = shared / union if union else 1.0  # no quantities on either side: nothing conflicts
    if similarity >= p.threshold and agree >= 0.5:
        return "meaning"
    if similarity >= p.with_quantities and union and agree >= p.min_quantities:  # quantities there to agree
        return "quantities"
    if similarity >= p.same_quantities and union and shared == union and shared >= p.min_same:
        return "same quantities"
    return None
