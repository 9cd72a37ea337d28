"""Tag each problem with the types rule-based verification cannot judge (problem_tags: proof, multiple_choice,
multi_part, needs_figure, yes_no, no_answer, code), and with --drop move the rows with those tags to removed/
with drop_reason `tag:<name>`. The rules are in r1data/ops/tags.py; their precision and recall on hand-labelled
real problems are printed by benchmarks/bench_tags.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from r1data import schema
from r1data.config import check, setting
from r1data.ops.tags import TAGS, check_tags, tag
from r1data.steps.base import IOConfig, StepResult, run_one_shot

KIND = "one-shot"
COLUMN = "problem_tags"


@dataclass(kw_only=True)
class Config:
    drop: list[str] = setting(
        [],
        f"Tags whose rows go to removed/ (comma-separated or repeated): {', '.join(TAGS)}.",
        sep=",",
    )

    def __post_init__(self) -> None:
        names = [n for item in self.drop for n in str(item).split(",")]
        try:
            self.drop = check_tags(names)
        except ValueError as exc:
            check(False, "drop", str(exc))


def tag_frame(df: pl.DataFrame) -> pl.Series:
    """problem_tags for every row of a records frame."""
    problems = df.get_column(schema.PROBLEM).to_list()
    none = [None] * len(problems)
    golds = df.get_column(schema.ANSWER).cast(pl.String).to_list() if schema.ANSWER in df.columns else none
    tests = df.get_column(schema.TESTS).to_list() if schema.TESTS in df.columns else none
    has_tests = [t is not None and str(t).strip() not in ("", "[]", "{}") for t in tests]
    tags = [tag(p, g, t) for p, g, t in zip(problems, golds, has_tests, strict=True)]
    return pl.Series(COLUMN, tags, dtype=pl.List(pl.String))


def run(inputs: list[str | Path], out: str | Path, cfg: Config, io: IOConfig, *, engine: Any = None) -> StepResult:
    """`r1data tag`."""

    def op(read: Any, _executor: Any) -> tuple:
        df = read.records.with_columns(tag_frame(read.records))
        tags = df.get_column(COLUMN).to_list()
        # The first of the --drop tags (in the order given) a row has is its reason.
        reasons = [next((f"tag:{t}" for t in cfg.drop if t in row), None) for row in tags]
        drop = pl.Series(reasons, dtype=pl.String)
        kept = df.filter(drop.is_null())
        removed = df.filter(drop.is_not_null()).with_columns(drop.filter(drop.is_not_null()).alias(schema.DROP_REASON))
        counts = {t: sum(t in row for row in tags) for t in TAGS}
        stats = {
            "rows_in": df.height,
            "rows_kept": kept.height,
            "rows_removed": removed.height,
            "tagged": counts,
            "untagged": sum(not row for row in tags),
            "dropped": {t: reasons.count(f"tag:{t}") for t in cfg.drop},
        }
        return kept, removed, stats

    return run_one_shot("tag", inputs, out, cfg, io, op)
