"""Remove rows that share word n-grams with benchmark problems (or, with --digits-exact, equal one once the
numbers are masked). Each removed row names the benchmark, the benchmark item it matched, the overlap and the
first shared n-gram (OUT/removed/), so every decision can be checked."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1data import progress, schema
from r1data.config import check, setting
from r1data.embed import DEFAULT_EMBED_MODEL, check_settings, load_embedder
from r1data.io import read_inputs
from r1data.ops.decontaminate import Benchmark, DecontamParams, semantic_pass
from r1data.ops.semantic import SemanticParams
from r1data.steps.base import IOConfig, StepResult, run_one_shot

KIND = "one-shot"
_D = DecontamParams()
_S = SemanticParams()


@dataclass(kw_only=True)
class Config:
    against: list[str] = setting(help="Benchmark file/dir (PATH or NAME=PATH); repeat for several.")
    ngram: int = setting(_D.ngram, "Word n-gram size (8 as open-r1; 32 as Light-R1).")
    min_overlap: float = setting(
        _D.min_overlap,
        "Share of a benchmark problem's n-grams a row must contain; 0 = any shared n-gram (open-r1's rule).",
    )
    digits_exact: bool = setting(_D.digits_exact, "Also drop rows equal to a benchmark problem once digits are masked.")
    paraphrase: bool = setting(
        _D.paraphrase,
        "Also drop rephrasings: a row holding most of an item's quantities (at least two), with the same gold answer "
        "when both have one, and enough of its content words (names, objects, verbs). No model needed.",
    )

    semantic: bool = setting(
        False,
        "Also drop rows that mean the same as a benchmark problem: sentence embeddings (--embed-model), each row's "
        "nearest benchmark problems, the cosine similarity and the quantities of the two (a near neighbour with "
        "other numbers or another gold answer is a sibling, not a leak). Needs r1data[embed].",
    )
    semantic_threshold: float = setting(
        _S.threshold,
        "With --semantic: the cosine similarity at which the meaning alone flags a row (its quantities not in "
        "conflict); lower similarities flag only with agreeing quantities or the same gold answer.",
    )
    embed_model: str | None = setting(
        None,
        f"With --semantic: a local sentence-transformers or model2vec folder [default: the built-in "
        f"{DEFAULT_EMBED_MODEL}, installed with r1data[embed]]. Never downloaded.",
    )

    def __post_init__(self) -> None:
        check(bool(self.against), "against", "name at least one benchmark, e.g. --against math500=MATH-500.jsonl")
        check(self.ngram >= 1, "ngram", f"must be at least 1 (got {self.ngram})")
        check(0 <= self.min_overlap <= 1, "min_overlap", f"must be in [0, 1] (got {self.min_overlap})")
        check_settings(self.semantic, self.semantic_threshold, _S.threshold, self.embed_model)

    def params(self) -> DecontamParams:
        return DecontamParams(
            ngram=self.ngram, min_overlap=self.min_overlap, digits_exact=self.digits_exact, paraphrase=self.paraphrase
        )


def read_benchmarks(specs: list[str]) -> list[Benchmark]:
    """Benchmarks as `PATH` or `NAME=PATH`; each read like any input (file, glob, directory)."""
    benches = []
    for spec in specs:
        name, _, path = spec.rpartition("=") if "=" in spec and not Path(spec).exists() else ("", "", spec)
        read = read_inputs([path])
        name = name or Path(path.rstrip("/")).name.split(".")[0]
        problems = read.records.get_column(schema.PROBLEM).to_list()
        answers = read.records.get_column(schema.ANSWER).to_list()
        benches.append(Benchmark(name, problems, read.records.get_column(schema.ID).to_list(), answers))
    return benches


def run(inputs: list[str | Path], out: str | Path, cfg: Config, io: IOConfig, *, engine: Any = None) -> StepResult:
    """`r1data decontaminate`."""
    benches = read_benchmarks(cfg.against)
    params = cfg.params()
    embedder = load_embedder(cfg.embed_model) if cfg.semantic else None  # a missing model fails before any work

    def op(read: Any, executor: Any) -> tuple:
        result = executor.decontaminate(read.records, benches, params)
        if embedder is not None:
            from r1data.judge import Judge, answers_equivalent

            semantic = dataclasses.replace(_S, threshold=cfg.semantic_threshold)
            with Judge(workers=2) as judge:  # started only if two gold answers take math-verify to compare
                result = semantic_pass(
                    result,
                    benches,
                    semantic,
                    embedder.with_progress(),
                    answers_equivalent(judge),
                    progress.current().stage,
                )
            result.stats["semantic"]["embedding"] = embedder.facts()
        return result.kept, result.removed, result.stats

    return run_one_shot("decontaminate", inputs, out, cfg, io, op)
