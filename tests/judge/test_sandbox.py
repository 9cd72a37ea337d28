"""Hostile programs: each is contained, gets its status, leaves the machine as it was, and the next
normal completion is judged correctly. Tests only ever address 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from textwrap import dedent

import pytest

from r1data.judge.code import CodeJudge
from r1data.judge.sandbox import Limits, is_isolated, isolation
from r1data.ops.code import parse_tests

ADD = parse_tests([{"input": "2 3\n", "output": "5\n"}, {"input": "10 -4\n", "output": "6\n"}])
GOOD = "<think>sum them</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


@pytest.fixture(scope="module", params=["isolated", "fallback"])
def judge(request) -> CodeJudge:
    """The sandbox as this machine runs it, and its fallback without unshare (as on machines that lack it)."""
    limits = Limits(wall_seconds=3.0, cpu_seconds=2, memory_mb=512, file_size_mb=8, processes=32)
    if request.param == "isolated" and not is_isolated():
        pytest.skip("isolated mode needs Linux and root: only the fallback runs here")
    j = CodeJudge(workers=2, limits=limits, isolated=request.param == "isolated")
    if request.param == "fallback":
        j.sandbox.namespaces = False
    yield j
    j.close()


def processes_with(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def processes_in_sandbox_folders() -> list[int]:
    """Processes whose working folder is a sandbox folder (what a fork bomb's children would have)."""
    root = str(Path(tempfile.gettempdir()).resolve() / "r1data-sbx-")
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "cwd").startswith(root):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _owner(proc: Path) -> int | None:
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        return None if state == "Z" else proc.stat().st_uid
    except OSError:
        return None


def sandbox_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("r1data-sbx-*")}


def judged_then_clean(judge: CodeJudge, code: str, suite=ADD):  # noqa: ANN001, ANN201
    before = sandbox_dirs()
    verdict = judge.judge_one(suite, fenced(code))  # returns at all: the wall-clock limit holds
    assert sandbox_dirs() <= before  # the throwaway folder is gone
    assert judge.judge_one(ADD, GOOD).status == "passed"  # the next normal completion
    return verdict


def test_normal_completions(judge):
    verdicts = judge.verify([ADD, ADD, ADD], [GOOD, fenced("print(5)"), "no code here"])
    assert [v.status for v in verdicts] == ["passed", "failed", "no_code"]
    assert verdicts[1].failed_test == 1 and verdicts[1].passed == 1
    assert [v.correct for v in verdicts] == [True, False, False]


def test_infinite_loop_times_out(judge):
    v = judged_then_clean(judge, "while True:\n    pass")
    assert v.status == "timeout" and v.correct is False and v.passed == 0


def test_a_sleeping_program_is_cut_at_the_wall_clock_limit(judge):
    started = time.monotonic()
    v = judged_then_clean(judge, "import time\ntime.sleep(60)")  # no CPU used: only the wall clock can stop it
    assert v.status == "timeout" and time.monotonic() - started < 10


def test_huge_allocation_is_a_memory_error(judge):
    v = judged_then_clean(judge, "x = bytearray(10 * 1024 ** 3)\nprint(len(x))")
    assert v.status == "memory"


def test_huge_file_is_cut_off(judge, tmp_path):
    v = judged_then_clean(
        judge, "with open('big.bin', 'wb') as f:\n    for _ in range(1000):\n        f.write(b'x' * 1024 * 1024)"
    )
    assert v.status == "runtime_error" and "file size" in v.detail


def test_flood_of_output_is_capped(judge):
    v = judged_then_clean(judge, "while True:\n    print('y' * 1000)")
    assert v.status in ("runtime_error", "timeout")


def test_fork_bomb_is_contained(judge):
    code = dedent("""\
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass""")
    v = judged_then_clean(judge, code)
    assert v.status in ("timeout", "runtime_error", "memory")
    time.sleep(0.2)
    assert processes_in_sandbox_folders() == []  # no process is still running in a sandbox folder
    uids = set(judge.sandbox._slots.queue) if judge.sandbox.drop_uid else set()
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _owner(p) in uids]  # nor as its uid


def test_child_left_running_is_killed(judge):
    token = f"r1data-orphan-{os.getpid()}-{time.monotonic_ns()}"
    code = dedent(f"""\
        import subprocess, sys
        argv = [sys.executable, "-c", "import time; time.sleep(60)", "{token}"]
        subprocess.Popen(argv, start_new_session=True)
        a, b = map(int, input().split())
        print(a + b)""")
    v = judged_then_clean(judge, code)
    assert v.status == "passed"  # it answered correctly, and
    time.sleep(0.2)
    assert processes_with(token) == []  # its detached child did not outlive the run


