"""The isolated host: a small process, one per sandbox slot, that runs untrusted programs in a private view of
the machine. Run as `python -m r1data.judge.isolate`; it speaks length-prefixed JSON on stdin/stdout.

Set up once per host (Linux, as root):
- its own mount, network, IPC and UTS namespaces: no network interface but a downed loopback, so nothing is
  reachable (TCP, UDP, abstract unix sockets of the host), and a root file system of its own: a small tmpfs
  holding read-only binds of /usr (with /bin, /lib ... as on the host), the few files of /etc the dynamic
  linker needs, /dev/null, zero, full, random and urandom, and a generated passwd/group. Nothing else of the
  machine is there: no home folders, no /tmp of the host, no filesystem sockets, no r1data input files. The host
  then pivots into it and detaches the old root, so no path leads back.
Per execution (a fork of the host, cheap, then the program's exec):
- a new PID namespace with a fresh /proc (the program sees only itself and its children: not r1data's command
  line), a new mount and IPC namespace with empty tmpfs /tmp, /var/tmp, /dev/shm and /work (size-capped), into
  which the program's own files are written; nothing one execution writes is seen by the next;
- the program runs as an unprivileged uid (one per slot), with resource limits, no new privileges, in its own
  session, with stdin, stdout and stderr as memory files (stdout capped by the file-size limit); it joins its
  slot's memory cgroup (all its processes and their tmpfs and memory-file pages within the memory limit) and runs
  under a seccomp filter (no kernel keyring, no AF_VSOCK), both made by r1data (judge/confine.py);
- it dies with r1data: the namespace's first process has PR_SET_PDEATHSIG, so does the program, the host
  watches r1data through a pidfd, and when the first process ends the kernel kills everything in the namespace.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import platform
import resource
import select
import signal
import struct
import sys
import time

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 1, 38, 22, 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 217}.get(platform.machine())
TOP_LEVEL = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime")
DEVICES = ("null", "zero", "full", "random", "urandom")
ROOT = "/tmp"  # where the new root is built: a mount point that exists everywhere, hidden only in this namespace

_libc = ctypes.CDLL(None, use_errno=True)


def _call(ret: int, what: str) -> None:
    if ret != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def unshare(flags: int) -> None:
    _call(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _call(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def prctl(option: int, arg: int) -> None:
    _call(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), "prctl")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def load_filter(program: bytes) -> None:
    """Install a seccomp filter: `program` is classic BPF as libseccomp exports it (8 bytes per instruction; made in
    r1data by judge/confine.py, never written by hand). Needs no-new-privileges or CAP_SYS_ADMIN."""
    code = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(code, ctypes.c_void_p))
    _call(_libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(prog), 0, 0), "seccomp")


# What every program of this host gets before exec (main() fills it from r1data's settings): the seccomp program and
# an open `cgroup.procs` of the slot's memory cgroup.
CONFINE: dict = {"filter": None, "cgroup": None}


def pivot_root(new: str, old: str) -> None:
    if SYS_PIVOT_ROOT is None:
        raise OSError(38, f"pivot_root: unknown on {platform.machine()}")
    _call(_libc.syscall(SYS_PIVOT_ROOT, new.encode(), old.encode()), "pivot_root")


def umount(target: str) -> None:
    _call(_libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")


# ---------------------------------------------------------------------------------------------------------------
# Messages: 4-byte length, then JSON


def send(fd: int, obj: dict) -> None:
    data = json.dumps(obj).encode()
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def receive(fd: int) -> dict | None:
    head = _read_exact(fd, 4)
    if head is None:
        return None
    body = _read_exact(fd, struct.unpack(">I", head)[0])
    return None if body is None else json.loads(body)


def _read_exact(fd: int, n: int) -> bytes | None:
    out = b""
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


# ---------------------------------------------------------------------------------------------------------------
# The host's root


def _bind(source: str, target: str, dev: bool = False) -> None:
    mount(source, target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | (0 if dev else MS_NODEV))


def _touch(path: str) -> None:
    with open(path, "a"):
        pass


def build_root(settings: dict) -> None:
    """Make this process's root the private file system described in the module docstring."""
    unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("r1data-sandbox", ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    r = ROOT
    for name in TOP_LEVEL:
        src = f"/{name}"
        if os.path.islink(src):
            os.symlink(os.readlink(src), f"{r}/{name}")
        elif os.path.isdir(src):
            os.mkdir(f"{r}/{name}")
            _bind(src, f"{r}/{name}")
    os.mkdir(f"{r}/etc")
    for name in ETC_FILES:
        src = f"/etc/{name}"
        if os.path.isdir(src) and not os.path.islink(src):
            os.mkdir(f"{r}/etc/{name}")
            _bind(src, f"{r}/etc/{name}")
        elif os.path.exists(src):
            _touch(f"{r}/etc/{name}")
            _bind(os.path.realpath(src), f"{r}/etc/{name}")
    uid = settings["uid"]
    with open(f"{r}/etc/passwd", "w") as f:
        f.write(f"root:x:0:0:root:/root:/bin/sh\nsandbox:x:{uid}:{uid}:sandbox:/work:/bin/sh\n")
    with open(f"{r}/etc/group", "w") as f:
        f.write(f"root:x:0:\nsandbox:x:{uid}:\n")
    with open(f"{r}/etc/hosts", "w") as f:
        f.write("127.0.0.1 localhost\n")
    for extra in settings.get("binds", []):  # an interpreter outside /usr, read-only at the same path
        os.makedirs(f"{r}{extra}", exist_ok=True)
        _bind(extra, f"{r}{extra}")
    for d in ("dev", "dev/shm", "proc", "tmp", "var", "var/tmp", "work", "old-root"):
        os.makedirs(f"{r}/{d}", exist_ok=True)
    for name in DEVICES:
        _touch(f"{r}/dev/{name}")
        _bind(f"/dev/{name}", f"{r}/dev/{name}", dev=True)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"{r}/dev/{name}")
    os.chdir(r)
    pivot_root(".", "old-root")
    os.chdir("/")
    umount("/old-root")
    os.rmdir("/old-root")
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    with contextlib.suppress(OSError):
        _libc.sethostname(b"sandbox", 7)


