"""The code judge: run each completion's program against its problem's tests, in the sandbox, in parallel.

Same discipline as the math judge: a bounded pool (threads that each drive one sandboxed process at a
time, so `workers` programs run at once), a hard wall-clock limit per run, and a verdict for every
item however the program misbehaves. A completion's tests run in order in one throwaway folder, each
in a fresh process; with `stop_on_failure` (pass/fail only) the first failing test ends it, and a
timeout always ends it (a program that loops on one input rarely finishes the next).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from r1data.judge import harness
from r1data.judge.harness import MARK
from r1data.judge.sandbox import Limits, RunResult, Sandbox, Session, available_languages
from r1data.judge.verdict import (
    FAILED,
    MEMORY,
    NO_CODE,
    PASSED,
    RUNTIME_ERROR,
    SANDBOX_ERROR,
    TIMEOUT,
    CodeVerdict,
)
from r1data.ops.code import (
    ASSERT,
    CALL,
    STDIO,
    TestSuite,
    extract_code,
    outputs_match,
    outside_check,
    plain_value,
    values_match,
)


def _failure(run: RunResult, asserts: bool = False) -> tuple[str, str] | None:
    """(status, detail) when a run did not finish normally, else None."""
    import signal

    err_tail = run.stderr.strip().splitlines()[-1][:200] if run.stderr.strip() else ""
    if run.error:
        return SANDBOX_ERROR, run.error
    if run.timed_out or run.signal == signal.SIGXCPU:
        return TIMEOUT, "time limit"
    if "MemoryError" in run.stderr or "bad_alloc" in run.stderr or (run.signal == signal.SIGKILL):
        return MEMORY, "memory limit"
    if run.signal == signal.SIGXFSZ or "File too large" in run.stderr:  # Python ignores SIGXFSZ: EFBIG
        return RUNTIME_ERROR, "file size limit"
    if run.output_truncated:
        return RUNTIME_ERROR, "output limit"
    if run.signal is not None:
        return RUNTIME_ERROR, f"killed by signal {run.signal}"
    if run.exit_code not in (0, None) and not (asserts and run.exit_code == 1 and "AssertionError" in err_tail):
        if run.exit_code == 97 and "r1data: no function" in run.stderr:
            return FAILED, err_tail
        return RUNTIME_ERROR, err_tail or f"exit code {run.exit_code}"
    return None


class CodeJudge:
    """Judges (tests, completion) pairs; `verify` keeps the input order."""

    def __init__(
        self,
        workers: int | None = None,
        limits: Limits | None = None,
        block: str = "last",
        isolated: bool | None = None,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.limits = limits or Limits()
        self.block = block
        self.sandbox = Sandbox(self.limits, self.workers, isolated)
        self.languages = available_languages()

    def close(self) -> None:
        self.sandbox.close()

    def verify(
        self,
        tests: Sequence[TestSuite | None],
        completions: Sequence[Any],
        stop_on_failure: bool = False,
        think_prefilled: bool = False,
        language: str = "python",
        think_format: str = "auto",
    ) -> list[CodeVerdict]:
        if len(tests) != len(completions):
            raise ValueError(f"{len(tests)} test suites for {len(completions)} completions")
        items = list(zip(tests, completions, strict=True))
        if not items:
            return []

        from r1data import progress

        report = progress.current()

        def one(item: tuple) -> CodeVerdict:
            verdict = self.judge_one(item[0], item[1], stop_on_failure, think_prefilled, language, think_format)
            report.count(judged=1)
            return verdict

        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(one, items))

    def judge_one(
        self,
        suite: TestSuite | None,
        completion: Any,
        stop_on_failure: bool = False,
        think_prefilled: bool = False,
        language: str = "python",
        think_format: str = "auto",
    ) -> CodeVerdict:
        started = time.perf_counter()
        if suite is None or not suite.cases:
            return CodeVerdict(SANDBOX_ERROR, detail="the problem has no readable tests")
        language = suite.language or language
        source = extract_code(completion, language, think_prefilled, self.block, think_format)
        if source is None:
            return CodeVerdict(NO_CODE, 0, len(suite.cases), 0, f"no ```{language} block after the reasoning")
        if language not in self.languages:
            return CodeVerdict(SANDBOX_ERROR, 0, len(suite.cases), detail=f"no {language} toolchain on this machine")
        if language != "python" and suite.kind != STDIO:
            return CodeVerdict(SANDBOX_ERROR, 0, len(suite.cases), detail=f"{suite.kind} tests run Python only")
        try:
            with self.sandbox.session() as session:
                verdict = self._run_suite(session, suite, language, source, stop_on_failure)
        except OSError as exc:
            verdict = CodeVerdict(SANDBOX_ERROR, 0, len(suite.cases), detail=f"sandbox: {exc}")
        verdict.seconds = round(time.perf_counter() - started, 4)
        return verdict

    def _argv(self, session: Session, suite: TestSuite, language: str, source: str) -> list[str] | CodeVerdict:
        """Write the program (compiling it if needed) and return how to run it."""
        py = self.sandbox.python
        if language == "python":
            session.write("solution.py", source)
            if suite.kind == CALL:
                session.write("harness.py", harness.CALL)
                return [py, "-I", "harness.py"]
            if suite.kind == ASSERT:
                session.write("harness.py", harness.EXPR)
                return [py, "-I", "harness.py"]
            return [py, "-I", "solution.py"]
        ext, compiler = {"cpp": ("cpp", "g++"), "c": ("c", "gcc")}[language]
        session.write(f"solution.{ext}", source)
        flags = ["-O2", "-std=c++17"] if language == "cpp" else ["-O2"]
        built = session.run([compiler, *flags, "-o", "prog", f"solution.{ext}"], wall_seconds=60.0, collect=("prog",))
        if built.error:
            return CodeVerdict(SANDBOX_ERROR, 0, len(suite.cases), detail=built.error)
        if built.exit_code != 0 or "prog" not in built.collected:
            lines = built.stderr.strip().splitlines()
            first = next((ln for ln in lines if "error" in ln), lines[-1] if lines else "no program was built")
            return CodeVerdict(FAILED, 0, len(suite.cases), 0, f"compile error: {first[:200]}")
        session.write("prog", built.collected["prog"], 0o755)  # each execution starts from these files only
        return ["./prog"]

    def _run_suite(
        self, session: Session, suite: TestSuite, language: str, source: str, stop_on_failure: bool
    ) -> CodeVerdict:
        argv = self._argv(session, suite, language, source)
        if isinstance(argv, CodeVerdict):
            return argv
        total, passed = len(suite.cases), 0
        first_fail: tuple[str, int, str] | None = None
        details = []
        for i, case in enumerate(suite.cases):
            status, detail = self._run_case(session, suite, argv, case)
            details.append({"test": i, "status": status, "detail": detail})
            if status == PASSED:
                passed += 1
                continue
            if status == SANDBOX_ERROR:
                return CodeVerdict(SANDBOX_ERROR, passed, total, i, detail, details=details)
            if first_fail is None:
                first_fail = (status, i, detail)
            if stop_on_failure or status == TIMEOUT:
                break
        if first_fail is None:
            return CodeVerdict(PASSED, passed, total, details=details)
        status, index, detail = first_fail
        return CodeVerdict(status, passed, total, index, detail, details=details)

    def _run_case(self, session: Session, suite: TestSuite, argv: list[str], case: Any) -> tuple[str, str]:
        if suite.kind == STDIO:
            stdin, expected = case
            run = session.run(argv, stdin)
            bad = _failure(run)
            if bad:
                return bad
            return (PASSED, "") if outputs_match(run.stdout, expected) else (FAILED, "wrong output")
        if suite.kind == CALL:
            args, expected = case
            run = session.run(argv, json.dumps({"name": suite.fn_name, "args": args}) + "\n")
            return self._compare(run, expected, 1e-6)
        check = outside_check(case)
        if check is not None:
            prelude, expr, expected, tolerance = check
            run = session.run(argv, json.dumps({"setup": suite.setup, "prelude": prelude, "expr": expr}) + "\n")
            return self._compare(run, expected, tolerance, asserts=True)
        # Any other assert: the test runs in a process of its own, the program in another (judge/harness.py). Both
        # files are written again for every test: a program cannot leave a changed harness for the next one.
        token = secrets.token_hex(16)
        session.write("test_side.py", harness.TEST_SIDE)
        session.write("program_side.py", harness.PROGRAM_SIDE)
        job = {"token": token, "setup": suite.setup, "case": case}
        run = session.run([*argv[:-1], "test_side.py"], json.dumps(job) + "\n")
        bad = _failure(run, asserts=True)
        if bad:
            return bad
        if run.exit_code == 1:
            return FAILED, "assertion failed"
        lines = [ln for ln in run.stdout.splitlines() if ln.strip()]
        return (PASSED, "") if lines and lines[-1] == token else (FAILED, "the test did not finish")

    @staticmethod
    def _compare(run: RunResult, expected: Any, tolerance: float, asserts: bool = False) -> tuple[str, str]:
        """A value the program printed after MARK against the expected one, here, outside its process."""
        if "r1data: the value is not plain data" in run.stderr and not run.timed_out:  # an object posing as a value
            return FAILED, run.stderr.strip().splitlines()[-1][:200]
        bad = _failure(run, asserts)
        if bad:
            return bad
        lines = [ln for ln in run.stdout.split("\n") if ln.startswith(MARK)]  # not splitlines: MARK holds \x1e
        if not lines:
            return FAILED, "no return value"
        try:
            got = json.loads(lines[-1][len(MARK) :])
        except json.JSONDecodeError:
            return FAILED, "return value is not JSON-serialisable"
        ok = values_match(got, plain_value(expected), tolerance)
        return (PASSED, "") if ok else (FAILED, "wrong return value")
