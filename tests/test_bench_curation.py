"""benchmarks/bench_curation.py's pieces run (on the tiny model): the pool, curation, the traces of the SFT arm,
the log readers and the held-out scorer. No timing and no learning is asserted: the benchmark measures those."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# Minutes of engines, training, clusters or killed processes: the full suite runs them, `-m "not slow"` skips.
pytestmark = pytest.mark.slow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
bench = pytest.importorskip("bench_curation", reason="needs the train extra (bench_train imports it lazily)")


def test_the_pool_mixes_kinds_duplicates_and_leaked_held_out_problems():
    held = bench.held_out_set(10)
    rows = bench.pool(0, sums=20, echoes=5, products=5, copies=4, held_out=held, leaked=3)
    kinds = {r["id"].split("/")[0] for r in rows}
    assert kinds == {"sum", "echo", "product", "copy", "leak"} and len(rows) == 37
    problems = [r["problem"] for r in rows]
    assert len(set(problems)) < len(problems)  # exact duplicates are there
    assert sum(p in {h["problem"] for h in held} for p in problems) >= 3  # and contamination
    assert all(str(eval(r["problem"][8:-1])) == r["answer"] for r in rows if r["id"].startswith(("sum", "product")))


def test_curation_and_the_sft_rows_run_on_the_tiny_model(tmp_path, tiny_model):
    held = bench.held_out_set(6)
    raw = bench.write_jsonl(
        tmp_path / "raw.jsonl", bench.pool(0, sums=6, echoes=2, products=2, copies=2, held_out=held, leaked=2)
    )
    held_path = bench.write_jsonl(tmp_path / "held.jsonl", held)
    out = bench.curate(raw, held_path, tmp_path / "curate", str(tiny_model), engine="transformers", samples=2)
    drops = {name: json.loads((p / "manifest.json").read_text())["drops"] for name, p in out.items()}
    assert drops["dedup"]["exact_duplicate"] >= 2 and drops["decontaminate"]["contaminated"] == 2
    rows = bench.all_traces(out["filter"])
    assert rows and all(r["messages"][0]["content"].endswith("Answer with the number only.") for r in rows)
    assert 0.0 <= bench.greedy_accuracy(str(tiny_model), held, bench.TEMPLATE) <= 1.0


def test_the_log_readers(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [
                {"step": 1, "loss": 0.1, "rewards/accuracy/mean": 0.25, "frac_reward_zero_std": 0.5},
                {"step": 2, "loss": 0.2, "rewards/accuracy/mean": 0.5, "frac_reward_zero_std": 0.0},
                {"step": 2, "train_runtime": 3.0},
            ]
        )
    )
    assert bench.rewards(log) == [0.25, 0.5] and bench.zero_advantage_share(log) == [0.5, 0.0]
