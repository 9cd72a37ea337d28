"""Remove rows that share word n-grams with benchmark problems (or, with --digits-exact, equal one once the
numbers are masked). Each removed row names the benchmark, the benchmark item it matched, the overlap and the
first shared n-gram (OUT/removed/), so every decision can be checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1data import schema
from r1data.config import check, setting
from r1data.io import read_inputs
from r1data.ops.decontaminate import Benchmark, DecontamParams
from r1data.steps.base import IOConfig, StepResult, run_one_shot

KIND = "one-shot"
_D = DecontamParams()


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

    def __post_init__(self) -> None:
        check(bool(self.against), "against", "name at least one benchmark, e.g. --against math500=MATH-500.jsonl")
        check(self.ngram >= 1, "ngram", f"must be at least 1 (got {self.ngram})")
        check(0 <= self.min_overlap <= 1, "min_overlap", f"must be in [0, 1] (got {self.min_overlap})")

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

    def op(read: Any, executor: Any) -> tuple:
        result = executor.decontaminate(read.records, benches, params)
        return result.kept, result.removed, result.stats

    return run_one_shot("decontaminate", inputs, out, cfg, io, op)
