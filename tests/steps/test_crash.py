"""Crash consistency: SIGKILL at 24 moments across dedup, verify and a chunked step (rejection-sample on stored
generations), on a first run and on a rerun that replaces an older output (its final publish included). After
each kill: no output whose manifest disagrees with its data, an older output is never lost; and a rerun of the
same command ends with every input row exactly once in data/ and removed/."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run

# Minutes of engines, training, clusters or killed processes: the full suite runs them, `-m "not slow"` skips.
pytestmark = pytest.mark.slow

N = 24
RIGHT, WRONG = "<think>add</think> \\boxed{ANSWER}", "<think>guess</think> \\boxed{999}"
STEPS = {
    "dedup": ["dedup", "--workers", "1"],
    "verify": ["verify", "--completion-field", "generations", "--checks", "accuracy", "--workers", "1"],
    "rejection-sample": [
        "rejection-sample",
        "--chunk-rows",
        "4",
        "--keep",
        "1",
        "--language",
        "none",
        "--workers",
        "1",
    ],
}
# (step, first run or a rerun over an older output, the moment it dies); "exchange-off" takes the two-rename path
SCHEDULE = [
    ("dedup", "fresh", "shard_written"),
    ("dedup", "fresh", "before_swap"),
    ("dedup", "rerun", "staged"),
    ("dedup", "rerun", "after_swap"),
    ("dedup", "rerun", "between_renames"),
    ("verify", "fresh", "staged"),
    ("verify", "fresh", "after_swap"),
    ("verify", "rerun", "shard_written"),
    ("verify", "rerun", "before_swap"),
    ("verify", "rerun", "between_renames"),
    ("rejection-sample", "fresh", "chunk_written:1"),
    ("rejection-sample", "fresh", "state_saved:2"),
    ("rejection-sample", "fresh", "chunk_written:4"),
    ("rejection-sample", "fresh", "before_swap"),
    ("rejection-sample", "rerun", "shard_written"),
    ("rejection-sample", "rerun", "staged"),
    ("rejection-sample", "rerun", "after_swap"),
    ("rejection-sample", "rerun", "between_renames"),
]
TIMED = 6  # plus kills at seeded random moments, two per step


@pytest.fixture(scope="module")
def problems(tmp_path_factory) -> Path:
    rows = []
    for i in range(N):
        a = str(i * 7 % 23)
        rows.append(
            {
                "id": f"p{i}",
                "problem": f"Problem {i}: what is {a} plus zero?",
                "answer": a,
                "generations": [WRONG, RIGHT.replace("ANSWER", a)] if i % 3 else [WRONG],
            }
        )
    rows.append(dict(rows[0], id="copy-of-p0"))  # an exact duplicate, so dedup removes something
    path = tmp_path_factory.mktemp("crash") / "problems.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def command(step: str, problems: Path, out: Path, rerun: bool) -> list[str]:
    argv = [STEPS[step][0], str(problems), "-o", str(out), *STEPS[step][1:]]
    return argv + (["--limit", "20", "--overwrite"] if rerun else [])


def consistent(out: Path, step: str) -> str:
    """'absent' or the manifest's rows_in, after checking the output agrees with its manifest exactly."""
    if not out.exists():
        return "absent"
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete", m["status"]
    listed = sorted(s["path"] for s in m["shards"] + m["removed_shards"])
    on_disk = sorted(
        str(p.relative_to(out))
        for sub in ("data", "removed")
        for p in (out / sub).glob("*.parquet")
        if (out / sub).is_dir()
    )
    assert listed == on_disk
    kept = pl.concat([pl.read_parquet(out / s["path"]) for s in m["shards"]], how="diagonal_relaxed")
    removed = [pl.read_parquet(out / s["path"]) for s in m["removed_shards"]]
    removed = pl.concat(removed, how="diagonal_relaxed") if removed else kept.clear()
    assert kept.height == m["rows_out"] and removed.height == m["rows_removed"]
    inputs_kept = m["inputs_kept"] if step == "rejection-sample" else kept.height
    assert inputs_kept + removed.height == m["rows_in"]
    if step == "rejection-sample":
        assert (out / "chunks" / "state.json").is_file()
    return str(m["rows_in"])


