"""Run untrusted code: every execution in a private view of the machine, with limits, dying with r1data.

Isolated mode (Linux as root; `isolation()` reports what is in force on this machine): one host process per
slot (`judge/isolate.py`) holds its own network, mount, IPC and UTS namespaces and a root file system of its
own (read-only /usr and the few files programs need; none of the machine's data, sockets or temporary files),
and forks every execution into a fresh PID, mount and IPC namespace: its own /proc, empty size-capped /tmp,
/var/tmp, /dev/shm and /work, an unprivileged uid of its own per slot (from 60000 up, each held with a lock so
that two r1data jobs on one machine never share one), resource limits, no new privileges, and only PATH,
HOME, TMPDIR and LANG in its environment. When the execution ends, or r1data dies (SIGKILL included), every
process it started dies with its namespace. Only the program's stdin goes in; tests and expected outputs stay
in r1data.

Fallback (no root, no namespaces, macOS): a fresh process per run in its own process group, killed as a group
on the timeout and after it exits, with the same limits, in a throwaway folder; with `unshare` allowed, its own
network and PID namespace; as root, a uid of its own. Files the calling user can read stay readable, /tmp is
shared, and a program can outlive a killed r1data until the next run cleans its uid up: `isolation()` says so,
and `train grpo` refuses code rewards there unless `--allow-unisolated-code`.
"""

from __future__ import annotations

import base64
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
import threading
import time
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from r1data.judge.confine import MemoryCgroup, filter_words, memory_words, syscall_filter

UID_BASE = 60000
UID_RANGE = 4096
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
HOST_SCRIPT = Path(__file__).with_name("isolate.py")
ISOLATED, NAMESPACES, BASIC = "isolated", "namespaces", "basic"


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 5.0
    cpu_seconds: int = 5
    memory_mb: int = 1024
    file_size_mb: int = 16
    processes: int = 64
    open_files: int = 64
    output_bytes: int = 1 << 20
    tmp_mb: int = 64  # each of /tmp, /var/tmp, /dev/shm (isolated mode)


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
    collected: dict[str, bytes] = field(default_factory=dict)  # files the run was asked to hand back


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


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
def _isolated_python() -> tuple[str, list[str]] | None:
    """The Python programs run with in isolated mode, and what must be bound for it (nothing when under /usr)."""
    for c in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if c and Path(c).exists():
            real = Path(c).resolve()
            if str(real).startswith("/usr/"):
                return str(real), []
            prefix = Path(sys.base_prefix).resolve()
            if real.is_relative_to(prefix):
                return str(real), [str(prefix)]
    return None


@functools.cache
def _isolation_error() -> str | None:
    """None when isolated mode works on this machine, else why not (probed once: one host, one `true`)."""
    if sys.platform != "linux" or not _is_root():
        return "needs Linux and root (for mount and PID namespaces)"
    if _isolated_python() is None:
        return "no Python to run programs with"
    host = None
    try:
        host = _Host(UID_BASE + UID_RANGE - 1, Limits())
        result = host.run({"argv": ["/bin/true"], "stdin": "", "files": {}, "wall": 10.0, "collect": []})
        if result["error"] or result["exit_code"] != 0:
            return f"the isolated host could not run a program ({result['error'] or result['exit_code']})"
        return None
    except OSError as exc:
        return str(exc)
    finally:
        if host is not None:
            host.close()


def mode() -> str:
    """The isolation this machine gives: isolated, namespaces (unshare: network and PID only) or basic."""
    if _isolation_error() is None:
        return ISOLATED
    return NAMESPACES if _unshare_works() else BASIC


