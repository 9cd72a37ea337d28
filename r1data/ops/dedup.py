"""Exact and near-duplicate removal.

1. Exact: rows whose normalised problem text is equal (see `normalize.normalize_text`).
2. Near: MinHash signatures over word (or character) n-grams, banded LSH to find candidate pairs,
   each candidate confirmed by its estimated Jaccard >= threshold, clusters by union-find.

Keep rule (deterministic). Rows are ranked: rows with a gold answer first, then input order
(inputs are read in the order given, so list the source you trust most first). Exact duplicates:
the best-ranked row of each group is kept. Near duplicates: union-find forms the clusters; inside a
cluster rows are visited by rank and a row is removed only if it has a confirmed pair with a row
already kept, which becomes its `duplicate_of`. Union-find alone would chain (A~B, B~C removes C for
A even when A and C share little: on templated problems that merged rows at Jaccard 0.2); this way
every removed row is at least `threshold`-similar to the row kept in its place, and no two kept rows
form a confirmed pair.

Numbers: a candidate pair whose numbers differ in more than `max_number_changes` places is not a
duplicate (templated siblings such as "A bus travels at 33 mph for 3 hours..." vs "...at 60 mph for
3 hours..." share most n-grams). A renumbered copy changes one number; reworded copies change none.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl
import xxhash

from r1data import schema
from r1data.ops.answers import normalize_answer, plainly_different, value_key
from r1data.ops.kernel import kernel as compiled_kernel
from r1data.ops.minhash import SIGNATURE_SCHEME, ShingleSpec, estimated_jaccard, signatures
from r1data.ops.normalize import normalize_series
from r1data.ops.semantic import similar_pairs

EXACT = "exact_duplicate"
NEAR = "near_duplicate"
SEMANTIC = "semantic_duplicate"
SIMILARITY = "similarity"
LARGE_BUCKET = 64
_PAIR_CHUNK = 200_000
SEMANTIC_THRESHOLD = 0.9  # cosine: 21 of 21 real pairs merged were the same problem read blind; at 0.85, 27 of 31
_NUMBER = re.compile(r"\d+(?:\.\d+)?")  # buckets above this size are linked as a chain + star, not all pairs


@dataclass(frozen=True)
class DedupParams:
    """Defaults measured on 15,000 real MATH/GSM8K problems with 3,000 planted edits
    (`python benchmarks/bench_dedup.py --grid`): word 3-grams at Jaccard 0.6 with the number rule
    found 97.8% of planted copies at 99.4% precision; word 5-grams at 0.7 found only 87% (a one-word
    edit of a short problem falls to Jaccard 0.5-0.7 with 5-grams)."""

    ngram: int = 3
    ngram_kind: str = "word"
    num_perm: int = 128
    threshold: float = 0.6
    bands: int | None = None
    rows: int | None = None
    seed: int = 42
    workers: int = 1
    near: bool = True
    max_number_changes: int | None = 1
    answer_aware: bool = True  # a pair whose gold answers both exist and differ is not merged
    max_judged_pairs: int | None = 100_000  # distinct answer pairs the judge compares, at most; beyond: kept apart
    semantic: bool = False  # also duplicates by meaning (embeddings given to `Collector`), after MinHash
    semantic_threshold: float = SEMANTIC_THRESHOLD

    @property
    def spec(self) -> ShingleSpec:
        return ShingleSpec(ngram=self.ngram, kind=self.ngram_kind, num_perm=self.num_perm, seed=self.seed)


def _collision_integrals(threshold: float, bands: np.ndarray, rows: np.ndarray, points: int = 201) -> tuple:
    """Areas of false candidates (Jaccard below threshold) and misses (above), for each (bands, rows)."""
    lo = np.linspace(0.0, threshold, points)
    hi = np.linspace(threshold, 1.0, points)
    p_lo = 1 - (1 - lo[None, :] ** rows[:, None]) ** bands[:, None]
    p_hi = 1 - (1 - hi[None, :] ** rows[:, None]) ** bands[:, None]
    return np.trapezoid(p_lo, lo, axis=1), np.trapezoid(1 - p_hi, hi, axis=1)


def optimal_bands(threshold: float, num_perm: int, weights: tuple[float, float] = (0.2, 0.8)) -> tuple[int, int]:
    """The (bands, rows) with bands * rows <= num_perm minimising the weighted area of false candidates
    and misses: the criterion of datasketch's MinHashLSH, without importing it (and scipy) at run time."""
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)])
    fp, fn = _collision_integrals(threshold, pairs[:, 0], pairs[:, 1])
    best = int(np.argmin(weights[0] * fp + weights[1] * fn))
    return int(pairs[best, 0]), int(pairs[best, 1])


def lsh_shape(params: DedupParams) -> tuple[int, int]:
    """Bands x rows: given, or the optimum for the threshold with misses weighted 4x over false
    candidates (candidates are confirmed by Jaccard afterwards, so extra ones cost only time)."""
    if params.bands and params.rows:
        return params.bands, params.rows
    return optimal_bands(params.threshold, params.num_perm)


def compute_signatures(normalized: list[str], spec: ShingleSpec, workers: int = 1) -> np.ndarray:
    """Signatures for all texts; the compiled kernel spreads documents over `workers` threads."""
    return signatures(normalized, spec, normalized=True, threads=workers)


def _band_keys(sig: np.ndarray, band: int, rows: int, columns: np.ndarray | None = None) -> np.ndarray:
    """`columns`: sig transposed (perms x rows, C order), when the caller has it: contiguous reads."""
    key = np.zeros(sig.shape[0], dtype=np.uint64)
    for c in range(band * rows, (band + 1) * rows):
        key ^= (columns[c] if columns is not None else sig[:, c]).astype(np.uint64)
        key *= np.uint64(0x100000001B3)
        key ^= key >> np.uint64(29)
    return key


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """The LSH key of every row in every band: (rows, bands) uint64 (one C pass over the rows when the kernel is
    built; the same keys)."""
    if not bands:
        return np.zeros((sig.shape[0], 0), np.uint64)
    kernel = compiled_kernel()
    if kernel is not None and sig.dtype == np.uint32:
        out = np.empty((sig.shape[0], bands), dtype=np.uint64)
        kernel.band_keys(np.ascontiguousarray(sig), sig.shape[1], bands, rows, out)
        return out
    columns = np.ascontiguousarray(sig[:, : bands * rows].T)
    return np.stack([_band_keys(sig, band, rows, columns) for band in range(bands)], axis=1)


