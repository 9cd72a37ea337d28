import contextlib
import json

import polars as pl

from tests.conftest import run

TRAIN = ("gsm8k_style.jsonl", "math_style.jsonl", "numina_style.parquet")


def test_dedup_end_to_end_writes_shards_audit_manifest_and_card(demo_dir, tmp_path):
    out = tmp_path / "dedup"
    result = run("dedup", *(demo_dir / f for f in TRAIN), "-o", out, "--show-clusters", "2", "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert "near duplicates" in result.stderr and "cluster of" in result.stderr
    assert result.stdout == ""  # talk goes to stderr

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["command"] == "dedup"
    assert manifest["rows_in"] == manifest["rows_out"] + manifest["rows_removed"]
    assert set(manifest["drops"]) == {"exact_duplicate", "near_duplicate"}
    assert manifest["config"]["threshold"] == 0.6
    assert {"polars", "datasketch", "numpy"} <= set(manifest["versions"])
    assert len(manifest["inputs"]) == 3 and manifest["input_fingerprint"]
    assert [s["path"] for s in manifest["shards"]] == ["data/train-00000-of-00001.parquet"]
    assert (out / "README.md").read_text().startswith("---\nconfigs:")

    kept = pl.read_parquet(out / "data" / "*.parquet")
    removed = pl.read_parquet(out / "removed" / "*.parquet")
    assert kept.height == manifest["rows_out"] and removed.height == manifest["rows_removed"]
    assert kept.get_column("id").is_unique().all()
    assert set(removed.get_column("duplicate_of")) <= set(kept.get_column("id"))
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_outputs_load_with_datasets_and_polars_lazy(demo_dir, tmp_path):
    import datasets

    out = tmp_path / "d"
    assert run("dedup", demo_dir / TRAIN[0], "-o", out, "--shard-rows", "500").exit_code == 0
    shards = sorted(p.name for p in (out / "data").iterdir())
    assert shards[0] == f"train-00000-of-{len(shards):05d}.parquet" and len(shards) > 1
    ds = datasets.load_dataset("parquet", data_dir=str(out / "data"), split="train")
    assert ds.num_rows == pl.scan_parquet(out / "data" / "*.parquet").select(pl.len()).collect().item()
    assert {"id", "problem", "answer", "solution", "source"} <= set(ds.column_names)


def test_steps_chain_and_json_goes_to_stdout(demo_dir, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert run("dedup", demo_dir / TRAIN[1], "-o", first, "--exact-only").exit_code == 0
    result = run("dedup", first, "-o", second, "--json", "--quiet")
    assert result.exit_code == 0 and result.stderr == ""
    manifest = json.loads(result.stdout)
    assert manifest["inputs"][0]["format"] == "r1data"
    assert manifest["rows_in"] == json.loads((first / "manifest.json").read_text())["rows_out"]


def test_existing_output_is_refused_then_replaced_with_overwrite(demo_dir, tmp_path):
    out = tmp_path / "o"
    assert run("dedup", demo_dir / TRAIN[1], "-o", out).exit_code == 0
    again = run("dedup", demo_dir / TRAIN[1], "-o", out)
    assert again.exit_code == 1 and "already exists" in again.stderr and "--overwrite" in again.stderr
    assert run("dedup", demo_dir / TRAIN[0], "-o", out, "--overwrite").exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["inputs"][0]["path"].endswith(TRAIN[0])


def test_bad_options_are_one_line_errors(demo_dir, tmp_path):
    r = run("dedup", demo_dir / TRAIN[1], "-o", tmp_path / "x", "--threshold", "1.5")
    assert r.exit_code == 1 and "(--threshold): must be in (0, 1]" in r.stderr and "Traceback" not in r.stderr
    r = run("dedup", demo_dir / TRAIN[1], "-o", tmp_path / "x", "--bands", "4")
    assert r.exit_code == 1 and "--bands and --rows go together" in r.stderr
    r = run("dedup", demo_dir / TRAIN[1], "-o", tmp_path / "x", "--on-error", "maybe")
    assert r.exit_code == 1 and "(--on-error): must be fail or skip" in r.stderr
    assert not (tmp_path / "x").exists()


def test_bad_input_errors_through_the_cli(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "a"}\n{"problem": \n{"problem": "b"}\n')
    r = run("dedup", bad, "-o", tmp_path / "o")
    assert r.exit_code == 1 and "bad.jsonl, line 2" in r.stderr
    assert not (tmp_path / "o").exists()  # nothing that looks like an output
    r = run("dedup", bad, "-o", tmp_path / "o", "--on-error", "skip")
    assert r.exit_code == 0
    removed = pl.read_parquet(tmp_path / "o" / "removed" / "*.parquet")
    assert removed.get_column("drop_reason").to_list() == ["malformed_input"]
    assert removed.get_column("input_line").to_list() == [2]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    r = run("dedup", empty, "-o", tmp_path / "e")
    assert r.exit_code == 1 and "no rows" in r.stderr
    cols = tmp_path / "cols.csv"
    cols.write_text("text,label\na,b\n")
    r = run("dedup", cols, "-o", tmp_path / "c")
    assert r.exit_code == 1 and "Columns present: text, label" in r.stderr


def test_a_crash_while_publishing_leaves_the_old_output_intact(demo_dir, tmp_path, monkeypatch):
    from r1data.steps import base

    out = tmp_path / "o"
    assert run("dedup", demo_dir / TRAIN[1], "-o", out).exit_code == 0
    before = (out / "manifest.json").read_text()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(base, "dataset_card", explode)
    with contextlib.suppress(OSError):
        run("dedup", demo_dir / TRAIN[0], "-o", out, "--overwrite")
    assert (out / "manifest.json").read_text() == before
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name or ".r1data-old" in p.name]


def test_workers_give_the_same_result(demo_dir, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    inputs = [demo_dir / f for f in TRAIN]
    assert run("dedup", *inputs, "-o", a, "--workers", "1").exit_code == 0
    assert run("dedup", *inputs, "-o", b, "--workers", "2").exit_code == 0
    ids = [pl.read_parquet(p / "data" / "*.parquet").get_column("id").to_list() for p in (a, b)]
    assert ids[0] == ids[1]


def test_out_of_core_and_in_memory_write_the_same_output_and_leave_no_scratch(demo_dir, tmp_path):
    from r1data import publish

    inputs = [demo_dir / f for f in TRAIN]
    ooc, mem = tmp_path / "ooc", tmp_path / "mem"
    stale = publish.sibling(ooc, publish.SCRATCH, "-999999")  # left by a killed run
    stale.mkdir(parents=True)
    (stale / "signatures.u32").write_bytes(b"\0" * 64)
    assert run("dedup", *inputs, "-o", ooc, "--memory-gb", "0.05").exit_code == 0
    assert run("dedup", *inputs, "-o", mem, "--in-memory").exit_code == 0
    for folder in ("data", "removed"):
        frames = [pl.read_parquet(p / folder / "*.parquet") for p in (ooc, mem)]
        assert frames[0].equals(frames[1])
    manifest = json.loads((ooc / "manifest.json").read_text())
    assert (
        manifest["stats"]["spill"]["memory_budget_mib"] == 51
        and "spill" not in json.loads((mem / "manifest.json").read_text())["stats"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mem", "ooc"]  # scratch gone, the stale one too
    r = run("dedup", *inputs, "-o", tmp_path / "x", "--memory-gb", "0")
    assert r.exit_code != 0 and "memory" in r.stderr and "Traceback" not in r.stderr


def test_a_full_disk_while_spilling_is_one_line_and_keeps_the_old_output(demo_dir, tmp_path, monkeypatch):
    import errno

    inputs = [demo_dir / f for f in TRAIN]
    out = tmp_path / "out"
    assert run("dedup", *inputs, "-o", out).exit_code == 0
    before = (out / "manifest.json").read_text()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("r1data.spill._band_run", full)
    r = run("dedup", *inputs, "-o", out, "--overwrite", "--memory-gb", "0.05")
    assert r.exit_code == 1 and "r1data-scratch" in r.stderr and "--memory-gb" in r.stderr
    assert "Traceback" not in r.stderr
    assert (out / "manifest.json").read_text() == before and json.loads(before)["status"] == "complete"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith("lock")) == ["out"]


def test_dedup_end_to_end_without_the_c_kernel(demo_dir, tmp_path):
    """The whole command in a fresh process as if installed without a C compiler: the same output, out of core too."""
    import os
    import subprocess
    import sys

    inputs = [str(demo_dir / f) for f in TRAIN]
    outs = {}
    for name, env in (("kernel", {}), ("plain", {"R1DATA_NO_KERNEL": "1"})):
        outs[name] = tmp_path / name
        cmd = [sys.executable, "-m", "r1data", "dedup", *inputs, "-o", str(outs[name]), "--memory-gb", "0.05", "-q"]
        done = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    for folder in ("data", "removed"):
        frames = [pl.read_parquet(outs[n] / folder / "*.parquet") for n in ("kernel", "plain")]
        assert frames[0].equals(frames[1])
    assert json.loads((outs["plain"] / "manifest.json").read_text())["stats"]["spill"]["memory_budget_mib"] == 51


def test_the_overlap_between_sources_is_in_the_manifest_the_summary_and_the_report(tmp_path):
    """Which sources overlap, and by how much, before they are mixed: per pair, the rows of one removed as
    duplicates of rows kept from the other."""
    import json as _json

    a = [{"id": f"a{i}", "problem": f"Compute {i} times {i + 7}, subtract {i}.", "answer": "1"} for i in range(8)]
    b = [{"id": f"b{i}", "problem": r["problem"], "answer": "1"} for i, r in enumerate(a[:3])]  # three copies of a
    b += [{"id": "b9", "problem": "A brand new problem about a train leaving a station.", "answer": "2"}]
    for name, rows in (("setA.jsonl", a), ("setB.jsonl", b)):
        (tmp_path / name).write_text("".join(_json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "d"
    r = run("dedup", tmp_path / "setA.jsonl", tmp_path / "setB.jsonl", "-o", out)
    assert r.exit_code == 0, r.stderr
    overlap = _json.loads((out / "manifest.json").read_text())["stats"]["source_overlap"]
    assert overlap["rows"] == {"setA": 8, "setB": 4}
    assert overlap["pairs"] == [{"source": "setB", "duplicates_of": "setA", "rows": 3, "share": 0.75}]
    assert "overlap between sources" in r.stderr and "setB" in r.stderr and "75.0%" in r.stderr
    page = tmp_path / "report.html"
    assert run("report", out, "-o", page).exit_code == 0
    assert 'alt="d: overlap between sources"' in page.read_text()
