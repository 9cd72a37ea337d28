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


# A wrong `add` that tries every way to pass a test it cannot compute: the harness's token from its frames, then from
# its parent's stdin and stdout through /proc; an object equal to everything; printing the token and leaving early.
FAKER = """
import json, os, sys

class Anything:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __lt__(self, other):
        return True
    __le__ = __gt__ = __ge__ = __lt__

def steal():
    frame = sys._getframe()
    while frame is not None:
        g = frame.f_globals
        for name in ("token", "job"):
            v = g.get(name)
            if isinstance(v, str) and len(v) == 32:
                return v
            if isinstance(v, dict) and isinstance(v.get("token"), str):
                return v["token"]
        frame = frame.f_back
    for path in [f"/proc/{os.getppid()}/fd/0", *os.listdir(".")]:  # the parent's stdin, or a file that holds it
        try:
            return json.loads(open(path).readline())["token"]
        except Exception:
            continue
    return None

def add(a, b):
    token = steal()
    if token:
        for path in (f"/proc/{os.getppid()}/fd/1", "/dev/stdout", *os.listdir(".")):
            try:
                if path.startswith(".std") or path.startswith("/"):
                    with open(path + ".new", "w") if path.startswith(".") else open(path, "w") as out:
                        out.write("\\n" + token + "\\n")
                    if path.startswith("."):
                        os.replace(path + ".new", path)  # a file of the harness's, put back with the token
            except OSError:
                pass
        print("\\n" + token, flush=True)
        os._exit(0)
    return Anything()
"""

FAKED_LAYOUTS = {
    "a loop of asserts": ["for x in range(3):\n    assert add(x, 0) == x\n"],
    "check() with a loop": {
        "test": "def check(candidate):\n    for x in range(3):\n        assert candidate(x, 0) == x\n"
    }
    | {"entry_point": "add"},
    "MBPP, two asserts": ["assert set([add(1, 1)]) == set([2])", "assert add(2, 3) == 5"],
}


@pytest.mark.parametrize("layout", list(FAKED_LAYOUTS))
def test_tests_run_where_the_program_cannot_fake_them(judge, layout):
    """Before: every assert that is not `EXPR == VALUE` ran in the program's own process, and a program that read
    the harness's token from its frames (or returned an object equal to everything) was judged passed. Now the test
    runs in a process of its own that reaches the program only through plain data, and the same program fails every
    test; honest programs (printing as they go, returning tuples, sets and objects) still pass."""
    suite = parse_tests(FAKED_LAYOUTS[layout])
    faked = judge.judge_one(suite, fenced(FAKER))
    assert faked.status != "passed" and faked.passed == 0, faked
    honest = (
        "class Pair:\n    def __init__(self, a):\n        self.a = a\n\ndef add(a, b):\n    print('adding', a, b)\n"
    )
    honest += "    return Pair(a + b).a"
    assert judge.judge_one(suite, fenced(honest)).status == "passed"


def test_the_general_harness_keeps_python_semantics(judge):
    """Values cross as plain data with their types (tuples, sets, bytes, nested dicts), objects as references
    (methods, iteration, len, str), a list the program changes in place changes in the test, and an exception the
    program raises is the test's to catch."""
    program = """
class Stack:
    def __init__(self):
        self.items = []
    def push(self, x):
        self.items.append(x)
        return self
    def __len__(self):
        return len(self.items)
    def __iter__(self):
        return iter(self.items)
    def __str__(self):
        return "Stack" + str(self.items)

def pair(a):
    return (a, {a: [a, b"x"]}, {a})

def sort_in_place(xs):
    xs.sort()

def checked(x):
    if x < 0:
        raise ValueError("negative")
    return x

def squares(n):
    for i in range(n):
        yield i * i
"""
    test = """
s = Stack().push(1).push(2)
assert len(s) == 2 and list(s) == [1, 2] and str(s) == "Stack[1, 2]"
assert pair(3) == (3, {3: [3, b"x"]}, {3}) and isinstance(pair(3), tuple)
xs = [3, 1, 2]
sort_in_place(xs)
assert xs == [1, 2, 3]
try:
    checked(-1)
    raise SystemExit(1)
except ValueError:
    pass
assert list(squares(4)) == [0, 1, 4, 9]
"""
    assert judge.judge_one(parse_tests([test]), fenced(program)).status == "passed"
    assert judge.judge_one(parse_tests([test.replace("[1, 2, 3]", "[3, 2, 1]")]), fenced(program)).status == "failed"


def test_a_name_or_setup_with_the_harness_markers_runs_as_written(judge):
    """Before: the harness was made by replacing NAME, SETUP and MARK in its text, so a function called MARK_NAME or
    setup code holding SETUP_MARK changed the harness and a correct program was judged runtime_error."""
    program = fenced("def MARK_NAME_total(a, b):\n    return a + b + SETUP_MARK\n\nSETUP_MARK = 0")
    calls = parse_tests({"fn_name": "MARK_NAME_total", "inputs": [[1, 2]], "outputs": [[3]]})
    assert judge.judge_one(calls, program).status == "passed"
    rows = {"test_setup_code": "SETUP_MARK = 0  # NAME MARK"}
    asserts = parse_tests(["assert MARK_NAME_total(1, 2) == 3 + SETUP_MARK", "assert MARK_NAME_total(1, 1) == 2"], rows)
    assert judge.judge_one(asserts, program).status == "passed"


def test_values_of_a_plain_type_compare_as_values(judge):
    """Before: a Counter (a dict subclass), a dict with tuple keys and an IntEnum were "not plain data", so correct
    programs failed `assert f(x) == {...}` (real MBPP tasks 40, 88, 97). They are read through their base type: a
    value, never an object that chooses how it compares."""
    program = fenced(
        "from collections import Counter\nfrom enum import IntEnum\n\nclass Two(IntEnum):\n    TWO = 2\n\n"
        "def count(xs):\n    return Counter(xs)\n\ndef pairs(xs):\n    return {(x, x): x for x in xs}\n\n"
        "def two():\n    return Two.TWO"
    )
    suite = parse_tests(["assert count([1, 1, 2]) == {1: 2, 2: 1}", "assert pairs([3, 1]) == {(1, 1): 1, (3, 3): 3}"])
    assert judge.judge_one(suite, program).status == "passed"
    assert judge.judge_one(parse_tests(["assert two() == 2"]), program).status == "passed"
    wrong = parse_tests(["assert pairs([3, 1]) == {(1, 1): 1, (3, 3): 4}", "assert count([1]) == {1: 2}"])
    assert judge.judge_one(wrong, program, stop_on_failure=False).passed == 0
