"""Token lengths of the think part and the answer (mean, median, p90, p99, max), share truncated, accuracy and
pass-rate distribution, per dataset and per source: each input is one dataset, side by side. With -o, the rows
are published with their lengths (think_tokens, answer_tokens, truncated) and the report in the manifest."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from r1data import schema
from r1data.config import setting
from r1data.errors import InputError, MissingExtraError, SchemaError
from r1data.manifest import new_manifest
from r1data.ops.stats import Counter, summarize, traces, word_counter
from r1data.ops.verify import regroup
from r1data.steps.base import IOConfig, Output, StepResult, config_dict, publish_output

KIND = "one-shot"


@dataclass(kw_only=True)
class Config:
    tokenizer: str | None = setting(
        None, "Local tokenizer.json or model folder for token counts [default: words and punctuation]."
    )
    completion_field: str | None = setting(
        None, "Column with the traces [default: generations, completion, ..., else solution]."
    )
    think_prefilled: bool = setting(False, "Traces start inside <think>.")


def load_counter(path: str | None) -> tuple[Counter, str]:
    """A token counter from a local tokenizer (a tokenizer.json file, or a model/tokenizer folder), and its
    description. Never downloads: the path must exist."""
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


def _names(inputs: list[str | Path]) -> list[str]:
    names: list[str] = []
    for spec in inputs:
        base = Path(str(spec).rstrip("/")).name or str(spec)
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base} ({n})"
        names.append(name)
    return names


def run(
    inputs: list[str | Path], out: str | Path | None, cfg: Config, io: IOConfig, *, engine: Any = None
) -> StepResult:
    """`r1data stats`: the report (manifest["stats"]); rows with their lengths when published."""
    started = time.perf_counter()
    count, counted_by = load_counter(cfg.tokenizer)
    report: dict = {"tokens": counted_by, "datasets": {}}
    frames, quarantined, sources, rows_in, fingerprints, warnings = [], [], [], 0, [], []
    reserved = (cfg.completion_field,) if cfg.completion_field else ()
    for spec, name in zip(inputs, _names(inputs), strict=True):
        read = io.read([spec], reserved)
        df = read.records
        try:
            col = schema.find_column(
                df,
                cfg.completion_field,
                schema.TEXT_CANDIDATES,
                "--completion-field",
                str(spec),
                "completion or solution",
            )
        except SchemaError as exc:
            if len(inputs) == 1:
                raise
            warnings.append(f"{name}: no traces to measure ({exc})")  # the other datasets still go side by side
            report["datasets"][name] = {"path": str(spec), "field": None, "rows": df.height}
            frames.append(df.with_columns(pl.lit(name).alias("dataset")))
            sources += read.sources
            rows_in += read.rows_in
            fingerprints.append(read.fingerprint)
            continue
        t = traces(df, col, count, cfg.think_prefilled, io.think_format)
        rates = df.get_column("pass_rate").to_list() if "pass_rate" in df.columns else None
        report["datasets"][name] = {"path": str(spec), "field": col, "rows": df.height, **summarize(t, rates)}
        lengths = {
            "think_tokens": t.think.tolist(),
            "answer_tokens": t.answer.tolist(),
            "truncated": t.truncated.tolist(),
        }
        dtypes = {"think_tokens": pl.Int64, "answer_tokens": pl.Int64, "truncated": pl.Boolean}
        frames.append(
            df.with_columns(
                pl.lit(name).alias("dataset"),
                *(
                    pl.Series(k, regroup(v, t.sizes, t.is_list), dtype=pl.List(dtypes[k]) if t.is_list else dtypes[k])
                    for k, v in lengths.items()
                ),
            )
        )
        sources += read.sources
        rows_in += read.rows_in
        if read.quarantined.height:
            quarantined.append(read.quarantined)
        fingerprints.append(read.fingerprint)
    rows = schema.concat(frames)
    removed = pl.concat(quarantined, how="diagonal_relaxed") if quarantined else rows.clear()
    manifest = new_manifest("stats", config_dict(cfg, io), sources, ":".join(fingerprints))
    manifest.update(rows_in=rows_in, stats=report, seconds=round(time.perf_counter() - started, 3))
    if warnings:
        manifest["warnings"] = warnings
    if out is None:
        return StepResult(manifest, None, rows, removed)
    with Output(out, "stats", io.overwrite, inputs) as target:
        target.refuse_existing()
        manifest = publish_output(target.path, manifest, rows, removed, io.shard_rows)
    return StepResult(manifest, target.path, rows.drop(schema.ROW, strict=False), removed)
