"""Precision and recall of `r1data tag`'s rules per tag, against hand-labelled problems.

Two sets: the hand-labelled sample of real MATH and GSM8K problems (tests/data/problem_tags_labels.jsonl: keys and
tags only, the text is read from the shared data; 754 problems in three batches, the last held out until the rules
were written), and problems written in the styles of the sets that carry the types MATH and GSM8K lack
(tests/ops/tag_cases.py: proofs, multi-part, yes/no, code). Then the tag counts and speed on all 21,292 shared
problems.

Usage: python benchmarks/bench_tags.py
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus import DATA  # noqa: E402

from r1data.io import read_inputs  # noqa: E402
from r1data.ops.tags import TAGS, tag  # noqa: E402
from tests.ops.tag_cases import CASES, labelled_real  # noqa: E402


def table(title: str, items: list[tuple[set[str], set[str]]]) -> None:
    """items: (labelled tags, tagger's tags) per problem."""
    print(f"\n{title}: {len(items)} problems")
    print(f"  {'tag':16} {'labelled':>8} {'tagged':>7} {'precision':>9} {'recall':>7}")
    for t in TAGS:
        tp = sum(t in want and t in got for want, got in items)
        labelled = sum(t in want for want, _ in items)
        tagged = sum(t in got for _, got in items)
        precision = f"{tp / tagged:.3f}" if tagged else "-"
        recall = f"{tp / labelled:.3f}" if labelled else "-"
        print(f"  {t:16} {labelled:8} {tagged:7} {precision:>9} {recall:>7}")
    exact = sum(want == got for want, got in items)
    print(f"  all tags exactly right: {exact}/{len(items)}")


def main() -> None:
    real = labelled_real(DATA)
    for batch in sorted({b for *_, b in real}):
        table(f"real, {batch}", [(want, set(tag(p, g))) for _, p, g, want, b in real if b == batch])
    table("real, all batches", [(want, set(tag(p, g))) for _, p, g, want, _ in real])
    table("written in the public sets' styles", [(want, set(tag(p, g, t))) for p, g, t, want in CASES])

    rows = read_inputs([DATA / f"{n}.jsonl" for n in ("math_train", "math_test", "gsm8k_train", "gsm8k_test")])
    problems = rows.records.get_column("problem").to_list()
    golds = rows.records.get_column("answer").to_list()
    start = time.perf_counter()
    counts = Counter(t for p, g in zip(problems, golds, strict=True) for t in tag(p, g))
    seconds = time.perf_counter() - start
    print(f"\nall {len(problems):,} shared problems: " + ", ".join(f"{t} {counts[t]}" for t in TAGS))
    print(f"speed: {len(problems) / seconds:,.0f} problems/s ({seconds:.2f} s, one core)")


if __name__ == "__main__":
    main()
