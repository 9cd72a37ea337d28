"""Write a step's output directory so that a crash never leaves it looking complete.

Everything is written into a staging directory beside OUT; only when every shard, the audit, the
manifest and the card are on disk is it renamed to OUT. An existing OUT is replaced only with
`overwrite`, and only after the new output is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import polars as pl

from r1data import schema
from r1data.errors import OutputError
from r1data.manifest import dataset_card, new_manifest

DEFAULT_SHARD_ROWS = 100_000


def shard_name(index: int, total: int, split: str = "train") -> str:
    """Hugging Face's naming: train-00000-of-00003.parquet."""
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def write_parquet_atomic(df: pl.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.write_parquet(tmp, compression="zstd", statistics=True)
    os.replace(tmp, path)


def write_shards(df: pl.DataFrame, folder: Path, rows_per_shard: int = DEFAULT_SHARD_ROWS) -> list[dict]:
    """Split df into Parquet shards under folder; an empty df still gets one (empty) shard with its schema."""
    folder.mkdir(parents=True, exist_ok=True)
    total = max(1, -(-df.height // rows_per_shard))
    written = []
    for i in range(total):
        part = df.slice(i * rows_per_shard, rows_per_shard)
        path = folder / shard_name(i, total)
        write_parquet_atomic(part, path)
        written.append({"path": str(path.relative_to(folder.parent)), "rows": part.height})
    return written


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse an existing output directory unless overwrite; checked before any work starts."""
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: already exists. Choose another -o, or pass --overwrite to replace it.")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory.")
    parent = out.resolve().parent
    if not parent.exists():
        parent.mkdir(parents=True, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{parent}: not writable. Choose another -o.")


class StepOutput:
    """Collects a step's kept rows, removed rows and stats, then publishes OUT in one rename."""

    def __init__(
        self,
        out: Path,
        command: str,
        config: dict,
        inputs: list[dict],
        fingerprint: str,
        overwrite: bool = False,
        rows_per_shard: int = DEFAULT_SHARD_ROWS,
    ) -> None:
        self.out = Path(out)
        check_output(self.out, overwrite)
        self.manifest = new_manifest(command, config, inputs, fingerprint)
        self.rows_per_shard = rows_per_shard
        self.started = time.perf_counter()
        self.staging = self.out.resolve().parent / f".{self.out.name}.r1data-partial-{os.getpid()}"
        if self.staging.exists():
            shutil.rmtree(self.staging)

    def publish(self, kept: pl.DataFrame, removed: pl.DataFrame, rows_in: int, stats: dict | None = None) -> dict:
        """Write shards, audit, manifest and card to staging, then move staging to OUT."""
        if kept.height + removed.height != rows_in:
            raise AssertionError(f"accounting broken: {kept.height} kept + {removed.height} removed != {rows_in} in")
        try:
            shards = write_shards(kept, self.staging / "data", self.rows_per_shard)
            removed_shards = (
                write_shards(removed, self.staging / "removed", self.rows_per_shard) if removed.height else []
            )
            drops = dict(Counter(removed.get_column(schema.DROP_REASON).to_list())) if removed.height else {}
            self.manifest.update(
                rows_in=rows_in,
                rows_out=kept.height,
                rows_removed=removed.height,
                drops=drops,
                stats=stats or {},
                shards=shards,
                removed_shards=removed_shards,
                seconds=round(time.perf_counter() - self.started, 3),
                status="complete",
            )
            (self.staging / "README.md").write_text(dataset_card(self.manifest))
            tmp = self.staging / ".manifest.json.tmp"
            tmp.write_text(json.dumps(self.manifest, indent=2, default=str))
            os.replace(tmp, self.staging / "manifest.json")
            self._swap_in()
        finally:
            if self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)
        return self.manifest

    def _swap_in(self) -> None:
        old = None
        if self.out.exists():
            old = self.staging.with_name(self.staging.name.replace("partial", "old"))
            os.replace(self.out, old)
        os.replace(self.staging, self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
