"""The generation steps as functions: `filter_step` (pass-rate filtering) over an engine and the judge.

Work goes chunk by chunk through `chunks.run_chunks`, so a crash loses at most the chunk in hand.
Seeds are derived from the run's seed, the row id and the sampling round, so a rerun of a chunk
asks the engine for the same samples.
"""

from __future__ import annotations

import json
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
from r1data.ops.code import golds_for
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
    golds = dict(zip(ids, golds_for(rows), strict=True))  # code problems: their tests
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
    engine: Engine | None = None,
) -> dict:
    """`r1data filter`: keep the problems whose pass rate lies strictly inside the band.

    `engine`: an engine already loaded (it is used and left open), instead of loading one."""
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

    def work(rows: pl.DataFrame, engine: Engine | None, judge: Any) -> pl.DataFrame:
        return filter_rows(rows, engine, judge, cfg)

    def stats(run: ChunkedRun) -> dict:
        chunks = [pl.read_parquet(run.chunk_path(int(i))) for i in run.state["chunks"]]
        out = {"samples_drawn": int(sum(c.get_column("samples").sum() for c in chunks))}
        if any(schema.TESTS in c.columns for c in chunks):  # code problems ran: say what isolation they had
            from r1data.sandbox import isolation

            out["sandbox"] = isolation()
        return out

    return _run_generation(
        "filter", inputs, out, config, cfg.chunk_rows, cfg.sampling.seed, work, stats, engine_kind, model,
        engine_options, judge_options, io, restart, engine, progress=progress,
    )  # fmt: skip


NO_CORRECT, FILTERED = "no_correct_candidate", "no_candidate_passed_quality_filters"


@dataclass
class RejectionConfig:
    samples: int = 8
    keep: int = 1
    select: str = "shortest"  # "shortest": the K shortest accepted; "distinct": the first K distinct texts
    require_think: bool = False
    think_prefilled: bool = False
    language: str | None = "en"
    min_language: float = 0.95
    max_repetition: float = 0.2  # at most this share of repeated word 3-grams
    sampling: Sampling = field(default_factory=Sampling)
    prompt: PromptTemplate = field(default_factory=PromptTemplate)
    chunk_rows: int = 256


def _quality(text: str, finish: str | None, cfg: RejectionConfig) -> tuple[dict[str, float | None], str | None]:
    """DeepSeek-R1's filters on one correct candidate: scores, and the first failed filter (or None)."""
    from r1data.ops.completions import THINK_OPEN, split_think
    from r1data.ops.rewards import format_reward, language_consistency, repetition

    fmt = format_reward([text], think_prefilled=cfg.think_prefilled)[0]
    lang = (
        language_consistency([text], language=cfg.language, think_prefilled=cfg.think_prefilled)[0]
        if cfg.language
        else None
    )
    rep = repetition([text])[0]
    scores = {"reward_format": fmt, "reward_language_consistency": lang, "reward_repetition": rep}
    _, _, closed = split_think(text, cfg.think_prefilled)
    opened = cfg.think_prefilled or THINK_OPEN in text
    if finish == "length" or (opened and not closed):
        return scores, "truncated"
    if cfg.require_think and fmt != 1.0:
        return scores, "format"
    if lang is not None and lang < cfg.min_language:
        return scores, "language_mixed"
    if rep is not None and -rep > cfg.max_repetition:
        return scores, "repetition"
    return scores, None


def rejection_rows(rows: pl.DataFrame, engine: Engine | None, judge: Any, cfg: RejectionConfig) -> pl.DataFrame:
    """Candidates for every row of one chunk: generated, or the row's stored `generations`."""
    from r1data.ops.rewards import count_tokens

    ids = rows.get_column(schema.ID).to_list()
    problems = rows.get_column(schema.PROBLEM).to_list()
    golds = golds_for(rows)  # code problems: their tests
    prompts = [cfg.prompt.messages(p) for p in problems]
    if "generations" in rows.columns:
        stored = rows.get_column("generations").to_list()
        candidates: list[list[tuple[str, str | None]] | None] = [[(t, None) for t in (g or [])] for g in stored]
    else:
        requests = [
            Request(m, cfg.samples, sample_seed(cfg.sampling.seed, i, 0)) for m, i in zip(prompts, ids, strict=True)
        ]
        outputs = engine.generate(requests, cfg.sampling) if requests else []
        candidates = [None if g is None else [(x.text, x.finish_reason) for x in g] for g in outputs]
    flat = [(r, j, text) for r, cands in enumerate(candidates) if cands for j, (text, _) in enumerate(cands)]
    verdicts = judge.verify([golds[r] for r, _, _ in flat], [t for _, _, t in flat])
    by_row: dict[int, list] = {}
    for (r, j, text), v in zip(flat, verdicts, strict=True):
        by_row.setdefault(r, []).append((j, text, candidates[r][j][1], v))

    records = rows.drop("generations", strict=False).to_dicts()
    out = []
    for r, rec in enumerate(records):
        if candidates[r] is None:
            out.append(rec | {OUTCOME: FAILED, schema.DROP_REASON: ENGINE_ERROR})
            continue
        judged = by_row.get(r, [])
        if judged and all(v.status == mathcheck.GOLD_UNPARSEABLE for *_, v in judged):
            out.append(rec | {OUTCOME: DROPPED, schema.DROP_REASON: GOLD_BAD, "candidates": len(judged)})
            continue
        if judged and all(v.correct is None for *_, v in judged):  # timeouts, crashes, sandbox errors
            out.append(rec | {OUTCOME: DROPPED, schema.DROP_REASON: UNJUDGED, "candidates": len(judged)})
            continue
        accepted, rejected = [], {}
        for j, text, finish, v in judged:
            if v.correct is not True:
                continue
            scores, failed = _quality(text, finish, cfg)
            if failed:
                rejected[failed] = rejected.get(failed, 0) + 1
            else:
                accepted.append((j, text, v, scores))
        if not accepted:
            reason = FILTERED if rejected else NO_CORRECT
            out.append(rec | {OUTCOME: DROPPED, schema.DROP_REASON: reason, "candidates": len(judged),
                              "rejected_by": json.dumps(rejected) if rejected else None})  # fmt: skip
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
            out.append(rec | {
                OUTCOME: KEPT, schema.DROP_REASON: None, "prompt": user, "completion": text,
                "messages": [*prompts[r], {"role": "assistant", "content": text}],
                "candidate_index": j, "candidates": len(judged), "pred_answer": v.pred_answer,
                "reward_accuracy": 1.0, "tokens": count_tokens(text), **scores, "candidate_status": v.status,
                "model": getattr(engine, "model", None), "sampling": json.dumps(asdict(cfg.sampling)),
            })  # fmt: skip
    return pl.from_dicts(out, infer_schema_length=None)