def bucket_pairs(band: np.ndarray, key: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs of any set of (band, key, row) entries that holds whole buckets: within a bucket, rows
    in index order, each row paired with the next `LARGE_BUCKET - 1` (exactly what `candidate_pairs` makes of
    the same buckets). Unordered and possibly repeated across bands: (lo, hi) with lo < hi."""
    order = np.lexsort((row, key, band))
    b, k, r = band[order], key[order], row[order]
    lefts, rights = [], []
    for off in range(1, min(LARGE_BUCKET, r.size)):
        same = np.flatnonzero((k[off:] == k[:-off]) & (b[off:] == b[:-off]))
        if same.size == 0:
            break
        lefts.append(r[same])
        rights.append(r[same + off])
    if not lefts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    left, right = np.concatenate(lefts).astype(np.int64), np.concatenate(rights).astype(np.int64)
    return np.minimum(left, right), np.maximum(left, right)


def unique_pairs(left: np.ndarray, right: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (lo < hi) without repeats, sorted."""
    code = np.unique(left.astype(np.int64) * n + right)
    return code // n, code % n


@dataclass(frozen=True)
class Kernels:
    """The heavy stages of near-dup, replaceable by distributed versions (r1data/engines/executors.py) that must give
    the same arrays: signatures of normalised texts, candidate pairs from the signatures, and estimated Jaccard of
    pairs. Everything after them (rules, clusters, the keep rule) runs here, deterministically."""

    signatures: Callable[[list[str], ShingleSpec, int], np.ndarray] = lambda texts, spec, workers: compute_signatures(
        texts, spec, workers
    )
    pairs: Callable[[np.ndarray, int, int], tuple[np.ndarray, np.ndarray]] = lambda sig, bands, rows: candidate_pairs(
        sig, bands, rows
    )
    jaccard: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] = lambda sig, left, right: estimated_jaccard(
        sig, left, right
    )


def candidate_pairs(sig: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) that share at least one LSH band, without repeats.

    Per band the keys are sorted; positions p and p+k hold the same bucket exactly when their keys
    are equal, so all pairs come from one vectorised comparison per offset k. Buckets larger than
    `LARGE_BUCKET` (boilerplate shared by many rows) are linked within that window only.
    """
    n = sig.shape[0]
    lefts, rights = [], []
    keys = band_keys(sig, bands, rows)
    for band in range(bands):
        key = np.ascontiguousarray(keys[:, band])
        order = np.argsort(key, kind="stable")
        sorted_keys = key[order]
        for k in range(1, min(LARGE_BUCKET, n)):
            same = np.flatnonzero(sorted_keys[k:] == sorted_keys[:-k])
            if same.size == 0:
                break  # no bucket holds more than k rows
            lefts.append(order[same])
            rights.append(order[same + k])
    if not lefts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    code = np.unique(lo.astype(np.int64) * n + hi)
    return code // n, code % n


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Union-find by label propagation: each node's label becomes the smallest index in its component."""
    labels = np.arange(n)
    if left.size == 0:
        return labels
    while True:
        low = np.minimum(labels[left], labels[right])
        before = labels.copy()
        np.minimum.at(labels, left, low)
        np.minimum.at(labels, right, low)
        labels = labels[labels]  # pointer jumping
        if np.array_equal(labels, before):
            return labels


def _keepers(cluster: np.ndarray, has_answer: np.ndarray) -> np.ndarray:
    """For each row, the index of its cluster's kept row: answered rows first, then input order."""
    order = np.lexsort((np.arange(cluster.size), ~has_answer, cluster))
    first_of_cluster = np.ones(order.size, dtype=bool)
    first_of_cluster[1:] = cluster[order][1:] != cluster[order][:-1]
    leader = np.empty(cluster.size, dtype=np.int64)
    leader_per_sorted = order[np.maximum.accumulate(np.where(first_of_cluster, np.arange(order.size), 0))]
    leader[order] = leader_per_sorted
    return leader


