"""The step contract, the one-shot runner and the registry.

A step is a module with a `Config` dataclass (every field a setting with help; `__post_init__` checks that
name the setting and the fix) and one function

    run(inputs, out, cfg, io, *, engine=None) -> StepResult

The CLI builds each command's options from the step's Config (and `IOConfig`), `r1data run` reads recipe
keys as field names, and the demo is a pipeline recipe: all three find steps in `STEPS` only. One-shot steps
(dedup, decontaminate, verify, stats) go through `run_one_shot`; steps that spend model time (filter,
rejection-sample) through `r1data.steps.chunked.run_chunked`, which resumes. Both publish through
`publish_output`: staged, fsynced, swapped in, under OUT's lock.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from r1data import progress, publish, schema
from r1data.config import as_dict, check, setting
from r1data.errors import EmptyInputError, OutputError
from r1data.io import InputReader, OnError, ReadResult, read_inputs
from r1data.manifest import COMPLETE, MANIFEST, dataset_card, new_manifest, step_command_line

DEFAULT_SHARD_ROWS = 100_000


@dataclass(kw_only=True)
class IOConfig:
    """How inputs are read and outputs written; every step takes these."""

    overwrite: bool = setting(False, "Replace OUT once the new output is complete.", resume_safe=True)
    problem_field: str | None = setting(None, "Column of the problem [default: recognised].")
    answer_field: str | None = setting(None, "Column of the gold final answer [default: recognised].")
    solution_field: str | None = setting(None, "Column of a worked solution [default: recognised].")
    id_field: str | None = setting(None, "Column of the row id [default: recognised, else a hash].")
    tests_field: str | None = setting(None, "Column of a code problem's tests [default: recognised].")
    on_error: str = setting("fail", "An unreadable line: fail, or skip (quarantined in removed/).")
    layout: str = setting("auto", "The inputs' layout (`r1data layouts`) [default: recognised].")
    think_format: str = setting("auto", "Where reasoning ends: think, bespoke or none [default: recognised per trace].")
    trace_source: str = setting("deepseek", "s1K-1.1 traces: deepseek or gemini.")
    limit: int | None = setting(None, "Read only the first N rows (a trial run).")
    executor: str = setting("local", "Where the heavy work runs: local or ray (same results).", resume_safe=True)
    ray_address: str = setting(
        "auto", "--executor ray: auto (running, else local), HOST:PORT or ray://...", resume_safe=True
    )
    shard_rows: int = setting(DEFAULT_SHARD_ROWS, "Rows per Parquet shard.", resume_safe=True)

    def __post_init__(self) -> None:
        check(self.on_error in ("fail", "skip"), "on_error", f"must be fail or skip (got '{self.on_error}')")
        check(self.shard_rows >= 1, "shard_rows", f"must be at least 1 (got {self.shard_rows})")
        check(self.limit is None or self.limit >= 1, "limit", f"must be at least 1 (got {self.limit})")
        check(self.executor in ("local", "ray"), "executor", f"must be local or ray (got '{self.executor}')")
        check(
            self.trace_source in ("deepseek", "gemini"),
            "trace_source",
            f"must be deepseek or gemini (got '{self.trace_source}')",
        )
        from r1data.layouts import NAMES
        from r1data.ops.traces import FORMATS

        check(self.layout in NAMES, "layout", f"must be one of {', '.join(NAMES)} (got '{self.layout}')")
        check(
            self.think_format in FORMATS,
            "think_format",
            f"must be one of {', '.join(FORMATS)} (got '{self.think_format}')",
        )

    def fields(self, reserved: tuple[str, ...] = ()) -> schema.FieldMap:
        return schema.FieldMap(
            self.problem_field, self.answer_field, self.solution_field, self.id_field, self.tests_field, reserved
        )

    def reader(self, inputs: list[str | Path], piece_bytes: int | None, reserved: tuple[str, ...] = ()) -> InputReader:
        """The inputs a batch at a time (`piece_bytes` of input each), for a step that streams its rows."""
        on_error: OnError = "skip" if self.on_error == "skip" else "fail"
        return InputReader(
            inputs, self.fields(reserved), on_error, self.limit, self.layout, self.trace_source, piece_bytes
        )

    def read(self, inputs: list[str | Path], reserved: tuple[str, ...] = ()) -> ReadResult:
        on_error: OnError = "skip" if self.on_error == "skip" else "fail"
        read = read_inputs(inputs, self.fields(reserved), on_error, self.limit, self.layout, self.trace_source)
        report = progress.current()
        for reading in read.readings:  # what each input was read as, before anything long runs
            report.line(f"Reading {reading.line()}")
        return read


class StepResult:
    """What every step returns: its manifest, where it wrote, and (steps that write rows) the kept and removed rows:
    as the step held them, or, for a step that streamed its rows (dedup), read back from OUT's shards when asked."""

    def __init__(
        self, manifest: dict, out: Path | None, kept: pl.DataFrame | None = None, removed: pl.DataFrame | None = None
    ) -> None:
        self.manifest, self.out = manifest, out
        self._kept, self._removed = kept, removed

    def _shards(self, key: str, folder: str) -> pl.DataFrame | None:
        if self.out is None or key not in self.manifest:
            return None
        paths = [self.out / s["path"] for s in self.manifest[key]]
        return pl.read_parquet(paths) if paths else pl.DataFrame()

    @property
    def kept(self) -> pl.DataFrame | None:
        if self._kept is None:
            self._kept = self._shards("shards", "data")
        return self._kept

    @property
    def removed(self) -> pl.DataFrame | None:
        if self._removed is None:
            self._removed = self._shards("removed_shards", "removed")
        return self._removed


