"""Judge each completion against the row's gold answer (math-verify, in worker processes that cannot hang) or
its tests (code, in the sandbox), and score the requested checks. Adds correct (true/false/null), pred_answer,
verify_status and reward_<check>; list columns also get pass_rate and judged. No row is dropped; rows whose
gold answer cannot be parsed are listed: they are data bugs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from r1data import progress, schema
from r1data.config import check, setting
from r1data.judge.inputs import golds_for, judge_completions
from r1data.judge.rewards import ALL_TESTS, REWARDS, get_reward
from r1data.judge.verdict import (
    CORRECT_WITHOUT_FINAL,
    GOLD_SUSPECT,
    GOLD_UNPARSEABLE,
    NO_GOLD,
    NOT_JUDGEABLE,
    STATUSES,
    CodeVerdict,
)
from r1data.ops.code import TestSuite
from r1data.ops.verify import flatten_column, pass_rates, regroup
from r1data.steps.base import IOConfig, StepResult, run_one_shot
from r1data.steps.generation import JudgeConfig

KIND = "one-shot"
CORRECT, PRED_ANSWER, STATUS, PASS_RATE, JUDGED = "correct", "pred_answer", "verify_status", "pass_rate", "judged"


@dataclass(kw_only=True)
class Config(JudgeConfig):
    checks: list[str] = setting(
        ["accuracy", "format"], "Checks to score, comma-separated: " + ", ".join(REWARDS) + ".", sep=","
    )
    completion_field: str | None = setting(
        None, "Column with the completion (a string) or completions (a list) [default: generations, completion, ...]."
    )
    answer_tags: bool = setting(False, "format: require <answer>...</answer>.")
    language: str = setting("en", "language_consistency: target language (en, zh, ...).")
    max_tokens: int = setting(4096, "overlong / cosine: the length limit in tokens.")
    cache_tokens: int = setting(512, "overlong: the soft-penalty band before the limit.")

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = [c for c in self.checks if c not in REWARDS]
        check(not unknown, "checks", f"unknown {', '.join(unknown)}; choose from {', '.join(REWARDS)}")
        check(0 < self.cache_tokens <= self.max_tokens, "cache_tokens", "must be in (0, max_tokens]")

    def check_options(self, name: str, think_format: str = "auto") -> dict:
        """The options a check takes, out of this step's settings."""
        names = ("think_prefilled", "answer_tags", "language", "max_tokens", "cache_tokens")
        values = {k: getattr(self, k) for k in names} | {"think_format": think_format}
        if REWARDS[name].needs_tests:
            values["language"] = "python"  # the program's language, not the thought's
        return {k: v for k, v in values.items() if k in REWARDS[name].options}


def _agree(ours: bool | None, theirs: Any) -> bool | None:
    """Does the dataset's own verdict (a bool, a 0..1 score, a Yes/No grade) say what r1data says?"""
    if ours is None or theirs is None:
        return None
    if isinstance(theirs, str):
        if theirs.strip().lower() not in ("yes", "no", "true", "false", "correct", "incorrect"):
            return None
        theirs = theirs.strip().lower() in ("yes", "true", "correct")
    return bool(ours) == (float(theirs) >= 0.5)


def dataset_verdicts(df: pl.DataFrame, sizes: list[int], correct: list, truncated: list[bool]) -> dict:
    """How often r1data agrees with the verdicts a dataset ships (OpenR1's correctness_math_verify and
    is_reasoning_complete, s1K-1.1's deepseek_grade, a score column), per column."""
    from r1data.layouts import VERDICT_COLUMNS

    out = {}
    for col, mine in [*((c, correct) for c in VERDICT_COLUMNS), ("is_reasoning_complete", [not t for t in truncated])]:
        if col not in df.columns:
            continue
        theirs, counts, _ = flatten_column(df, col)
        if counts != sizes:
            continue  # one value per row for a list of completions: not comparable trace by trace
        pairs = [_agree(m, t) for m, t in zip(mine, theirs, strict=True)]
        known = [p for p in pairs if p is not None]
        if known:
            out[col] = {"compared": len(known), "agree": sum(known), "agreement": round(sum(known) / len(known), 4)}
    return out