def greedy_keep(
    n: int, left: np.ndarray, right: np.ndarray, sim: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Visit rows in `rank` order (rank[0] is visited first); remove a row that has a confirmed pair
    with an already kept row. Returns, per row, the kept row it duplicates (-1 if kept) and the
    similarity of that pair (the most similar kept partner wins)."""
    position = np.empty(n, dtype=np.int64)
    position[rank] = np.arange(n)
    dup_of = np.full(n, -1, dtype=np.int64)
    dup_sim = np.full(n, np.nan)
    if left.size == 0:
        return dup_of, dup_sim
    # Orient each pair from the better-ranked row to the worse-ranked one.
    first_is_better = position[left] < position[right]
    better = np.where(first_is_better, left, right)
    worse = np.where(first_is_better, right, left)
    # Visit by the worse row's rank; among its pairs, the most similar first.
    order = np.lexsort((position[better], -sim, position[worse]))
    sweep(better[order], worse[order], sim[order], np.ones(n, dtype=np.uint8), dup_of, dup_sim)
    return dup_of, dup_sim


def sweep(
    better: np.ndarray,
    worse: np.ndarray,
    sim: np.ndarray,
    kept: np.ndarray,
    dup_of: np.ndarray,
    dup_sim: np.ndarray,
    compiled: bool | None = None,
) -> None:
    """The greedy pass over pairs already in visiting order, updating kept (uint8), dup_of and dup_sim in place.
    Every pair of b's as the worse row came earlier, so b's fate is settled when b is met as the better row.
    The C loop (r1data/_minhash.c) and this Python loop give the same result."""
    kernel = compiled_kernel() if compiled is not False else None
    if kernel is not None:
        kernel.greedy(
            np.ascontiguousarray(better, np.int64),
            np.ascontiguousarray(worse, np.int64),
            np.ascontiguousarray(sim, np.float64),
            kept,
            dup_of,
            dup_sim,
        )
        return
    for b, w, s in zip(better.tolist(), worse.tolist(), sim.tolist(), strict=True):
        if kept[w] and kept[b]:
            kept[w] = 0
            dup_of[w], dup_sim[w] = b, s


def number_changes(a: str, b: str) -> int:
    """How many numbers must change to turn a's numbers into b's (as multisets)."""
    na, nb = Counter(_NUMBER.findall(a)), Counter(_NUMBER.findall(b))
    return max(sum((na - nb).values()), sum((nb - na).values()))


_NUMBER_SEED = 0x4E554D  # the seed of the number-string hash (ids of `number_index`)


@dataclass
class NumberIndex:
    """Each row's numbers (as `number_changes` reads them) as sorted uint64 hashes of their text: offsets (rows + 1)
    and ids. Equal number strings get equal ids in every batch, so indexes of batches concatenate, and multiset
    intersections are merges of sorted runs."""

    offsets: np.ndarray
    ids: np.ndarray

    @staticmethod
    def of(texts: pl.Series) -> NumberIndex:
        lists = texts.str.extract_all(_NUMBER.pattern)
        counts = lists.list.len().fill_null(0).to_numpy().astype(np.int64)
        flat = lists.list.eval(pl.element().hash(seed=_NUMBER_SEED).sort()).explode().drop_nulls()
        if flat.len() != counts.sum():  # pragma: no cover - guards a change in polars' explode semantics
            raise RuntimeError("number count mismatch between the lists and their concatenation")
        ids = flat.to_numpy().astype(np.uint64) if flat.len() else np.zeros(0, np.uint64)
        return NumberIndex(np.concatenate(([0], np.cumsum(counts))).astype(np.int64), np.ascontiguousarray(ids))

    @staticmethod
    def of_quantities(texts: list[str | None]) -> NumberIndex:
        """Each text's quantities as `ops.paraphrase.numbers` reads them (digits, number words, "twice", "a dozen":
        "five" and 5 are one quantity), for the semantic rule: a rephrasing writes numbers in words. None: none."""
        from r1data.ops.paraphrase import numbers

        counts, ids = [], []
        for text in texts:
            mine = sorted(
                xxhash.xxh3_64_intdigest(q.encode(), seed=_NUMBER_SEED)
                for q in (numbers(text).elements() if text else ())
            )
            counts.append(len(mine))
            ids += mine
        offsets = np.concatenate(([0], np.cumsum(counts, dtype=np.int64))).astype(np.int64)
        return NumberIndex(offsets, np.asarray(ids, dtype=np.uint64))

    @staticmethod
    def concat(parts: list[NumberIndex]) -> NumberIndex:
        if not parts:
            return NumberIndex(np.zeros(1, np.int64), np.zeros(0, np.uint64))
        starts = np.cumsum([0] + [p.ids.size for p in parts[:-1]])
        offsets = np.concatenate(
            [parts[0].offsets[:1]] + [p.offsets[1:] + s for p, s in zip(parts, starts, strict=True)]
        )
        return NumberIndex(offsets.astype(np.int64), np.concatenate([p.ids for p in parts]).astype(np.uint64))

    def changes(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """`number_changes` of every pair of rows (a C merge of sorted ids when the kernel is built, else joins)."""
        out = np.empty(left.size, dtype=np.int64)
        kernel = compiled_kernel()
        if kernel is not None:
            kernel.number_changes(
                self.offsets, self.ids, np.ascontiguousarray(left, np.int64), np.ascontiguousarray(right, np.int64), out
            )
            return out
        if left.size == 0:
            return out
        # each number keyed by its value and occurrence (the second "3" of a row is (3, 1)): the shared part of two
        # multisets is an inner join, and changes = max(|A|, |B|) - shared
        rows = np.unique(np.concatenate((left, right)))
        counts = self.offsets[rows + 1] - self.offsets[rows]
        starts = np.repeat(self.offsets[rows], counts)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        numbers = pl.DataFrame({"row": np.repeat(rows, counts), "num": self.ids[starts + within]}).with_columns(
            pl.int_range(pl.len()).over("row", "num").alias("occ")
        )
        size = self.offsets[1:] - self.offsets[:-1]
        for lo in range(0, left.size, _PAIR_CHUNK):  # chunks bound the join's memory (pairs x numbers)
            hi = min(lo + _PAIR_CHUNK, left.size)
            pairs = pl.DataFrame({"pair": np.arange(lo, hi), "a": left[lo:hi], "b": right[lo:hi]})
            shared = (
                pairs.join(numbers.rename({"row": "a"}), on="a")
                .join(numbers.rename({"row": "b"}), on=["b", "num", "occ"])
                .group_by("pair")
                .len("shared")
            )
            found = np.zeros(hi - lo, dtype=np.int64)
            found[shared.get_column("pair").to_numpy() - lo] = shared.get_column("shared").to_numpy()
            out[lo:hi] = np.maximum(size[left[lo:hi]], size[right[lo:hi]]) - found
        return out


AnswersEquivalent = Callable[[list[tuple[str, str]]], list[bool]]


def _dense_ids(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in sorted order, and each text's index among them."""
    series = pl.Series(texts, dtype=pl.String)
    return series.unique().sort().to_list(), (series.rank("dense").to_numpy() - 1).astype(np.int64)


TESTS_KEY = "\x00tests:"  # a code row's "answer" for the answer rule: its tests' hash (easy and hard versions differ)