# ---------------------------------------------------------------------------------------------------------------
# One execution


def _memfd(name: str, data: bytes = b"") -> int:
    fd = os.memfd_create(name, 0)
    if data:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_memfd(fd: int, cap: int) -> tuple[bytes, bool]:
    os.lseek(fd, 0, os.SEEK_SET)
    data = b""
    while len(data) <= cap:
        chunk = os.read(fd, min(1 << 20, cap + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    return data[:cap], len(data) > cap


def _which(name: str, path: str) -> str:
    """The program's path (os.execvpe would import modules, and after the pivot there are none to import)."""
    if "/" in name:
        return name
    for folder in path.split(":"):
        candidate = f"{folder}/{name}"
        if os.access(candidate, os.X_OK):
            return candidate
    return name


def _program(job: dict, fds: tuple[int, int, int]) -> None:
    """The program's process: its memory cgroup, limits, the sandbox uid, the system-call filter, then exec. Never
    returns."""
    try:
        os.setsid()
        if CONFINE["cgroup"] is not None:
            os.write(CONFINE["cgroup"], b"0")  # this process joins; all it starts stays in
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 65536)
        os.chdir("/work")
        lim = job["limits"]
        mb = 1024 * 1024
        for res, value in (
            (resource.RLIMIT_CPU, (lim["cpu_seconds"], lim["cpu_seconds"] + 1)),
            (resource.RLIMIT_AS, (lim["memory_mb"] * mb, lim["memory_mb"] * mb)),
            (resource.RLIMIT_FSIZE, (lim["fsize"], lim["fsize"])),
            (resource.RLIMIT_NOFILE, (lim["open_files"], lim["open_files"])),
            (resource.RLIMIT_NPROC, (lim["processes"], lim["processes"])),
            (resource.RLIMIT_CORE, (0, 0)),
        ):
            resource.setrlimit(res, value)
        uid = job["uid"]
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid, which clears it
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if CONFINE["filter"]:
            load_filter(CONFINE["filter"])
        os.execve(_which(job["argv"][0], job["env"]["PATH"]), job["argv"], job["env"])
    except BaseException as exc:  # noqa: BLE001 - the exec failed: say why on the program's stderr
        with contextlib.suppress(OSError):
            os.write(2, f"r1data-sandbox: could not start {job['argv'][0]}: {exc}\n".encode())
    os._exit(127)


def _first_process(job: dict, fds: tuple[int, int, int], report: int) -> None:
    """PID 1 of the execution's namespace: mounts its private folders, writes the program's files, runs it,
    kills whatever it left, collects asked-for files, reports. Never returns."""
    code = 125
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        uid, lim = job["uid"], job["limits"]
        flags = MS_NOSUID | MS_NODEV
        mount("proc", "/proc", "proc", flags | MS_NOEXEC)
        for path in ("/tmp", "/var/tmp", "/dev/shm"):
            mount("tmpfs", path, "tmpfs", flags, f"size={lim['tmp_mb']}m,mode=1777")
        mount("tmpfs", "/work", "tmpfs", flags, f"size={lim['work_mb']}m,mode=700,uid={uid},gid={uid}")
        for name, (data, mode) in job["files"].items():
            path = f"/work/{name}"
            with open(path, "wb") as f:
                f.write(unb64(data))
            os.chmod(path, mode)
            os.chown(path, uid, uid)
        pid = os.fork()
        if pid == 0:
            _program(job, fds)
        status = None
        while True:
            try:
                done, st = os.wait()
            except ChildProcessError:
                break
            if done == pid:
                status = st
                break
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)  # everything the program left in this namespace
        while True:
            try:
                os.wait()
            except ChildProcessError:
                break
        collected = {}
        for name in job.get("collect", []):
            with contextlib.suppress(OSError), open(f"/work/{name}", "rb") as f:
                collected[name] = b64(f.read(64 * 1024 * 1024))
        send(report, {"status": status, "collected": collected})
        code = 0
    except BaseException as exc:  # noqa: BLE001
        with contextlib.suppress(OSError):
            send(report, {"error": f"{type(exc).__name__}: {exc}"})
    os._exit(code)


