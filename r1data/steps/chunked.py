"""The runner of the steps that spend model hours (filter, rejection-sample): chunked, resumable, published once.

While a run goes, its work lives beside OUT in `.OUT.r1data-work/`: one Parquet file per chunk of input rows
(every row with its outcome, `_outcome`: kept, dropped or failed, and its position `_row`) and `state.json`,
which lists each finished chunk with its row count. A chunk is written under a temporary name, fsynced,
renamed, and only then recorded. The work is keyed by the step, its settings (those that change results)
and the input's fingerprint. A rerun of the same command
- removes leftovers (temporary files, chunk files the state does not list), and redoes any chunk whose
  file is damaged or whose row count does not match (a damaged state.json means every chunk is redone),
- generates only the chunks never finished, and of finished chunks only the rows that failed (server
  errors): a finished output `complete_with_failures` is retried from the chunks it keeps in `OUT/chunks/`,
- refuses other settings or another input unless `--restart` (or `--overwrite`).
When every chunk is done, data/, removed/, the manifest and the chunks are published through the one publish
path: OUT is replaced in a single swap, so it is always the old complete output or the new complete one.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import xxhash

from r1data import progress, publish, schema
from r1data.config import as_dict, resume_safe
from r1data.errors import EmptyInputError, OutputError
from r1data.manifest import COMPLETE, COMPLETE_WITH_FAILURES, read_manifest
from r1data.steps.base import (
    IOConfig,
    Output,
    StepResult,
    add_warnings,
    input_manifest,
    publish_output,
    strip_internal,
)

OUTCOME = "_outcome"
KEPT, DROPPED, FAILED = "kept", "dropped", "failed"
ENGINE_ERROR = "engine_error"
ERROR_DETAIL = "engine_error_detail"
STATE = "state.json"
LOG = "engine.log"


def run_key(command: str, cfg: Any, io: IOConfig, fingerprint: str) -> dict:
    """What must match for finished chunks to be reused: the step, the settings that change results, the input."""
    settings = {k: v for k, v in as_dict(cfg).items() if k not in resume_safe(type(cfg))}
    reading = {k: v for k, v in as_dict(io).items() if k not in resume_safe(IOConfig)}
    digest = xxhash.xxh3_64_hexdigest(json.dumps([settings, reading], sort_keys=True, default=str).encode())
    return {"command": command, "config_hash": digest, "input_fingerprint": fingerprint}


class ChunkStore:
    """The chunk files and state.json of one run, in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.state_path = folder / STATE
        self.state: dict = {}
        self.notes: list[str] = []

    def saved_key(self) -> dict | None:
        """The key of the work saved here, or None when there is none (or its state cannot be read)."""
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None
        return (
            {k: state.get(k) for k in ("command", "config_hash", "input_fingerprint")}
            if isinstance(state, dict)
            else None
        )

    def exists(self) -> bool:
        return self.folder.is_dir() and any(self.folder.iterdir())

    def reset(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def seed_from(self, chunks: Path) -> None:
        """Start from the chunks a published output keeps (hard links: the output stays as it is)."""
        self.reset()
        publish.link_tree(chunks, self.folder)

    def open(self, key: dict) -> None:
        publish.mkdir(self.folder)
        try:
            state = json.loads(self.state_path.read_text()) if self.state_path.exists() else None
        except (OSError, ValueError):
            state = None
            self.notes.append("the chunk state file was damaged: every chunk is redone")
        if not isinstance(state, dict) or any(state.get(k) != v for k, v in key.items()):
            state = None
        self.state = state or {**key, "chunks": {}}
        listed = {self.path(int(i)).name for i in self.state["chunks"]}
        for path in self.folder.iterdir():
            if path.name not in (STATE, LOG) and path.name not in listed:
                path.unlink()  # a temporary file, or a chunk the state never recorded: half-done work
        for i, info in list(self.state["chunks"].items()):
            path = self.path(int(i))
            try:
                ok = pq.ParquetFile(path).metadata.num_rows == info["rows"]
            except Exception:  # missing, empty, truncated: redo it
                ok = False
            if not ok:
                self.notes.append(f"chunk {i} was damaged or incomplete: redone")
                del self.state["chunks"][i]
                path.unlink(missing_ok=True)
        self._save()

    def path(self, index: int) -> Path:
        return self.folder / f"chunk-{index:05d}.parquet"

    def _save(self) -> None:
        publish.write_json(self.state_path, self.state)

    def todo(self, n_chunks: int) -> list[int]:
        """Chunks never finished, then finished chunks that still have failed rows."""
        done = self.state["chunks"]
        fresh = [i for i in range(n_chunks) if str(i) not in done]
        retry = [i for i in range(n_chunks) if str(i) in done and done[str(i)]["failed"]]
        return fresh + retry

    def rows(self, index: int) -> pl.DataFrame | None:
        return pl.read_parquet(self.path(index)) if str(index) in self.state["chunks"] else None

    def write(self, index: int, rows: pl.DataFrame) -> None:
        publish.write_parquet(rows, self.path(index))
        publish.fault_point("chunk_written")
        failed = int((rows.get_column(OUTCOME) == FAILED).sum())
        self.state["chunks"][str(index)] = {"rows": rows.height, "failed": failed, "at": time.time()}
        self._save()
        publish.fault_point("state_saved")

    @property
    def log_path(self) -> Path:
        """The engines' log of this run (published as OUT/logs/engine.log)."""
        return self.folder / LOG

    def publish_into(self, stage: Path) -> None:
        """The chunks (hard links) into OUT/chunks, the engine log into OUT/logs."""
        publish.link_tree(self.folder, stage / "chunks")
        if (stage / "chunks" / LOG).exists():
            publish.mkdir(stage / "logs")
            os.replace(stage / "chunks" / LOG, stage / "logs" / LOG)

    def frames(self) -> list[pl.DataFrame]:
        return [pl.read_parquet(self.path(int(i))) for i in sorted(self.state["chunks"], key=int)]


@dataclass
class ChunkedStep:
    """What a chunked step gives the runner."""

    command: str
    chunk_rows: int
    work: Callable[[pl.DataFrame, Any, Any], pl.DataFrame]  # (rows of a chunk, engine, judge) -> rows with _outcome
    load_engine: Callable[[], Any]
    judge: dict = field(default_factory=dict)  # Judge(**judge): workers, timeout, memory_mb
    needs_engine: Callable[[pl.DataFrame], bool] = lambda records: True
    stats: Callable[[list[pl.DataFrame]], dict] = lambda frames: {}
    restart: bool = False
    replicas: int | None = None  # --executor ray: engine replicas


def _chunk_input(store: ChunkStore, records: pl.DataFrame, step: ChunkedStep, index: int) -> pl.DataFrame:
    """What a chunk still needs: all its rows, or only the failed ones of an earlier run."""
    part = records.slice(index * step.chunk_rows, step.chunk_rows)
    previous = store.rows(index)
    if previous is None:
        return part
    failed = previous.filter(pl.col(OUTCOME) == FAILED).get_column(schema.ROW)
    return part.filter(pl.col(schema.ROW).is_in(failed.implode()))


def _chunk_done(store: ChunkStore, index: int, rows: pl.DataFrame, report: Any) -> None:
    previous = store.rows(index)
    if previous is not None:  # the rows that had not failed stay as they were
        rows = pl.concat([previous.filter(pl.col(OUTCOME) != FAILED), rows], how="diagonal_relaxed")
    store.write(index, rows.sort(schema.ROW, maintain_order=True))
    outcomes = rows.get_column(OUTCOME)
    report.count(
        kept=int((outcomes == KEPT).sum()),
        dropped=int((outcomes == DROPPED).sum()),
        failed=int((outcomes == FAILED).sum()),
    )


def _process(
    store: ChunkStore,
    records: pl.DataFrame,
    step: ChunkedStep,
    todo: list[int],
    runner: Any,
    on_chunk: Callable[[int, int], None] | None,
) -> None:
    """The chunks left, on the executor's chunk runner (this process, or engine replicas on a cluster): each chunk's
    rows written as it finishes, so a killed run resumes from the chunks it wrote."""
    report = progress.current()
    inputs = [(i, functools.partial(_chunk_input, store, records, step, i)) for i in todo]  # each read when it runs
    for done, (index, rows) in enumerate(runner.run(step.work, inputs), 1):
        _chunk_done(store, index, rows, report)
        report.advance(records.slice(index * step.chunk_rows, step.chunk_rows).height)
        report.milestone(f"chunk {done}/{len(todo)}")
        if on_chunk is not None:
            on_chunk(done, len(todo))


def _split(frames: list[pl.DataFrame], records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    rows = pl.concat(frames, how="diagonal_relaxed") if frames else records.clear()
    kept = rows.filter(pl.col(OUTCOME) == KEPT).drop(OUTCOME, schema.DROP_REASON, ERROR_DETAIL, strict=False)
    removed = rows.filter(pl.col(OUTCOME) != KEPT)
    kept_rows = set(kept.get_column(schema.ROW).to_list()) if kept.height else set()
    removed_rows = removed.get_column(schema.ROW).to_list() if removed.height else []
    expected = set(records.get_column(schema.ROW).to_list())
    if (
        kept_rows & set(removed_rows)
        or len(removed_rows) != len(set(removed_rows))
        or kept_rows | set(removed_rows) != expected
    ):
        raise AssertionError(
            f"accounting broken: {len(kept_rows)} inputs kept + {len(removed_rows)} removed != {len(expected)}"
        )
    return kept, removed, len(kept_rows)


def run_chunked(
    step: ChunkedStep,
    inputs: list[str | Path],
    out: str | Path,
    cfg: Any,
    io: IOConfig,
    engine: Any = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> StepResult:
    """Resume or start the chunked run, process what is left, publish. `engine`: one already loaded (used and
    left open), instead of loading one when there is work for it."""
    from r1data.engines.executors import executor_for

    started = time.perf_counter()
    fresh = io.overwrite or step.restart
    with Output(out, step.command, fresh, inputs) as target:
        read = io.read(inputs)
        records = read.records
        if records.height == 0:
            raise EmptyInputError(f"{', '.join(map(str, inputs))}: no usable rows")
        key = run_key(step.command, cfg, io, read.fingerprint)
        store = ChunkStore(publish.work_dir(target.path))
        _choose_start(store, target.path, key, fresh, step.command)
        store.open(key)
        n_chunks = max(1, -(-records.height // step.chunk_rows))
        todo = store.todo(n_chunks)
        report = progress.current()
        runs_on = executor_for(io.executor, io.ray_address)
        executor = runs_on.start() if todo else {"name": runs_on.name}
        if todo:
            todo_rows = sum(min(step.chunk_rows, records.height - i * step.chunk_rows) for i in todo)
            load = step.load_engine if step.needs_engine(records) else None
            runner = runs_on.chunks(load, step.judge, engine=engine, replicas=step.replicas)
            with progress.engine_logs(store.log_path, report.console) as log:
                try:
                    runner.open()
                    # The clock starts after the engines load: rates and the ETA are of the work itself.
                    report.start(
                        todo_rows, "problems", stage=f"{len(todo)} chunks to do, {n_chunks - len(todo)} done before"
                    )
                    _process(store, records, step, todo, runner, on_chunk)
                finally:
                    executor |= runner.facts()
                    runner.close()
            if log is not None and (said := progress.notable(log)):
                store.notes.append(
                    f"the engines logged {len(said)} notable line(s), e.g. '{said[0]}' "
                    f"(all in {target.path / 'logs' / 'engine.log'})"
                )
        frames = store.frames()
        kept, removed, inputs_kept = _split(frames, records)
        if read.quarantined.height:
            removed = pl.concat([read.quarantined, removed], how="diagonal_relaxed")
        failed = int((removed.get_column(OUTCOME) == FAILED).sum()) if OUTCOME in removed.columns else 0
        manifest = input_manifest(step.command, cfg, io, read)
        stats = step.stats(frames)
        add_warnings(manifest, [*store.notes, *stats.pop("warnings", [])])
        manifest.update(
            executor=executor,
            inputs_kept=inputs_kept,
            rows_failed=failed,
            stats=stats,
            chunks={"rows_per_chunk": step.chunk_rows, "total": n_chunks, "processed_this_run": len(todo)},
            seconds=round(time.perf_counter() - started, 3),
            status=COMPLETE_WITH_FAILURES if failed else COMPLETE,
        )
        manifest = publish_output(target.path, manifest, kept, removed, io.shard_rows, fill=store.publish_into)
        store.reset()
    return StepResult(manifest, target.path, strip_internal(kept), strip_internal(removed))


def _choose_start(store: ChunkStore, out: Path, key: dict, fresh: bool, command: str) -> None:
    """Continue unfinished work, or start from a published output's chunks, or refuse; nothing is deleted that
    the user did not ask to replace."""
    saved = store.saved_key() if store.exists() else None
    if store.exists():
        if saved == key:
            return
        if fresh:
            store.reset()
            return
        if saved is None:  # a damaged state: `open` redoes every chunk (nothing published is touched)
            return
        raise OutputError(
            f"{out}: an unfinished run with other settings or another input is waiting in {store.folder}. "
            "Rerun that command to finish it, pass --restart to discard it, or choose another -o."
        )
    if not out.exists() or fresh:
        return
    published = read_manifest(out)
    chunks = out / "chunks"
    if published is not None and published.get("command") == command:
        old = ChunkStore(chunks).saved_key()
        if old == key:
            store.seed_from(chunks)
            return
        raise OutputError(
            f"{out}: holds a {command} run of a different configuration (model, sampling or options changed) or of "
            "another input. Pass --restart to replace it once the new run is complete, or choose another -o."
        )
    raise OutputError(f"{out}: exists and is not an r1data {command} run. Choose another -o, or pass --overwrite.")
