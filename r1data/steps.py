"""Whole steps as Python functions: read inputs, run an op, publish OUT with its audit and manifest.

The CLI commands are thin wrappers over these; `r1data demo` and recipes chain them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from r1data import schema
from r1data.errors import ConfigError, EmptyInputError
from r1data.io import OnError, ReadResult, read_inputs
from r1data.ops.decontaminate import Benchmark, DecontamParams, decontaminate
from r1data.ops.dedup import DedupParams, dedup
from r1data.output import DEFAULT_SHARD_ROWS, StepOutput


@dataclass
class IOOptions:
    """How inputs are read and outputs written; shared by every step."""

    fields: schema.FieldMap = field(default_factory=schema.FieldMap)
    on_error: OnError = "fail"
    overwrite: bool = False
    shard_rows: int = DEFAULT_SHARD_ROWS

    def to_dict(self) -> dict:
        return {
            "fields": asdict(self.fields),
            "on_error": self.on_error,
            "overwrite": self.overwrite,
            "shard_rows": self.shard_rows,
        }


@dataclass
class StepResult:
    manifest: dict
    kept: pl.DataFrame
    removed: pl.DataFrame


OpResult = tuple[pl.DataFrame, pl.DataFrame, dict]
Op = Callable[[ReadResult], OpResult]


def run_step(
    command: str,
    inputs: list[str | Path],
    out: str | Path,
    config: dict,
    op: Op,
    io: IOOptions,
) -> StepResult:
    """Read, transform, publish. Unreadable lines and rows without a problem join the audit."""
    if io.shard_rows < 1:
        raise ConfigError(f"--shard-rows must be at least 1 (got {io.shard_rows})")
    output = StepOutput(Path(out), command, config | {"io": io.to_dict()}, [], "", io.overwrite, io.shard_rows)
    read = read_inputs(inputs, io.fields, io.on_error)
    output.manifest["inputs"] = read.sources
    output.manifest["input_fingerprint"] = read.fingerprint
    if read.records.height == 0:
        raise EmptyInputError(
            f"{', '.join(map(str, inputs))}: no usable rows ({read.quarantined.height} quarantined: "
            "unreadable lines or empty problems). See the errors with --on-error fail."
        )
    kept, removed, stats = op(read)
    audit = (
        pl.concat([d for d in (read.quarantined, removed) if d.height], how="diagonal_relaxed")
        if (read.quarantined.height or removed.height)
        else removed
    )
    manifest = output.publish(kept, audit, read.rows_in, stats)
    return StepResult(manifest, kept, audit)


def dedup_step(inputs: list[str | Path], out: str | Path, params: DedupParams, io: IOOptions) -> StepResult:
    def op(read: ReadResult) -> OpResult:
        result = dedup(read.records, params, read.normalized)
        return result.kept, result.removed, result.stats

    if not 0 < params.threshold <= 1:
        raise ConfigError(f"--threshold must be in (0, 1] (got {params.threshold})")
    if params.ngram < 1 or params.num_perm < 8:
        raise ConfigError("--ngram must be >= 1 and --num-perm >= 8")
    if (params.bands is None) != (params.rows is None):
        raise ConfigError("--bands and --rows go together: give both, or neither to choose them from --threshold")
    if params.bands and params.rows and params.bands * params.rows > params.num_perm:
        raise ConfigError(f"--bands x --rows ({params.bands * params.rows}) exceeds --num-perm ({params.num_perm})")
    return run_step("dedup", inputs, out, {"dedup": asdict(params)}, op, io)


def read_benchmarks(specs: list[str], io: IOOptions) -> list[Benchmark]:
    """Benchmarks as `PATH` or `NAME=PATH`; each read like any input (file, glob, directory)."""
    benches = []
    for spec in specs:
        name, _, path = spec.rpartition("=") if "=" in spec and not Path(spec).exists() else ("", "", spec)
        read = read_inputs([path], io.fields, "fail")
        name = name or Path(path.rstrip("/")).name.split(".")[0]
        benches.append(
            Benchmark(
                name, read.records.get_column(schema.PROBLEM).to_list(), read.records.get_column(schema.ID).to_list()
            )
        )
    return benches


def decontaminate_step(
    inputs: list[str | Path], out: str | Path, against: list[str], params: DecontamParams, io: IOOptions
) -> StepResult:
    if not against:
        raise ConfigError("name at least one benchmark with --against FILE")
    if params.ngram < 1 or not 0 <= params.min_overlap <= 1:
        raise ConfigError("--ngram must be >= 1 and --min-overlap in [0, 1]")
    benches = read_benchmarks(against, IOOptions())

    def op(read: ReadResult) -> OpResult:
        result = decontaminate(read.records, benches, params)
        return result.kept, result.removed, result.stats

    config = {"decontaminate": asdict(params), "against": against}
    return run_step("decontaminate", inputs, out, config, op, io)


@dataclass
class JudgeOptions:
    """How the judge runs: worker processes, per-item timeout (s), memory per worker (MiB)."""

    workers: int | None = None
    timeout: float = 5.0
    memory_mb: int = 4096
    think_prefilled: bool = False


def verify_step(
    inputs: list[str | Path],
    out: str | Path,
    checks: list[str],
    io: IOOptions,
    judge: JudgeOptions | None = None,
    completion_field: str | None = None,
    options: dict | None = None,
) -> StepResult:
    """Judge every completion and score the requested checks; no row is dropped."""
    from r1data.judge import Judge
    from r1data.ops.verify import find_completion_column, score_table

    judge = judge or JudgeOptions()
    if judge.timeout <= 0:
        raise ConfigError(f"--timeout must be positive (got {judge.timeout})")
    options = (options or {}) | {"think_prefilled": judge.think_prefilled}

    def op(read: ReadResult) -> OpResult:
        column = find_completion_column(read.records, completion_field, ", ".join(map(str, inputs)))
        with Judge(judge.workers, judge.timeout, judge.memory_mb, think_prefilled=judge.think_prefilled) as j:
            scored, stats = score_table(read.records, column, checks, j, options)
        if schema.TESTS in read.records.columns:  # code problems ran: say what isolation they had
            from r1data.sandbox import isolation

            stats["sandbox"] = isolation()
        return scored, read.records.clear(), stats | {"completion_field": column}

    config = {"verify": {"checks": checks, "completion_field": completion_field, "options": options},
              "judge": asdict(judge)}  # fmt: skip
    return run_step("verify", inputs, out, config, op, io)