def answer_keys(df: pl.DataFrame) -> pl.Series:
    """What the answer rule compares per row: the gold answer, or for a code problem without one, its tests."""
    answers = df.get_column(schema.ANSWER)
    if schema.TESTS not in df.columns:
        return answers
    tests = df.get_column(schema.TESTS).cast(pl.String)
    keyed = pl.Series(
        [None if t is None else TESTS_KEY + xxhash.xxh3_64_hexdigest(t.encode()) for t in tests.to_list()],
        dtype=pl.String,
    )
    return (
        pl.select(pl.when(answers.is_null() | (answers.str.strip_chars() == "")).then(keyed).otherwise(answers))
        .to_series()
        .alias(schema.ANSWER)
    )


def _differ(a: str, b: str) -> bool | None:
    if a.startswith(TESTS_KEY) or b.startswith(TESTS_KEY):  # tests: the same or not, no judge involved
        return a != b
    return plainly_different(a, b)


def answer_siblings(
    answers: list[str | None] | pl.Series,
    left: np.ndarray,
    right: np.ndarray,
    equivalent: AnswersEquivalent | None,
    present: np.ndarray | None = None,
) -> np.ndarray:
    """Per pair: both gold answers exist and are not the same answer (templated siblings, not duplicates).

    Normalised text decides first (ops/answers.normalize_answer); the pairs it cannot settle go to
    `equivalent` (the judge's math equivalence, e.g. 1/2 and 0.5), asked once per distinct pair of answers.
    Without it, different text counts as different answers. Each distinct answer is normalised once and each
    distinct pair of answers compared once, however many pairs share them."""
    out = np.zeros(left.size, dtype=bool)
    if left.size == 0:
        return out
    answers = answers if isinstance(answers, pl.Series) else pl.Series(answers, dtype=pl.String)
    # only pairs whose two rows both have an answer can be siblings: the rest never reach Python lists
    if present is None:
        present = (answers.fill_null("").str.strip_chars() != "").to_numpy()
    both_present = present[left] & present[right]
    if not both_present.all():
        at = np.flatnonzero(both_present)
        if at.size:
            out[at] = answer_siblings(answers, left[at], right[at], equivalent)
        return out
    rows = np.unique(np.concatenate((left, right)))
    raw = answers.gather(rows).to_list()
    raw_values, raw_id = _dense_ids([a or "" for a in raw])
    norm_values, norm_id_of_value = _dense_ids([normalize_answer(v) if v else "" for v in raw_values])
    li, ri = np.searchsorted(rows, left), np.searchsorted(rows, right)
    raw_l, raw_r = raw_id[li], raw_id[ri]
    nl, nr = norm_id_of_value[raw_l], norm_id_of_value[raw_r]
    empty = np.array([not v for v in norm_values], dtype=bool)
    both = ~empty[nl] & ~empty[nr]
    # A key per distinct answer (its exact value, its words): pairs whose two keys are of one kind are settled by
    # comparing keys, a vectorised lookup however many pairs a templated corpus makes; the rest pair by pair.
    keys = [None if v.startswith(TESTS_KEY) else value_key(v) for v in norm_values]
    _, key_ids = _dense_ids([repr(k) for k in keys])
    kinds = np.array([-1 if k is None else ("number", "words", "value").index(k[0]) for k in keys], dtype=np.int8)
    keyed = both & (kinds[nl] >= 0) & (kinds[nl] == kinds[nr])
    out[np.flatnonzero(keyed)[key_ids[nl[keyed]] != key_ids[nr[keyed]]]] = True
    rest = both & ~keyed
    combos, which = np.unique(np.stack((nl, nr), axis=1)[rest], axis=0, return_inverse=True)
    settled = [_differ(norm_values[a], norm_values[b]) for a, b in combos.tolist()]  # no judge needed
    verdict = np.array([-1 if v is None else int(v) for v in settled], dtype=np.int8)[which.reshape(-1)]
    idx = np.flatnonzero(rest)
    out[idx[verdict == 1]] = True
    undecided = idx[verdict == -1]
    if undecided.size == 0:
        return out
    # one question per distinct (unordered) pair of answer texts; raw ids are in text order
    lo = np.minimum(raw_l[undecided], raw_r[undecided])
    hi = np.maximum(raw_l[undecided], raw_r[undecided])
    keys_ids, first, key_of = np.unique(np.stack((lo, hi), axis=1), axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # ask in order of first appearance
    keys = [(raw_values[a], raw_values[b]) for a, b in keys_ids[order].tolist()]
    same = equivalent(keys) if equivalent is not None else [False] * len(keys)
    differ = np.empty(len(keys), dtype=bool)
    differ[order] = ~np.array(same, dtype=bool)
    out[undecided[differ[key_of.reshape(-1)]]] = True
    return out


# ---------------------------------------------------------------------------------------------------------------
# Near duplicates: the rules on candidate pairs, in memory or out of core


class Rules:
    """The checks a candidate pair passes to be a confirmed duplicate: estimated Jaccard >= threshold, numbers
    changed in at most `max_number_changes` places, gold answers not different. Counts what they reject; keeps
    the first 1,000 templated siblings (in pair order) as examples. Pairs name rows of `answers` (near-dup's rows);
    `rows` maps them to the rows of `numbers` (all rows) where the two differ."""

    def __init__(
        self,
        params: DedupParams,
        numbers: NumberIndex,
        answers: pl.Series,
        equivalent: AnswersEquivalent | None,
        stage: Callable[[str], None] = lambda name: None,
        rows: np.ndarray | None = None,
    ) -> None:
        self.params, self.numbers, self.answers, self.equivalent = params, numbers, answers, equivalent
        self.stage, self.rows = stage, rows
        self.present: np.ndarray | None = None  # rows with a gold answer (computed once)
        self.templated = 0
        self.siblings = 0
        self.judged = 0  # distinct answer pairs the judge compared
        self.unjudged = 0  # and those the cap left uncompared (kept apart: never removed on a guess)
        self.examples: list[tuple[int, int, float]] = []

    def _judge(self, keys: list[tuple[str, str]]) -> list[bool]:
        """The judge on distinct answer pairs, within `max_judged_pairs` for the run: a templated corpus whose every
        answer differs in a way text cannot settle would otherwise send it hundreds of thousands of pairs. A pair
        past the cap counts as different answers (kept apart), and the manifest says how many."""
        if self.equivalent is None or not keys:
            return [False] * len(keys)
        cap = self.params.max_judged_pairs
        room = len(keys) if cap is None else max(0, min(len(keys), cap - self.judged))
        if room:
            left = "" if cap is None else f", at most {cap - self.judged - room:,} more after these"
            self.stage(f"comparing gold answers: {room:,} pairs ({self.judged:,} compared before{left})")
        same = list(self.equivalent(keys[:room])) if room else []
        self.judged += room
        self.unjudged += len(keys) - room
        return same + [False] * (len(keys) - room)

    def number_changes(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if self.rows is not None:
            left, right = self.rows[left], self.rows[right]
        return self.numbers.changes(left, right)

    def confirm(
        self, left: np.ndarray, right: np.ndarray, est: np.ndarray, threshold: float | None = None
    ) -> np.ndarray:
        ok = est >= (self.params.threshold if threshold is None else threshold)
        if self.params.max_number_changes is not None and ok.any():
            idx = np.flatnonzero(ok)
            same = self.number_changes(left[idx], right[idx]) <= self.params.max_number_changes
            self.templated += int((~same).sum())
            ok[idx[~same]] = False
        if self.params.answer_aware and ok.any():
            idx = np.flatnonzero(ok)
            if self.present is None:
                self.present = (self.answers.fill_null("").str.strip_chars() != "").to_numpy()
            siblings = idx[answer_siblings(self.answers, left[idx], right[idx], self._judge, self.present)]
            ok[siblings] = False
            self.siblings += siblings.size
            room = 1000 - len(self.examples)
            if room > 0:
                self.examples += list(
                    zip(
                        left[siblings][:room].tolist(),
                        right[siblings][:room].tolist(),
                        est[siblings][:room].tolist(),
                        strict=True,
                    )
                )
        return ok


# ---------------------------------------------------------------------------------------------------------------
# Signatures, held while the rows are read


class SignatureStore(Protocol):
    """The signatures of every row read, in row order, added a batch at a time. `held`: they are in memory."""

    held: bool

    def add(self, block: np.ndarray) -> None: ...

    def gather(self, rows: np.ndarray) -> np.ndarray: ...

    def take(self, rows: np.ndarray) -> np.ndarray: ...


class HeldSignatures:
    """Signatures in memory, as the batches that made them."""

    held = True

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []
        self.starts: list[int] = [0]

    def add(self, block: np.ndarray) -> None:
        self.blocks.append(block)
        self.starts.append(self.starts[-1] + block.shape[0])

    def gather(self, rows: np.ndarray) -> np.ndarray:
        perm = self.blocks[0].shape[1] if self.blocks else 0
        out = np.empty((rows.size, perm), dtype=np.uint32)
        which = np.searchsorted(self.starts, rows, side="right") - 1
        for b in np.unique(which).tolist():
            at = np.flatnonzero(which == b)
            out[at] = self.blocks[b][rows[at] - self.starts[b]]
        return out

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The signatures of `rows` (ascending) as one array, the store consumed: each batch's block is freed once
        its rows are copied, so the peak is the result and one block."""
        perm = self.blocks[0].shape[1] if self.blocks else 0
        out = np.empty((rows.size, perm), dtype=np.uint32)
        cuts = np.searchsorted(rows, self.starts)
        for b, block in enumerate(self.blocks):
            out[cuts[b] : cuts[b + 1]] = block[rows[cuts[b] : cuts[b + 1]] - self.starts[b]]
            self.blocks[b] = np.zeros((0, perm), np.uint32)
        return out


# ---------------------------------------------------------------------------------------------------------------
# What dedup holds per row, collected batch by batch


@dataclass
class RowFacts:
    """Everything dedup decides from, per row: not the rows themselves. `text_keys`: a 128-bit hash of the normalised
    problem (two seeded 64-bit hashes), for exact duplicates; `answers`: what the answer rule compares (`answer_keys`);
    `numbers`: the numbers of each problem; `signatures`: MinHash signatures (near-dup only)."""

    ids: pl.Series
    text_keys: pl.DataFrame
    answers: pl.Series
    has_answer: np.ndarray
    numbers: NumberIndex
    sources: pl.Series | None
    signatures: SignatureStore | None
    embeddings: np.ndarray | None = None  # unit-length float32 rows (dedup --semantic)
    quantities: NumberIndex | None = None  # numbers words included, of the embedded rows (dedup --semantic)

    @property
    def rows(self) -> int:
        return self.ids.len()

    def release(self) -> None:
        """Let go of all but the ids once the decision is made (the rows are written next)."""
        self.text_keys, self.answers, self.has_answer = pl.DataFrame(), pl.Series(dtype=pl.String), np.zeros(0, bool)
        self.numbers, self.sources, self.signatures = NumberIndex.concat([]), None, None
        self.embeddings = self.quantities = None


class Collector:
    """RowFacts from batches of rows and their normalised problems, in row order: each batch's signatures are made
    as it comes, and nothing of the rows is held but what dedup decides from."""

    def __init__(
        self,
        params: DedupParams,
        kernels: Kernels | None = None,
        store: SignatureStore | None = None,
        embed: Callable[[list[str]], np.ndarray] | None = None,
    ):
        self.params, self.kernels = params, kernels or Kernels()
        self.store = (store or HeldSignatures()) if params.near else None
        self.embed = embed if params.semantic else None
        self.parts: dict[str, list] = {k: [] for k in ("ids", "keys", "answers", "numbers", "sources", "vecs", "qty")}
        self.with_sources = True

    def add(self, df: pl.DataFrame, normalized: pl.Series) -> None:
        p = self.parts
        p["ids"].append(df.get_column(schema.ID).cast(pl.String))
        p["keys"].append(pl.DataFrame({"a": normalized.hash(seed=1), "b": normalized.hash(seed=2)}))
        p["answers"].append(answer_keys(df).cast(pl.String))
        if self.params.near or self.params.semantic:
            p["numbers"].append(NumberIndex.of(normalized))
        if self.embed is not None:
            vecs, quantities = self._meaning(df, p["answers"][-1])
            p["vecs"].append(vecs)
            p["qty"].append(quantities)
        if self.params.near:
            sig = self.kernels.signatures(normalized, self.params.spec, self.params.workers)
            self.store.add(np.ascontiguousarray(sig, dtype=np.uint32))  # type: ignore[union-attr]
        if schema.SOURCE in df.columns:
            p["sources"].append(df.get_column(schema.SOURCE).cast(pl.String))
        else:
            self.with_sources = False

    def _meaning(self, df: pl.DataFrame, answers: pl.Series) -> tuple[np.ndarray, NumberIndex]:
        """Embeddings of the problems as written (the model was trained on text, not on normal forms) and their
        quantities, of the rows with an informative gold answer or tests only: the others are never merged by
        meaning, so their vectors stay zero and their quantities empty."""
        answered = np.flatnonzero(informative_answers(answers))
        texts = df.get_column(schema.PROBLEM).cast(pl.String).fill_null("").gather(answered).to_list()
        vecs = self.embed(texts) if texts else None  # type: ignore[misc]
        out = np.zeros((df.height, vecs.shape[1] if vecs is not None else 1), dtype=np.float32)
        per_row: list[str | None] = [None] * df.height
        if vecs is not None:
            out[answered] = vecs
            for i, text in zip(answered.tolist(), texts, strict=True):
                per_row[i] = text
        return out, NumberIndex.of_quantities(per_row)

    def facts(self) -> RowFacts:
        """The facts of every row added; the collector lets go of its parts (no second copy is held)."""
        p, self.parts = self.parts, {k: [] for k in self.parts}
        answers = pl.concat(p["answers"]) if p["answers"] else pl.Series(schema.ANSWER, [], dtype=pl.String)
        return RowFacts(
            ids=pl.concat(p["ids"]) if p["ids"] else pl.Series(schema.ID, [], dtype=pl.String),
            text_keys=pl.concat(p["keys"]) if p["keys"] else pl.DataFrame({"a": [], "b": []}),
            answers=answers,
            has_answer=(answers.fill_null("").str.strip_chars() != "").to_numpy(),
            numbers=NumberIndex.concat(p["numbers"]),
            sources=pl.concat(p["sources"]) if self.with_sources and p["sources"] else None,
            signatures=self.store,
            embeddings=_stack(p["vecs"]) if p["vecs"] else None,
            quantities=NumberIndex.concat(p["qty"]) if p["qty"] else None,
        )


def _stack(parts: list[np.ndarray]) -> np.ndarray:
    """Batches' embeddings as one array (a batch with no answered row has width 1: zeros of the others' width)."""
    width = max(p.shape[1] for p in parts)
    return np.concatenate([p if p.shape[1] == width else np.zeros((p.shape[0], width), np.float32) for p in parts])


# ---------------------------------------------------------------------------------------------------------------
# Near duplicates: in memory or out of core


@dataclass
class Near:
    dup_of: np.ndarray  # per survivor: the kept survivor it duplicates, -1 if kept
    dup_sim: np.ndarray
    candidates: int
    confirmed: int
    clusters: int  # clusters of confirmed pairs that lost at least one row
    spill: dict | None = None


def _near_in_memory(
    store: SignatureStore,
    survivors: np.ndarray,
    params: DedupParams,
    shape: tuple[int, int],
    kernels: Kernels,
    rules: Rules,
    rank: np.ndarray,
    stage: Callable[[str], None],
) -> Near:
    m = survivors.size
    sig = store.take(survivors)
    stage("LSH candidate pairs")
    left, right = kernels.pairs(sig, *shape)
    stage(f"checking {left.size:,} candidate pairs")
    est = kernels.jaccard(sig, left, right)
    del sig
    ok = rules.confirm(left, right, est)
    stage("clusters")
    cluster = components(m, left[ok], right[ok])
    dup_of, dup_sim = greedy_keep(m, left[ok], right[ok], est[ok], rank)
    return Near(dup_of, dup_sim, int(left.size), int(ok.sum()), int(np.unique(cluster[dup_of >= 0]).size))


class OutOfCore(Protocol):
    """Near-dup out of core (`r1data.spill.Spill`): the same `Near` as the in-memory search, its working state within
    a memory budget, and the store that keeps signatures within it while rows are read. ops holds no paths: where
    the working files live is the caller's."""

    def signatures(self) -> SignatureStore: ...

    def __call__(
        self,
        store: SignatureStore,
        survivors: np.ndarray,
        params: DedupParams,
        shape: tuple[int, int],
        kernels: Kernels,
        rules: Rules,
        rank: np.ndarray,
        stage: Callable[[str], None],
    ) -> Near: ...


def source_overlap(sources: pl.Series, removed: np.ndarray, leader: np.ndarray) -> dict:
    """How much the sources overlap: per ordered pair (A, B), the rows of A removed as duplicates of a row kept from
    B (A == B: A's own duplicates), with the share of A's rows that is; and each source's rows. Pairs by count."""
    names = sources.cast(pl.String).fill_null("(no source)").to_numpy()
    values, counts = np.unique(names, return_counts=True)
    rows_of = dict(zip(values.tolist(), counts.tolist(), strict=True))
    idx = np.flatnonzero(removed)
    pairs: Counter = Counter(zip(names[idx].tolist(), names[leader[idx]].tolist(), strict=True))
    listed = [
        {"source": a, "duplicates_of": b, "rows": n, "share": round(n / rows_of[a], 4)}
        for (a, b), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {"rows": rows_of, "pairs": listed}


class Clock:
    """Seconds spent per stage, in the order stages began (the manifest's `stage_seconds`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._name: str | None = None
        self._since = 0.0

    def lap(self, name: str | None) -> None:
        """End the running stage and begin `name` (None: end only)."""
        now = time.perf_counter()
        if self._name is not None:
            self.seconds[self._name] = round(self.seconds.get(self._name, 0.0) + now - self._since, 3)
        self._name, self._since = name, now


@dataclass
class Decision:
    """Per row: why it goes (None: kept), the row kept in its place, and their similarity; and the stats."""

    drop_reason: np.ndarray
    leader: np.ndarray
    similarity: np.ndarray
    stats: dict

    @property
    def removed(self) -> np.ndarray:
        return self.drop_reason != None  # noqa: E711 - elementwise over an object array


def decide(
    facts: RowFacts,
    params: DedupParams = DedupParams(),
    answers_equivalent: AnswersEquivalent | None = None,
    stage: Callable[[str], None] = lambda name: None,
    kernels: Kernels = Kernels(),
    spill: OutOfCore | None = None,
    clock: Clock | None = None,
) -> Decision:
    """Which rows go, from what was collected of them (`Collector`): exact duplicates of the normalised text, then
    near duplicates among the rest (see the module docstring for the keep rule)."""
    clock = clock or Clock()
    n = facts.rows
    has_answer = facts.has_answer
    stage("exact duplicates")
    clock.lap("exact duplicates")
    keyed = facts.text_keys.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("i"))
    first_index = keyed.select(pl.col("i").min().over("a", "b")).to_series().to_numpy()
    exact_leader = _keepers(first_index, has_answer)
    exact_dup = exact_leader != np.arange(n)
    gold = facts.answers.str.starts_with(TESTS_KEY).fill_null(False)
    conflicting = (
        keyed.with_columns(pl.when(~gold).then(facts.answers).alias("g"))
        .group_by("a", "b")
        .agg(pl.col("g").drop_nulls().n_unique().alias("answers"), pl.len().alias("rows"))
        .filter((pl.col("rows") > 1) & (pl.col("answers") > 1))
        .height
    )
    del keyed, first_index

    drop_reason = np.full(n, None, dtype=object)
    leader = np.arange(n)
    similarity = np.full(n, np.nan)
    drop_reason[exact_dup] = EXACT
    leader[exact_dup] = exact_leader[exact_dup]
    similarity[exact_dup] = 1.0

    bands, rows = lsh_shape(params)
    stats = {
        "exact_duplicates": int(exact_dup.sum()),  # lowered below for those that follow a near-duplicate twin
        "exact_groups_with_conflicting_answers": conflicting,
        "lsh_bands": bands,
        "lsh_rows": rows,
    }
    if params.near:
        clock.lap("near duplicates")
        survivors = np.flatnonzero(~exact_dup)
        answers = facts.answers.gather(survivors)
        rank = np.lexsort((np.arange(survivors.size), ~has_answer[survivors]))
        rules = Rules(params, facts.numbers, answers, answers_equivalent, stage, rows=survivors)
        near_search = spill if spill is not None else _near_in_memory
        near = near_search(facts.signatures, survivors, params, (bands, rows), kernels, rules, rank, stage)
        is_near = near.dup_of >= 0
        rows_near = survivors[is_near]
        drop_reason[rows_near] = NEAR
        leader[rows_near] = survivors[near.dup_of[is_near]]
        similarity[rows_near] = near.dup_sim[is_near]
        # An exact duplicate whose twin was then removed as a near duplicate follows its twin: it is
        # the same normalised text, so it stands in the same relation to the row kept for both.
        orphans = np.flatnonzero(exact_dup & (drop_reason[leader] == NEAR))
        stats["exact_duplicates"] -= orphans.size
        drop_reason[orphans] = NEAR
        similarity[orphans] = similarity[leader[orphans]]
        leader[orphans] = leader[leader[orphans]]
        ids = facts.ids
        stats |= {
            "signature_scheme": SIGNATURE_SCHEME,
            "candidate_pairs": near.candidates,
            "confirmed_pairs": near.confirmed,
            "pairs_rejected_numbers_differ": rules.templated,
            "templated_siblings": rules.siblings,
            "sibling_examples": [
                (str(ids[int(survivors[i])]), str(ids[int(survivors[j])]), round(e, 4)) for i, j, e in rules.examples
            ],
            "answer_pairs_judged": rules.judged,
            "answer_pairs_not_judged": rules.unjudged,
            "near_duplicates": int(is_near.sum()) + orphans.size,
            "near_clusters": near.clusters,
        }
        if spill is not None:
            stats["spill"] = near.spill
    if params.semantic and facts.embeddings is not None:
        clock.lap("semantic duplicates")
        stats |= _semantic(facts, params, answers_equivalent, stage, drop_reason, leader, similarity, exact_dup)
        stats["exact_duplicates"] -= stats["exact_duplicates_following_semantic"]
    decision = Decision(drop_reason, leader, similarity, stats)
    if facts.sources is not None:
        stats["source_overlap"] = source_overlap(facts.sources, decision.removed, leader)
    clock.lap(None)
    return decision


# Answers that siblings share: a choice letter, yes/no, a parity or a truth value (matched case-insensitively once
# \text{...}, spaces, dollars and full stops are taken off).
_UNINFORMATIVE = r"(?i)^\(?[a-h]\)?$|^(yes|no|true|false|odd|even|neither|both|none|never|always|impossible)$"


def informative_answers(answers: pl.Series) -> np.ndarray:
    """Per row: it has a gold answer (or tests) that tells problems apart, so that two problems close in meaning with
    this same answer are the same problem. A choice letter ("(C)") or a word such as "odd" or "yes" is shared by
    siblings that ask different things (on real MATH: "is f(f(x)) odd" / "is f(f(f(x))) odd"): not informative."""
    text = answers.fill_null("").str.strip_chars()
    plain = text.str.replace_all(r"\\text\{([^}]*)\}", "$1").str.replace_all(r"[\s$.]", "")
    return ((text != "") & ~plain.str.contains(_UNINFORMATIVE)).to_numpy()


def _semantic(
    facts: RowFacts,
    params: DedupParams,
    equivalent: AnswersEquivalent | None,
    stage: Callable[[str], None],
    drop_reason: np.ndarray,
    leader: np.ndarray,
    similarity: np.ndarray,
    exact_dup: np.ndarray,
) -> dict:
    """Duplicates by meaning among the rows MinHash kept, marked in place (`drop_reason`, `leader`, `similarity`).

    A pair is a duplicate when its cosine similarity is at least `semantic_threshold`, its quantities are the same
    (number words included: a rephrasing keeps them and may write "five" for 5; a renumbered copy is MinHash's), and
    both rows have gold answers (or tests) that are the same and informative (`informative_answers`). Rows without
    one are never merged by meaning: on real MATH and GSM8K most pairs that close in meaning are templated siblings
    with another answer (a sign, a word, a condition changed), and only the answers tell them apart. The keep rule is
    MinHash's (answered rows first, then input order; every removed row is that close to the row kept for it)."""
    kept = drop_reason == None  # noqa: E711 - elementwise over an object array
    informative = informative_answers(facts.answers)
    rows = np.flatnonzero(kept & informative)
    assert facts.embeddings is not None
    stage(f"semantic duplicates: similar pairs among {rows.size:,} rows with an answer")
    left, right, sim = similar_pairs(facts.embeddings[rows], params.semantic_threshold)
    assert facts.quantities is not None
    rules = Rules(
        dataclasses.replace(params, answer_aware=True, max_number_changes=0),
        facts.quantities,
        facts.answers.gather(rows),
        equivalent,
        stage,
        rows=rows,
    )
    ok = rules.confirm(left, right, sim.astype(np.float64), threshold=params.semantic_threshold)
    rank = np.arange(rows.size)  # all answered: input order
    dup_of, dup_sim = greedy_keep(rows.size, left[ok], right[ok], sim[ok].astype(np.float64), rank)
    gone = dup_of >= 0
    drop_reason[rows[gone]] = SEMANTIC
    leader[rows[gone]] = rows[dup_of[gone]]
    similarity[rows[gone]] = dup_sim[gone]
    orphans = np.flatnonzero(exact_dup & (drop_reason[leader] == SEMANTIC))  # exact twins follow, as for MinHash
    drop_reason[orphans] = SEMANTIC
    similarity[orphans] = similarity[leader[orphans]]
    leader[orphans] = leader[leader[orphans]]
    return {
        "semantic_threshold": params.semantic_threshold,
        "semantic_rows_compared": int(rows.size),
        "semantic_rows_without_answer": int((kept & ~facts.has_answer).sum()),
        "semantic_rows_uninformative_answer": int((kept & facts.has_answer & ~informative).sum()),
        "semantic_pairs": int(sim.size),
        "semantic_pairs_numbers_differ": rules.templated,
        "semantic_siblings": rules.siblings,
        "semantic_duplicates": int(gone.sum()) + orphans.size,
        "exact_duplicates_following_semantic": int(orphans.size),
    }


def split(df: pl.DataFrame, decision: Decision, ids: pl.Series, offset: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows `offset .. offset + df.height` of the decision applied to df (those rows): the kept rows, and the removed
    ones with drop_reason, duplicate_of (the kept row's id) and similarity."""
    part = slice(offset, offset + df.height)
    removed_mask = decision.removed[part]
    annotated = df.with_columns(
        pl.Series(schema.DROP_REASON, decision.drop_reason[part].tolist(), dtype=pl.String),
        ids.gather(decision.leader[part]).alias(schema.DUPLICATE_OF),
        pl.Series(SIMILARITY, decision.similarity[part]).round(4),
    )
    kept = annotated.filter(pl.Series(~removed_mask)).drop(schema.DROP_REASON, schema.DUPLICATE_OF, SIMILARITY)
    return kept, annotated.filter(pl.Series(removed_mask))


@dataclass
class DedupResult:
    kept: pl.DataFrame
    removed: pl.DataFrame
    stats: dict


def dedup(
    df: pl.DataFrame,
    params: DedupParams = DedupParams(),
    normalized: pl.Series | None = None,
    answers_equivalent: AnswersEquivalent | None = None,
    stage: Callable[[str], None] = lambda name: None,
    kernels: Kernels = Kernels(),
    spill: OutOfCore | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> DedupResult:
    """Split df into kept rows and removed rows (with drop_reason, duplicate_of, similarity): `Collector`, `decide`
    and `split` over one batch, all in memory (`r1data dedup` streams its inputs through the same three).

    `normalized`: the problems already normalised (row-aligned), when the caller has them.
    `answers_equivalent`: decides whether two gold answers whose text differs are the same answer (the judge);
    with `params.answer_aware`, a near-duplicate pair whose answers differ is kept apart. `stage` is told the name of
    each stage as it begins (live progress). `spill`: run near-dup out of core (`r1data.spill.Spill`: signatures,
    band buckets and pairs in sorted runs on disk, the working state within its memory budget); the result is the
    same. `embed`: texts -> unit-length embeddings, for `params.semantic` (r1data.embed.Embedder.encode)."""
    norm = normalized if normalized is not None else normalize_series(df.get_column(schema.PROBLEM))
    clock = Clock()
    clock.lap("signatures")
    stage(f"MinHash signatures of {df.height:,} problems")
    collector = Collector(params, kernels, spill.signatures() if spill is not None and params.near else None, embed)
    collector.add(df, norm)
    facts = collector.facts()
    decision = decide(facts, params, answers_equivalent, stage, kernels, spill, clock)
    kept, removed = split(df, decision, facts.ids)
    decision.stats["kept"] = kept.height
    decision.stats["stage_seconds"] = clock.seconds
    return DedupResult(kept, removed, decision.stats)