def score_table(
    df: pl.DataFrame, column: str, cfg: Config, judge: Any, think_format: str = "auto"
) -> tuple[pl.DataFrame, dict]:
    """Add verdict and check columns to df; return it with summary statistics."""
    from r1data.ops.completions import completion_text, is_truncated

    flat, sizes, is_list = flatten_column(df, column)
    golds = [g for g, n in zip(golds_for(df), sizes, strict=True) for _ in range(n)]  # code rows: tests
    prompts = [p for p, n in zip(df.get_column(schema.PROBLEM).to_list(), sizes, strict=True) for _ in range(n)]
    cut = None
    for flag in ("finish_reason", "finish_reasons"):
        if flag in df.columns:
            values, counts, _ = flatten_column(df, flag)
            cut = [v == "length" for v in values] if counts == sizes else None
    progress.current().start(len(flat), unit="completions", stage="judging", follow="judged")
    verdicts = judge_completions(judge, golds, flat, cfg.reading(think_format), problems=prompts, truncated=cut)
    tests = [g if isinstance(g, TestSuite) else None for g in golds]
    answers = [None if isinstance(g, TestSuite) else g for g in golds]
    scores: dict[str, list] = {}
    for name in cfg.checks:
        spec = REWARDS[name]
        given = None if spec.judged in (None, ALL_TESTS) else verdicts
        fn = get_reward(name, judge, **cfg.check_options(name, think_format))
        columns = {"answer": answers, "tests": tests, "prompts": prompts} if spec.judged else {"prompts": prompts}
        scores[name] = fn(flat, verdicts=given, **columns)

    def col(name: str, values: Sequence, dtype: pl.DataType) -> pl.Series:
        return pl.Series(name, regroup(list(values), sizes, is_list), dtype=pl.List(dtype) if is_list else dtype)

    correct = [v.correct for v in verdicts]
    lenient = [True if v.status == CORRECT_WITHOUT_FINAL else v.correct for v in verdicts]
    columns = [
        col(CORRECT, correct, pl.Boolean),
        col("correct_lenient", lenient, pl.Boolean),
        col(PRED_ANSWER, [v.pred_answer for v in verdicts], pl.String),
        col(STATUS, [v.status for v in verdicts], pl.String),
    ]
    columns += [col(f"reward_{name}", values, pl.Float64) for name, values in scores.items()]
    details = [v.detail or None for v in verdicts]
    if any(isinstance(v, CodeVerdict) for v in verdicts):  # code rows: which test failed, and why
        code = [v if isinstance(v, CodeVerdict) else None for v in verdicts]
        columns += [
            col("tests_passed", [c and c.passed for c in code], pl.Int64),
            col("tests_total", [c and c.total for c in code], pl.Int64),
            col("failed_test", [c and c.failed_test for c in code], pl.Int64),
        ]
    if any(details):
        columns.append(col("verify_detail", details, pl.String))
    retried = [bool(getattr(v, "retried", False)) for v in verdicts]
    if any(retried):  # timed out once, judged again with a longer budget
        columns.append(col("judge_retried", retried, pl.Boolean))
    if is_list:
        rates, judged = pass_rates(correct, sizes)
        columns += [pl.Series(PASS_RATE, rates, dtype=pl.Float64), pl.Series(JUDGED, judged, dtype=pl.Int64)]
    out = df.with_columns(columns)

    statuses = Counter(v.status for v in verdicts)
    known = [c for c in correct if c is not None]
    status = pl.col(STATUS)
    gold_bad = out.filter(status.list.contains(GOLD_UNPARSEABLE) if is_list else status == GOLD_UNPARSEABLE)
    suspect = out.filter(status.list.contains(GOLD_SUSPECT) if is_list else status == GOLD_SUSPECT)
    stats = {
        "completion_field": column,
        "completions": len(flat),
        "accuracy": sum(known) / len(known) if known else None,
        "accuracy_lenient": (sum(x for x in lenient if x is not None) / n)
        if (n := sum(x is not None for x in lenient))
        else None,
        "statuses": {s: statuses.get(s, 0) for s in STATUSES}
        | {s: n for s, n in statuses.items() if s not in STATUSES},  # code: passed, failed, timeout...
        "check_means": {
            name: (sum(x for x in vals if x is not None) / n if (n := sum(x is not None for x in vals)) else None)
            for name, vals in scores.items()
        },
        "dataset_verdicts": dataset_verdicts(
            df, sizes, correct, [is_truncated(completion_text(c), cfg.think_prefilled, think_format) for c in flat]
        ),
        "judge_retries": sum(retried),
        "gold_unparseable_rows": gold_bad.height,
        "gold_unparseable_examples": gold_bad.select(schema.ID, schema.ANSWER).head(1000).rows(),
        "gold_suspect_rows": suspect.height,
        "gold_suspect_examples": suspect.select(schema.ID, schema.ANSWER).head(1000).rows(),
    }
    return out, stats


def run(inputs: list[str | Path], out: str | Path, cfg: Config, io: IOConfig, *, engine: Any = None) -> StepResult:
    """`r1data verify`: every row kept, with its verdicts and scores."""
    where = ", ".join(map(str, inputs))

    def op(read: Any, executor: Any) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
        df = read.records
        column = schema.find_column(
            df, cfg.completion_field, schema.TEXT_CANDIDATES, "--completion-field", where, "completion or solution"
        )
        with executor.judge(**cfg.judge_settings()) as judge:
            scored, stats = score_table(df, column, cfg, judge, io.think_format)
            if hasattr(judge, "facts"):
                stats["executor"] = judge.facts()
        no_gold = stats["statuses"].get(NO_GOLD, 0)
        if no_gold:
            whole = schema.ANSWER not in df.columns or df.get_column(schema.ANSWER).null_count() == df.height
            stats.setdefault("warnings", []).append(
                f"{no_gold} completions have no gold answer to judge against"
                + (" (no column of the input holds one: name it with --answer-field COLUMN)" if whole else "")
            )
        if stats["statuses"].get(NOT_JUDGEABLE):
            stats.setdefault("warnings", []).append(
                f"{stats['statuses'][NOT_JUDGEABLE]} completions have a gold no rule-based judge compares "
                "(not_judgeable: a structured answer, or an ability other than math and code)"
            )
        if schema.TESTS in df.columns:  # code problems ran: say what isolation they had
            from r1data.judge.sandbox import isolation, unisolated_warning

            stats["sandbox"] = isolation()
            if unisolated_warning():
                stats.setdefault("warnings", []).append(unisolated_warning())
        return scored, df.clear(), stats

    reserved = (cfg.completion_field,) if cfg.completion_field else ()
    return run_one_shot("verify", inputs, out, cfg, io, op, reserved=reserved)
