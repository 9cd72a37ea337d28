import json
import subprocess
import sys

from tests.conftest import run


def test_demo_runs_the_pipeline(tmp_path):
    r = run("demo", tmp_path / "demo", "--no-generate")  # generation is covered in tests/test_generate.py
    assert r.exit_code == 0, r.stderr
    final = json.loads((tmp_path / "demo" / "02-decontaminate" / "manifest.json").read_text())
    first = json.loads((tmp_path / "demo" / "01-dedup" / "manifest.json").read_text())
    assert final["rows_in"] == first["rows_out"] and final["rows_removed"] == 30
    assert final["inputs"][0]["format"] == "r1data"
    assert not (tmp_path / "demo" / "05-filter").exists()  # --no-generate: no model was run
    again = run("demo", tmp_path / "demo", "--no-generate")  # the demo is a pipeline: finished steps are skipped
    assert again.exit_code == 0 and again.stderr.count("complete with the same command: skipped") == 4
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    refused = run("demo", tmp_path / "other", "--no-generate")
    assert refused.exit_code == 1 and "not a demo folder" in refused.stderr  # never clobbers a folder of yours


def test_demo_data_is_deterministic(tmp_path):
    assert run("demo-data", tmp_path / "a", "--seed", "3").exit_code == 0
    assert run("demo-data", tmp_path / "b", "--seed", "3").exit_code == 0
    for name in ("gsm8k_style.jsonl", "math_style.jsonl", "benchmark.jsonl", "planted.json"):
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
