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


LEAKER = """
import multiprocessing, sys
from multiprocessing import shared_memory

def child():
    shm = shared_memory.SharedMemory(create=True, size=4096)
    shm.close()  # never unlinked, as an engine stopped under load leaves it

if __name__ == "__main__":
    if sys.argv[1] == "quiet":
        from r1data.lifetime import quiet_resource_tracker
        quiet_resource_tracker()
    p = multiprocessing.get_context("spawn").Process(target=child)
    p.start()
    p.join()
    print("last line", file=sys.stderr)
"""


def test_no_resource_tracker_warning_after_the_last_line(tmp_path):
    """Before: after the demo's last line, Python's resource tracker warned "There appear to be 1 leaked
    shared_memory objects" (a spawned child's memory, cleaned up at exit). The tracker r1data starts keeps its words
    off the terminal, and still cleans up."""
    script = tmp_path / "leaker.py"
    script.write_text(LEAKER)
    for mode, warned in (("plain", True), ("quiet", False)):
        done = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert ("leaked shared_memory" in done.stderr) is warned, done.stderr
        assert done.stderr.rstrip().endswith("last line") is not warned