def rejection_sample_step(
    inputs: list[str | Path],
    out: str | Path,
    cfg: RejectionConfig,
    engine_kind: str | None,
    model: str | None,
    engine_options: dict | None = None,
    judge_options: JudgeOptions | None = None,
    io: IOOptions | None = None,
    restart: bool = False,
    engine: Engine | None = None,
) -> dict:
    """`r1data rejection-sample`: verified, filtered traces ready for SFT.

    `engine`: an engine already loaded (it is used and left open), instead of loading one."""
    io, judge_options, engine_options = io or IOOptions(), judge_options or JudgeOptions(), engine_options or {}
    if cfg.samples < 1 or cfg.keep < 1 or cfg.chunk_rows < 1 or cfg.select not in ("shortest", "distinct"):
        raise ConfigError("--samples, --keep and --chunk-rows must be >= 1; --select is shortest or distinct")
    config = {"rejection_sample": asdict(cfg), "engine": {"kind": engine_kind, "model": model, **engine_options},
              "judge": asdict(judge_options), "io": io.to_dict() | {"overwrite": None}}  # fmt: skip

    def work(rows: pl.DataFrame, engine: Engine | None, judge: Any) -> pl.DataFrame:
        return rejection_rows(rows, engine, judge, cfg)

    judge_options = JudgeOptions(**(asdict(judge_options) | {"think_prefilled": cfg.think_prefilled}))
    return _run_generation(
        "rejection-sample", inputs, out, config, cfg.chunk_rows, cfg.sampling.seed, work, lambda run: {},
        engine_kind, model, engine_options, judge_options, io, restart, engine,
        stored_column="generations",  # judge what `filter --keep-generations` stored, without a model
    )  # fmt: skip


def _run_generation(
    command: str, inputs: list[str | Path], out: str | Path, config: dict, chunk_rows: int, seed: int,
    work: Any, stats: Any, engine_kind: str | None, model: str | None, engine_options: dict,
    judge_options: JudgeOptions, io: IOOptions, restart: bool, engine: Engine | None,
    stored_column: str | None = None, progress: Any = None,
) -> dict:  # fmt: skip
    """What both generation steps do: resume the chunked run, read, load the engine unless one is
    given (or the input already holds the texts), judge chunk by chunk, and publish."""
    from r1data.engines import load_engine
    from r1data.judge import Judge

    start = time.perf_counter()
    run = ChunkedRun(Path(out), command, config, overwrite=io.overwrite, restart=restart)
    read = read_inputs(inputs, io.fields, io.on_error)
    if read.records.height == 0:
        raise EmptyInputError(f"{', '.join(map(str, inputs))}: no usable rows")
    if run.todo(max(1, -(-read.records.height // chunk_rows))):
        owned = engine is None and not (stored_column and stored_column in read.records.columns)
        if owned:
            engine = load_engine(engine_kind, model, seed=seed, **engine_options)
        try:
            with Judge(judge_options.workers, judge_options.timeout, judge_options.memory_mb,
                       think_prefilled=judge_options.think_prefilled) as judge:  # fmt: skip
                run_chunks(run, read.records, chunk_rows, lambda rows: work(rows, engine, judge), progress)
        finally:
            if owned and engine is not None:
                engine.close()
    return run.finish(read.sources, read.fingerprint, read.rows_in, stats(run), time.perf_counter() - start,
                      io.shard_rows, read.quarantined)  # fmt: skip