@functools.cache
def isolation() -> dict[str, str]:
    """What isolation a run gets on this machine, in words (recorded in manifests and the closing note)."""
    m = mode()
    if m == ISOLATED:
        return {
            "mode": "isolated (one host per slot in its own namespaces; a fresh PID, mount and IPC namespace "
            "per execution)",
            "filesystem": "private root: read-only /usr and the dynamic linker's files; no home folders, no data, "
            "no host /tmp or sockets; fresh empty tmpfs /tmp, /var/tmp, /dev/shm and /work per execution",
            "proc": "its own /proc: sees only its own processes (not r1data's command line)",
            "network": "isolated (own network namespace: nothing reachable, not even 127.0.0.1 or abstract "
            "unix sockets)",
            "processes": "die with the execution (PID namespace) and with r1data (parent-death signal, pidfd)",
            "limits": "CPU time, address space, file size (caps output), processes, open files; no new privileges",
            "memory": memory_words(),
            "system_calls": filter_words(),
            "user": f"unprivileged uid per slot, from {UID_BASE}",
            "environment": "only PATH, HOME, TMPDIR, LANG",
            "python": _isolated_python()[0],  # type: ignore[index]
        }
    root = _is_root()
    drop = root and _python_for(True) is not None
    ns = m == NAMESPACES
    return {
        "mode": f"{m} (fallback: {_isolation_error()})",
        "filesystem": "NOT private: the program can read what its user can read, and /tmp is shared",
        "proc": "the host's /proc is visible",
        "network": "isolated (own network namespace, via unshare)" if ns else "NOT isolated (unshare unavailable)",
        "processes": "PID namespace: leftovers die with the run"
        if ns
        else "process group (plus uid clean-up as root); a program can outlive a killed r1data until the next run",
        "limits": "CPU time, address space, file size, processes, open files (setrlimit)",
        "memory": memory_words(),
        "system_calls": filter_words(),
        "user": f"unprivileged uid per slot, from {UID_BASE}" if drop else "same user as r1data",
        "environment": "only PATH, HOME, TMPDIR, LANG",
        "python": _python_for(drop) or "none found",
    }


def is_isolated() -> bool:
    return mode() == ISOLATED


def unisolated_warning() -> str | None:
    """One line for manifests and the terminal when programs ran without isolation, else None."""
    if is_isolated():
        return None
    return (
        f"code ran without full isolation ({_isolation_error()}): programs could read files this machine's "
        "users can read, share /tmp, and outlive a killed r1data (see the README's sandbox table)"
    )


def available_languages() -> dict[str, str]:
    """Languages whose interpreter or compiler is on this machine."""
    langs = {}
    py = _isolated_python()[0] if is_isolated() else _python_for(_is_root())  # type: ignore[index]
    if py:
        langs["python"] = py
    for name, exe in (("cpp", "g++"), ("c", "gcc")):
        path = shutil.which(exe)
        if path and (not is_isolated() or Path(path).resolve().is_relative_to("/usr")):
            langs[name] = path
    return langs


