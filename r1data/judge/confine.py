"""What the kernel bounds for a sandboxed execution beyond its resource limits (Linux, as root):

- a system-call filter (seccomp, built by libseccomp through `pyseccomp`): no kernel keyring (add_key, keyctl,
  request_key: a key would outlive the execution and the run, as the sandbox uid's user keyring lives in the kernel)
  and no AF_VSOCK sockets (the host's vsock port space is outside the network namespace);
- a memory cgroup per slot: the execution's processes together, with their tmpfs and memory-file pages, stay
  within the memory limit (setrlimit bounds each process alone).

Both are made here, in r1data's process; the isolated host (judge/isolate.py, which imports nothing of r1data) is
handed the filter's program and the cgroup's `cgroup.procs` path, and applies them to each program before exec.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import os
import signal
import socket
import tempfile
import time
from pathlib import Path

from r1data.lifetime import alive

AF_VSOCK = getattr(socket, "AF_VSOCK", 40)
BLOCKED_CALLS = ("add_key", "keyctl", "request_key")
V1_MEMORY = Path("/sys/fs/cgroup/memory")
_NUMBERS = itertools.count()


@functools.cache
def syscall_filter() -> bytes | None:
    """The seccomp program (classic BPF, as libseccomp exports it), or None where libseccomp is missing."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError):  # not installed, or libseccomp.so.2 not on this machine
        return None
    try:
        rules = sc.SyscallFilter(sc.ALLOW)
        for name in BLOCKED_CALLS:
            rules.add_rule(sc.ERRNO(errno.EPERM), name)
        for call in ("socket", "socketpair"):
            rules.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), call, sc.Arg(0, sc.EQ, AF_VSOCK))
        with tempfile.TemporaryFile() as f:
            rules.export_bpf(f)
            f.seek(0)
            return f.read()
    except OSError:
        return None


def filter_words() -> str:
    if syscall_filter() is None:
        return "NOT filtered (no libseccomp): the kernel keyring and AF_VSOCK are reachable"
    return "seccomp: no kernel keyring calls (add_key, keyctl, request_key), no AF_VSOCK sockets"


# ---------------------------------------------------------------------------------------------------------------
# Memory cgroups


def _v2_parent() -> Path | None:
    """A cgroup v2 folder under which r1data may make memory-limited children, or None."""
    mounts = Path("/proc/self/mounts")
    with contextlib.suppress(OSError):
        for line in mounts.read_text().splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[2] == "cgroup2":
                root = Path(fields[1])
                if "memory" in (root / "cgroup.controllers").read_text().split():
                    return root
    return None


def _limit_v2(folder: Path, limit: int) -> None:
    parent = folder.parent
    with contextlib.suppress(OSError):
        (parent / "cgroup.subtree_control").write_text("+memory")
    (folder / "memory.max").write_text(str(limit))
    with contextlib.suppress(OSError):
        (folder / "memory.swap.max").write_text("0")


def _limit_v1(folder: Path, limit: int) -> None:
    (folder / "memory.limit_in_bytes").write_text(str(limit))
    with contextlib.suppress(OSError):  # no swap accounting: swap is then not counted
        (folder / "memory.memsw.limit_in_bytes").write_text(str(limit))


def _empty(folder: Path) -> None:
    """Kill what is left in a cgroup and remove it."""
    procs = folder / "cgroup.procs"
    for _ in range(100):
        try:
            pids = [int(p) for p in procs.read_text().split()]
        except OSError:
            return
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    with contextlib.suppress(OSError):
        folder.rmdir()


class MemoryCgroup:
    """One slot's memory cgroup: `procs` is the file a program's process writes "0" to, to join it before exec."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs = folder / "cgroup.procs"

    @classmethod
    def create(cls, slot: int, limit_bytes: int) -> MemoryCgroup | None:
        """A fresh cgroup for this process's slot, limited to `limit_bytes`; None where none can be made (no
        memory controller, not root, a read-only cgroup file system)."""
        if os.name != "posix" or not hasattr(os, "geteuid") or os.geteuid() != 0:
            return None
        v2 = _v2_parent()
        for base, limit in ((v2, _limit_v2), (V1_MEMORY if V1_MEMORY.is_dir() else None, _limit_v1)):
            if base is None:
                continue
            parent = base / "r1data-sandbox"
            try:
                parent.mkdir(exist_ok=True)
                if limit is _limit_v2:
                    (base / "cgroup.subtree_control").write_text("+memory")
                _sweep(parent)
                folder = parent / f"{os.getpid()}-{next(_NUMBERS)}-slot{slot}"  # one per Sandbox and slot
                folder.mkdir()
                limit(folder, limit_bytes)
                return cls(folder)
            except OSError:
                continue
        return None

    def close(self) -> None:
        _empty(self.folder)


def _sweep(parent: Path) -> None:
    """Remove the cgroups of r1data processes that are gone (a killed run leaves its own behind)."""
    for folder in parent.iterdir():
        owner = folder.name.split("-")[0]
        if folder.is_dir() and owner.isdigit() and not alive(int(owner)):
            _empty(folder)


@functools.cache
def memory_words() -> str:
    probe = MemoryCgroup.create(-1, 1 << 30)
    if probe is None:
        return (
            "per process only (setrlimit): no writable memory cgroup here, so an execution's processes together, "
            "and its memory files, are NOT bounded as a whole"
        )
    probe.close()
    version = "v1" if probe.folder.is_relative_to(V1_MEMORY) else "v2"
    return (
        f"whole execution: a memory cgroup ({version}) per slot holds all its processes, tmpfs and memory files to "
        "the memory limit; each process also has the address-space limit"
    )
