"""Sample N candidates per problem (or judge the `generations` a `filter --keep-generations` run stored), keep
the correct ones that pass DeepSeek-R1's quality filters (not truncated, one language, not repetitive,
optionally a think block), and write up to K per problem as SFT rows: `messages`, `prompt`, `completion`, with
provenance and every check's score. Problems with no accepted candidate go to removed/ with the reason."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from r1data import schema
from r1data.config import check, setting
from r1data.engines import Failure, Request
from r1data.judge.inputs import Reading, golds_for, judge_completions
from r1data.judge.verdict import gold_reason
from r1data.ops.completions import is_truncated
from r1data.ops.quality import LANGUAGE_SCRIPTS, count_tokens, format_ok, language_share, repetition_share
from r1data.steps.base import IOConfig, StepResult
from r1data.steps.chunked import DROPPED, ENGINE_ERROR, ERROR_DETAIL, FAILED, KEPT, OUTCOME, run_chunked
from r1data.steps.filter import UNJUDGED
from r1data.steps.generation import GenerationConfig, generate, sample_seed

KIND = "chunked"
NO_CORRECT, FILTERED = "no_correct_candidate", "no_candidate_passed_quality_filters"
STORED = "generations"  # the column `filter --keep-generations` writes: judged without a model


@dataclass(kw_only=True)
class Config(GenerationConfig):
    max_tokens: int = setting(4096, "Tokens per sample.")
    samples: int = setting(8, "Candidates per problem (N).")
    keep: int = setting(1, "Accepted candidates kept per problem, at most (K).")
    select: str = setting("shortest", "shortest: the K shortest accepted; distinct: the first K distinct.")
    require_think: bool = setting(False, "Drop candidates without <think>…</think>.")
    language: str | None = setting("en", "Target language of the chain of thought (none: off).")
    min_language: float = setting(0.95, "Least share of target-language words in the thought.")
    max_repetition: float = setting(0.2, "Most share of repeated word 3-grams.")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.language == "none":
            self.language = None
        check(self.samples >= 1, "samples", f"must be at least 1 (got {self.samples})")
        check(self.keep >= 1, "keep", f"must be at least 1 (got {self.keep})")
        check(self.select in ("shortest", "distinct"), "select", f"must be shortest or distinct (got '{self.select}')")
        check(
            self.language is None or self.language in LANGUAGE_SCRIPTS,
            "language",
            f"must be one of {', '.join(sorted(LANGUAGE_SCRIPTS))} or none (got '{self.language}')",
        )
        check(0 <= self.min_language <= 1, "min_language", f"must be in [0, 1] (got {self.min_language})")
        check(0 <= self.max_repetition <= 1, "max_repetition", f"must be in [0, 1] (got {self.max_repetition})")


def quality(
    text: str, finish: str | None, cfg: Config, reading: Reading | None = None
) -> tuple[dict[str, float | None], str | None]:
    """DeepSeek-R1's filters on one correct candidate: scores, and the first failed filter (or None). The trace is
    split where `reading` says its reasoning ends, as the judge split it."""
    reading = reading or cfg.reading()
    prefilled, form = reading.think_prefilled, reading.think_format
    fmt = float(format_ok(text, prefilled, fmt=form))
    lang = language_share(text, cfg.language, prefilled, form) if cfg.language else None
    rep = repetition_share(text)
    scores = {"reward_format": fmt, "reward_language_consistency": lang, "reward_repetition": -rep}
    if finish == "length" or is_truncated(text, prefilled, form):
        return scores, "truncated"
    if cfg.require_think and fmt != 1.0:
        return scores, "format"
    if lang is not None and lang < cfg.min_language:
        return scores, "language_mixed"
    if rep > cfg.max_repetition:
        return scores, "repetition"
    return scores, None


def rejection_rows(rows: pl.DataFrame, engine: Any, judge: Any, cfg: Config, reading: Reading) -> pl.DataFrame:
    """Candidates for every row of one chunk: generated, or the row's stored `generations`."""
    ids = rows.get_column(schema.ID).to_list()
    problems = rows.get_column(schema.PROBLEM).to_list()
    golds = golds_for(rows)  # code problems: their tests
    template = cfg.template
    prompts = [template.messages(p) for p in problems]
    candidates: list[list[tuple[str, str | None]] | Failure]
    if STORED in rows.columns:
        candidates = [[(t, None) for t in (g or [])] for g in rows.get_column(STORED).to_list()]
    else:
        requests = [Request(m, cfg.samples, sample_seed(cfg.seed, i, 0)) for m, i in zip(prompts, ids, strict=True)]
        outputs = generate(engine, requests, cfg.sampling)
        candidates = [
            g
            if isinstance(g, Failure)
            else Failure("no output")
            if g is None
            else [(x.text, x.finish_reason) for x in g]
            for g in outputs
        ]
    flat = [
        (r, j, text) for r, c in enumerate(candidates) if not isinstance(c, Failure) for j, (text, _) in enumerate(c)
    ]
    verdicts = judge_completions(
        judge,
        [golds[r] for r, _, _ in flat],
        [t for _, _, t in flat],
        reading,
        problems=[problems[r] for r, _, _ in flat],
        truncated=[candidates[r][j][1] == "length" for r, j, _ in flat],
    )
    by_row: dict[int, list] = {}
    for (r, j, text), v in zip(flat, verdicts, strict=True):
        by_row.setdefault(r, []).append((j, text, candidates[r][j][1], v))

    model = getattr(engine, "model", None)
    sampling = json.dumps(asdict(cfg.sampling))
    records = rows.drop(STORED, strict=False).to_dicts()
    out = []
    for r, rec in enumerate(records):
        if isinstance(candidates[r], Failure):
            out.append(rec | {OUTCOME: FAILED, schema.DROP_REASON: ENGINE_ERROR, ERROR_DETAIL: candidates[r].detail})
            continue
        judged = by_row.get(r, [])
        if bad := gold_reason([v.status for *_, v in judged]):
            out.append(rec | {OUTCOME: DROPPED, schema.DROP_REASON: bad, "candidates": len(judged)})
            continue
        if judged and all(v.correct is None for *_, v in judged):  # timeouts, crashes, sandbox errors
            out.append(rec | {OUTCOME: DROPPED, schema.DROP_REASON: UNJUDGED, "candidates": len(judged)})
            continue
        accepted, rejected = [], {}
        for j, text, finish, v in judged:
            if v.correct is not True:
                continue
            scores, failed = quality(text, finish, cfg, reading)
            if failed:
                rejected[failed] = rejected.get(failed, 0) + 1
            else:
                accepted.append((j, text, v, scores))
        if not accepted:
            reason = FILTERED if rejected else NO_CORRECT
            out.append(
                rec
                | {
                    OUTCOME: DROPPED,
                    schema.DROP_REASON: reason,
                    "candidates": len(judged),
                    "rejected_by": json.dumps(rejected) if rejected else None,
                }
            )
            continue
        if cfg.select == "shortest":
            accepted.sort(key=lambda a: (count_tokens(a[1]), a[0]))
        else:  # distinct, in sampled order
            seen, unique = set(), []
            for a in accepted:
                if a[1] not in seen:
                    seen.add(a[1])
                    unique.append(a)
            accepted = unique
        user = prompts[r][-1]["content"]
        for j, text, v, scores in accepted[: cfg.keep]:
            out.append(
                rec
                | {
                    OUTCOME: KEPT,
                    schema.DROP_REASON: None,
                    "prompt": user,
                    "completion": text,
                    "messages": [*prompts[r], {"role": "assistant", "content": text}],
                    "candidate_index": j,
                    "candidates": len(judged),
                    "pred_answer": v.pred_answer,
                    "reward_accuracy": 1.0,
                    "tokens": count_tokens(text),
                    **scores,
                    "candidate_status": v.status,
                    "model": model,
                    "sampling": sampling,
                }
            )
    return pl.from_dicts(out, infer_schema_length=None)


def run(inputs: list[str | Path], out: str | Path, cfg: Config, io: IOConfig, *, engine: Any = None) -> StepResult:
    """`r1data rejection-sample`: verified, filtered traces ready for SFT."""
    step = cfg.chunked(
        "rejection-sample", rejection_rows, io.think_format, needs_engine=lambda records: STORED not in records.columns
    )
    return run_chunked(step, inputs, out, cfg, io, engine=engine)
