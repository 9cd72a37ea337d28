"""Chain-of-thought statistics: the numbers replication papers compare across datasets.

Lengths are token counts of the think part and of the answer, with a tokenizer the user names or,
without one, words and punctuation marks (`rewards.count_tokens`: `\\w+|[^\\w\\s]`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from r1data import schema
from r1data.ops.completions import completion_text
from r1data.ops.quality import count_tokens
from r1data.ops.traces import split
from r1data.ops.verify import flatten_column

Counter = Callable[[list[str]], list[int]]
PASS_RATE_BINS = ("0", "(0, .25]", "(.25, .5]", "(.5, .75]", "(.75, 1)", "1")


def pass_rate_bin(x: float) -> str:
    """0 and 1 apart (the problems a pass-rate filter drops), quarters between."""
    if x <= 0:
        return "0"
    if x >= 1:
        return "1"
    return "(0, .25]" if x <= 0.25 else "(.25, .5]" if x <= 0.5 else "(.5, .75]" if x <= 0.75 else "(.75, 1)"


def word_counter(texts: list[str]) -> list[int]:
    return [count_tokens(t) for t in texts]


def describe(values: list[int] | np.ndarray) -> dict[str, float | int | None]:
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return {"n": 0, "mean": None, "median": None, "p90": None, "p99": None, "max": None}
    return {
        "n": int(a.size),
        "mean": float(a.mean()),
        "median": float(np.median(a)),
        "p90": float(np.percentile(a, 90)),
        "p99": float(np.percentile(a, 99)),
        "max": int(a.max()),
    }


@dataclass
class Traces:
    """One entry per completion: its source, lengths, truncation, correctness."""

    source: list[str]
    think: np.ndarray
    answer: np.ndarray
    truncated: np.ndarray
    correct: list[bool | None]
    sizes: list[int]  # completions per row
    is_list: bool  # rows hold lists of completions


def _aligned(df: pl.DataFrame, col: str, sizes: list[int]) -> list | None:
    """A per-trace column flattened, when it has one value per trace (else None: it describes something else)."""
    if col not in df.columns:
        return None
    values, counts, _ = flatten_column(df, col)
    return values if counts == sizes else None


def traces(df: pl.DataFrame, col: str, count: Counter, think_prefilled: bool = False, fmt: str = "auto") -> Traces:
    """Lengths, truncation and correctness of every trace in column col (a trace per row, or a list of them)."""
    flat, sizes, is_list = flatten_column(df, col)
    texts = [completion_text(c) for c in flat]
    parts = [split(t, think_prefilled, fmt) for t in texts]
    think = np.array(count([p.thought for p in parts]), dtype=np.int64)
    answer = np.array(count([p.answer for p in parts]), dtype=np.int64)
    truncated = np.array([p.truncated for p in parts], dtype=bool)
    for flag in ("finish_reason", "finish_reasons", "truncated"):  # what the generator itself recorded
        extra = _aligned(df, flag, sizes)
        if extra is not None:
            truncated |= np.array([x == "length" or x is True for x in extra], dtype=bool)
    correct: list[bool | None] = _aligned(df, "correct", sizes) or [None] * len(flat)
    sources = df.get_column(schema.SOURCE).cast(pl.String).fill_null("").to_list()
    source = [s for s, n in zip(sources, sizes, strict=True) for _ in range(n)]
    return Traces(source, think, answer, truncated, correct, sizes, is_list)


def summarize(t: Traces, pass_rates: list[float | None] | None = None) -> dict:
    """Per-source and overall statistics of a set of traces."""

    def block(mask: np.ndarray, rates: list[float | None] | None) -> dict:
        known = [c for c, m in zip(t.correct, mask, strict=True) if m and c is not None]
        out = {
            "completions": int(mask.sum()),
            "think_tokens": describe(t.think[mask]),
            "answer_tokens": describe(t.answer[mask]),
            "truncated_share": float(t.truncated[mask].mean()) if mask.any() else None,
            "accuracy": sum(known) / len(known) if known else None,
        }
        if rates is not None:
            r = [x for x in rates if x is not None]
            out["pass_rate"] = {
                "mean": float(np.mean(r)) if r else None,
                "bins": {label: sum(pass_rate_bin(x) == label for x in r) for label in PASS_RATE_BINS},
            }
        return out

    sources = sorted(set(t.source))
    everything = np.ones(len(t.source), dtype=bool)
    result = {"all": block(everything, pass_rates)}
    if len(sources) > 1:
        for s in sources:
            result[s] = block(np.array([x == s for x in t.source], dtype=bool), None)
    return result


def histogram(values: np.ndarray, bins: int = 12) -> list[tuple[str, int]]:
    """Log-spaced bins of a length distribution, for a text histogram."""
    if values.size == 0:
        return []
    top = max(int(values.max()), 1)
    edges = np.unique(np.round(np.geomspace(1, top + 1, bins + 1)).astype(int))
    edges = np.concatenate(([0], edges))
    counts, _ = np.histogram(values, bins=edges)
    return [(f"{edges[i]}-{edges[i + 1] - 1}", int(c)) for i, c in enumerate(counts)]
