"""Resumable, chunked output for the steps that spend GPU hours (filter, rejection-sample).

OUT/chunks/ holds one Parquet file per chunk of input rows, every row with its outcome
(`_outcome`: kept, dropped or failed). A chunk is written to a temporary name, renamed, and only
then recorded as done in OUT/chunks/state.json with its row count. A rerun of the same command
- deletes leftovers (temporary files, chunk files the state does not list),
- checks finished chunks by their row count and redoes any that do not match,
- redoes only the failed rows of finished chunks (e.g. server errors),
- and refuses a changed configuration (model, sampling, band ...) unless told to restart.
When every chunk is done, data/ and removed/ shards and the manifest are (re)written from the
chunks, so accounting holds at the end of every run: each input row is kept, dropped or failed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import xxhash

from r1data import schema
from r1data.errors import OutputError
from r1data.manifest import dataset_card, new_manifest
from r1data.output import write_shards

OUTCOME = "_outcome"
KEPT, DROPPED, FAILED = "kept", "dropped", "failed"


def config_hash(config: dict) -> str:
    return xxhash.xxh3_64_hexdigest(json.dumps(config, sort_keys=True, default=str).encode())


class ChunkedRun:
    def __init__(self, out: Path, command: str, config: dict, overwrite: bool = False, restart: bool = False) -> None:
        self.out, self.command, self.config = Path(out), command, config
        self.dir = self.out / "chunks"
        self.state_path = self.dir / "state.json"
        self.hash = config_hash(config)
        if self.out.exists() and overwrite:
            shutil.rmtree(self.out)
        if self.state_path.is_file():
            state = json.loads(self.state_path.read_text())
            if state.get("config_hash") != self.hash:
                if not restart:
                    raise OutputError(
                        f"{self.out}: holds a run of a different configuration (model, sampling or options "
                        "changed). Pass --restart to discard it, or choose another -o."
                    )
                shutil.rmtree(self.out)
                state = None
        elif self.out.exists() and any(self.out.iterdir()):
            raise OutputError(
                f"{self.out}: exists and is not an r1data {command} run. Choose another -o or --overwrite."
            )
        else:
            state = None
        self.state = state or {"command": command, "config_hash": self.hash, "chunks": {}}
        self.dir.mkdir(parents=True, exist_ok=True)
        self._clean()

    def _clean(self) -> None:
        listed = {f"chunk-{int(i):05d}.parquet" for i in self.state["chunks"]}
        for path in self.dir.iterdir():
            if path.name == "state.json":
                continue
            if path.name not in listed:
                path.unlink()  # a temporary file or a chunk the state never recorded: half-done work
        for i, info in list(self.state["chunks"].items()):
            path = self.chunk_path(int(i))
            if not path.is_file() or pq.ParquetFile(path).metadata.num_rows != info["rows"]:
                del self.state["chunks"][i]
                path.unlink(missing_ok=True)
        self._save_state()

    def chunk_path(self, index: int) -> Path:
        return self.dir / f"chunk-{index:05d}.parquet"

    def _save_state(self) -> None:
        tmp = self.state_path.with_name(".state.json.tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        os.replace(tmp, self.state_path)

    def todo(self, n_chunks: int) -> list[int]:
        """Chunks never finished, then finished chunks that still have failed rows."""
        done = self.state["chunks"]
        fresh = [i for i in range(n_chunks) if str(i) not in done]
        retry = [i for i in range(n_chunks) if str(i) in done and done[str(i)]["failed"]]
        return fresh + retry

    def finished_rows(self, index: int) -> pl.DataFrame | None:
        return pl.read_parquet(self.chunk_path(index)) if str(index) in self.state["chunks"] else None

    def write_chunk(self, index: int, rows: pl.DataFrame) -> None:
        path = self.chunk_path(index)
        tmp = path.with_name(f".{path.name}.tmp")
        rows.write_parquet(tmp)
        os.replace(tmp, path)
        failed = int((rows.get_column(OUTCOME) == FAILED).sum())
        self.state["chunks"][str(index)] = {"rows": rows.height, "failed": failed, "at": time.time()}
        self._save_state()

    def finish(self, inputs: list[dict], fingerprint: str, rows_in: int, stats: dict, seconds: float,
               shard_rows: int, extra_removed: pl.DataFrame | None = None) -> dict:  # fmt: skip
        """Write data/, removed/, manifest.json and README.md from the chunks."""
        files = [self.chunk_path(int(i)) for i in sorted(self.state["chunks"], key=int)]
        rows = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed") if files else pl.DataFrame()
        kept = rows.filter(pl.col(OUTCOME) == KEPT).drop(OUTCOME, schema.DROP_REASON, strict=False)
        removed = rows.filter(pl.col(OUTCOME) != KEPT)
        if extra_removed is not None and extra_removed.height:
            removed = pl.concat([extra_removed, removed], how="diagonal_relaxed")
        kept_inputs = kept.get_column(schema.ID).n_unique() if kept.height else 0  # K rows may share an input
        if kept_inputs + removed.height != rows_in:
            raise AssertionError(f"accounting broken: {kept_inputs} kept + {removed.height} removed != {rows_in}")
        for sub in ("data", "removed"):
            shutil.rmtree(self.out / sub, ignore_errors=True)
        manifest = new_manifest(self.command, self.config, inputs, fingerprint)
        failed = int((removed.get_column(OUTCOME) == FAILED).sum()) if OUTCOME in removed.columns else 0
        drops = removed.get_column(schema.DROP_REASON).value_counts() if removed.height else None
        manifest.update(
            rows_in=rows_in,
            rows_out=kept.height,
            inputs_kept=kept_inputs,
            rows_removed=removed.height,
            rows_failed=failed,
            drops=dict(drops.iter_rows()) if drops is not None else {},
            stats=stats,
            shards=write_shards(kept, self.out / "data", shard_rows),
            removed_shards=write_shards(removed, self.out / "removed", shard_rows) if removed.height else [],
            seconds=round(seconds, 3),
            status="complete" if not failed else "complete_with_failures",
        )
        (self.out / "README.md").write_text(dataset_card(manifest))
        tmp = self.out / ".manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, default=str))
        os.replace(tmp, self.out / "manifest.json")
        return manifest


def run_chunks(
    run: ChunkedRun, records: pl.DataFrame, chunk_rows: int, work: Callable[[pl.DataFrame], pl.DataFrame],
    on_chunk: Callable[[int, int], None] | None = None,
) -> None:  # fmt: skip
    """Process every unfinished chunk (or its failed rows) with `work`, persisting each."""
    n_chunks = max(1, -(-records.height // chunk_rows))
    todo = run.todo(n_chunks)
    for done, index in enumerate(todo):
        part = records.slice(index * chunk_rows, chunk_rows)
        previous = run.finished_rows(index)
        if previous is not None:  # retry only the failed rows, keep the rest as they were
            failed_ids = previous.filter(pl.col(OUTCOME) == FAILED).get_column(schema.ID)
            redone = work(part.filter(pl.col(schema.ID).is_in(failed_ids.implode())))
            rows = pl.concat([previous.filter(pl.col(OUTCOME) != FAILED), redone], how="diagonal_relaxed")
        else:
            rows = work(part)
        run.write_chunk(index, rows)
        if on_chunk is not None:
            on_chunk(done + 1, len(todo))
