"""Scoring a table of completions: the judge's verdicts plus every requested check, per row.

A row holds one completion (a string column) or several (a list column such as `generations`).
Scalar rows get `correct`, `pred_answer`, `verify_status` and `reward_<check>`; list rows get lists
of the same, aligned with the completions, plus `pass_rate` (correct / judged; null when none could
be judged) and `judged`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import polars as pl

from r1data import schema
from r1data.errors import ConfigError, SchemaError
from r1data.ops import mathcheck
from r1data.ops.code import CodeVerdict, golds_for
from r1data.ops.rewards import NEEDS_GOLD, NEEDS_TESTS, REWARDS, get_reward

COMPLETION_CANDIDATES = ("generations", "completions", "completion", "response", "output", "generation")
CORRECT, PRED_ANSWER, STATUS, PASS_RATE, JUDGED = "correct", "pred_answer", "verify_status", "pass_rate", "judged"
JUDGE_CHECKS = {"accuracy", "cosine", "length"}


def find_completion_column(df: pl.DataFrame, given: str | None, where: str) -> str:
    if given is not None:
        if given not in df.columns:
            raise SchemaError(
                f"{where}: --completion-field '{given}' is not a column. Columns present: {', '.join(df.columns)}"
            )
        return given
    found = next((c for c in COMPLETION_CANDIDATES if c in df.columns), None)
    if found is None:
        raise SchemaError(
            f"{where}: no completion column ({', '.join(COMPLETION_CANDIDATES)}). "
            f"Columns present: {', '.join(df.columns)}. Name it with --completion-field COLUMN."
        )
    return found


def flatten_column(df: pl.DataFrame, col: str) -> tuple[list[Any], list[int], bool]:
    """A column of values or of lists of values, flattened: (values, count per row, was a list)."""
    values = df.get_column(col).to_list()
    if df.schema[col].base_type() not in (pl.List, pl.Array):
        return values, [1] * len(values), False
    rows = [list(v) if v is not None else [] for v in values]
    return [x for r in rows for x in r], [len(r) for r in rows], True


def parse_checks(text: str) -> list[str]:
    checks = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in checks if c not in REWARDS]
    if unknown:
        raise ConfigError(f"--checks: unknown {', '.join(unknown)}; choose from {', '.join(REWARDS)}")
    return checks


def _options_for(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options a check takes, out of all the command's options."""
    import inspect

    params = inspect.signature(REWARDS[name]).parameters
    return {k: v for k, v in options.items() if k in params}


def score_table(
    df: pl.DataFrame,
    completion_col: str,
    checks: Sequence[str],
    judge: Any,
    options: dict[str, Any] | None = None,
) -> tuple[pl.DataFrame, dict]:
    """Add verdict and check columns to df; return it with summary statistics."""
    options = options or {}
    flat, sizes, is_list = flatten_column(df, completion_col)
    golds = [g for g, n in zip(golds_for(df), sizes, strict=True) for _ in range(n)]  # code rows: tests
    prompts = [p for p, n in zip(df.get_column(schema.PROBLEM).to_list(), sizes, strict=True) for _ in range(n)]

    verdicts = judge.verify(golds, flat)
    scores: dict[str, list] = {}
    for name in checks:
        kwargs = _options_for(name, options)
        if name in JUDGE_CHECKS:
            kwargs["verdicts"] = verdicts
        if name in NEEDS_GOLD:
            kwargs["answer"] = golds
        if name in NEEDS_TESTS:
            kwargs["tests"] = golds  # parsed suites (code rows); math rows score None
        if name == "length":
            kwargs["prompts"] = prompts
        scores[name] = get_reward(name)(flat, **kwargs)

    def regroup(values: list) -> list:
        out, i = [], 0
        for n in sizes:
            out.append(values[i : i + n] if is_list else values[i])
            i += n
        return out

    def column(name: str, values: list, dtype: pl.DataType) -> pl.Series:
        return pl.Series(name, regroup(values), dtype=pl.List(dtype) if is_list else dtype)

    correct = [v.correct for v in verdicts]
    columns = [
        column(CORRECT, correct, pl.Boolean),
        column(PRED_ANSWER, [v.pred_answer for v in verdicts], pl.String),
        column(STATUS, [v.status for v in verdicts], pl.String),
    ]
    columns += [column(f"reward_{name}", values, pl.Float64) for name, values in scores.items()]
    if any(isinstance(v, CodeVerdict) for v in verdicts):  # code rows: which test failed, and why
        code = [v if isinstance(v, CodeVerdict) else None for v in verdicts]
        columns += [
            column("tests_passed", [c and c.passed for c in code], pl.Int64),
            column("tests_total", [c and c.total for c in code], pl.Int64),
            column("failed_test", [c and c.failed_test for c in code], pl.Int64),
            column("verify_detail", [(c.detail or None) if c else None for c in code], pl.String),
        ]
    if is_list:
        rates, judged = [], []
        for row in regroup(correct):
            known = [c for c in row if c is not None]
            judged.append(len(known))
            rates.append(sum(known) / len(known) if known else None)
        columns += [pl.Series(PASS_RATE, rates, dtype=pl.Float64), pl.Series(JUDGED, judged, dtype=pl.Int64)]
    out = df.with_columns(columns)

    statuses = Counter(v.status for v in verdicts)
    known = [c for c in correct if c is not None]
    status, unparseable = pl.col(STATUS), mathcheck.GOLD_UNPARSEABLE
    gold_bad = out.filter(status.list.contains(unparseable) if is_list else status == unparseable)
    stats = {
        "completions": len(flat),
        "accuracy": sum(known) / len(known) if known else None,
        "statuses": {s: statuses.get(s, 0) for s in mathcheck.STATUSES}
        | {s: n for s, n in statuses.items() if s not in mathcheck.STATUSES},  # code: passed, failed, timeout...
        "check_means": {
            name: (sum(x for x in vals if x is not None) / n if (n := sum(x is not None for x in vals)) else None)
            for name, vals in scores.items()
        },
        "gold_unparseable_rows": gold_bad.height,
        "gold_unparseable_examples": gold_bad.select(schema.ID, schema.ANSWER).head(1000).rows(),
    }
    return out, stats
