"""Chain-of-thought statistics: the numbers replication papers compare across datasets.

Lengths are token counts of the think part and of the answer, with a tokenizer the user names or,
without one, words and punctuation marks (`rewards.count_tokens`: `\\w+|[^\\w\\s]`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from r1data import schema
from r1data.errors import InputError, MissingExtraError
from r1data.ops.completions import THINK_OPEN, completion_text, split_think
from r1data.ops.rewards import count_tokens
from r1data.ops.verify import flatten_column

Counter = Callable[[list[str]], list[int]]
TEXT_CANDIDATES = ("generations", "completions", "completion", "response", "output", "generation", "solution")
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


def load_counter(path: str | None) -> tuple[Counter, str]:
    """A token counter from a local tokenizer (a tokenizer.json file, or a model/tokenizer folder),
    and its description. Never downloads: the path must exist."""
    if path is None:
        return word_counter, "words and punctuation (no --tokenizer)"
    p = Path(path)
    if not p.exists():
        raise InputError(f"--tokenizer {path}: no such file or folder (give a local tokenizer.json or model folder)")
    if p.is_dir():
        try:
            from transformers import AutoTokenizer
        except ImportError:
            p = p / "tokenizer.json"
            if not p.is_file():
                raise MissingExtraError("transformers", "train", "--tokenizer with a model folder") from None
        else:
            tok = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
            return (lambda texts: [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]), str(p)
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise MissingExtraError("tokenizers", "train", "--tokenizer") from None
    tok = Tokenizer.from_file(str(p))
    return (lambda texts: [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]), str(p)


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


def text_column(df: pl.DataFrame, given: str | None, where: str) -> str:
    if given is not None:
        if given not in df.columns:
            raise InputError(f"{where}: --completion-field '{given}' is not a column. Columns: {', '.join(df.columns)}")
        return given
    for c in TEXT_CANDIDATES:
        if c in df.columns:
            return c
    raise InputError(f"{where}: no completion or solution column. Columns: {', '.join(df.columns)}")


@dataclass
class Traces:
    """One entry per completion: its source, lengths, truncation, correctness."""

    source: list[str]
    think: np.ndarray
    answer: np.ndarray
    truncated: np.ndarray
    correct: list[bool | None]


def traces(df: pl.DataFrame, col: str, count: Counter, think_prefilled: bool = False) -> Traces:
    flat, sizes, _ = flatten_column(df, col)
    texts = [completion_text(c) for c in flat]
    parts = [split_think(t, think_prefilled) for t in texts]
    think = np.array(count([p[0] for p in parts]), dtype=np.int64)
    answer = np.array(count([p[1] for p in parts]), dtype=np.int64)
    opened = [think_prefilled or THINK_OPEN in t for t in texts]
    truncated = np.array([o and not closed for o, (_, _, closed) in zip(opened, parts, strict=True)], dtype=bool)
    for flag in ("finish_reason", "finish_reasons", "truncated"):
        if flag in df.columns:
            extra, _, _ = flatten_column(df, flag)
            truncated |= np.array([x == "length" or x is True for x in extra], dtype=bool)
    correct: list[bool | None] = [None] * len(flat)
    if "correct" in df.columns:
        correct, _, _ = flatten_column(df, "correct")
    sources = df.get_column(schema.SOURCE).cast(pl.String).fill_null("").to_list()
    source = [s for s, n in zip(sources, sizes, strict=True) for _ in range(n)]
    return Traces(source, think, answer, truncated, correct)


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