class _Host:
    """One isolated host process (judge/isolate.py), spoken to over its stdin and stdout."""

    def __init__(self, uid: int, limits: Limits, cgroup: MemoryCgroup | None = None) -> None:
        from r1data.judge import isolate

        self.uid, self.limits, self.isolate = uid, limits, isolate
        python, binds = _isolated_python() or (sys.executable, [])
        program = syscall_filter()
        confine = {
            "seccomp": base64.b64encode(program).decode() if program else None,
            "cgroup": str(cgroup.procs) if cgroup is not None else None,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(HOST_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.lock = threading.Lock()
        isolate.send(self.proc.stdin.fileno(), {"uid": uid, "binds": binds, **confine})
        ready = isolate.receive(self.proc.stdout.fileno())
        if not ready or not ready.get("ok"):
            self.close()
            raise OSError(f"the isolated host could not start: {(ready or {}).get('error', 'it exited')}")

    def run(self, job: dict) -> dict:
        lim = self.limits
        job = job | {
            "uid": self.uid,
            "env": {
                "PATH": SANDBOX_PATH,
                "HOME": "/work",
                "TMPDIR": "/tmp",
                "LANG": "C.UTF-8",
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONHASHSEED": "0",
            },
            "limits": {
                "cpu_seconds": lim.cpu_seconds,
                "memory_mb": lim.memory_mb,
                "fsize": max(lim.file_size_mb << 20, lim.output_bytes + 4096),
                "open_files": lim.open_files,
                "processes": lim.processes,
                "output_bytes": lim.output_bytes,
                "tmp_mb": lim.tmp_mb,
                "work_mb": lim.file_size_mb + 16,
            },
        }
        with self.lock:
            try:
                self.isolate.send(self.proc.stdin.fileno(), job)
                reply = self.isolate.receive(self.proc.stdout.fileno())
            except OSError as exc:
                reply = None
                error = str(exc)
            else:
                error = "the isolated host stopped"
        if reply is None:
            return {
                "exit_code": None,
                "signal": None,
                "stdout": "",
                "stderr": "",
                "seconds": 0.0,
                "timed_out": False,
                "output_truncated": False,
                "error": error,
                "collected": {},
            }
        return reply

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.proc.stdout.close()


class Sandbox:
    """Runs programs under the limits in `workers` concurrent slots, each with a uid of its own when r1data runs
    as root (and, isolated, a host process of its own, started on first use)."""

    def __init__(self, limits: Limits | None = None, workers: int = 1, isolated: bool | None = None) -> None:
        self.limits = limits or Limits()
        self.root = _is_root()
        self.isolated = is_isolated() if isolated is None else isolated
        self.namespaces = not self.isolated and _unshare_works()
        self.drop_uid = self.root and (self.isolated or _python_for(True) is not None)
        self.python = (
            (_isolated_python() or ("", []))[0] if self.isolated else (_python_for(self.drop_uid) or sys.executable)
        )
        self._slots: queue.Queue[int] = queue.Queue()
        self._locks: list[int] = []  # open lock files: a uid stays this process's while its lock is held
        self._hosts: dict[int, _Host] = {}
        self._hosts_lock = threading.Lock()
        self._cgroups: dict[int, MemoryCgroup | None] = {}
        for i in range(max(1, workers)):
            slot = self._claim_uid() if self.drop_uid else i
            self._cgroups[slot] = MemoryCgroup.create(slot, self.limits.memory_mb << 20)
            self._slots.put(slot)

    def close(self) -> None:
        """Stop the hosts and give the uids back (their locks); also done when the process exits."""
        with self._hosts_lock:
            for host in self._hosts.values():
                host.close()
            self._hosts.clear()
        for cgroup in self._cgroups.values():
            if cgroup is not None:
                cgroup.close()
        self._cgroups.clear()
        while self._locks:
            os.close(self._locks.pop())

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def host(self, slot: int) -> _Host:
        with self._hosts_lock:
            host = self._hosts.get(slot)
            if host is None or not host.alive():
                if host is not None:
                    host.close()
                host = self._hosts[slot] = _Host(slot, self.limits, self._cgroups.get(slot))
            return host

    def _claim_uid(self) -> int:
        """A sandbox uid no other r1data process on this machine is using (an flock per uid), so two jobs
        never kill each other's programs when they clean up a uid."""
        import fcntl

        folder = Path(tempfile.gettempdir()) / "r1data-sandbox-uids"
        folder.mkdir(mode=0o700, exist_ok=True)
        for uid in range(UID_BASE, UID_BASE + UID_RANGE - 1):  # the last one is the probe's
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
        """A slot for the runs of one completion, and its files; everything is cleaned up after."""
        slot = self._slots.get()
        try:
            if self.isolated:
                yield IsolatedSession(self, slot)
                return
            uid = slot if self.drop_uid else None
            # Without a uid of its own the process limit counts all of this user's processes: allow those running.
            nproc = self.limits.processes + (0 if uid is not None else _count_processes(os.getuid()))
            workdir = Path(tempfile.mkdtemp(prefix="r1data-sbx-"))
            try:
                os.chmod(workdir, 0o700)
                if uid is not None:
                    os.chown(workdir, uid, uid)
                yield Session(self, workdir, uid, nproc, self._cgroups.get(slot))
            finally:
                if uid is not None:
                    _kill_uid(uid)
                shutil.rmtree(workdir, ignore_errors=True)
        finally:
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


class IsolatedSession:
    """The runs of one completion in isolated mode: files are kept here and written into each execution's
    fresh /work (nothing an execution writes survives it, except the files it is asked to hand back)."""

    def __init__(self, sandbox: Sandbox, slot: int) -> None:
        self.sandbox, self.slot = sandbox, slot
        self.files: dict[str, tuple[bytes, int]] = {}

    def write(self, name: str, content: str | bytes, mode: int = 0o644) -> None:
        self.files[name] = (content.encode() if isinstance(content, str) else content, mode)

    def run(
        self, argv: list[str], stdin: str = "", wall_seconds: float | None = None, collect: tuple[str, ...] = ()
    ) -> RunResult:
        job = {
            "argv": argv,
            "stdin": base64.b64encode(stdin.encode()).decode(),
            "files": {k: [base64.b64encode(v).decode(), m] for k, (v, m) in self.files.items()},
            "wall": wall_seconds or self.sandbox.limits.wall_seconds,
            "collect": list(collect),
        }
        try:
            r = self.sandbox.host(self.slot).run(job)
        except OSError as exc:
            return RunResult(None, None, "", "", 0.0, error=f"sandbox: {exc}")
        decode = lambda s: base64.b64decode(s).decode("utf-8", errors="replace")  # noqa: E731
        return RunResult(
            r["exit_code"],
            r["signal"],
            decode(r["stdout"]),
            decode(r["stderr"]),
            r["seconds"],
            r["timed_out"],
            r["output_truncated"],
            r["error"],
            {k: base64.b64decode(v) for k, v in r.get("collected", {}).items()},
        )


class Session:
    """The runs of one completion in fallback mode: a throwaway folder shared by its runs."""

    def __init__(
        self, sandbox: Sandbox, workdir: Path, uid: int | None, nproc: int, cgroup: MemoryCgroup | None = None
    ) -> None:
        self.sandbox, self.workdir, self.uid, self.nproc = sandbox, workdir, uid, nproc
        self.cgroup_procs = str(cgroup.procs) if cgroup is not None else None
        self.filter = syscall_filter()

    def write(self, name: str, content: str | bytes, mode: int = 0o644) -> Path:
        path = self.workdir / name
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(data)
        os.chmod(path, mode)
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
        return path

    def _limits(self) -> None:  # runs in the child, before exec
        from r1data.judge.isolate import PR_SET_NO_NEW_PRIVS, load_filter, prctl

        if self.cgroup_procs is not None:
            with open(self.cgroup_procs, "w") as f:
                f.write("0")  # this process joins the slot's memory cgroup; what it starts stays in
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
        if self.filter:
            prctl(PR_SET_NO_NEW_PRIVS, 1)
            load_filter(self.filter)

    def run(
        self, argv: list[str], stdin: str = "", wall_seconds: float | None = None, collect: tuple[str, ...] = ()
    ) -> RunResult:
        """Run argv in the working folder with stdin; output beyond the cap is cut and flagged."""
        lim = self.sandbox.limits
        wall = wall_seconds or lim.wall_seconds
        # stdin, stdout and stderr are files without a name (and r1data's): a program cannot reopen them by path to
        # read its harness's stdin or put words in its stdout
        fin, fout, ferr = (tempfile.TemporaryFile() for _ in range(3))  # noqa: SIM115 - each closed below
        fin.write(stdin.encode())
        fin.seek(0)
        env = {
            "PATH": SANDBOX_PATH,
            "HOME": str(self.workdir),
            "TMPDIR": str(self.workdir),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        }
        cmd = list(argv)
        if self.sandbox.namespaces:
            # sh is PID 1 of the new namespace: when it exits every process the program left dies with it. It
            # exits with the program's status (128 + signal when killed); unshare passes that on.
            ids = ["--setuid", str(self.uid), "--setgid", str(self.uid)] if self.uid is not None else []
            script = '"$@"; exit $?'
            cmd = [
                "unshare",
                "--net",
                "--pid",
                "--fork",
                "--kill-child",
                *ids,
                "--",
                "/bin/sh",
                "-c",
                script,
                "sh",
                *argv,
            ]
        started = time.perf_counter()
        try:
            with fin:
                proc = subprocess.Popen(
                    cmd,
                    cwd=self.workdir,
                    stdin=fin,
                    stdout=fout,
                    stderr=ferr,
                    env=env,
                    start_new_session=True,
                    preexec_fn=self._limits,
                    close_fds=True,
                )
        except OSError as exc:
            fout.close()
            ferr.close()
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
        with fout, ferr:
            stdout, cut = _read(fout, lim.output_bytes)
            stderr, _ = _read(ferr, 64 * 1024)
        if self.sandbox.namespaces and not timed_out and code == 1:
            err = stderr[:4096]
            if err.startswith("unshare:"):  # the wrapper itself failed, not the program
                return RunResult(None, None, "", err, seconds, error=err.strip())
        sig = None
        if code is not None and code < 0:
            sig, code = -code, None
        elif code is not None and code > 128 and self.sandbox.namespaces:
            sig, code = code - 128, None
        collected = {}
        for name in collect:
            with contextlib.suppress(OSError):
                collected[name] = (self.workdir / name).read_bytes()
        return RunResult(code, sig, stdout, stderr, seconds, timed_out, cut, collected=collected)


def _read(f: typing.BinaryIO, cap: int) -> tuple[str, bool]:
    try:
        f.seek(0)
        data = f.read(cap + 1)
    except OSError:
        return "", False
    return data[:cap].decode("utf-8", errors="replace"), len(data) > cap
