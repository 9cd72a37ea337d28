"""Paraphrase decontamination (`decontaminate --paraphrase`) on real data, in one process.

1. Catch rate: every GSM8K test problem rewritten by a rule-based rephraser (synonyms, numbers in words,
   the question moved to the front, clauses reordered), planted as training rows with their answers, against
   GSM8K test as the benchmark; and the same without answers. The default n-gram test is the baseline.
2. False flags: GSM8K train against GSM8K test and MATH train against MATH-500 (clean rows, as far as anyone
   knows), with and without gold answers.
3. Time of the whole step with and without --paraphrase.

The rephraser is cruder than an LLM in its wording and kinder in its quantities; hand-written LLM-style
rephrasings are in tests/ops/test_paraphrase.py.

Usage: python benchmarks/bench_decontaminate.py
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DATA  # noqa: E402

from r1data.ops.answers import extract_answer  # noqa: E402
from r1data.ops.paraphrase import find_paraphrases  # noqa: E402

SYNONYMS = {
    "buys": "purchases",
    "bought": "purchased",
    "has": "owns",
    "gives": "hands over",
    "gave": "handed over",
    "each": "every",
    "total": "overall",
    "needs": "requires",
    "wants": "would like",
    "makes": "produces",
    "earns": "gets paid",
    "spends": "pays out",
    "costs": "is priced at",
    "sells": "offers for sale",
    "uses": "goes through",
    "works": "puts in work",
    "starts": "begins",
    "finds": "discovers",
    "picks": "collects",
    "travels": "goes",
    "eats": "consumes",
    "takes": "needs",
}
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]


def rephrase(text: str, rng: random.Random) -> str:
    """A rewording that keeps every quantity: synonyms, small numbers in words, the question first."""
    for a, b in SYNONYMS.items():
        if rng.random() < 0.7:
            text = re.sub(rf"\b{a}\b", b, text)
    text = re.sub(
        r"\b([0-9]|1[0-2])\b(?![.,]\d)", lambda m: WORDS[int(m.group())] if rng.random() < 0.5 else m.group(), text
    )
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]
    if len(sentences) > 2 and sentences[-1].endswith("?"):
        question, facts = sentences[-1], sentences[:-1]
        if rng.random() < 0.5:
            facts = facts[1:] + facts[:1]
        head = question.rstrip("?")
        text = (
            f"{head}, given the following? " + " ".join(facts)
            if rng.random() < 0.5
            else " ".join(facts) + " " + question
        )
    return text


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text().splitlines()]


def main() -> None:
    rng = random.Random(0)
    test, train = load("gsm8k_test"), load("gsm8k_train")
    items = [r["question"] for r in test]
    item_answers = [extract_answer(r["answer"]) for r in test]
    copies = [rephrase(q, rng) for q in items]
    print(f"# 1. catch rate: {len(copies):,} rule-based rephrasings of GSM8K test problems")
    for answers in (True, False):
        t = time.perf_counter()
        found = find_paraphrases(copies, items, item_answers if answers else None, item_answers if answers else None)
        caught = sum(1 for m in found if m.item == m.row)
        print(
            f"with answers={answers}: caught {caught:,}/{len(copies):,} ({caught / len(copies):.1%}) "
            f"in {time.perf_counter() - t:.1f} s"
        )
    import polars as pl

    from r1data.ops.decontaminate import Benchmark, DecontamParams, decontaminate

    df = pl.DataFrame(
        {
            "id": [str(i) for i in range(len(copies))],
            "problem": copies,
            "answer": item_answers,
            "solution": [None] * len(copies),
            "source": ["copies"] * len(copies),
        },
        schema_overrides={"solution": pl.String},
    )
    bench = Benchmark("gsm8k_test", items, [str(i) for i in range(len(items))], item_answers)
    base = decontaminate(df, [bench], DecontamParams())
    print(
        f"baseline, the default 8-gram test: caught {base.removed.height:,}/{len(copies):,} "
        f"({base.removed.height / len(copies):.1%})"
    )

    print("\n# 2. false flags on clean training rows")
    math_train, math500 = load("math_train"), load("math500_test")
    pairs = [
        (
            "GSM8K train vs GSM8K test",
            [r["question"] for r in train],
            [extract_answer(r["answer"]) for r in train],
            items,
            item_answers,
        ),
        (
            "MATH train vs MATH-500",
            [r["problem"] for r in math_train],
            [extract_answer(r["solution"]) for r in math_train],
            [r["problem"] for r in math500],
            [r["answer"] for r in math500],
        ),
    ]
    for label, rows, row_answers, bench_items, bench_answers in pairs:
        for answers in (True, False):
            found = find_paraphrases(
                rows, bench_items, row_answers if answers else None, bench_answers if answers else None
            )
            print(
                f"{label}, with answers={answers}: flagged {len(found):,}/{len(rows):,} ({len(found) / len(rows):.2%})"
            )

    print("\n# 3. the whole step: GSM8K train + the rephrasings against GSM8K test")
    train_df = pl.DataFrame(
        {
            "id": [f"t{i}" for i in range(len(train))],
            "problem": [r["question"] for r in train],
            "answer": [extract_answer(r["answer"]) for r in train],
            "solution": [None] * len(train),
            "source": ["train"] * len(train),
        },
        schema_overrides={"solution": pl.String},
    )
    both = pl.concat([train_df, df])
    for paraphrase in (False, True):
        t = time.perf_counter()
        r = decontaminate(both, [bench], DecontamParams(paraphrase=paraphrase))
        print(
            f"paraphrase={paraphrase}: {both.height:,} rows in {time.perf_counter() - t:.2f} s, "
            f"removed {r.removed.height:,} ({r.stats['matched_by']})"
        )


if __name__ == "__main__":
    main()
