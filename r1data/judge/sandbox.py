"""Run untrusted code: a fresh process per run, with limits, in a throwaway folder, without network.

What each run gets (Linux; `isolation()` reports what is in force on this machine):
- its own process group, killed as a group on the wall-clock timeout and again after it exits;
- resource limits: CPU seconds, address space, file size (which also caps captured output), number of
  processes and open files (setrlimit in the child, before the program starts);
- a fresh working folder (also HOME and TMPDIR), deleted afterwards, and an environment with only
  PATH, HOME, TMPDIR and LANG: no tokens, keys or credentials from the caller's environment;
- with `unshare` available and permitted: its own network namespace (no interface but a downed
  loopback, so nothing outside is reachable, not even the host's 127.0.0.1) and its own PID namespace
  (every process it started dies with it, even one that left the process group);
- when r1data runs as root: a separate unprivileged uid per concurrent slot (from 60000 up, each held
  with a lock so that two r1data jobs on one machine never share one), so the
  program cannot read private files (mode 0700 homes such as /root), the process limit applies, and
  every process left behind under that uid is killed after the run.
Without unshare the network is not isolated, and without root the program runs as the calling user
(it can read what that user can read); `isolation()` says so and the README lists it per platform.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

UID_BASE = 60000
UID_RANGE = 4096
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 5.0
    cpu_seconds: int = 5
    memory_mb: int = 1024
    file_size_mb: int = 16
    processes: int = 64
    open_files: int = 64
    output_bytes: int = 1 << 20


@dataclass
class RunResult:
    exit_code: int | None  # None when killed by a signal or never started
    signal: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    output_truncated: bool = False
    error: str | None = None  # the sandbox itself failed (never the program's fault)


@functools.cache
def _unshare_works() -> bool:
    exe = shutil.which("unshare")
    if exe is None or sys.platform != "linux":
        return False
    try:
        probe = subprocess.run(
            [exe, "--net", "--pid", "--fork", "--kill-child", "true"], capture_output=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _world_executable(path: Path) -> bool:
    """Can a user with no rights of its own run this file (o+x on it and o+x on every folder above)?"""
    try:
        path = path.resolve()
        if not path.stat().st_mode & stat.S_IXOTH:
            return False
        return all(p.stat().st_mode & stat.S_IXOTH for p in path.parents)
    except OSError:
        return False


@functools.cache
def _python_for(drop_uid: bool) -> str | None:
    """A Python the sandbox user may run: this one, or a system one when this one lives in a private home."""
    candidates = [sys.executable, shutil.which("python3"), "/usr/bin/python3", "/usr/local/bin/python3"]
    for c in candidates:
        if c and Path(c).exists() and (not drop_uid or _world_executable(Path(c))):
            return str(Path(c).resolve()) if drop_uid else c
    return None


@functools.cache
def isolation() -> dict[str, str]:
    """What isolation a run gets on this machine, in words (recorded in manifests and the closing note)."""
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    drop = root and _python_for(True) is not None
    ns = _unshare_works()
    return {
        "process_group": "own process group, killed as a group on timeout and after exit",
        "limits": "CPU time, address space, file size, processes, open files (setrlimit)",
        "workdir": "fresh folder per completion (HOME, TMPDIR), deleted afterwards",
        "environment": "only PATH, HOME, TMPDIR, LANG",
        "network": "isolated (own network namespace, via unshare)" if ns else "NOT isolated (unshare unavailable)",
        "pid_namespace": "yes: leftover processes die with the run" if ns else "no",
        "user": f"unprivileged uid per slot, from {UID_BASE} (private files unreadable)"
        if drop
        else "same user as r1data (the program can read what this user can read)",
        "python": _python_for(drop) or "none found",
    }


def available_languages() -> dict[str, str]:
    """Languages whose interpreter or compiler is on this machine."""
    langs = {}
    py = _python_for(hasattr(os, "geteuid") and os.geteuid() == 0)
    if py:
        langs["python"] = py
    for name, exe in (("cpp", "g++"), ("c", "gcc")):
        path = shutil.which(exe)
        if path:
            langs[name] = path
    return langs


class Sandbox:
    """Runs programs under the limits; `workers` concurrent slots, each its own uid when running as root."""

    def __init__(self, limits: Limits | None = None, workers: int = 1) -> None:
        self.limits = limits or Limits()
        self.root = hasattr(os, "geteuid") and os.geteuid() == 0
        self.drop_uid = self.root and _python_for(True) is not None
        self.namespaces = _unshare_works()
        self.python = _python_for(self.drop_uid) or sys.executable
        self._slots: queue.Queue[int] = queue.Queue()
        self._locks: list[int] = []  # open lock files: a uid stays this process's while its lock is held
        for i in range(max(1, workers)):
            self._slots.put(self._claim_uid() if self.drop_uid else i)

    def close(self) -> None:
        """Give the uids back (their locks); also done when the process exits."""
        while self._locks:
            os.close(self._locks.pop())

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _claim_uid(self) -> int:
        """A sandbox uid no other r1data process on this machine is using (an flock per uid), so two jobs
        never kill each other's programs when they clean up a uid."""
        import fcntl

        folder = Path(tempfile.gettempdir()) / "r1data-sandbox-uids"
        folder.mkdir(mode=0o700, exist_ok=True)
        for uid in range(UID_BASE, UID_BASE + UID_RANGE):
            fd = os.open(folder / str(uid), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self._locks.append(fd)
            _kill_uid(uid)  # a crashed earlier run may have left processes under it
            return uid
        raise OSError(f"all {UID_RANGE} sandbox uids are in use")

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A working folder and a slot for the runs of one completion; everything is cleaned up after."""
        slot = self._slots.get()
        uid = slot if self.drop_uid else None
        # Without a uid of its own the process limit counts all of this user's processes: allow those running.
        nproc = self.limits.processes + (0 if uid is not None else _count_processes(os.getuid()))
        workdir = Path(tempfile.mkdtemp(prefix="r1data-sbx-"))
        try:
            os.chmod(workdir, 0o700)
            if uid is not None:
                os.chown(workdir, uid, uid)
            yield Session(self, workdir, uid, nproc)
        finally:
            if uid is not None:
                _kill_uid(uid)
            shutil.rmtree(workdir, ignore_errors=True)
            self._slots.put(slot)


def _count_processes(uid: int) -> int:
    n = 0
    if not Path("/proc").is_dir():  # macOS: no /proc; the limit then counts from zero
        return 0
    for entry in Path("/proc").iterdir():
        try:
            n += entry.name.isdigit() and entry.stat().st_uid == uid
        except OSError:
            continue
    return n


def _kill_uid(uid: int, patience: float = 3.0) -> None:
    """SIGKILL every process owned by uid (a leftover that escaped the group and namespace), and wait until
    they are gone, zombies included: they still count against the next run's process limit."""
    deadline = time.monotonic() + patience
    while True:
        found = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid == uid:
                    found = True
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue
        if not found or time.monotonic() > deadline:
            return
        time.sleep(0.02)


class Session:
    def __init__(self, sandbox: Sandbox, workdir: Path, uid: int | None, nproc: int) -> None:
        self.sandbox, self.workdir, self.uid, self.nproc = sandbox, workdir, uid, nproc

    def write(self, name: str, content: str | bytes, mode: int = 0o644) -> Path:
        path = self.workdir / name
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(data)
        os.chmod(path, mode)
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
        return path

    def _limits(self) -> None:  # runs in the child, before exec
        lim = self.sandbox.limits
        mb = 1024 * 1024
        cap = max(lim.file_size_mb * mb, lim.output_bytes + 4096)
        for res, value in (
            (resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds + 1)),
            (resource.RLIMIT_AS, (lim.memory_mb * mb, lim.memory_mb * mb)),
            (resource.RLIMIT_FSIZE, (cap, cap)),
            (resource.RLIMIT_NOFILE, (lim.open_files, lim.open_files)),
            (resource.RLIMIT_CORE, (0, 0)),
        ):
            resource.setrlimit(res, value)
        resource.setrlimit(resource.RLIMIT_NPROC, (self.nproc, self.nproc))
        if self.uid is not None and not self.sandbox.namespaces:  # else unshare drops it, after the namespaces
            os.setgroups([])
            os.setgid(self.uid)
            os.setuid(self.uid)

    def run(self, argv: list[str], stdin: str = "", wall_seconds: float | None = None) -> RunResult:
        """Run argv in the working folder with stdin; output beyond the cap is cut and flagged."""
        lim = self.sandbox.limits
        wall = wall_seconds or lim.wall_seconds
        tag = f"{time.monotonic_ns()}"
        stdin_path = self.write(f".stdin-{tag}", stdin, 0o444)
        out_path, err_path = self.workdir / f".stdout-{tag}", self.workdir / f".stderr-{tag}"
        env = {"PATH": SANDBOX_PATH, "HOME": str(self.workdir), "TMPDIR": str(self.workdir), "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}  # fmt: skip
        cmd = list(argv)
        if self.sandbox.namespaces:
            # sh is PID 1 of the new namespace: when it exits every process the program left dies with it. It
            # exits with the program's status (128 + signal when killed); unshare passes that on.
            ids = ["--setuid", str(self.uid), "--setgid", str(self.uid)] if self.uid is not None else []
            script = '"$@"; exit $?'
            cmd = ["unshare", "--net", "--pid", "--fork", "--kill-child", *ids, "--",
                   "/bin/sh", "-c", script, "sh", *argv]  # fmt: skip
        started = time.perf_counter()
        try:
            with open(stdin_path, "rb") as fin, open(out_path, "wb") as fout, open(err_path, "wb") as ferr:
                proc = subprocess.Popen(
                    cmd, cwd=self.workdir, stdin=fin, stdout=fout, stderr=ferr, env=env,
                    start_new_session=True, preexec_fn=self._limits, close_fds=True,
                )  # fmt: skip
        except OSError as exc:
            return RunResult(None, None, "", "", 0.0, error=f"could not start {argv[0]}: {exc}")
        timed_out = False
        try:
            proc.wait(timeout=wall)
        except subprocess.TimeoutExpired:
            timed_out = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group, also after a normal exit (children left running)
        proc.wait()
        seconds = time.perf_counter() - started
        code: int | None = proc.returncode
        if self.sandbox.namespaces and not timed_out and code == 1:
            err = _read(err_path, 4096)[0]
            if err.startswith("unshare:"):  # the wrapper itself failed, not the program
                return RunResult(None, None, "", err, seconds, error=err.strip())
        sig = None
        if code is not None and code < 0:
            sig, code = -code, None
        elif code is not None and code > 128 and self.sandbox.namespaces:
            sig, code = code - 128, None
        stdout, cut = _read(out_path, lim.output_bytes)
        stderr, _ = _read(err_path, 64 * 1024)
        return RunResult(code, sig, stdout, stderr, seconds, timed_out, cut)


def _read(path: Path, cap: int) -> tuple[str, bool]:
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError:
        return "", False
    return data[:cap].decode("utf-8", errors="replace"), len(data) > cap
