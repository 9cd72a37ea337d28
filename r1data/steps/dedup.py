"""Remove exact duplicates (normalised text), then near duplicates (MinHash LSH over n-grams). In each
duplicate cluster the row with a gold answer, earliest in input order, is kept; the others go to
OUT/removed/ with drop_reason, duplicate_of (the kept id) and similarity."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1data import progress, publish
from r1data.config import check, setting
from r1data.errors import OutputError
from r1data.ops.dedup import DedupParams, Kernels, dedup
from r1data.spill import Spill
from r1data.steps.base import IOConfig, StepResult, run_one_shot

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
        )


def run(inputs: list[str | Path], out: str | Path, cfg: Config, io: IOConfig, *, engine: Any = None) -> StepResult:
    """`r1data dedup`."""
    params = cfg.params()

    def op(read: Any, executor: Any) -> tuple:
        from r1data.judge import Judge, answers_equivalent

        kernels, remote = Kernels(), executor.dedup_kernels()
        if remote is not None:  # the cluster holds the working state (Ray's object store spills on its own)
            kernels = Kernels(signatures=remote.signatures, pairs=remote.pairs, jaccard=remote.jaccard)
        out_of_core = remote is None and not cfg.in_memory and not cfg.exact_only
        with (
            Judge(workers=2) as judge,
            publish.scratch(Path(out)) if out_of_core else contextlib.nullcontext() as folder,
        ):
            # the judge's workers start only if a pair's answers take math-verify to compare
            spill = Spill(folder, cfg.memory_bytes()) if folder is not None else None
            try:
                result = dedup(
                    read.records,
                    params,
                    read.normalized,
                    answers_equivalent(judge),
                    progress.current().stage,
                    kernels,
                    spill,
                )
            except OSError as exc:
                if spill is None:
                    raise
                raise OutputError(
                    f"{folder}: writing near-dup's spilled working state failed ({exc}). The disk holding OUT may "
                    "be full: free space there, or give a larger --memory-gb so that less is spilled. "
                    "Nothing was written to OUT."
                ) from None
        if remote is not None:
            result.stats["executor"] = remote.counts
        if result.stats.get("answer_pairs_not_judged"):
            result.stats.setdefault("warnings", []).append(
                f"{result.stats['answer_pairs_not_judged']:,} near-duplicate pairs were kept apart without comparing "
                f"their gold answers: the judge compared the first {cfg.max_judged_pairs:,} distinct pairs "
                "(--max-judged-pairs; -1 compares them all)"
            )
        return result.kept, result.removed, result.stats

    return run_one_shot("dedup", inputs, out, cfg, io, op)