def _execution(job: dict, fds: tuple[int, int, int], report: int, host: int) -> None:
    """The fork that makes the namespaces: its child is PID 1 there. Never returns."""
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != host:
            os._exit(1)
        unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC)
        pid = os.fork()
        if pid == 0:
            _first_process(job, fds, report)
        os.waitpid(pid, 0)
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001
        with contextlib.suppress(OSError):
            send(report, {"error": f"{type(exc).__name__}: {exc}"})
    os._exit(1)


def run_job(job: dict, parent: int) -> dict:
    stdin = _memfd("stdin", unb64(job["stdin"]))
    stdout, stderr = _memfd("stdout"), _memfd("stderr")
    rd, wr = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        _execution(job, (stdin, stdout, stderr), wr, os.getppid())
    os.close(wr)
    deadline = started + job["wall"]
    data, timed_out = b"", False
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([rd, parent], [], [], left)
        if parent in ready:  # r1data is gone: so is everything this host started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os._exit(0)
        if rd not in ready:
            continue  # the time is up: the loop's test says so
        chunk = os.read(rd, 1 << 20)
        if not chunk:
            break
        data += chunk
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # its first process dies with it, and with that every process it held
    os.waitpid(pid, 0)
    seconds = time.perf_counter() - started
    os.close(rd)
    result = json.loads(data[4:]) if len(data) > 4 else {}
    out, cut = _read_memfd(stdout, job["limits"]["output_bytes"])
    err, _ = _read_memfd(stderr, 64 * 1024)
    for fd in (stdin, stdout, stderr):
        os.close(fd)
    status = result.get("status")
    code = sig = None
    if status is not None:
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
        else:
            code = os.WEXITSTATUS(status)
    error = None if timed_out or status is not None else result.get("error", "the execution ended without a report")
    return {
        "exit_code": code,
        "signal": sig,
        "stdout": b64(out),
        "stderr": b64(err),
        "seconds": seconds,
        "timed_out": timed_out,
        "output_truncated": cut,
        "error": error,
        "collected": result.get("collected", {}),
    }


def main() -> None:
    parent = os.pidfd_open(os.getppid())
    settings = receive(0)
    if settings is None:
        return
    try:
        if settings.get("cgroup"):  # opened before the pivot: the new root has no /sys
            CONFINE["cgroup"] = os.open(settings["cgroup"], os.O_WRONLY)
        CONFINE["filter"] = unb64(settings["seccomp"]) if settings.get("seccomp") else None
        build_root(settings)
    except OSError as exc:
        send(1, {"ok": False, "error": str(exc)})
        return
    send(1, {"ok": True})
    while True:
        ready, _, _ = select.select([0, parent], [], [])
        if parent in ready:
            return
        job = receive(0)
        if job is None:
            return
        send(1, run_job(job, parent))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # r1data decides when a host ends (it closes the pipe)
    sys.stdout.flush()
    main()
