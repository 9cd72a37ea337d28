"""The generation steps as functions: `filter_step` (pass-rate filtering) over an engine and the judge.

Work goes chunk by chunk through `chunks.run_chunks`, so a crash loses at most the chunk in hand.
Seeds are derived from the run's seed, the row id and the sampling round, so a rerun of a chunk
asks the engine for the same samples.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import xxhash

from r1data import schema
from r1data.chunks import DROPPED, FAILED, KEPT, OUTCOME, ChunkedRun, run_chunks
from r1data.engines import Engine, Request, Sampling
from r1data.errors import ConfigError, EmptyInputError
from r1data.io import read_inputs
from r1data.ops import mathcheck
from r1data.ops.pass_rate import AdaptiveParams, AdaptiveSampler, Band
from r1data.prompts import PromptTemplate
from r1data.steps import IOOptions, JudgeOptions

TOO_EASY, TOO_HARD = "pass_rate_at_or_above_hi", "pass_rate_at_or_below_lo"
GOLD_BAD, UNJUDGED, ENGINE_ERROR = "gold_unparseable", "no_judgeable_sample", "engine_error"


@dataclass
class FilterConfig:
    band: Band
    samples: int = 8
    adaptive: bool = False
    adaptive_params: AdaptiveParams = field(default_factory=AdaptiveParams)
    sampling: Sampling = field(default_factory=Sampling)
    prompt: PromptTemplate = field(default_factory=PromptTemplate)
    keep_generations: bool = False
    chunk_rows: int = 256


def sample_seed(seed: int, row_id: str, round_: int) -> int:
    return xxhash.xxh32_intdigest(f"{seed}:{row_id}:{round_}".encode()) & 0x7FFFFFFF


def _decide(band: Band, rate: float | None, gold_bad: bool) -> tuple[str, str | None]:
    if gold_bad:
        return DROPPED, GOLD_BAD
    if rate is None:
        return DROPPED, UNJUDGED
    if band.keep(rate):
        return KEPT, None
    return DROPPED, (TOO_EASY if rate >= band.hi else TOO_HARD)


def filter_rows(rows: pl.DataFrame, engine: Engine, judge: Any, cfg: FilterConfig) -> pl.DataFrame:
    """Sample, judge and decide every row of one chunk."""
    ids = rows.get_column(schema.ID).to_list()
    messages = {i: cfg.prompt.messages(p) for i, p in zip(ids, rows.get_column(schema.PROBLEM).to_list(), strict=True)}
    golds = dict(zip(ids, rows.get_column(schema.ANSWER).to_list(), strict=True))
    params = cfg.adaptive_params if cfg.adaptive else AdaptiveParams(k=cfg.samples, initial=cfg.samples, step=1)
    sampler = AdaptiveSampler(cfg.band, params)
    for i in ids:
        sampler.add(i)
    texts: dict[str, list[str]] = {i: [] for i in ids}
    rewards: dict[str, list[float | None]] = {i: [] for i in ids}
    statuses: dict[str, list[str]] = {i: [] for i in ids}
    failed: set[str] = set()
    round_ = 0
    while not sampler.done():
        wanted = {i: n for i, n in sampler.requests().items() if i not in failed}
        if not wanted:
            break
        keys = list(wanted)
        requests = [Request(messages[i], wanted[i], sample_seed(cfg.sampling.seed, i, round_)) for i in keys]
        outputs = engine.generate(requests, cfg.sampling)
        flat_keys, flat_texts = [], []
        for key, gens in zip(keys, outputs, strict=True):
            if gens is None:  # the engine gave up on this row (e.g. a server error after retries)
                failed.add(key)
                sampler.decided[key] = False
                continue
            flat_keys += [key] * len(gens)
            flat_texts += [g.text for g in gens]
        verdicts = judge.verify([golds[k] for k in flat_keys], flat_texts)
        outcomes: dict[str, list[bool | None]] = {}
        for key, text, verdict in zip(flat_keys, flat_texts, verdicts, strict=True):
            texts[key].append(text)
            rewards[key].append(verdict.score)
            statuses[key].append(verdict.status)
            outcomes.setdefault(key, []).append(verdict.correct)
        for key, got in outcomes.items():
            sampler.record(key, got)
            if all(s == mathcheck.GOLD_UNPARSEABLE for s in statuses[key]):
                sampler.decided[key] = False  # no sample can tell: stop spending on it
        sampler.settle()
        round_ += 1

    outcome, reason, rates = [], [], []
    for i in ids:
        rate = sampler.pass_rate(i)
        rates.append(rate)
        if i in failed:
            outcome.append(FAILED)
            reason.append(ENGINE_ERROR)
            continue
        gold_bad = bool(statuses[i]) and all(s == mathcheck.GOLD_UNPARSEABLE for s in statuses[i])
        o, r = _decide(cfg.band, rate, gold_bad)
        outcome.append(o)
        reason.append(r)
    columns = [
        pl.Series("pass_rate", rates, dtype=pl.Float64),
        pl.Series("samples", [sampler.drawn[i] if i not in failed else 0 for i in ids], dtype=pl.Int64),
        pl.Series("rewards", [rewards[i] for i in ids], dtype=pl.List(pl.Float64)),
        pl.Series("verify_status", [statuses[i] for i in ids], dtype=pl.List(pl.String)),
        pl.Series(schema.DROP_REASON, reason, dtype=pl.String),
        pl.Series(OUTCOME, outcome, dtype=pl.String),
    ]
    if cfg.keep_generations:
        columns.append(pl.Series("generations", [texts[i] for i in ids], dtype=pl.List(pl.String)))
    return rows.with_columns(columns)


def filter_step(
    inputs: list[str | Path],
    out: str | Path,
    cfg: FilterConfig,
    engine_kind: str | None,
    model: str | None,
    engine_options: dict | None = None,
    judge_options: JudgeOptions | None = None,
    io: IOOptions | None = None,
    restart: bool = False,
    progress: Any = None,
) -> dict:
    """`r1data filter`: keep the problems whose pass rate lies strictly inside the band."""
    from r1data.engines import load_engine
    from r1data.judge import Judge

    io, judge_options, engine_options = io or IOOptions(), judge_options or JudgeOptions(), engine_options or {}
    if cfg.samples < 1 or cfg.chunk_rows < 1:
        raise ConfigError("--samples and --chunk-rows must be at least 1")
    config = {
        "filter": {"band": asdict(cfg.band), "samples": cfg.samples, "adaptive": cfg.adaptive,
                   "adaptive_params": asdict(cfg.adaptive_params) if cfg.adaptive else None,
                   "sampling": asdict(cfg.sampling), "prompt": asdict(cfg.prompt),
                   "keep_generations": cfg.keep_generations, "chunk_rows": cfg.chunk_rows},
        "engine": {"kind": engine_kind, "model": model, **engine_options},
        "judge": asdict(judge_options),
        "io": io.to_dict() | {"overwrite": None},
    }  # fmt: skip
    start = time.perf_counter()
    run = ChunkedRun(Path(out), "filter", config, overwrite=io.overwrite, restart=restart)
    read = read_inputs(inputs, io.fields, io.on_error)
    if read.records.height == 0:
        raise EmptyInputError(f"{', '.join(map(str, inputs))}: no usable rows")
    n_chunks = max(1, -(-read.records.height // cfg.chunk_rows))
    if run.todo(n_chunks):
        engine = load_engine(engine_kind, model, seed=cfg.sampling.seed, **engine_options)
        try:
            with Judge(judge_options.workers, judge_options.timeout, judge_options.memory_mb,
                       think_prefilled=judge_options.think_prefilled) as judge:  # fmt: skip
                run_chunks(run, read.records, cfg.chunk_rows, lambda rows: filter_rows(rows, engine, judge, cfg),
                           progress)  # fmt: skip
        finally:
            engine.close()
    stats = {"samples_drawn": sum(pl.read_parquet(run.chunk_path(int(i))).get_column("samples").sum()
                                  for i in run.state["chunks"])}  # fmt: skip
    return run.finish(read.sources, read.fingerprint, read.rows_in, stats, time.perf_counter() - start,
                      io.shard_rows, read.quarantined)  # fmt: skip
