"""Sequential math-verify against r1data's judge pool, on the same 5,000+ real pairs, in one process.

Pairs: MATH test solutions as completions against their own gold answers (should be correct) and
against another problem's gold (shuffled: should be incorrect). The baseline is the loop people
write: parse(gold), parse(prediction), verify, with math-verify's default (signal) timeouts. r1data
runs the same checks in its pool (2 workers, hard per-item timeout, gold parsed once per worker).

`--adjudicated` instead judges the adjudicated set of long chain-of-thought traces (tests/judge/adjudicated.py:
605 traces in 17 model styles, multiple choice, answers written around their number, garbled golds) with the
strict judge and with plain math-verify, and prints each one's agreement with the adjudication.

Default run: the whole `r1data verify` process (a fresh `python -m r1data verify`, start-up and publishing
included) against sequential math-verify in this process, on (a) GSM8K train's 7,473 golds with short answers
("The answer is $\\boxed{18}$.", every other one wrong), (b) 3,000+ long chain-of-thought completions (the real
Open-Reasoner-Zero traces under $R1DATA_REAL_FILES/long when present, else MATH train solutions as the thought),
the real judge corpus (under $R1DATA_REAL_FILES/judge) when present, and (c) the
time for 10 rows, with the interpreter's and r1data's import time beside it. `--pool` measures the judge pool
alone on MATH pairs (the earlier figure).

Usage: python benchmarks/bench_verify.py [--pool [--pairs 5000]] [--workers 2] [--timeout 5] [--adjudicated]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DATA  # noqa: E402

from r1data.io import read_inputs  # noqa: E402
from r1data.judge import Judge  # noqa: E402
from r1data.ops.completions import final_answer_text, gold_text  # noqa: E402


def pairs(n: int, seed: int = 0) -> list[tuple[str, str, bool]]:
    rows = read_inputs([DATA / "math_test.jsonl", DATA / "math_train.jsonl"]).records
    golds, sols = rows.get_column("answer").to_list(), rows.get_column("solution").to_list()
    rng = random.Random(seed)
    idx = rng.sample(range(len(golds)), n // 2)
    out = [(golds[i], sols[i], True) for i in idx]
    shuffled = idx[1:] + idx[:1]
    out += [(golds[j], sols[i], False) for i, j in zip(idx, shuffled, strict=True)]
    rng.shuffle(out)
    return out


def sequential(items: list[tuple[str, str, bool]]) -> tuple[list[bool], float]:
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    results, slowest = [], 0.0
    for gold, completion, _ in items:
        t = time.perf_counter()
        results.append(bool(verify(parse(gold_text(gold)), parse(final_answer_text(completion)))))
        slowest = max(slowest, time.perf_counter() - t)
    return results, slowest


def adjudicated(workers: int | None) -> None:
    from collections import Counter

    from math_verify import parse, verify

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.judge.adjudicated import agrees, cases

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    items = cases()
    print(
        f"{len(items)} adjudicated traces: " + ", ".join(f"{k} {n}" for k, n in Counter(c.truth for c in items).items())
    )
    plain = [
        "correct" if verify(parse(gold_text(c.gold)), parse(final_answer_text(c.completion))) else "incorrect"
        for c in items
    ]
    with Judge(workers=workers) as judge:
        verdicts = judge.verify(
            [c.gold for c in items],
            [c.completion for c in items],
            problems=[c.problem for c in items],
            truncated=[c.finish_reason == "length" for c in items],
        )
    for name, statuses in (("math-verify alone", plain), ("r1data judge (strict)", [v.status for v in verdicts])):
        wrong = Counter(c.style for c, s in zip(items, statuses, strict=True) if not agrees(s, c.truth))
        print(
            f"{name:24} agreement {1 - sum(wrong.values()) / len(items):.4f}"
            + (f"  (misses: {', '.join(f'{k} {n}' for k, n in wrong.most_common(6))})" if wrong else "")
        )


def _write(path: Path, rows: list[dict]) -> Path:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def short_answers() -> list[dict]:
    import json

    from r1data.ops.answers import extract_answer

    golds = [
        extract_answer(json.loads(line)["answer"]) for line in (DATA / "gsm8k_train.jsonl").read_text().splitlines()
    ]
    rows = []
    for i, gold in enumerate(golds):
        said = gold if i % 2 == 0 else golds[(i + 7) % len(golds)]
        completion = f"The answer is $\\boxed{{{said}}}$."
        rows.append({"problem": f"GSM8K train {i}", "answer": gold, "completion": completion})
    return rows


def real_corpus() -> list[dict]:
    """The real judge corpus's completions (benchmarks/judge_corpus.py), where it is present."""
    import json

    real = Path(os.environ.get("R1DATA_REAL_FILES", "")) / "judge"
    if not os.environ.get("R1DATA_REAL_FILES") or not real.is_dir():
        return []
    rows = [
        json.loads(line)
        for f in sorted(real.glob("*.jsonl"))
        if not f.name.startswith((".", "read_"))
        for line in f.read_text().splitlines()
    ]
    return [{"problem": r["problem"], "answer": r["gold"], "completion": r["completion"]} for r in rows]


