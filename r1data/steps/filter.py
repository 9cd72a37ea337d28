"""Sample k completions per problem, judge each with the shared judge, and keep the problems whose pass rate
is strictly between LO and HI. Problems whose gold answer cannot be parsed are dropped with their own reason,
never counted as hard. Work is saved per chunk: rerun the same command to resume after a crash; rows that
failed (server errors) are retried."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from r1data import schema
from r1data.config import check, setting
from r1data.engines import Failure, Request
from r1data.judge.inputs import Reading, golds_for, judge_completions
from r1data.judge.verdict import GOLD_BAD_STATUSES, gold_reason
from r1data.ops.pass_rate import AdaptiveParams, AdaptiveSampler, Band
from r1data.steps.base import IOConfig, StepResult
from r1data.steps.chunked import DROPPED, ENGINE_ERROR, ERROR_DETAIL, FAILED, KEPT, OUTCOME, run_chunked
from r1data.steps.generation import GenerationConfig, generate, sample_seed

KIND = "chunked"
TOO_EASY, TOO_HARD = "pass_rate_at_or_above_hi", "pass_rate_at_or_below_lo"
GOLD_BAD, UNJUDGED = "gold_unparseable", "no_judgeable_sample"


@dataclass(kw_only=True)
class Config(GenerationConfig):
    pass_rate: str = setting(help="Keep LO < pass rate < HI, strictly at both ends (as open-r1), e.g. 0.1:0.9.")
    samples: int = setting(8, "Samples per problem (k); with --adaptive, the most it may take.")
    adaptive: bool = setting(False, "Sample a problem only until its keep/drop decision under k samples is settled.")
    confidence: float = setting(0.9, "--adaptive: how certain the early decision must be.")
    keep_generations: bool = setting(False, "Store the sampled texts (rejection-sample can then judge them).")

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            self.band = Band.parse(self.pass_rate)
        except ValueError as exc:
            check(False, "pass_rate", str(exc))
        check(self.samples >= 1, "samples", f"must be at least 1 (got {self.samples})")
        check(0.5 <= self.confidence < 1, "confidence", f"must be in [0.5, 1) (got {self.confidence})")

    @property
    def adaptive_params(self) -> AdaptiveParams:
        if not self.adaptive:
            return AdaptiveParams(k=self.samples, initial=self.samples, step=1)
        return AdaptiveParams(k=self.samples, initial=min(4, self.samples), step=1, confidence=self.confidence)


def _decide(band: Band, rate: float | None, gold_bad: str | None) -> tuple[str, str | None]:
    if gold_bad:
        return DROPPED, gold_bad
    if rate is None:
        return DROPPED, UNJUDGED
    if band.keep(rate):
        return KEPT, None
    return DROPPED, (TOO_EASY if rate >= band.hi else TOO_HARD)


def filter_rows(rows: pl.DataFrame, engine: Any, judge: Any, cfg: Config, reading: Reading) -> pl.DataFrame:
    """Sample, judge and decide every row of one chunk (rows are keyed by position: ids may repeat)."""
    keys = rows.get_column(schema.ROW).to_list()
    ids = dict(zip(keys, rows.get_column(schema.ID).to_list(), strict=True))
    template = cfg.template
    problems = dict(zip(keys, rows.get_column(schema.PROBLEM).to_list(), strict=True))
    messages = {k: template.messages(p) for k, p in problems.items()}
    golds = dict(zip(keys, golds_for(rows), strict=True))  # code problems: their tests
    sampler = AdaptiveSampler(cfg.band, cfg.adaptive_params)
    for k in keys:
        sampler.add(k)
    texts: dict[int, list[str]] = {k: [] for k in keys}
    rewards: dict[int, list[float | None]] = {k: [] for k in keys}
    statuses: dict[int, list[str]] = {k: [] for k in keys}
    failed: dict[int, str] = {}
    round_ = 0
    sampling = cfg.sampling
    while not sampler.done():
        wanted = {k: n for k, n in sampler.requests().items() if k not in failed}
        if not wanted:
            break
        asked = list(wanted)
        requests = [Request(messages[k], wanted[k], sample_seed(cfg.seed, ids[k], round_)) for k in asked]
        outputs = generate(engine, requests, sampling)
        flat_keys, flat_texts, flat_cut = [], [], []
        for key, gens in zip(asked, outputs, strict=True):
            if isinstance(gens, Failure) or gens is None:  # the engine gave up on this row (transient, retried)
                failed[key] = gens.detail if isinstance(gens, Failure) else "no output"
                sampler.decided[key] = False
                continue
            flat_keys += [key] * len(gens)
            flat_texts += [g.text for g in gens]
            flat_cut += [g.finish_reason == "length" for g in gens]
        verdicts = judge_completions(
            judge,
            [golds[k] for k in flat_keys],
            flat_texts,
            reading,
            problems=[problems[k] for k in flat_keys],
            truncated=flat_cut,
        )
        outcomes: dict[int, list[bool | None]] = {}
        for key, text, verdict in zip(flat_keys, flat_texts, verdicts, strict=True):
            texts[key].append(text)
            rewards[key].append(verdict.score)
            statuses[key].append(verdict.status)
            outcomes.setdefault(key, []).append(verdict.correct)
        for key, got in outcomes.items():
            sampler.record(key, got)
            if all(s in GOLD_BAD_STATUSES for s in statuses[key]):
                sampler.decided[key] = False  # no sample can tell: stop spending on it
        sampler.settle()
        round_ += 1

    outcome, reason, rates = [], [], []
    for k in keys:
        rate = sampler.pass_rate(k)
        rates.append(rate)
        if k in failed:
            outcome.append(FAILED)
            reason.append(ENGINE_ERROR)
            continue
        gold_bad = gold_reason(statuses[k])
        o, r = _decide(cfg.band, rate, gold_bad)
        outcome.append(o)
        reason.append(r)
    columns = [
        pl.Series("pass_rate", rates, dtype=pl.Float64),
        pl.Series("samples", [sampler.drawn[k] if k not in failed else 0 for k in keys], dtype=pl.Int64),
        pl.Series("rewards", [rewards[k] for k in keys], dtype=pl.List(pl.Float64)),
        pl.Series("verify_status", [statuses[k] for k in keys], dtype=pl.List(pl.String)),
        pl.Series(schema.DROP_REASON, reason, dtype=pl.String),
        pl.Series(ERROR_DETAIL, [failed.get(k) for k in keys], dtype=pl.String),
        pl.Series(OUTCOME, outcome, dtype=pl.String),
    ]
    if cfg.keep_generations:
        columns.append(pl.Series("generations", [texts[k] for k in keys], dtype=pl.List(pl.String)))
    return rows.with_columns(columns)


def _stats(frames: list[pl.DataFrame]) -> dict:
    out: dict = {"samples_drawn": int(sum(f.get_column("samples").sum() for f in frames if "samples" in f.columns))}
    if any(schema.TESTS in f.columns for f in frames):  # code problems ran: say what isolation they had
        from r1data.judge.sandbox import isolation, unisolated_warning

        out["sandbox"] = isolation()
        if unisolated_warning():
            out["warnings"] = [unisolated_warning()]
    return out


def run(inputs: list[str | Path], out: str | Path, cfg: Config, io: IOConfig, *, engine: Any = None) -> StepResult:
    """`r1data filter`: keep the problems whose pass rate lies strictly inside the band."""
    step = cfg.chunked("filter", filter_rows, io.think_format, stats=_stats)
    return run_chunked(step, inputs, out, cfg, io, engine=engine)
