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


def test_the_pool_holds_each_fault_of_a_real_pool_in_a_known_share():
    held = bench.held_out_set(30)
    rows = bench.pool(
        0, sums=20, copies=4, near=3, echoes=5, products=5, garbled=4, held_out=held, leaked=3, rephrased=2
    )
    assert bench.kinds(rows) == {
        "copy": 4,
        "echo": 5,
        "garbled": 4,
        "leak": 3,
        "leak-rephrased": 2,
        "near": 3,
        "product": 5,
        "sum": 20,
    }
    problems = [r["problem"] for r in rows]
    assert len(set(problems)) < len(problems)  # exact duplicates are there
    held_problems = {h["problem"] for h in held}
    # contamination only where planted: no pool sum is a held-out problem by chance
    assert {r["id"].split("/")[0] for r in rows if r["problem"] in held_problems} == {"leak"}
    assert all(str(eval(r["problem"][8:-1])) == r["answer"] for r in rows if r["id"].startswith(("sum", "product")))
    assert all(str(eval(r["problem"][8:-1])) != r["answer"] for r in rows if r["id"].startswith("garbled"))
    assert len(held_problems) == 30  # each held-out problem once


def test_intervals_paired_differences_and_the_equal_compute_curve():
    import numpy as np

    mean, lo, hi = bench.bootstrap(np.array([1.0] * 30 + [0.0] * 70))
    assert mean == 0.3 and lo < 0.3 < hi and hi - lo < 0.25
    assert bench.bootstrap(np.ones(50))[1:] == (1.0, 1.0)  # no spread, no interval
    mean, lo, hi = bench.across_seeds(np.array([-0.1, 0.1, 0.0]))  # three seeds that disagree: a wide interval
    assert abs(mean) < 1e-12 and lo == -hi and 0.2 < hi < 0.3
    curve = [(0, [0.0, 0.0]), (100, [1.0, 0.0]), (200, [1.0, 1.0])]
    assert bench.at_samples(curve, 50).tolist() == [0.5, 0.0]
    assert bench.at_samples(curve, 150).tolist() == [1.0, 0.5]
    assert bench.at_samples(curve, 500).tolist() == [1.0, 1.0] and bench.at_samples(curve, -5).tolist() == [0.0, 0.0]
    assert bench.arm_steps(None, 20, 16, 1307) == 20  # equal steps
    assert bench.arm_steps(1627, 20, 16, 0) == 101 and bench.arm_steps(1627, 20, 16, 1307) == 20  # equal samples
    assert bench.arm_steps(320, 20, 16, 1307) == 0  # the curation spent the budget
    rows = [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "abcdef"}]}] * 200
    cut, n = bench.cut_off(rows, 0.25)
    assert 30 <= n <= 70 and sum(r["messages"][1]["content"] == "abc" for r in cut) == n


def test_curation_and_the_sft_rows_run_on_the_tiny_model(tmp_path, tiny_model):
    held = bench.held_out_set(6)
    small = bench.pool(
        0, sums=6, copies=2, near=1, echoes=2, products=2, garbled=2, held_out=held, leaked=2, rephrased=1
    )
    raw = bench.write_jsonl(tmp_path / "raw.jsonl", small)
    held_path = bench.write_jsonl(tmp_path / "held.jsonl", held)
    out = bench.curate(raw, held_path, tmp_path / "curate", str(tiny_model), engine="transformers", samples=2)
    drops = {name: json.loads((p / "manifest.json").read_text())["drops"] for name, p in out.items()}
    assert drops["dedup"]["exact_duplicate"] >= 2 and drops["decontaminate"]["contaminated"] == 2
    rows = bench.all_traces(out["filter"])
    assert rows and all(r["messages"][0]["content"].endswith("Answer with the number only.") for r in rows)
    scores = bench.greedy_scores(str(tiny_model), held, bench.TEMPLATE, batch=4)
    assert len(scores) == 6 and set(scores) <= {0.0, 1.0}


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


def test_the_gpu_path_refuses_on_a_machine_without_one(monkeypatch, capsys):
    """`--gpu` runs MATH with MATH-500 held out on vLLM; without a GPU it says so and exits 2, before any work."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(sys, "argv", ["bench_curation.py", "--gpu", "--model", "/nowhere"])
    with pytest.raises(SystemExit) as stopped:
        bench.main()
    assert stopped.value.code == 2 and "needs a GPU" in capsys.readouterr().out
