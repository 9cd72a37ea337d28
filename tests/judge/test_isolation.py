"""Hostile programs against the isolated sandbox: it learns nothing (no expected output, no file of the machine,
no host socket), reaches nothing, outlives nothing (not even a killed r1data) and leaves nothing behind. Each
attack is also run against the fallback sandbox, where it works: the test can tell the difference."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from textwrap import dedent

import pytest

from r1data.judge.code import CodeJudge
from r1data.judge.sandbox import Limits, is_isolated
from r1data.ops.code import parse_tests

pytestmark = pytest.mark.skipif(not is_isolated(), reason="isolated mode needs Linux and root")
LIMITS = Limits(wall_seconds=5.0, cpu_seconds=3, memory_mb=512, file_size_mb=8, processes=32)


def fenced(code: str) -> str:
    return f"```python\n{dedent(code)}\n```"


@pytest.fixture(scope="module")
def isolated():
    j = CodeJudge(workers=1, limits=LIMITS, isolated=True)
    yield j
    j.close()


@pytest.fixture(scope="module")
def fallback():
    j = CodeJudge(workers=1, limits=LIMITS, isolated=False)
    yield j
    j.close()


def stdout_of(judge: CodeJudge, code: str) -> str:
    """What a program prints when the judge's sandbox runs it once."""
    with judge.sandbox.session() as session:
        session.write("solution.py", dedent(code))
        return session.run([judge.sandbox.python, "-I", "solution.py"]).stdout