def test_environment_has_no_credentials(judge, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    suite = parse_tests([{"input": "", "output": "none none\n"}])
    code = "import os\nprint(os.environ.get('HF_TOKEN', 'none'), os.environ.get('OPENAI_API_KEY', 'none'))"
    assert judged_then_clean(judge, code, suite).status == "passed"


def test_network_is_unreachable_even_on_loopback(judge):
    if not (judge.sandbox.namespaces or judge.sandbox.isolated):
        pytest.skip("no network namespace (unshare) for this sandbox")
    accepted = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    port = server.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = server.accept()
            accepted.append(True)
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    code = dedent(f"""\
        import socket
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=1)
            print("reached")
        except OSError:
            print("blocked")""")
    suite = parse_tests([{"input": "", "output": "blocked\n"}])
    try:
        assert judged_then_clean(judge, code, suite).status == "passed"
    finally:
        server.close()
        thread.join(timeout=6)
    assert accepted == []
    # The same program outside the sandbox does reach the listener: the test can tell the difference.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    probe.listen(1)
    socket.create_connection(("127.0.0.1", probe.getsockname()[1]), timeout=1).close()
    probe.close()


@pytest.mark.skipif("unprivileged" not in isolation()["user"], reason="runs as the calling user (not root)")
def test_private_files_outside_the_workdir_are_unreadable(judge, tmp_path):
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    secret = private / "credentials"
    secret.write_text("hunter2")
    os.chmod(private, 0o700)
    code = dedent(f"""\
        import os
        out = []
        for p in [{str(secret)!r}, os.path.expanduser("~root/.bashrc"), "/root"]:
            try:
                out.append(open(p).read() if os.path.isfile(p) else str(os.listdir(p)))
            except OSError:
                out.append("denied")
        print(" ".join(out))""")
    suite = parse_tests([{"input": "", "output": "denied denied denied\n"}])
    assert judged_then_clean(judge, code, suite).status == "passed"


def test_unreadable_tests_are_a_sandbox_error_not_a_wrong_answer(judge):
    from r1data.ops.code import TestSuite

    v = judge.judge_one(TestSuite("stdio", ()), GOOD)
    assert v.status == "sandbox_error" and v.correct is None and v.share is None


@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler on this machine")
def test_cpp_programs_compile_and_run_in_the_sandbox(judge):
    suite = parse_tests({"language": "cpp", "test_cases": [{"input": "2 3\n", "output": "5\n"}]})
    good = "```cpp\n#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b; }\n```"
    assert judge.judge_one(suite, good).status == "passed"
    broken = judge.judge_one(suite, "```cpp\nint main() { return }\n```")
    assert broken.status == "failed" and broken.detail.startswith("compile error") and "error" in broken.detail


ALWAYS_EQUAL = """
class Anything:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False

def add(a, b):
    return Anything()
"""
PEEK_TOKEN = """
import sys, atexit
def add(a, b):
    frame = sys._getframe(1)
    while frame is not None:  # the harness's token, or its expected values, are somewhere up the stack
        for name in ("token", "job", "expected"):
            if name in frame.f_globals:
                value = frame.f_globals[name]
                atexit.register(lambda v=value: print(v if isinstance(v, str) else ""))
        frame = frame.f_back
    return 0
"""


def test_asserts_compare_outside_the_program(judge):
    """`assert f(x) == y` runs as: the program computes f(x), r1data compares it with y. An object equal to
    everything, or a program that digs through the harness for its token, no longer passes."""
    mbpp = parse_tests(["assert add(1, 2) == 3", "assert add(2, 2) == 4"])
    humaneval = parse_tests({"test": "def check(candidate):\n    assert candidate(1, 2) == 3\n", "entry_point": "add"})
    honest = fenced("def add(a, b):\n    return a + b")
    for suite in (mbpp, humaneval):
        assert judge.judge_one(suite, honest).status == "passed"
        assert judge.judge_one(suite, fenced(ALWAYS_EQUAL)).status == "failed"
        assert judge.judge_one(suite, fenced(PEEK_TOKEN)).status == "failed"
    calls = parse_tests({"fn_name": "add", "inputs": [[1, 2]], "outputs": [[3]]})
    assert judge.judge_one(calls, fenced(ALWAYS_EQUAL)).status == "failed"
    # An assert that is not `EXPR == VALUE` still runs (in the program's own process), for honest programs.
    loose = parse_tests(["assert abs(add(1, 2) - 3) < 1e-9"])
    assert judge.judge_one(loose, honest).status == "passed"
    assert judge.judge_one(loose, fenced("def add(a, b):\n    return 4")).status == "failed"
