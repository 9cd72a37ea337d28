import json
import subprocess
import sys

import polars as pl
import pytest

from tests.conftest import run

# Minutes of engines, training, clusters or killed processes: the full suite runs them, `-m "not slow"` skips.
pytestmark = pytest.mark.slow


def test_demo_runs_the_pipeline(tmp_path):
    r = run("demo", tmp_path / "demo", "--no-generate")  # generation is covered in tests/test_generate.py
    assert r.exit_code == 0, r.stderr
    final = json.loads((tmp_path / "demo" / "02-decontaminate" / "manifest.json").read_text())
    first = json.loads((tmp_path / "demo" / "01-dedup" / "manifest.json").read_text())
    assert final["rows_in"] == first["rows_out"] and final["rows_removed"] == 30
    assert final["inputs"][0]["format"] == "r1data"
    tag = json.loads((tmp_path / "demo" / "03-tag" / "manifest.json").read_text())
    assert tag["rows_in"] == final["rows_out"] and set(tag["stats"]["tagged"]) >= {"proof", "multiple_choice"}
    assert not (tmp_path / "demo" / "06-filter").exists()  # --no-generate: no model was run
    page = (tmp_path / "demo" / "report.html").read_text()
    assert "01-dedup" in page and "05-stats" in page and "data:image/png;base64," in page
    again = run("demo", tmp_path / "demo", "--no-generate")  # the demo is a pipeline: finished steps are skipped
    assert again.exit_code == 0 and again.stderr.count("complete with the same command: skipped") == 5
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    refused = run("demo", tmp_path / "other", "--no-generate")
    assert refused.exit_code == 1 and "not a demo folder" in refused.stderr  # never clobbers a folder of yours


def test_demo_data_is_deterministic(tmp_path):
    assert run("demo-data", tmp_path / "a", "--seed", "3").exit_code == 0
    assert run("demo-data", tmp_path / "b", "--seed", "3").exit_code == 0
    for name in ("gsm8k_style.jsonl", "math_style.jsonl", "benchmark.jsonl", "planted.json", "generation.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_help_works_without_heavy_extras():
    # A fresh interpreter: --help must not import vllm, trl, torch or datasets.
    code = (
        "import sys; from r1data.cli import app; from typer.testing import CliRunner; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
        "heavy = {'vllm', 'trl', 'torch', 'datasets', 'transformers'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_demo_keeps_verified_traces_and_trains_on_them(tmp_path):
    """The whole demo with the built-in model (about 3 minutes on 2 cores): the generation slice holds sums the
    model solves sometimes, so filter keeps a band, rejection-sample keeps verified traces and SFT uses them."""
    from r1data.cli.demo import engine_installed

    if not engine_installed():
        pytest.skip("needs vllm or transformers and the built-in model (bash scripts/install.sh)")
    # Its own process: what reaches the real stderr is what a user sees (engines write to the file descriptors).
    r = subprocess.run(
        [sys.executable, "-m", "r1data", "demo", str(tmp_path / "demo")], capture_output=True, text=True, timeout=1200
    )
    assert r.returncode == 0, r.stderr[-3000:]
    demo = tmp_path / "demo"
    filtered = json.loads((demo / "06-filter" / "manifest.json").read_text())
    accepted = json.loads((demo / "07-rejection-sample" / "manifest.json").read_text())
    assert 0 < filtered["rows_out"] < filtered["rows_in"]  # a real band: some kept, some dropped
    assert accepted["rows_out"] >= 1
    traces = pl.read_parquet(demo / "07-rejection-sample" / "data" / "*.parquet")
    assert all(m[-1]["role"] == "assistant" and m[-1]["content"] for m in traces["messages"].to_list())
    if (demo / "08-train").exists():  # with TRL installed
        trained = json.loads((demo / "08-train" / "manifest.json").read_text())
        assert trained["global_step"] == 4 and trained["rows_used"] == accepted["rows_out"]
    page = (demo / "report.html").read_text()
    assert "07-rejection-sample" in page and "Report:" in r.stderr
    assert "<td>raw/generation.jsonl (first 24 rows)</td>" in page  # the funnel says filter read its own problems
    if (demo / "08-train").exists():
        assert 'alt="08-train: training curves"' in page  # the loss curve from the trainer's log
    # Quiet means quiet: nothing after the last line (before: the resource tracker's leaked shared_memory warning)
    assert r.stderr.rstrip().splitlines()[-1].startswith("Report: ") and "resource_tracker" not in r.stderr
    # The engines' own logs (vLLM's INFO lines, its engine process, TRL's version warnings) are in the log files.
    assert "EngineCore" not in r.stderr and " INFO " not in r.stderr and "UserWarning" not in r.stderr
    assert "vllm" in (demo / "06-filter" / "logs" / "engine.log").read_text().lower()
