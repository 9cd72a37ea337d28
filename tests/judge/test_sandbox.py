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
from r1data.judge.sandbox import Limits, isolation
from r1data.ops.code import parse_tests

ADD = parse_tests([{"input": "2 3\n", "output": "5\n"}, {"input": "10 -4\n", "output": "6\n"}])
GOOD = "<think>sum them</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


@pytest.fixture(scope="module", params=["namespaces", "fallback"])
def judge(request) -> CodeJudge:
    """The sandbox as this machine runs it, and its fallback without unshare (as on machines that lack it)."""
    j = CodeJudge(workers=2, limits=Limits(wall_seconds=3.0, cpu_seconds=2, memory_mb=512, file_size_mb=8,
                                           processes=32))  # fmt: skip
    if request.param == "fallback":
        j.sandbox.namespaces = False
    elif not j.sandbox.namespaces:
        pytest.skip("unshare is not available here: only the fallback runs")
    return j


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


def test_huge_allocation_is_a_memory_error(judge):
    v = judged_then_clean(judge, "x = bytearray(10 * 1024 ** 3)\nprint(len(x))")
    assert v.status == "memory"


def test_huge_file_is_cut_off(judge, tmp_path):
    v = judged_then_clean(judge, "with open('big.bin', 'wb') as f:\n    for _ in range(1000):\n"
                                 "        f.write(b'x' * 1024 * 1024)")  # fmt: skip
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
    if not judge.sandbox.namespaces:
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