def real_traces() -> list[dict]:
    """Real R1-Zero-style traces (Open-Reasoner-Zero 7B on MATH-500 and AIME 2024, benchmarks/judge_corpus.py LONG),
    where $R1DATA_REAL_FILES/long holds them."""
    import json

    real = Path(os.environ.get("R1DATA_REAL_FILES", "")) / "long"
    if not os.environ.get("R1DATA_REAL_FILES") or not real.is_dir():
        return []
    rows = [json.loads(line) for f in sorted(real.glob("*.jsonl")) for line in f.read_text().splitlines()]
    return [{"problem": r["problem"], "answer": r["gold"], "completion": r["completion"]} for r in rows]


def long_cot(n: int = 3200) -> tuple[list[dict], str]:
    if len(traces := real_traces()) >= 3000:
        chars = sum(len(r["completion"]) for r in traces) // len(traces)
        return traces, f"real Open-Reasoner-Zero 7B traces, MATH-500 and AIME 2024, {chars:,} characters on average"
    recs = read_inputs([DATA / "math_train.jsonl"]).records.head(n)
    end = "The final answer is $\\boxed{{{}}}$."
    found = recs.select("problem", "answer", "solution").rows()
    rows = [
        {
            "problem": p,
            "answer": a,
            "completion": f"<think>\n{s}\n</think>\n\n"
            + end.format(a if i % 2 == 0 else found[(i + 7) % len(found)][1]),
        }
        for i, (p, a, s) in enumerate(found)
    ]
    return rows, "MATH train solutions as the thought, every other final answer another problem's"


def process(rows: list[dict], folder: Path, name: str, workers: int | None) -> float:
    """Seconds for the whole `r1data verify` process on rows."""
    import subprocess

    src = _write(folder / f"{name}.jsonl", rows)
    cmd = [
        sys.executable,
        "-m",
        "r1data",
        "verify",
        str(src),
        "-o",
        str(folder / f"{name}-out"),
        "--checks",
        "accuracy",
        "-q",
        "--overwrite",
    ] + (["--workers", str(workers)] if workers else [])
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def sequential_rows(rows: list[dict]) -> float:
    """The loop people write: verify(parse(gold), parse(completion)), math-verify's defaults (bare golds boxed, as
    math-verify's own examples do, so that they parse whole)."""
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    t = time.perf_counter()
    for r in rows:
        verify(parse(gold_text(r["answer"])), parse(r["completion"]))
    return time.perf_counter() - t


def whole_process(workers: int | None) -> None:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs = [
            ("short answers (GSM8K train)", short_answers()),
            *[(f"long CoT ({src})", rows) for rows, src in [long_cot()]],
        ]
        if real := real_corpus():
            runs.append(("the real judge corpus (long CoT, multiple choice, tags, words)", real))
        for label, rows in runs:
            ours = process(rows, folder, "bench", workers)
            seq = sequential_rows(rows)
            print(
                f"{label}: {len(rows):,} completions; r1data verify (whole process) {ours:.1f} s, sequential "
                f"math-verify {seq:.1f} s: x{seq / ours:.2f}"
            )
        ten = short_answers()[:10]
        process(ten, folder, "warm", workers)  # the page cache warm, as a second run is
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import r1data.cli, polars, pyarrow"], check=True)
        imports = time.perf_counter() - t
        took = process(ten, folder, "ten", workers)
        print(
            f"10 rows: {took:.2f} s for the whole process, of which {imports:.2f} s start the interpreter and "
            f"import r1data: {took - imports:.2f} s after the first import"
        )


