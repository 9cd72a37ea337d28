"""`--executor ray` on a real local Ray cluster of two nodes: the same outputs as local runs, generation on two
engine replicas with every row accounted once, and a replica killed mid-run without loss."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from r1data.steps import IOConfig, run_step
from tests.conftest import run

# Minutes of engines, training, clusters or killed processes: the full suite runs them, `-m "not slow"` skips.
pytestmark = pytest.mark.slow

ray = pytest.importorskip("ray", reason="needs the ray extra (bash scripts/install.sh installs it)")


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    c.wait_for_nodes(timeout=60)
    ray.init(address=c.address, log_to_driver=False)
    yield c.address
    ray.shutdown()
    c.shutdown()


def everything(out: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    kept = pl.read_parquet(out / "data" / "*.parquet")
    removed = pl.read_parquet(out / "removed" / "*.parquet") if (out / "removed").exists() else kept.clear()
    return kept, removed


def test_dedup_decontaminate_and_verify_give_the_local_results(cluster, demo_dir, tmp_path):
    inputs = [demo_dir / "gsm8k_style.jsonl", demo_dir / "math_style.jsonl", demo_dir / "numina_style.parquet"]
    for executor in ("local", "ray"):
        assert (
            run(
                "dedup", *inputs, "-o", tmp_path / f"d-{executor}", "--executor", executor, "--ray-address", cluster
            ).exit_code
            == 0
        )
        assert (
            run(
                "decontaminate",
                tmp_path / f"d-{executor}",
                "-o",
                tmp_path / f"c-{executor}",
                "--against",
                demo_dir / "benchmark.jsonl",
                "--paraphrase",
                "--executor",
                executor,
                "--ray-address",
                cluster,
            ).exit_code
            == 0
        )
        r = run(
            "verify",
            demo_dir / "code.jsonl",
            demo_dir / "math_style.jsonl",
            "-o",
            tmp_path / f"v-{executor}",
            "--completion-field",
            "solution",
            "--executor",
            executor,
            "--ray-address",
            cluster,
        )
        assert r.exit_code == 0, r.stderr
    for step in ("d", "c", "v"):
        local, distributed = everything(tmp_path / f"{step}-local"), everything(tmp_path / f"{step}-ray")
        assert local[0].equals(distributed[0]) and local[1].equals(distributed[1]), step
    stats = [json.loads((tmp_path / f"c-{e}" / "manifest.json").read_text())["stats"] for e in ("local", "ray")]
    assert stats[0]["benchmark_items"] == stats[1]["benchmark_items"] == {"benchmark": 200}  # not summed per block
    assert stats[0]["rows_matched"] == stats[1]["rows_matched"]
    dedup = json.loads((tmp_path / "d-ray" / "manifest.json").read_text())
    assert dedup["executor"]["name"] == "ray" and dedup["executor"]["nodes"] == 2
    assert dedup["executor"]["shuffle_blocks"] >= 2 and dedup["stats"]["near_duplicates"] > 0
    verify = json.loads((tmp_path / "v-ray" / "manifest.json").read_text())
    assert verify["executor"]["judge_actors"] == 2 and sum(verify["executor"]["calls_per_actor"]) > 1
    assert set(pl.read_parquet(tmp_path / "v-ray" / "data" / "*.parquet")["verify_status"]) >= {"correct", "passed"}


def problems(path: Path, n: int) -> Path:
    rows = [{"id": f"p{i}", "problem": f"What is {i} + 1 ?", "answer": "5" if i % 2 else "6"} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def filter_config(model: Path) -> object:
    from r1data.steps.filter import Config

    return Config(
        pass_rate="0:1",
        samples=4,
        adaptive=False,
        engine="transformers",
        model=str(model),
        max_tokens=8,
        temperature=1.0,
        chunk_rows=1,
        replicas=2,
    )


def test_generation_on_two_replicas_accounts_for_every_row(cluster, tmp_path, tiny_model):
    src = problems(tmp_path / "p.jsonl", 6)
    io = IOConfig(executor="ray", ray_address=cluster)
    result = run_step("filter", [src], tmp_path / "f", filter_config(tiny_model), io)
    kept, removed = everything(tmp_path / "f")
    assert sorted(kept["id"].to_list() + removed["id"].to_list()) == [f"p{i}" for i in range(6)]
    facts = result.manifest["executor"]
    assert facts["replicas"] == 2 and sum(facts["per_replica_chunks"].values()) == 6 and facts["lost"] == []
    assert result.manifest["chunks"]["total"] == 6 and result.manifest["status"] == "complete"


def test_a_replica_killed_mid_run_loses_nothing(cluster, tmp_path, tiny_model):
    src = problems(tmp_path / "p.jsonl", 12)
    out = tmp_path / "f"
    state = out.parent / f".{out.name}.r1data-work" / "state.json"

    def kill_after_first_chunk() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if json.loads(state.read_text())["chunks"]:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        names = [
            a["name"]
            for a in ray.util.list_named_actors(all_namespaces=True)
            if a["name"].startswith("r1data-replica-")
        ]
        ray.kill(ray.get_actor(sorted(names)[0], namespace="r1data"))

    killer = threading.Thread(target=kill_after_first_chunk)
    killer.start()
    result = run_step("filter", [src], out, filter_config(tiny_model), IOConfig(executor="ray", ray_address=cluster))
    killer.join()
    kept, removed = everything(out)
    ids = kept["id"].to_list() + removed["id"].to_list()
    assert sorted(ids) == sorted(f"p{i}" for i in range(12))  # every row once: none lost, none twice
    assert result.manifest["executor"]["lost"] and result.manifest["rows_failed"] == 0


def sleepy_code(path: Path, n: int, seconds: float) -> Path:
    """Code rows whose programs are right but slow: a verify that runs long enough to be interrupted."""
    program = f"```python\nimport time\ntime.sleep({seconds})\nprint(int(input()) + 1)\n```"
    rows = [
        {"id": f"c{i}", "problem": "Print n + 1.", "tests": [{"input": f"{i}\n", "output": f"{i + 1}\n"}]}
        | {"solution": program}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def judge_actor_pids() -> list[int]:
    """Processes of r1data's judge actors that are judging now (Ray titles a busy actor ray::Class.method)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"ray::_JudgeActor.verify" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return sorted(pids)


