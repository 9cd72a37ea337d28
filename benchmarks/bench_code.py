"""Code execution throughput: r1data's sandboxed judge with 1 and 2 workers, against bare `subprocess.run`
of the same programs, one after another, in the same process.

Workload: the demo's generated code problems (stdin/stdout, APPS, call-based and assert layouts), each
judged against its reference solution and against a wrong one, every test run (no early stop).
An execution is one program run on one test.

Usage: python benchmarks/bench_code.py [--problems 200]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path


def bare_stdio_runs(suites: list, codes: list[str], python: str) -> tuple[int, float]:
    """The baseline: each stdin/stdout test as a plain subprocess (no limits, no namespaces, no uid)."""
    from r1data.ops.code import STDIO, outputs_match

    runs, started = 0, time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for suite, code in zip(suites, codes, strict=True):
            if suite.kind != STDIO:
                continue
            path = Path(tmp) / "solution.py"
            path.write_text(code)
            for stdin, expected in suite.cases:
                out = subprocess.run([python, "-I", str(path)], input=stdin, capture_output=True, text=True, timeout=10)
                outputs_match(out.stdout, expected)
                runs += 1
    return runs, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=200)
    args = ap.parse_args()

    from r1data.demo import code_problems
    from r1data.judge.code import CodeJudge
    from r1data.judge.sandbox import isolation
    from r1data.ops.code import STDIO, extract_code, parse_tests

    rows = code_problems(args.problems, seed=7)
    suites = [parse_tests(r["tests"], r) for r in rows]
    right = [r["solution"] for r in rows]
    wrong = [rows[(i + 1) % len(rows)]["solution"] for i in range(len(rows))]  # another problem's solution
    completions, all_suites = right + wrong, suites + suites

    print("isolation on this machine:")
    for k, v in isolation().items():
        print(f"  {k}: {v}")
    stdio = [i for i, s in enumerate(all_suites) if s.kind == STDIO]
    python = CodeJudge(workers=1).sandbox.python
    stdio_suites, stdio_codes = [all_suites[i] for i in stdio], [completions[i] for i in stdio]
    bare_runs, bare_s = bare_stdio_runs(stdio_suites, [extract_code(c) for c in stdio_codes], python)
    bare = bare_runs / bare_s
    print(f"bare subprocess.run ({python}), sequential, stdin/stdout tests: {bare:.1f} executions/s")
    started = time.perf_counter()
    runs = sum(len(v.details) for v in CodeJudge(workers=1).verify(stdio_suites, stdio_codes))
    sandboxed = runs / (time.perf_counter() - started)
    print(f"r1data sandbox, 1 worker, the same tests: {sandboxed:.1f} executions/s (ratio {sandboxed / bare:.2f})")

    started = time.perf_counter()
    old = CodeJudge(workers=1, isolated=False)  # the previous sandbox: unshare --net --pid per run
    runs = sum(len(v.details) for v in old.verify(stdio_suites, stdio_codes))
    before = runs / (time.perf_counter() - started)
    old.close()
    print(
        f"previous sandbox (unshare per run, no private file system), 1 worker: {before:.1f} executions/s "
        f"(ratio {before / bare:.2f}); isolated / previous: {sandboxed / before:.2f}"
    )

    results = {}
    for workers in (1, 2):
        judge = CodeJudge(workers=workers)
        started = time.perf_counter()
        verdicts = judge.verify(all_suites, completions, stop_on_failure=False)
        seconds = time.perf_counter() - started
        runs = sum(len(v.details) for v in verdicts)
        results[workers] = runs / seconds
        passed = sum(v.status == "passed" for v in verdicts[: len(rows)])
        failed = sum(v.status != "passed" for v in verdicts[len(rows) :])
        print(
            f"r1data sandbox, {workers} worker(s): {runs} executions in {seconds:.1f} s = {results[workers]:.1f}/s "
            f"(reference solutions passed {passed}/{len(rows)}, wrong ones failed {failed}/{len(rows)})"
        )
        judge.close()
    print(f"ratio 2 workers / 1 worker: {results[2] / results[1]:.2f}")


if __name__ == "__main__":
    main()