@dataclass(frozen=True)
class StepDef:
    name: str
    config: type
    run: Callable[..., StepResult]
    kind: str  # one-shot | chunked | train
    help: str


from r1data.steps.registry import STEPS  # noqa: E402 - the registry: one line per step


def get_step(name: str) -> StepDef:
    if name not in STEPS:
        raise KeyError(name)
    module_name, _, variant = STEPS[name].partition(":")
    module = importlib.import_module(module_name)
    if variant:
        return module.step_def(variant)
    return StepDef(name, module.Config, module.run, module.KIND, (module.__doc__ or "").strip())


def run_step(
    name: str,
    inputs: list[str | Path],
    out: str | Path | None,
    cfg: Any,
    io: IOConfig | None = None,
    *,
    engine: Any = None,
    argv: list[str] | None = None,
) -> StepResult:
    """Run a registered step by name (what the CLI, `r1data run` and the demo call). Its manifest records `argv` as
    the step's command line (the CLI passes its own; without one, the command is written from the configs)."""
    step = get_step(name)
    io = io or IOConfig()
    if argv is None:
        argv = command_line(name, inputs, out, cfg, io)
    with step_command_line(argv):
        return step.run(inputs, out, cfg, io, engine=engine)


def command_line(name: str, inputs: list[str | Path], out: str | Path | None, cfg: Any, io: IOConfig) -> list[str]:
    """The `r1data` command that runs this step with these settings."""
    from r1data.config import command_flags

    if name.startswith("train-"):  # `r1data train sft --data IN ...`
        argv = ["train", name.removeprefix("train-"), *(a for i in inputs for a in ("--data", str(i)))]
    else:
        argv = [name, *map(str, inputs)]
    argv += ["-o", str(out)] if out is not None else []
    return argv + (command_flags(cfg) if dataclasses.is_dataclass(cfg) else []) + command_flags(io)


def config_dict(cfg: Any, io: IOConfig | None = None) -> dict:
    """The resolved settings as the manifest records them."""
    out = as_dict(cfg) if dataclasses.is_dataclass(cfg) else dict(cfg)
    if io is not None:
        out["io"] = as_dict(io)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Publishing


def strip_internal(df: pl.DataFrame) -> pl.DataFrame:
    return df.drop(schema.ROW, strict=False)


def shard_name(i: int, total: int) -> str:
    return f"train-{i:05d}-of-{total:05d}.parquet"


