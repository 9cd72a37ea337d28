"""Processes r1data starts die with it, however it ends (issue 23: vLLM's engine core outlived a SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PARENT = """
import subprocess, sys, time
from r1data.lifetime import Watchdog
if __name__ == "__main__":
    watchdog = Watchdog()
    child = subprocess.Popen(["sleep", "300"])  # as a library's worker process would be
    print(child.pid, flush=True)
    if sys.argv[1] == "close":
        time.sleep(1.5)
        watchdog.close()
        sys.exit(0)
    time.sleep(300)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z"  # a zombie has ended (its parent, now init, has not reaped it yet)


def start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, int]:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    proc = subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE)
    return proc, int(proc.stdout.readline())  # type: ignore[union-attr]


def test_what_r1data_started_dies_when_r1data_is_killed(tmp_path):
    proc, child = start(tmp_path, "kill")
    time.sleep(1.5)  # the watchdog notes the descendants twice a second
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert not alive(child), "the child outlived its killed parent"
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_closed_watchdog_kills_nothing(tmp_path):
    proc, child = start(tmp_path, "close")
    assert proc.wait(timeout=30) == 0
    time.sleep(1.0)
    try:
        assert alive(child)
    finally:
        os.kill(child, signal.SIGKILL)
