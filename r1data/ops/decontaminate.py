"""Benchmark decontamination by shared word n-grams, plus an optional digit-insensitive exact match.

A row is contaminated when one of its word n-grams (default 8, as open-r1; Light-R1 used 32) is an
n-gram of some benchmark problem. Words are LaTeX commands and alphanumeric runs of the normalised
text; symbols are left out, since eight symbols in a row are no evidence of a copy. A benchmark
problem shorter than n words contributes its whole text as one n-gram, so it matches rows that are
that same short problem.

The digit-insensitive match compares whole normalised texts with every digit run replaced by `0`:
it catches renumbered copies that share no long n-gram.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from r1data import schema
from r1data.ops.minhash import shingle_hashes, token_hashes
from r1data.ops.normalize import WORD_PATTERN, mask_digits, normalize_series
from r1data.ops.semantic import SemanticParams, find_leaks

CONTAMINATED = "contaminated"
BENCHMARK = "contaminated_benchmark"
ITEM = "contaminated_item"
MATCH = "contamination_match"
OVERLAP = "overlap"
MATCHED_TEXT = "matched_text"
MATCH_KINDS = ("ngram", "digits_exact", "paraphrase", "semantic")
_WORD_RE = re.compile(WORD_PATTERN)
_SEED = 1234
_ROW_CHUNK = 50_000


@dataclass(frozen=True)
class DecontamParams:
    """`min_overlap`: the share of a benchmark item's n-grams a row must contain. 0 flags any shared
    n-gram (open-r1's rule). Measured on MATH test against MATH-500 with 8-grams: 0 flags the 500
    copies plus 505 other rows (generic phrases such as "express your answer as a decimal to the"),
    0.5 flags the 500 plus 44 (see tests/ops/test_decontaminate.py)."""

    ngram: int = 8
    min_overlap: float = 0.5
    digits_exact: bool = False
    paraphrase: bool = False  # also rephrasings: same quantities and answer, other words (ops/paraphrase.py)


@dataclass
class Benchmark:
    name: str
    problems: list[str]
    ids: list[str]
    answers: list[str | None] | None = None


def _word_ngrams(normalized: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    hashes, lengths = token_hashes(normalized, WORD_PATTERN)
    return shingle_hashes(hashes, lengths, n, _SEED)


def _positions(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each shingle: its document and its index within the document."""
    doc = np.repeat(np.arange(counts.size), counts)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if counts.size else counts
    return doc, np.arange(doc.size) - starts[doc]


@dataclass
class _Index:
    """Benchmark n-grams: (hash, item) pairs, each item's n-gram count, and digit-masked texts."""

    ngrams: pl.DataFrame
    item_ngrams: pl.DataFrame
    digit_keys: dict[str, int]
    bench_name: list[str]
    item_id: list[str]


def build_index(benchmarks: list[Benchmark], params: DecontamParams) -> _Index:
    bench_name, item_id, texts = [], [], []
    for b in benchmarks:
        bench_name += [b.name] * len(b.problems)
        item_id += list(b.ids)
        texts += list(b.problems)
    normalized = normalize_series(pl.Series(texts, dtype=pl.String)).to_list()
    shingles, counts = _word_ngrams(normalized, params.ngram)
    doc, _ = _positions(counts)
    ngrams = pl.DataFrame({"h": shingles, "item": doc}).unique()
    item_ngrams = ngrams.group_by("item").agg(pl.len().alias("item_ngrams"))
    digit_keys: dict[str, int] = {}
    if params.digits_exact:
        for i, s in enumerate(normalized):
            digit_keys.setdefault(mask_digits(s), i)
    return _Index(ngrams, item_ngrams, digit_keys, bench_name, item_id)


def _best_matches(index: _Index, shingles: np.ndarray, counts: np.ndarray, min_overlap: float) -> pl.DataFrame:
    """Per contaminated document: the benchmark item it covers most, the coverage, the first shared n-gram."""
    doc, k = _positions(counts)
    rows = pl.DataFrame({"h": shingles, "doc": doc, "k": k})
    return (
        rows.join(index.ngrams, on="h")
        .group_by("doc", "item")
        .agg(pl.col("h").n_unique().alias("shared"), pl.col("k").min())
        .join(index.item_ngrams, on="item")
        .with_columns((pl.col("shared") / pl.col("item_ngrams")).alias("overlap"))
        .filter(pl.col("overlap") >= min_overlap)
        .sort(["doc", "overlap", "item"], descending=[False, True, False])
        .group_by("doc", maintain_order=True)
        .first()
    )


@dataclass
class DecontamResult:
    kept: pl.DataFrame
    removed: pl.DataFrame
    stats: dict


def decontaminate(
    df: pl.DataFrame,
    benchmarks: list[Benchmark],
    params: DecontamParams = DecontamParams(),
    answers_equivalent: Callable[[list[tuple[str, str]]], list[bool]] | None = None,
) -> DecontamResult:
    """Split df into clean rows and contaminated rows (with the benchmark, item, overlap and matched n-gram).
    `answers_equivalent` settles answer pairs plain arithmetic cannot (the judge), for --paraphrase."""
    index = build_index(benchmarks, params)
    n_rows = df.height
    hit_item = np.full(n_rows, -1, dtype=np.int64)
    how: list[str | None] = [None] * n_rows
    text: list[str | None] = [None] * n_rows
    overlap = np.full(n_rows, np.nan)
    normalized = normalize_series(df.get_column(schema.PROBLEM)).to_list()
    n = params.ngram
    for lo in range(0, n_rows, _ROW_CHUNK):
        chunk = normalized[lo : lo + _ROW_CHUNK]
        shingles, counts = _word_ngrams(chunk, n)
        best = _best_matches(index, shingles, counts, params.min_overlap)
        for d, item, k, cov in best.select("doc", "item", "k", "overlap").iter_rows():
            row = lo + d
            hit_item[row], how[row], overlap[row] = item, "ngram", cov
            text[row] = " ".join(_WORD_RE.findall(chunk[d])[k : k + n])
    if params.digits_exact:
        for row, s in enumerate(normalized):
            if hit_item[row] < 0 and (i := index.digit_keys.get(mask_digits(s))) is not None:
                hit_item[row], how[row], overlap[row] = i, "digits_exact", 1.0
                text[row] = s[:200]
    if params.paraphrase:
        from r1data.ops.paraphrase import find_paraphrases, numbers

        open_rows = np.flatnonzero(hit_item < 0)
        problems = df.get_column(schema.PROBLEM).to_list()
        row_answers = df.get_column(schema.ANSWER).to_list() if schema.ANSWER in df.columns else None
        item_answers = [a for b in benchmarks for a in (b.answers or [None] * len(b.problems))]
        item_texts = [t for b in benchmarks for t in b.problems]
        matches = find_paraphrases(
            [problems[r] for r in open_rows],
            item_texts,
            [row_answers[r] for r in open_rows] if row_answers else None,
            item_answers,
            answers_equivalent=answers_equivalent,
        )
        for m in matches:
            row = int(open_rows[m.row])
            hit_item[row], how[row], overlap[row] = m.item, "paraphrase", m.content
            shared = numbers(problems[row]) & numbers(item_texts[m.item])
            text[row] = "quantities " + ", ".join(sorted(shared.elements()))

    contaminated = hit_item >= 0
    names = [index.bench_name[i] if i >= 0 else None for i in hit_item]
    audit = (BENCHMARK, ITEM, MATCH, OVERLAP, MATCHED_TEXT)
    annotated = df.with_columns(
        pl.Series(schema.DROP_REASON, [CONTAMINATED if c else None for c in contaminated], dtype=pl.String),
        pl.Series(BENCHMARK, names, dtype=pl.String),
        pl.Series(ITEM, [index.item_id[i] if i >= 0 else None for i in hit_item], dtype=pl.String),
        pl.Series(MATCH, how, dtype=pl.String),
        pl.Series(OVERLAP, overlap).round(4),
        pl.Series(MATCHED_TEXT, text, dtype=pl.String),
    )
    mask = pl.Series(contaminated)
    kept = annotated.filter(~mask).drop(schema.DROP_REASON, *audit)
    removed = annotated.filter(mask)
    per_benchmark = {b.name: 0 for b in benchmarks}
    for name in names:
        if name is not None:
            per_benchmark[name] += 1
    stats = {
        "benchmark_items": {b.name: len(b.problems) for b in benchmarks},
        "rows_matched": per_benchmark,
        "matched_by": {m: how.count(m) for m in MATCH_KINDS if how.count(m)},
        "benchmark_items_hit": int(np.unique(hit_item[contaminated]).size),
    }
    return DecontamResult(kept, removed, stats)


Embed = Callable[[list[str]], np.ndarray]  # texts -> unit-length float32 rows (r1data.embed.Embedder.encode)


def semantic_pass(
    result: DecontamResult,
    benchmarks: list[Benchmark],
    params: SemanticParams,
    embed: Embed,
    answers_equivalent: Callable[[list[tuple[str, str]]], list[bool]] | None = None,
    stage: Callable[[str], None] = lambda name: None,
) -> DecontamResult:
    """The rows `result` kept, checked by meaning against the benchmarks (ops/semantic.py): leaks move to the removed
    rows with the benchmark, the item, the cosine similarity (`overlap`) and what agreed (`matched_text`). It runs
    after the word tests (on any executor), so each row is embedded only if they did not already catch it."""
    kept = result.kept
    item_texts = [t for b in benchmarks for t in b.problems]
    item_answers = [a for b in benchmarks for a in (b.answers or [None] * len(b.problems))]
    bench_name = [b.name for b in benchmarks for _ in b.problems]
    item_id = [i for b in benchmarks for i in b.ids]
    stage(f"embedding {len(item_texts):,} benchmark problems")
    item_vecs = embed(item_texts)
    problems = kept.get_column(schema.PROBLEM).cast(pl.String).fill_null("").to_list()
    stage(f"embedding {len(problems):,} problems")
    row_vecs = embed(problems)
    stage("nearest benchmark problems")
    row_answers = kept.get_column(schema.ANSWER).to_list() if schema.ANSWER in kept.columns else None
    leaks, siblings = find_leaks(
        problems, row_vecs, item_texts, item_vecs, row_answers, item_answers, params, answers_equivalent
    )
    hit = np.zeros(kept.height, dtype=bool)
    names: list[str | None] = [None] * kept.height
    items: list[str | None] = [None] * kept.height
    sims = np.full(kept.height, np.nan)
    text: list[str | None] = [None] * kept.height
    for leak in leaks:
        hit[leak.row] = True
        names[leak.row], items[leak.row], sims[leak.row] = bench_name[leak.item], item_id[leak.item], leak.similarity
        text[leak.row] = (
            f"{leak.rule}: cosine {leak.similarity:.3f}, quantities {leak.shared} of {leak.quantities} shared; "
            f"item: {item_texts[leak.item][:160]}"
        )
    mask = pl.Series(hit)
    flagged = kept.filter(mask).with_columns(
        pl.lit(CONTAMINATED, pl.String).alias(schema.DROP_REASON),
        pl.Series(BENCHMARK, [n for n, h in zip(names, hit, strict=True) if h], dtype=pl.String),
        pl.Series(ITEM, [i for i, h in zip(items, hit, strict=True) if h], dtype=pl.String),
        pl.lit("semantic", pl.String).alias(MATCH),
        pl.Series(OVERLAP, sims[hit]).round(4),
        pl.Series(MATCHED_TEXT, [t for t, h in zip(text, hit, strict=True) if h], dtype=pl.String),
    )
    removed = pl.concat([result.removed, flagged], how="diagonal_relaxed") if result.removed.height else flagged
    stats = dict(result.stats)
    per_benchmark = dict(stats.get("rows_matched", {}))
    for name, h in zip(names, hit, strict=True):
        if h:
            per_benchmark[name] = per_benchmark.get(name, 0) + 1
    stats["rows_matched"] = per_benchmark
    matched_by = dict(stats.get("matched_by", {}))
    if leaks:
        matched_by["semantic"] = len(leaks)
    stats["matched_by"] = matched_by
    stats["benchmark_items_hit"] = (
        removed.select(BENCHMARK, ITEM).unique().height if removed.height and BENCHMARK in removed.columns else 0
    )
    rules = Counter(leak.rule for leak in leaks)
    stats["semantic"] = {
        "rows_checked": kept.height,
        "leaks": len(leaks),
        "by_rule": dict(sorted(rules.items())),
        "siblings_kept": siblings,
        "params": dataclasses.asdict(params),
    }
    return DecontamResult(kept.filter(~mask), removed, stats)