class ShardWriter:
    """Rows added in pieces, written as Hugging Face-named Parquet shards of `rows_per_shard` rows into `folder`:
    `total` rows are expected (the shard count is in every name), so each shard is written as soon as it is full and
    no more than one shard's rows are held. An empty output still gets one (empty) shard with `empty`'s schema.
    `conform` puts each piece into the output's schema (pieces of one input can differ)."""

    def __init__(
        self,
        folder: Path,
        total: int,
        rows_per_shard: int,
        empty: pl.DataFrame | None = None,
        conform: Callable[[pl.DataFrame], pl.DataFrame] = lambda df: df,
    ) -> None:
        self.folder, self.total, self.rows_per_shard = folder, total, rows_per_shard
        self.shards = max(1, -(-total // rows_per_shard))
        self.empty, self.conform = empty, conform
        self.held: list[pl.DataFrame] = []
        self.held_rows = 0
        self.written: list[dict] = []
        self.rows = 0

    def add(self, df: pl.DataFrame) -> None:
        if df.height == 0:
            if self.empty is None:
                self.empty = self.conform(df).clear()
            return
        part = self.conform(df)
        if self.empty is None:
            self.empty = part.clear()
        self.held.append(part)
        self.held_rows += part.height
        while self.held_rows >= self.rows_per_shard and len(self.written) < self.shards - 1:
            self._write(self.rows_per_shard)

    def _write(self, rows: int) -> None:
        joined = pl.concat(self.held, how="vertical_relaxed") if len(self.held) > 1 else self.held[0]
        shard, rest = joined.slice(0, rows), joined.slice(rows)
        if not self.written:
            publish.mkdir(self.folder)  # a folder only for shards: no rows removed, no removed/
        path = self.folder / shard_name(len(self.written), self.shards)
        publish.write_parquet(shard, path)
        publish.fault_point("shard_written")
        self.written.append({"path": str(path.relative_to(self.folder.parent)), "rows": shard.height})
        self.rows += shard.height
        self.held, self.held_rows = ([rest] if rest.height else []), rest.height

    def close(self) -> list[dict]:
        if self.rows + self.held_rows != self.total:
            raise AssertionError(f"{self.folder}: {self.rows + self.held_rows} rows written, {self.total} expected")
        if self.held:
            self._write(self.held_rows)
        elif not self.written:
            self.held = [self.empty if self.empty is not None else pl.DataFrame()]
            self._write(0)
        return self.written


def write_shards(df: pl.DataFrame, folder: Path, rows_per_shard: int) -> list[dict]:
    """Split df into Hugging Face-named Parquet shards (train-00000-of-00003.parquet); an empty df still gets one
    (empty) shard with its schema."""
    writer = ShardWriter(folder, df.height, rows_per_shard, df.clear())
    writer.add(df)
    return writer.close()


@dataclass
class Written:
    """What a step wrote into the staging folder: its shards, and the counts the manifest records."""

    shards: list[dict]
    removed_shards: list[dict]
    rows_out: int
    rows_removed: int
    drops: dict


def drop_counts(removed: pl.DataFrame) -> Counter:
    return Counter(removed.get_column(schema.DROP_REASON).to_list()) if removed.height else Counter()


def publish_output(
    out: Path,
    manifest: dict,
    kept: pl.DataFrame,
    removed: pl.DataFrame,
    shard_rows: int,
    fill: Callable[[Path], None] | None = None,
) -> dict:
    """Write shards, audit, card and manifest into a staging folder beside OUT, then swap it in. `fill` may add
    more to the staging folder first (a chunked run's chunks). Returns the manifest as written."""
    kept, removed = strip_internal(kept), strip_internal(removed)

    def write(stage: Path) -> Written:
        shards = write_shards(kept, stage / "data", shard_rows)
        removed_shards = write_shards(removed, stage / "removed", shard_rows) if removed.height else []
        return Written(shards, removed_shards, kept.height, removed.height, dict(drop_counts(removed)))

    return publish_written(out, manifest, write, fill)


def publish_written(
    out: Path, manifest: dict, write: Callable[[Path], Written], fill: Callable[[Path], None] | None = None
) -> dict:
    """The one publish path: `write` fills a staging folder beside OUT with the step's shards, `fill` adds more (a
    chunked run's chunks), then the card and the manifest (last: a staging folder with a manifest is complete) and
    the swap. Returns the manifest as written."""
    with publish.staging(out) as stage:
        written = write(stage)
        if fill is not None:
            fill(stage)
        manifest.setdefault("status", COMPLETE)
        if manifest["status"] == "running":
            manifest["status"] = COMPLETE
        manifest.update(
            rows_out=written.rows_out,
            rows_removed=written.rows_removed,
            drops=written.drops,
            shards=written.shards,
            removed_shards=written.removed_shards,
        )
        publish.write_text(stage / "README.md", dataset_card(manifest))
        publish.write_json(stage / MANIFEST, manifest)
        publish.fault_point("staged")
        publish.swap_in(stage, out)
    return manifest


class Output:
    """OUT while a step writes it: checked, locked, repaired from an earlier crash; released on exit."""

    def __init__(self, out: str | Path, command: str, overwrite: bool, inputs: Sequence[str | Path] = ()) -> None:
        self.path = publish.check_target(Path(out))
        publish.check_apart(self.path, inputs)
        self.command = command
        self.overwrite = overwrite
        self.lock = publish.OutputLock(self.path, command)
        self.repaired: list[str] = []

    def __enter__(self) -> Output:
        self.lock.acquire()
        try:
            self.repaired = publish.recover(self.path)
            if self.overwrite:
                publish.check_replaceable(self.path)
        except BaseException:
            self.lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()

    def refuse_existing(self) -> None:
        if self.path.exists() and not self.overwrite:
            raise OutputError(f"{self.path}: already exists. Choose another -o, or pass --overwrite to replace it.")


def input_manifest(command: str, cfg: Any, io: IOConfig, read: ReadResult) -> dict:
    manifest = new_manifest(command, config_dict(cfg, io), read.sources, read.fingerprint)
    manifest["rows_in"] = read.rows_in
    if read.repeated_ids:
        manifest["repeated_ids"] = read.repeated_ids
    if read.warnings:
        manifest["warnings"] = read.warnings
    return manifest


def add_warnings(manifest: dict, warnings: list[str]) -> None:
    """Warnings a step found (repeated ids, damaged work redone, code run without isolation) go into the manifest,
    and from there to the card and the terminal."""
    if warnings:
        manifest["warnings"] = [*manifest.get("warnings", []), *warnings]


OpResult = tuple[pl.DataFrame, pl.DataFrame, dict]


def no_usable_rows(inputs: list[str | Path], quarantined: int) -> EmptyInputError:
    return EmptyInputError(
        f"{', '.join(map(str, inputs))}: no usable rows ({quarantined} quarantined: "
        "unreadable lines or empty problems). See the errors with --on-error fail."
    )


def run_one_shot(
    command: str,
    inputs: list[str | Path],
    out: str | Path,
    cfg: Any,
    io: IOConfig,
    op: Callable[[ReadResult, Any], OpResult],
    reserved: tuple[str, ...] = (),
) -> StepResult:
    """Read, transform, publish. Unreadable lines and rows without a problem join the audit. `op(read, executor)`
    gets the executor `--executor` names (r1data/engines/executors.py), started."""
    started = time.perf_counter()
    with Output(out, command, io.overwrite, inputs) as target:
        target.refuse_existing()
        report = progress.current()
        report.stage("reading")
        read = io.read(inputs, reserved)
        report.stage(f"{command}: {read.records.height:,} rows")
        if read.records.height == 0:
            raise no_usable_rows(inputs, read.quarantined.height)
        from r1data.engines.executors import executor_for

        runs_on = executor_for(io.executor, io.ray_address)
        executor = runs_on.start()
        kept, removed, stats = op(read, runs_on)
        executor.update(stats.pop("executor", {}))
        audit = (
            pl.concat([d for d in (read.quarantined, removed) if d.height], how="diagonal_relaxed")
            if (read.quarantined.height or removed.height)
            else removed
        )
        if kept.height + audit.height != read.rows_in:
            raise AssertionError(f"accounting broken: {kept.height} kept + {audit.height} removed != {read.rows_in}")
        manifest = input_manifest(command, cfg, io, read)
        add_warnings(manifest, stats.pop("warnings", []))
        files: dict[str, str] = stats.pop("files", {})  # more files beside the data (export's reward.py)
        manifest["stats"] = stats
        manifest["executor"] = executor
        manifest["seconds"] = round(time.perf_counter() - started, 3)
        report.stage("publishing")

        def fill(stage: Path) -> None:
            for name, text in files.items():
                publish.write_text(stage / name, text)

        manifest = publish_output(target.path, manifest, kept, audit, io.shard_rows, fill if files else None)
    return StepResult(manifest, target.path, strip_internal(kept), strip_internal(audit))