@pytest.fixture()
def public_dir():
    """A folder anyone may read, as a shared data disk or a world-readable home often is."""
    folder = Path(tempfile.mkdtemp(prefix="r1data-hostile-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# Reads every file named on any process's command line and prints the first line that looks like an answer.
CHEAT_VIA_PROC = fenced("""\
    import os, json
    found = None
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
        except OSError:
            continue
        for arg in args:
            path = arg.decode(errors="ignore")
            if path.endswith(".jsonl") and os.path.isfile(path):
                try:
                    for line in open(path):
                        row = json.loads(line)
                        found = found or row["tests"][0]["output"]
                except (OSError, ValueError, KeyError):
                    pass
    print(found.strip() if found else "nothing")
""")


def test_a_program_cannot_read_the_expected_output_through_proc(isolated, fallback, public_dir, tmp_path):
    """r1data names its input on its command line, and the input holds the expected outputs. The program looks for
    it through /proc/*/cmdline and prints what it finds."""
    import polars as pl

    secret = f"answer-{os.urandom(6).hex()}"
    problems = public_dir / "problems.jsonl"
    problems.write_text(
        json.dumps(
            {
                "id": "p",
                "problem": "Print the secret.",
                "completion": CHEAT_VIA_PROC,
                "tests": [{"input": "", "output": secret}],
            }
        )
        + "\n"
    )
    os.chmod(problems, 0o644)
    out = tmp_path / "v"
    p = subprocess.run(
        [sys.executable, "-m", "r1data", "verify", str(problems), "-o", str(out), "--checks", "binary_code"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert pl.read_parquet(out / "data" / "*.parquet").row(0, named=True)["verify_status"] == "failed"
    # The same attack with r1data's host /proc in view (the fallback) finds the file and passes.
    decoy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(problems)])
    try:
        suite = parse_tests([{"input": "", "output": secret}])
        assert isolated.judge_one(suite, CHEAT_VIA_PROC).status == "failed"
        assert fallback.judge_one(suite, CHEAT_VIA_PROC).status == "passed"
    finally:
        decoy.kill()
        decoy.wait()


def test_no_file_of_the_machine_is_readable(isolated, fallback, public_dir):
    readable = public_dir / "notes.txt"
    readable.write_text("a secret anyone on the machine may read")
    os.chmod(readable, 0o644)
    code = f"""\
        import os
        out = []
        for p in [{str(readable)!r}, "/root", "/home", "/work/../root", "/etc/shadow", "/proc/1/environ"]:
            try:
                out.append("read" if os.path.isfile(p) and open(p).read() else "listed" if os.listdir(p) else "empty")
            except OSError:
                out.append("denied")
        print(" ".join(out))
        print(sorted(os.listdir("/")))"""
    seen = stdout_of(isolated, code)
    first = seen.splitlines()[0].split()
    assert first[0] == "denied" and first[1] == "denied" and first[2] in ("denied", "empty"), seen
    assert "'root'" not in seen.splitlines()[1] and "'home'" not in seen.splitlines()[1], seen
    assert stdout_of(fallback, code).split()[0] == "read"  # without isolation: readable


def test_host_unix_sockets_are_unreachable(isolated, fallback, public_dir):
    path = public_dir / "bus.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    os.chmod(path, 0o777)
    server.listen(4)
    server.settimeout(0.2)
    code = f"""\
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect({str(path)!r})
            print("connected")
        except OSError as e:
            print("blocked")"""
    try:
        assert stdout_of(isolated, code).strip() == "blocked"
        with pytest.raises(OSError):
            server.accept()  # nobody came
        assert stdout_of(fallback, code).strip() == "connected"
    finally:
        server.close()


LITTER = """\
    import os, sys
    token = sys.argv[-1] if len(sys.argv) > 1 else "r1data-litter"
    seen = []
    for d in ("/tmp", "/var/tmp", "/dev/shm", "."):
        p = os.path.join(d, "r1data-litter.bin")
        seen.append("seen" if os.path.exists(p) else "fresh")
        try:
            with open(p, "wb") as f:
                f.write(b"x" * 4_000_000)
        except OSError:
            pass
    print(" ".join(seen))"""


def test_nothing_written_survives_an_execution(isolated, fallback):
    suite = parse_tests([{"input": "", "output": "fresh fresh fresh fresh"}] * 2)  # the same program, twice
    shared = ("/tmp", "/var/tmp", "/dev/shm")
    verdict = isolated.judge_one(suite, fenced(LITTER), stop_on_failure=False)
    assert verdict.status == "passed" and verdict.passed == 2  # the second run saw nothing of the first
    assert not [d for d in shared if os.path.exists(f"{d}/r1data-litter.bin")]  # nothing left on the machine
    leaky = fallback.judge_one(suite, fenced(LITTER), stop_on_failure=False)
    litter = [d for d in shared if os.path.exists(f"{d}/r1data-litter.bin")]
    for d in litter:
        os.unlink(f"{d}/r1data-litter.bin")
    assert leaky.passed == 1 and litter  # without isolation the second run sees the first one's files


def _sandbox_processes(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state != "Z":
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_programs_die_with_r1data(how, tmp_path):
    token = f"r1data-sleeper-{os.getpid()}-{time.monotonic_ns()}"
    code = fenced(f"""\
        import subprocess, sys, time
        for _ in range(3):
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{token}"],
                             start_new_session=True)
        time.sleep(600)""")
    problems = tmp_path / "p.jsonl"
    problems.write_text(
        json.dumps({"id": "p", "problem": "Sleep.", "completion": code, "tests": [{"input": "", "output": "x"}]}) + "\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "r1data",
            "verify",
            str(problems),
            "-o",
            str(tmp_path / "o"),
            "--checks",
            "binary_code",
            "--timeout",
            "300",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(_sandbox_processes(token)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_sandbox_processes(token)) >= 3, "the program's children never started"
    proc.send_signal(how)
    proc.wait(30)
    time.sleep(3)
    assert _sandbox_processes(token) == []


def output_of(judge: CodeJudge, code: str, stdin: str = "") -> str:
    with judge.sandbox.session() as session:
        session.write("solution.py", dedent(code))
        return session.run([judge.sandbox.python, "-I", "solution.py"], stdin).stdout.strip()


# Puts a key in the sandbox uid's user keyring ("put"), or looks for it ("get"): kernel state that would carry from
# one execution to the next, and from one r1data run to the next.
KEYRING = """\
    import ctypes, sys
    libc = ctypes.CDLL(None, use_errno=True)
    L = ctypes.c_long
    what = sys.stdin.readline().strip()
    if what == "put":
        r = libc.syscall(L(248), b"user", b"r1data-probe", b"secret", L(6), L(-4))  # add_key(..., @u)
        print("added" if r > 0 else f"refused {ctypes.get_errno()}")
    else:
        r = libc.syscall(L(250), L(10), L(-4), b"user", b"r1data-probe", L(0))  # keyctl(SEARCH, @u, ...)
        print("found" if r > 0 else "not found")
"""

VSOCK = """\
    import socket
    try:
        socket.socket(40, socket.SOCK_STREAM)  # AF_VSOCK: the host's vsock ports are outside the network namespace
        print("vsock open")
    except OSError as exc:
        print(f"vsock refused {exc.errno}")
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the probe uses x86_64 system call numbers")
def test_no_kernel_keyring_state_and_no_vsock(isolated, fallback):
    """Before: a key added by one execution was found by the next (and by the next r1data run: the user keyring of
    the sandbox uid lives in the kernel), and an AF_VSOCK socket opened. A seccomp filter (libseccomp) refuses the
    keyring calls and the vsock family, in both modes."""
    for judge in (isolated, fallback):
        assert output_of(judge, KEYRING, "put\n").startswith("refused")
        assert output_of(judge, KEYRING, "get\n") == "not found"
        assert output_of(judge, VSOCK).startswith("vsock refused")
        assert output_of(judge, "print('still runs')") == "still runs"  # everything else is allowed


# Four processes of one execution, each holding 200 MB (each within the per-process limit); then 40 memory files of
# 8 MB (each within the file-size limit).
MANY_PROCESSES = """\
    import os, time
    kids = []
    for i in range(4):
        pid = os.fork()
        if pid == 0:
            block = b"x" * (200 << 20)
            time.sleep(1.5)
            os._exit(0)
        kids.append(pid)
    held = sum(1 for pid in kids if os.waitpid(pid, 0)[1] == 0)
    print(f"{held} of 4 held 200 MB")
"""

MEMORY_FILES = """\
    import os
    files = []
    for i in range(40):
        fd = os.memfd_create(f"m{i}")
        os.write(fd, b"x" * (8 << 20))
        files.append(fd)
    print(f"held {8 * len(files)} MB in memory files")
"""


def test_an_executions_memory_is_bounded_as_a_whole():
    """Before: the memory limit was per process (setrlimit), so four processes of 200 MB passed a 256 MB limit, and
    memory files were bounded only by open files x file size. A memory cgroup per slot holds the execution's
    processes together (their memory, tmpfs and memfd pages) to the limit; isolation() says so."""
    from r1data.judge.sandbox import isolation

    limits = Limits(wall_seconds=10.0, cpu_seconds=8, memory_mb=256, file_size_mb=8, processes=32)
    for isolated_mode in (True, False):
        judge = CodeJudge(workers=1, limits=limits, isolated=isolated_mode)
        try:
            assert output_of(judge, MANY_PROCESSES) != "4 of 4 held 200 MB"
            assert output_of(judge, MEMORY_FILES) != "held 320 MB in memory files"
            assert output_of(judge, "print(len(b'x' * (100 << 20)))") == str(100 << 20)  # within the limit: fine
        finally:
            judge.close()
    assert "whole execution" in isolation()["memory"]