def real(workers: int | None) -> None:
    """Each grader's agreement with the labels of the real judge corpus (benchmarks/judge_corpus.py)."""
    import json
    from collections import Counter

    import judge_corpus

    rows = judge_corpus.load()
    labels = {x["id"]: x for x in map(json.loads, judge_corpus.LABELS.read_text().splitlines())}
    rows = [r for r in rows if r["id"] in labels and labels[r["id"]]["label"] != "unjudgeable"]
    graded = judge_corpus.grade(rows, workers)
    print(
        f"{len(rows):,} labelled completions, {len({r['family'] for r in rows})} model families, styles "
        + ", ".join(f"{k} {n}" for k, n in Counter(r["style"] for r in rows).most_common())
    )
    print(f"{'grader':28} {'agreement':>9} {'wrong':>6}  (of those it judged)")
    for name in judge_corpus.GRADERS:
        pairs = [(g[name], labels[g["id"]]["label"] == "correct") for g in graded]
        judged = [(v is True, truth) for v, truth in pairs if v is not None or name != "recorded"]
        wrong = sum(v != truth for v, truth in judged)
        print(f"{name:28} {1 - wrong / max(1, len(judged)):9.4f} {wrong:6}  ({len(judged):,})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=None, help="judge workers [default: the judge's, cores + 1]")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--adjudicated", action="store_true", help="agreement on the adjudicated set instead")
    ap.add_argument("--pool", action="store_true", help="the judge pool alone on MATH pairs")
    ap.add_argument("--real", action="store_true", help="each grader's agreement with the labelled real corpus")
    args = ap.parse_args()
    if args.adjudicated:
        return adjudicated(args.workers)
    if args.real:
        return real(args.workers)
    if not args.pool:
        return whole_process(args.workers)
    items = pairs(args.pairs)
    print(f"{len(items):,} pairs from MATH ({sum(e for *_, e in items):,} matching gold, the rest shuffled)")

    t = time.perf_counter()
    seq, slowest = sequential(items)
    seq_s = time.perf_counter() - t
    print(f"sequential math-verify: {len(items) / seq_s:8.1f} items/s  ({seq_s:.1f} s; slowest item {slowest:.2f} s)")

    with Judge(workers=args.workers, timeout=args.timeout) as judge:
        judge.verify(["1"] * judge.workers, ["\\boxed{1}"] * judge.workers)  # workers up
        t = time.perf_counter()
        verdicts = judge.verify([g for g, _, _ in items], [c for _, c, _ in items])
        pool_s = time.perf_counter() - t
    statuses: dict[str, int] = {}
    for v in verdicts:
        statuses[v.status] = statuses.get(v.status, 0) + 1
    slowest_pool = max((v.seconds for v in verdicts if v.seconds is not None), default=0.0)
    label = f"r1data judge, {judge.workers} workers on {os.cpu_count()} cores:"
    print(
        f"{label} {len(items) / pool_s:8.1f} items/s  ({pool_s:.1f} s; "
        f"slowest item {slowest_pool:.2f} s; timeouts {statuses.get('timeout', 0)}, each cut at "
        f"{args.timeout:.0f} s)"
    )
    print(f"ratio: x{seq_s / pool_s:.2f}")
    same = sum((v.status == "correct") == s for v, s in zip(verdicts, seq, strict=True))
    expected = sum((v.status == "correct") == e for v, (*_, e) in zip(verdicts, items, strict=True))
    print(f"agreement with the sequential loop: {same}/{len(items)}; with the pair labels: {expected}/{len(items)}")
    print("statuses: " + ", ".join(f"{k} {n}" for k, n in sorted(statuses.items())))


if __name__ == "__main__":
    main()