def cli(*args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "r1data", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_judging(proc: subprocess.Popen, seconds: float = 120) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        pids = judge_actor_pids()
        if pids:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"no judge actor started judging (exit {proc.poll()})")


def test_a_judge_actor_killed_mid_verify_loses_nothing_and_json_stays_clean(cluster, tmp_path):
    src = sleepy_code(tmp_path / "code.jsonl", 24, 0.25)
    out = tmp_path / "v"
    proc = cli("verify", src, "-o", out, "--executor", "ray", "--ray-address", cluster, "--json", "--quiet")
    victim = wait_for_judging(proc)[0]
    time.sleep(0.5)
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert stdout.lstrip().startswith("{"), stdout[:2000]
    manifest = json.loads(stdout)  # stdout holds the manifest and nothing else (no Ray notice)
    assert manifest["executor"]["lost"] and manifest["rows_out"] == 24
    judged = pl.read_parquet(out / "data" / "*.parquet")
    assert sorted(judged["id"]) == sorted(f"c{i}" for i in range(24))  # every row once
    assert set(judged["verify_status"]) == {"passed"}
    assert "Traceback" not in stderr


def test_sigterm_under_ray_is_r1datas_one_line(cluster, tmp_path):
    src = sleepy_code(tmp_path / "code.jsonl", 24, 0.5)
    out = tmp_path / "v"
    proc = cli("verify", src, "-o", out, "--executor", "ray", "--ray-address", cluster)
    wait_for_judging(proc)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "Terminated (SIGTERM)" in stderr and "Traceback" not in stderr
    assert not out.exists()
