"""Paraphrase decontamination (`decontaminate --paraphrase`) on real data, in one process.

1. Catch rate: every GSM8K test problem rewritten by a rule-based rephraser (synonyms, numbers in words,
   the question moved to the front, clauses reordered), planted as training rows with their answers, against
   GSM8K test as the benchmark; and the same without answers. The default n-gram test is the baseline.
2. False flags: GSM8K train against GSM8K test and MATH train against MATH-500 (clean rows, as far as anyone
   knows), with and without gold answers.
3. Time of the whole step with and without --paraphrase.

The rephraser is cruder than an LLM in its wording and kinder in its quantities; hand-written LLM-style
rephrasings are in tests/ops/test_paraphrase.py.

With --semantic, one run compares the n-gram test, --paraphrase and --semantic (and both) on rephrasings of real
benchmark problems without their answers (the rule-based ones of every GSM8K test problem, and 200 + 200 written by
a model, benchmarks/data/rephrasings/) and on clean real rows (GSM8K train vs test, MATH train vs MATH-500, with and
without gold answers), and prints the embedding throughput on this machine.

Usage: python benchmarks/bench_decontaminate.py [--semantic [--embed-model PATH]]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import CachedEmbed, load, rephrasings  # noqa: E402

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


def frame(texts: list[str], answers: list[str | None] | None, tag: str):
    import polars as pl

    return pl.DataFrame(
        {
            "id": [f"{tag}{i}" for i in range(len(texts))],
            "problem": texts,
            "answer": answers if answers is not None else [None] * len(texts),
            "solution": [None] * len(texts),
            "source": [tag] * len(texts),
        },
        schema_overrides={"solution": pl.String, "answer": pl.String},
    )


METHODS = (
    ("n-gram (default)", False, False),
    ("--paraphrase", True, False),
    ("--semantic", False, True),
    ("--paraphrase --semantic", True, True),
)


def run_method(df, bench, paraphrase: bool, semantic: bool, embed, equivalent):
    """The rows decontaminate removes with these flags (the whole op, as the command runs it)."""
    from r1data.ops.decontaminate import DecontamParams, decontaminate, semantic_pass
    from r1data.ops.semantic import SemanticParams

    result = decontaminate(df, [bench], DecontamParams(paraphrase=paraphrase), equivalent)
    if semantic:
        result = semantic_pass(result, [bench], SemanticParams(), embed, equivalent)
    return result


def semantic_study(embed_model: str | None) -> None:
    """One run: caught share on rephrasings without answers and false flags on clean real rows, per method."""
    from r1data.embed import load_embedder
    from r1data.judge import Judge, answers_equivalent
    from r1data.ops.decontaminate import Benchmark

    rng = random.Random(0)
    gsm_test, gsm_train = load("gsm8k_test"), load("gsm8k_train")
    math500, math_train = load("math500_test"), load("math_train")
    gsm_items = [r["question"] for r in gsm_test]
    gsm_answers = [extract_answer(r["answer"]) for r in gsm_test]
    math_items = [r["problem"] for r in math500]
    math_answers = [r["answer"] for r in math500]
    benches = {
        "gsm8k": Benchmark("gsm8k_test", gsm_items, [f"item{i}" for i in range(len(gsm_items))], gsm_answers),
        "math": Benchmark("math500", math_items, [f"item{i}" for i in range(len(math_items))], math_answers),
    }
    leak_sets = [  # (label, benchmark, texts, item per text)
        (
            "GSM8K test, rule-based rephrasings",
            "gsm8k",
            [rephrase(q, rng) for q in gsm_items],
            list(range(len(gsm_items))),
        ),
    ]
    for name, key in (("gsm8k_test", "gsm8k"), ("math500_test", "math")):
        rows = rephrasings(name)
        leak_sets.append(
            (f"{name}, model-written rephrasings", key, [r["text"] for r in rows], [r["item"] for r in rows])
        )
    clean = [
        (
            "GSM8K train vs GSM8K test",
            "gsm8k",
            [r["question"] for r in gsm_train],
            [extract_answer(r["answer"]) for r in gsm_train],
        ),
        (
            "MATH train vs MATH-500",
            "math",
            [r["problem"] for r in math_train],
            [extract_answer(r["solution"]) for r in math_train],
        ),
    ]
    t0 = time.perf_counter()
    embedder = load_embedder(embed_model)
    print(
        f"# embedding model: {embedder.name} ({embedder.kind}, {embedder.dim} dimensions), loaded in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    embed = CachedEmbed(embedder)
    table: list[tuple[str, str, str]] = []
    styles: dict[str, dict[str, list[bool]]] = {}
    with Judge(workers=2) as judge:
        equivalent = answers_equivalent(judge)
        for label, key, texts, items in leak_sets:
            df = frame(texts, None, "leak")
            for method, paraphrase, semantic in METHODS:
                t = time.perf_counter()
                removed = run_method(df, benches[key], paraphrase, semantic, embed, equivalent).removed
                own = {
                    int(i): it
                    for i, it in zip(
                        removed.get_column("id").str.slice(4).to_list(),
                        removed.get_column("contaminated_item").to_list(),
                        strict=True,
                    )
                }
                caught = [own.get(i) == f"item{items[i]}" for i in range(len(texts))]
                table.append((label, method, f"caught {sum(caught):,}/{len(texts):,} ({sum(caught) / len(texts):.1%})"))
                if semantic and not paraphrase and "model-written" in label:
                    for row, ok in zip(
                        rephrasings("gsm8k_test" if key == "gsm8k" else "math500_test"), caught, strict=True
                    ):
                        styles.setdefault(label, {}).setdefault(row["style"], []).append(ok)
                print(f"  {label} | {method}: {table[-1][2]} in {time.perf_counter() - t:.1f} s", flush=True)
        for label, key, texts, answers in clean:
            for with_answers in (False, True):
                df = frame(texts, answers if with_answers else None, "clean")
                for method, paraphrase, semantic in METHODS:
                    n = run_method(df, benches[key], paraphrase, semantic, embed, equivalent).removed.height
                    tag = f"{label}, {'with' if with_answers else 'without'} answers"
                    table.append((tag, method, f"flagged {n:,}/{len(texts):,} ({n / len(texts):.2%})"))
                    print(f"  {tag} | {method}: {table[-1][2]}", flush=True)
    print("\n# caught share (rephrasings, no answers) and false flags (clean rows), per method")
    width = max(len(r[0]) for r in table)
    for label, method, figure in table:
        print(f"{label:<{width}} | {method:<24} | {figure}")
    print("\n# --semantic on the model-written rephrasings, by style (caught share)")
    for label, by_style in styles.items():
        print(label + ": " + ", ".join(f"{st} {sum(v)}/{len(v)}" for st, v in sorted(by_style.items())))
    print(
        f"\n# throughput: {embedder.rows:,} distinct texts embedded in {embedder.seconds:.1f} s = "
        f"{embed.rate:.1f} rows/s on {os.cpu_count()} cores ({embedder.name})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--semantic", action="store_true", help="only the n-gram / --paraphrase / --semantic comparison")
    ap.add_argument("--embed-model", default=None, help="a local sentence-transformers or model2vec folder")
    args = ap.parse_args()
    if args.semantic:
        semantic_study(args.embed_model)
        return
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
