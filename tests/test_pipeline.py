"""`r1data run RECIPE`: the chain dedup -> filter -> rejection-sample -> train on a tiny model, resumable."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import run

pytest.importorskip("trl", reason="the pipeline's train step needs the train extra")


def test_pipeline_runs_every_step_then_skips_finished_ones(tmp_path, tiny_model):
    rows = [{"id": f"p{i}", "problem": f"What is {i} + 1 ?", "answer": "5" if i % 2 else "6"} for i in range(8)]
    rows.append(dict(rows[0], id="copy"))  # an exact duplicate for dedup
    src = tmp_path / "problems.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gen = {"engine": "transformers", "model": str(tiny_model), "max_tokens": 8, "temperature": 1.0}
    recipe = {
        "input": [str(src)],
        "output": str(tmp_path / "out"),
        "steps": [
            {"dedup": {}},
            {"filter": {"pass_rate": "0:1", "samples": 8, **gen}},
            {"rejection-sample": {"samples": 8, "keep": 2, **gen}},
            {
                "train": {
                    "task": "sft",
                    "model": str(tiny_model),
                    "max_steps": 2,
                    "per_device_train_batch_size": 2,
                    "max_length": 32,
                    "report_to": ["none"],
                }
            },
        ],
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(recipe))
    out = tmp_path / "out"

    r = run("run", path)
    assert r.exit_code == 0, r.stderr
    steps = ["01-dedup", "02-filter", "03-rejection-sample", "04-train"]
    for step in steps:
        m = json.loads((out / step / "manifest.json").read_text())
        assert m["status"].startswith("complete"), step
    assert json.loads((out / "01-dedup" / "manifest.json").read_text())["rows_out"] == 8
    state = json.loads((out / "pipeline.json").read_text())
    assert state["steps"]["04-train"]["argv"][:4] == ["train", "sft", "--data", str(out / "03-rejection-sample")]
    train = json.loads((out / "04-train" / "manifest.json").read_text())
    assert train["global_step"] == 2 and train["inputs"][0]["path"] == str(out / "03-rejection-sample")

    # Rerun: everything is complete with the same commands, nothing runs again.
    mtime = (out / "02-filter" / "manifest.json").stat().st_mtime_ns
    r = run("run", path)
    assert r.exit_code == 0, r.stderr
    assert r.stderr.count("command: skipped") == 4
    assert (out / "02-filter" / "manifest.json").stat().st_mtime_ns == mtime

    # A train step that stopped half-way resumes from its checkpoint; the steps before it are skipped.
    manifest = out / "04-train" / "manifest.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"status": "running"}))
    r = run("run", path)
    assert r.exit_code == 0, r.stderr
    assert r.stderr.count("command: skipped") == 3 and "│ resumed" in r.stderr
    assert json.loads(manifest.read_text())["resumed_from"].endswith("checkpoint-2")


def test_pipeline_dry_run_prints_the_commands_and_checks_them(tmp_path):
    recipe = tmp_path / "p.yaml"
    recipe.write_text(
        "input: [a.jsonl]\noutput: o\nsteps:\n  - dedup: {threshold: 0.7}\n"
        "  - decontaminate: {against: [m=b.jsonl], digits_exact: false}\n"
    )
    r = run("run", recipe, "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "r1data dedup a.jsonl -o o/01-dedup --threshold 0.7",
        "r1data decontaminate o/01-dedup -o o/02-decontaminate --against m=b.jsonl --no-digits-exact",
    ]


def test_every_step_records_its_own_command_line(tmp_path):
    """Before: a pipeline run in one process recorded `run RECIPE --in-process` (the process's command line) as the
    command of every step's manifest and card; a library call recorded whatever script called it."""
    from r1data.steps.base import run_step
    from r1data.steps.dedup import Config

    src = tmp_path / "problems.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "problem": f"What is {i} + 1 ?", "answer": str(i + 1)}) + "\n" for i in range(6)
        )
    )
    recipe = tmp_path / "p.yaml"
    recipe.write_text(
        f"input: [{src}]\noutput: {tmp_path / 'o'}\nsteps:\n  - dedup: {{threshold: 0.7}}\n"
        f"  - decontaminate: {{against: [m={src}]}}\n"
    )
    r = run("run", recipe, "--in-process")
    assert r.exit_code == 0, r.stderr
    state = json.loads((tmp_path / "o" / "pipeline.json").read_text())
    for key in ("01-dedup", "02-decontaminate"):
        manifest = json.loads((tmp_path / "o" / key / "manifest.json").read_text())
        assert manifest["argv"] == state["steps"][key]["argv"] and manifest["argv"][0] == key[3:]
        assert f"r1data {' '.join(manifest['argv'])}" in (tmp_path / "o" / key / "README.md").read_text()
    result = run_step("dedup", [src], tmp_path / "lib", Config(threshold=0.7))
    assert result.manifest["argv"] == ["dedup", str(src), "-o", str(tmp_path / "lib"), "--threshold", "0.7"]