def every_row_once(out: Path, expected: set[str]) -> None:
    ids = [
        i
        for sub in ("data", "removed")
        if (out / sub).is_dir()
        for i in pl.read_parquet(out / sub / "*.parquet").get_column("id").to_list()
    ]
    assert sorted(ids) == sorted(expected)


def killed_run(argv: list[str], fault: str | None, delay: float | None) -> int:
    env = os.environ | ({"R1DATA_FAULT": fault} if fault else {})
    if fault == "between_renames":
        env["R1DATA_NO_RENAME_EXCHANGE"] = "1"  # the two-rename path other file systems take
    proc = subprocess.Popen(
        [sys.executable, "-m", "r1data", *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if delay is not None:
        try:
            proc.wait(delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    return proc.wait(120)


def test_sigkill_at_any_moment_never_leaves_a_mixed_output(problems, tmp_path):
    rng = random.Random(20261202)
    all_ids = {f"p{i}" for i in range(N)} | {"copy-of-p0"}
    first_20 = {f"p{i}" for i in range(20)}
    durations = {}
    for step in STEPS:  # how long a clean run takes: the range of the timed kills
        started = time.monotonic()
        assert killed_run(command(step, problems, tmp_path / f"clean-{step}", False), None, None) == 0
        durations[step] = time.monotonic() - started
    schedule = [*SCHEDULE]
    for step in STEPS:
        schedule += [(step, mode, None) for mode in ("fresh", "rerun")]
    assert len(schedule) == len(SCHEDULE) + TIMED and len(schedule) >= 20
    seen = {"killed": 0, "absent": 0, "old": 0, "new": 0}
    for n, (step, mode, fault) in enumerate(schedule):
        out = tmp_path / f"{n:02d}-{step}-{mode}"
        rerun = mode == "rerun"
        if rerun:  # an older, complete output that the killed run replaces
            assert run(*command(step, problems, out, False)).exit_code == 0
        delay = None if fault else rng.uniform(0.2, 1.1) * durations[step]
        code = killed_run(command(step, problems, out, rerun), fault, delay)
        seen["killed"] += code == -signal.SIGKILL
        state = consistent(out, step)
        if rerun and fault == "between_renames":
            # The two-rename path has a window without OUT: the old output and the new one, both complete, lie
            # beside it, and the next run puts OUT back before anything else (file systems with an atomic
            # exchange, Linux and macOS, never take this path).
            beside = [
                p
                for p in tmp_path.iterdir()
                if p.name.startswith((f".{out.name}.r1data-partial", f".{out.name}.r1data-old"))
            ]
            assert state == "absent" and sorted(consistent(p, step) for p in beside) == ["20", str(N + 1)]
        elif rerun:
            assert state != "absent", f"{step} at {fault}: the older output was lost"
        seen[{"absent": "absent", str(N + 1): "old", "20": "new"}[state]] += 1
        # The same command again. A one-shot step refuses an existing OUT (the killed run's, if it was complete
        # but for the rename, is restored first) without --overwrite; a chunked step continues its work.
        again = command(step, problems, out, rerun)
        if step != "rejection-sample" and "--overwrite" not in again:
            again.append("--overwrite")
        r = run(*again)
        assert r.exit_code == 0, (step, fault, r.stderr)
        assert consistent(out, step) == ("20" if rerun else str(N + 1))
        every_row_once(out, first_20 if rerun else all_ids)
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}.r1data-")]
    print(
        f"\ncrash consistency: {len(schedule)} runs, {seen['killed']} killed by SIGKILL; after the kill OUT was "
        f"absent {seen['absent']}, the old output {seen['old']}, the new one {seen['new']}; never mixed"
    )
    assert seen["killed"] >= 20
