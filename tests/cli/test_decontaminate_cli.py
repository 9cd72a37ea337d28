import json

import polars as pl

from r1data.ops.normalize import normalize_text
from tests.conftest import run

TRAIN = ("gsm8k_style.jsonl", "math_style.jsonl", "numina_style.parquet")


def test_decontaminate_finds_every_planted_benchmark_copy(demo_dir, tmp_path):
    out = tmp_path / "clean"
    r = run(
        "decontaminate", *(demo_dir / f for f in TRAIN), "--against", f"demo={demo_dir / 'benchmark.jsonl'}", "-o", out
    )
    assert r.exit_code == 0, r.stderr
    assert "matched demo (200 items)" in r.stderr
    truth = json.loads((demo_dir / "planted.json").read_text())
    copies = {normalize_text(p["copy"]) for p in truth["planted"] if p["kind"].startswith("benchmark")}
    removed = pl.read_parquet(out / "removed" / "*.parquet")
    assert {normalize_text(t) for t in removed.get_column("problem")} == copies
    assert removed.get_column("contaminated_item").str.starts_with("bench/").all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stats"]["rows_matched"] == {"demo": len(copies)}
    config = manifest["config"]
    assert (config["ngram"], config["min_overlap"], config["digits_exact"]) == (8, 0.5, False)
    assert config["against"] == [f"demo={demo_dir / 'benchmark.jsonl'}"] and config["io"]["on_error"] == "fail"


def test_decontaminate_needs_a_benchmark_and_reads_it_in_any_format(demo_dir, tmp_path):
    r = run("decontaminate", demo_dir / TRAIN[0], "-o", tmp_path / "x", "--against", tmp_path / "nope.jsonl")
    assert r.exit_code == 1 and "nope.jsonl: no such file" in r.stderr
    bench = pl.read_ndjson(demo_dir / "benchmark.jsonl")
    bench.write_parquet(tmp_path / "bench.parquet")
    r = run(
        "decontaminate",
        demo_dir / TRAIN[0],
        "-o",
        tmp_path / "y",
        "--against",
        tmp_path / "bench.parquet",
        "--ngram",
        "32",
        "--digits-exact",
    )
    assert r.exit_code == 0, r.stderr
    assert "matched bench" in r.stderr


def test_math500_against_math_test_through_the_cli(shared_data, tmp_path):
    r = run(
        "decontaminate",
        shared_data / "math_test.jsonl",
        "--against",
        shared_data / "math500_test.jsonl",
        "-o",
        tmp_path / "o",
        "--json",
        "-q",
    )
    assert r.exit_code == 0
    manifest = json.loads(r.stdout)
    assert 500 <= manifest["stats"]["rows_matched"]["math500_test"] <= 560
    assert manifest["stats"]["benchmark_items_hit"] == 500
