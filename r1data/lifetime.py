"""Processes that die with r1data.

Sandboxed programs die with their parent through PR_SET_PDEATHSIG (judge/isolate.py). Processes that libraries
start for us cannot be given that flag: vLLM's engine core, for one, is a multiprocessing child that, after a
SIGKILL of r1data, stayed alive, busy, and holding its memory. `Watchdog` covers them: a small process that
notes, twice a second, every descendant of r1data's process, and kills them all when r1data is gone (the pipe
between the two closes when the kernel reaps r1data, whatever killed it).

    python -m r1data.lifetime PID   # the watchdog itself (started by Watchdog, not by hand)
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys

POLL_SECONDS = 0.5


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def quiet_resource_tracker(log: str = os.devnull) -> None:
    """Start Python's resource tracker (once per process tree) with its stderr on `log`, not the terminal.

    Spawned children (pipeline steps, vLLM's engine core) register their shared memory with the tracker of the
    process that spawned them; when one ends without unlinking (an engine stopped under load), the tracker cleans
    up at exit and warns "There appear to be 1 leaked shared_memory objects" on whatever stderr it was started
    with: after r1data's last line. The tracker still cleans up; its words go to `log`. With -v they stay."""
    from multiprocessing import resource_tracker

    if os.environ.get("R1DATA_VERBOSE", "") not in ("", "0"):
        return
    tracker = resource_tracker._resource_tracker
    if getattr(tracker, "_fd", None) is not None:  # already running: nothing to choose any more
        return
    sys.stderr.flush()
    saved = os.dup(2)
    target = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.dup2(target, 2)
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


def _stat(pid: int | str) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a process, from /proc; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def descendants(pid: int) -> dict[int, int]:
    """Every descendant of pid (Linux /proc) with its start time (a pid reused later is not the same process),
    deepest last."""
    kids: dict[int, list[tuple[int, int]]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return {}
    for entry in entries:
        if entry.isdigit() and (stat := _stat(entry)) is not None:
            kids.setdefault(stat[0], []).append((int(entry), stat[1]))
    out: dict[int, int] = {}
    todo = [pid]
    while todo:
        for child, started in kids.get(todo.pop(), []):
            out[child] = started
            todo.append(child)
    return out


def kill_all(processes: dict[int, int]) -> None:
    """SIGKILL each process that is still the one noted (same pid, same start time)."""
    for pid, started in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[1] == started:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


class Watchdog:
    """Kills every process r1data started once r1data's process is gone, however it ended. `close()` (or the end of
    a `with` block) stops it without killing anything."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = subprocess.Popen(
            [sys.executable, "-m", "r1data.lifetime", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    def __enter__(self) -> Watchdog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.write(b"done\n")  # type: ignore[union-attr]
                self._proc.stdin.close()  # type: ignore[union-attr]
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
            self._proc = None


def watch(parent: int) -> None:
    """The watchdog's loop: note the parent's descendants; when the pipe from the parent closes, kill them unless
    the parent said it is done."""
    me = os.getpid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for r1data, which then closes the pipe itself
    noted: dict[int, int] = {}
    said = b""
    while True:
        ready, _, _ = select.select([sys.stdin.buffer], [], [], POLL_SECONDS)
        if ready:
            chunk = os.read(sys.stdin.buffer.fileno(), 64)
            said += chunk
            if not chunk:  # the parent is gone, or closed the pipe
                if b"done" not in said:
                    kill_all({**noted, **{p: t for p, t in descendants(parent).items() if p != me}})
                return
            continue
        noted = {p: t for p, t in descendants(parent).items() if p != me}


if __name__ == "__main__":
    watch(int(sys.argv[1]))
