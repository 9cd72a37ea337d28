"""The one publish path: the lock, staging and the swap, repair after a crash, and every OSError as one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from r1data import publish
from r1data.errors import OutputError
from tests.conftest import run

ROWS = [{"id": f"r{i}", "problem": f"What is {i} plus {i}?", "answer": str(2 * i)} for i in range(30)]


@pytest.fixture()
def src(tmp_path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def cli(*args: str | Path, env: dict | None = None, prefix: tuple = ()) -> subprocess.CompletedProcess:
    """r1data in a fresh process (as a user runs it), optionally under a wrapper such as unshare."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "r1data", *map(str, args)],
        capture_output=True,
        text=True,
        env=os.environ | (env or {}),
        timeout=120,
    )


def one_line_error(p: subprocess.CompletedProcess, *needles: str) -> None:
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    said = "".join(line for line in p.stderr.splitlines(keepends=True) if not line.startswith("Reading "))
    assert said.startswith("Error:"), p.stderr  # after the reading of each input, the error in one line
    for needle in needles:
        assert needle in p.stderr, (needle, p.stderr)


def test_a_second_writer_is_refused_and_a_dead_ones_lock_is_taken_over(src, tmp_path):
    out = tmp_path / "o"
    with publish.OutputLock(out, "dedup (the test)"):
        r = run("dedup", src, "-o", out)
        assert r.exit_code == 1 and "another r1data run is writing it" in r.stderr
        assert f"pid {os.getpid()}" in r.stderr and "dedup (the test)" in r.stderr
    assert not out.exists()
    # A lock file left by a process that died (its kernel lock is gone with it): taken over without a word.
    publish.sibling(out.absolute(), publish.LOCK).write_text(json.dumps({"pid": 999999999, "host": "h"}))
    assert run("dedup", src, "-o", out).exit_code == 0
    assert not publish.sibling(out.absolute(), publish.LOCK).exists()  # released


def test_two_runs_at_once_one_refused_the_output_whole(src, tmp_path):
    """Two `verify` runs with different inputs and the same -o: one writes, the other is refused."""
    other = tmp_path / "other.jsonl"
    other.write_text("".join(json.dumps(r | {"problem": r["problem"] + " Again."}) + "\n" for r in ROWS))
    out = tmp_path / "v"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "r1data",
                "verify",
                str(p),
                "-o",
                str(out),
                "--completion-field",
                "answer",
                "--checks",
                "accuracy",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in (src, other)
    ]
    results = [(p.wait(120), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 1], [0, 0]), results  # 0, 0 only when the second started after the first was done
    if codes == [0, 1]:
        assert any("another r1data run is writing it" in err or "already exists" in err for _, err in results)
    m = json.loads((out / "manifest.json").read_text())
    assert m["rows_out"] == pl.read_parquet(out / "data" / "*.parquet").height == 30


def test_stale_staging_from_a_killed_run_is_removed_and_a_lost_swap_is_repaired(src, tmp_path):
    out = tmp_path / "o"
    assert run("dedup", src, "-o", out).exit_code == 0
    left = publish.sibling(out, publish.PARTIAL, "-999999")
    shutil.copytree(out, left)
    (left / "manifest.json").unlink()  # half-written staging
    older = publish.sibling(out, publish.OLD, "-999998")
    older.mkdir()
    assert run("dedup", src, "-o", out, "--overwrite").exit_code == 0
    assert not left.exists() and not older.exists()
    # The two-rename path (file systems without an atomic exchange), killed between its renames: OUT is missing,
    # the old complete output waits beside it. The next run puts it back before anything else.
    moved = publish.sibling(out, publish.OLD, "-999997")
    os.rename(out, moved)
    r = run("dedup", src, "-o", out)
    assert r.exit_code == 1 and "already exists" in r.stderr  # restored, so refused without --overwrite
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete" and not moved.exists()


def test_output_that_is_a_file_or_under_a_file_is_one_line(src, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("mine")
    for command in (["dedup", src], ["rejection-sample", src]):
        r = run(*command, "-o", afile)
        assert r.exit_code == 1 and "is a file" in r.stderr and "Traceback" not in r.stderr
        r = run(*command, "-o", afile / "sub")
        assert r.exit_code == 1 and "is a file" in r.stderr
    assert afile.read_text() == "mine"


def _unshare_mount() -> tuple:
    exe = shutil.which("unshare")
    if exe is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare for a private mount")
    probe = subprocess.run([exe, "--mount", "--propagation", "private", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no mount namespace here: {probe.stderr.decode()[:200]}")
    return (exe, "--mount", "--propagation", "private")


def test_disk_full_and_read_only_are_one_line_and_leave_nothing(src, tmp_path):
    prefix = _unshare_mount()
    big = tmp_path / "big.jsonl"
    big.write_text(
        "".join(json.dumps({"problem": os.urandom(400).hex(), "answer": "1"}) + "\n" for i in range(1000))
    )  # random text: the shards cannot compress it away
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (
        f"mount -t tmpfs -o size=128k tmpfs {disk} && exec {sys.executable} -m r1data dedup {big} "
        f"-o {disk}/out --exact-only"
    )
    p = subprocess.run([*prefix, "sh", "-c", script], capture_output=True, text=True, timeout=120)
    one_line_error(p, "no space left on the device", "Fix:")
    ro = tmp_path / "ro"
    ro.mkdir()
    script = f"mount -t tmpfs -o ro tmpfs {ro} && exec {sys.executable} -m r1data dedup {src} -o {ro}/out"
    p = subprocess.run([*prefix, "sh", "-c", script], capture_output=True, text=True, timeout=120)
    one_line_error(p, str(ro))
    assert "read-only" in p.stderr or "not writable" in p.stderr


def test_writes_are_fsynced_before_they_are_published(tmp_path, monkeypatch):
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    publish.write_json(tmp_path / "x.json", {"a": 1})
    assert len(synced) >= 2  # the file, then its folder
    stage = tmp_path / "stage"
    (stage / "data").mkdir(parents=True)
    (stage / "data" / "f").write_text("x")
    synced.clear()
    publish.swap_in(stage, tmp_path / "out")
    assert len(synced) >= 3 and (tmp_path / "out" / "data" / "f").read_text() == "x"


def test_os_errors_in_library_text_become_one_line(tmp_path):
    from r1data.errors import as_os_error, os_error

    exc = as_os_error(RuntimeError("polars: I/O error: No space left on device (os error 28)"), tmp_path)
    assert exc is not None and exc.errno == 28
    assert "no space left" in str(os_error(exc, tmp_path))
    with pytest.raises(OutputError, match="no space left"):
        publish.write_with(tmp_path / "f", lambda tmp: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    assert not list(tmp_path.iterdir())  # the temporary file is gone too