def test_a_step_that_fails_in_its_child_process_is_one_line_and_the_rerun_goes_on(tmp_path):
    """Each step runs through the library in a spawned child (not through the CLI): its error is the step's one line,
    the steps before it stay done."""
    src = tmp_path / "problems.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "problem": f"What is {i} + 1 ?", "answer": str(i + 1)}) + "\n" for i in range(6)
        )
    )
    bench = tmp_path / "bench.jsonl"
    bench.write_text("not json\n")  # found only when the step reads it
    recipe = tmp_path / "p.yaml"
    recipe.write_text(
        f"input: [{src}]\noutput: {tmp_path / 'o'}\nsteps:\n  - dedup: {{}}\n"
        f"  - decontaminate: {{against: [m={bench}]}}\n"
    )
    r = run("run", recipe)
    assert r.exit_code == 1
    assert "step 02-decontaminate failed (exit 1)" in r.stderr and "Traceback" not in r.stderr, r.stderr
    state = json.loads((tmp_path / "o" / "pipeline.json").read_text())
    assert (
        state["steps"]["01-dedup"]["status"] == "complete"
        and state["steps"]["02-decontaminate"]["status"] == "failed (exit 1)"
    )
    bench.write_text(json.dumps({"id": "b0", "question": "What is 2 + 1 ?"}) + "\n")
    r = run("run", recipe)
    assert r.exit_code == 0, r.stderr
    assert "[01-dedup] complete with the same command: skipped" in r.stderr
    removed = json.loads((tmp_path / "o" / "02-decontaminate" / "manifest.json").read_text())["rows_removed"]
    assert removed == 1


def test_a_step_dies_with_a_killed_r1data_run(tmp_path):
    """Before: after SIGKILL of `r1data run`, the step's own process ran on unseen (with an engine, holding its
    memory) and published its output later."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from r1data.lifetime import descendants

    words = [
        "apple",
        "tree",
        "river",
        "number",
        "sum",
        "triangle",
        "circle",
        "prime",
        "digit",
        "count",
        "find",
        "value",
        "area",
        "angle",
        "side",
    ]
    src = tmp_path / "big.jsonl"
    with src.open("w") as f:
        for i in range(200_000):
            problem = " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(30))
            f.write(json.dumps({"id": f"p{i}", "problem": f"{problem} {i}", "answer": str(i)}) + "\n")
    recipe = tmp_path / "p.yaml"
    recipe.write_text(f"input: [{src}]\noutput: {tmp_path / 'o'}\nsteps:\n  - dedup: {{}}\n")
    proc = subprocess.Popen([sys.executable, "-m", "r1data", "run", str(recipe), "-q"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    step = []
    while time.monotonic() < deadline and proc.poll() is None and not step:
        step = [pid for pid in descendants(proc.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        time.sleep(0.05)
    assert step and proc.poll() is None, "the step's process never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Path(f"/proc/{step[0]}").exists():
        time.sleep(0.1)
    assert not Path(f"/proc/{step[0]}").exists(), "the step ran on after r1data run was killed"
    assert not (tmp_path / "o" / "01-dedup" / "manifest.json").exists()  # nothing published by an orphan
