"""Paraphrased benchmark copies, found without a model.

A rephrasing keeps a problem's quantities and its answer while the words change, so n-gram overlap misses it
(the default decontamination caught none of 1,315 LLM rephrasings of GSM8K test). Here a benchmark item is
indexed by the multiset of its numbers (digits, number words, "twice", "half"); a training row that contains
most of an item's numbers (at least two) is a candidate, rejected when both have gold answers that differ, and
confirmed when enough of the item's content words (stemmed, stop words and numbers left out) appear in it:
names, objects and verbs survive rewording. The threshold was chosen by measurement
(`python benchmarks/bench_decontaminate.py`); items with fewer than two numbers are left to the n-gram test.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from r1data.ops.answers import normalize_answer, plainly_different

_UNITS = (  # noqa: SIM905 - a sentence of words reads better than a list of strings
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS)} | _TENS
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "dozen": 12}
MULTIPLES = {
    "twice": 2,
    "double": 2,
    "doubles": 2,
    "doubled": 2,
    "triple": 3,
    "tripled": 3,
    "thrice": 3,
    "half": 0.5,
    "halves": 0.5,
    "quarter": 0.25,
}
STOP = set(
    (  # noqa: SIM905
        "a an the of to in on at for from by with and or but if then than as is are was were be been being it "
        "its this that these those there their they them he she his her him we our you your i my me do does "
        "did has have had how many much what which who whom whose when where why will would can could should "
        "each every all some any more most less fewer per into out up down over after before about also only "
        "just so such not no yes get gets got make makes made use uses used want wants find total number "
        "amount left remaining other another same"
    ).split()
)
_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+|[a-z]+")


def _canon(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def numbers(text: str) -> Counter:
    """The multiset of quantities in a text: 1,200 and 1200 and "twelve hundred" are one number."""
    tokens = _TOKEN.findall(text.lower())
    out: list[float] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok[0].isdigit() or tok[0] == ".":
            with contextlib.suppress(ValueError):
                out.append(float(tok.replace(",", "")))
        elif tok in NUMBER_WORDS:
            value = NUMBER_WORDS[tok]
            if (
                tok in _TENS
                and i + 1 < len(tokens)
                and tokens[i + 1] in NUMBER_WORDS
                and NUMBER_WORDS[tokens[i + 1]] < 10
            ):
                value += NUMBER_WORDS[tokens[i + 1]]
                i += 1
            if i + 1 < len(tokens) and tokens[i + 1] in SCALES:
                value *= SCALES[tokens[i + 1]]
                i += 1
            out.append(value)
        elif tok in SCALES and tok == "dozen":
            out.append(12)
        elif tok in MULTIPLES:
            out.append(MULTIPLES[tok])
        i += 1
    return Counter(_canon(v) for v in out)


def _stem(word: str) -> str:
    if word.endswith("ves") and len(word) > 4:  # shelves, halves, leaves
        return word[:-3] + "f"
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Stemmed words that carry the problem's content: names, objects, verbs (no stop words, no numbers)."""
    text = re.sub(r"\\[a-zA-Z]+", " ", text)  # LaTeX commands (\\frac, \\cdot) are not content
    return {
        _stem(w)
        for w in re.findall(r"[a-z]+", text.lower())
        if len(w) > 2 and w not in STOP and w not in NUMBER_WORDS and w not in SCALES and w not in MULTIPLES
    }


@dataclass(frozen=True)
class ParaphraseParams:
    """min_shared_numbers: share of the item's numbers the row must contain; min_content: share of the item's
    content words found in the row (chosen by measurement: see the module docstring)."""

    min_shared_numbers: float = 0.75
    min_content: float = 0.45
    min_content_same_answer: float = 0.25  # when both have the same gold answer, that is evidence too
    min_content_words: int = 3  # content words in common, at least: "find the value" confirms nothing
    min_number_weight: float = 0.6  # share of the item's quantities, weighted by how rare each is in the benchmark
    min_item_words: int = 4  # an item with fewer content words (a bare equation) has too little to confirm


@dataclass
class ParaphraseMatch:
    row: int
    item: int
    shared_numbers: int
    content: float  # share of the item's content words in the row


def _number_table(counters: list[Counter]) -> pl.DataFrame:
    """(doc, number, occurrence): the second "3" of a text is its own key, so joins count multisets."""
    docs, nums, occs = [], [], []
    for d, counter in enumerate(counters):
        for num, count in counter.items():
            for k in range(count):
                docs.append(d)
                nums.append(num)
                occs.append(k)
    return pl.DataFrame(
        {"doc": docs, "num": nums, "occ": occs}, schema={"doc": pl.Int64, "num": pl.String, "occ": pl.Int64}
    )


def find_paraphrases(
    rows: list[str],
    items: list[str],
    row_answers: list[str | None] | None = None,
    item_answers: list[str | None] | None = None,
    params: ParaphraseParams = ParaphraseParams(),
    answers_equivalent: Callable[[list[tuple[str, str]]], list[bool]] | None = None,
) -> list[ParaphraseMatch]:
    """For each training row that rephrases a benchmark item, its best match (the item with the most content
    words in common)."""
    item_numbers = [numbers(t) for t in items]
    indexed = [i for i, c in enumerate(item_numbers) if sum(c.values()) >= 2]
    if not indexed or not rows:
        return []
    row_numbers = [numbers(t) for t in rows]
    left = _number_table(row_numbers).rename({"doc": "row"})
    keep = set(indexed)
    right = _number_table([c if i in keep else Counter() for i, c in enumerate(item_numbers)])
    need = (
        right.group_by("doc")
        .len("size")
        .with_columns(
            pl.max_horizontal(pl.lit(2), (pl.col("size") * params.min_shared_numbers).ceil())
            .cast(pl.Int64)
            .alias("need")
        )
    )
    candidates = (
        left.join(right.rename({"doc": "item"}), on=["num", "occ"])
        .group_by("row", "item")
        .len("shared")
        .join(need.rename({"doc": "item"}), on="item")
        .filter(pl.col("shared") >= pl.col("need"))
    )
    if candidates.height == 0:
        return []
    row_total = {r: sum(c.values()) for r, c in enumerate(row_numbers)}
    # Words and numbers that many benchmark items share ("positive real numbers", "find the value", 2) say
    # little: each counts by its inverse document frequency over the benchmark.
    all_words = [content_words(t) for t in items]
    word_idf = _idf(all_words)
    number_idf = _idf([set(c) for c in item_numbers])
    item_words = {i: all_words[i] for i in candidates.get_column("item").unique().to_list()}
    row_words: dict[int, set[str]] = {}
    answer_pairs: dict[tuple[str, str], bool | None] = {}
    found: dict[int, ParaphraseMatch] = {}
    pending: list[tuple[int, int, int, float, tuple[str, str]]] = []
    for r, i, shared in candidates.select("row", "item", "shared").iter_rows():
        if row_total[r] - shared > max(1, (1 - params.min_shared_numbers) * row_total[r]):
            continue  # many quantities of its own: another problem that happens to hold the item's numbers
        shared_set = set(row_numbers[r]) & set(item_numbers[i])
        item_mass = sum(number_idf[n] for n in item_numbers[i])
        if sum(number_idf[n] for n in shared_set) < params.min_number_weight * item_mass:
            continue  # what is shared are the common small numbers, not the item's own quantities
        mine = item_words[i]
        if len(mine) < params.min_item_words:
            continue
        words = row_words.setdefault(r, content_words(rows[r]))
        common = mine & words
        if len(common) < params.min_content_words:
            continue
        content = sum(word_idf[w] for w in common) / sum(word_idf[w] for w in mine)
        a = normalize_answer(row_answers[r]) if row_answers and row_answers[r] else ""
        b = normalize_answer(item_answers[i]) if item_answers and item_answers[i] else ""
        same_answer = None
        if a and b:
            same_answer = not plainly_different(a, b) if plainly_different(a, b) is not None else None
            if same_answer is None:
                pending.append((r, i, shared, content, (row_answers[r], item_answers[i])))  # type: ignore[arg-type]
                continue
            if not same_answer:
                continue
        _keep(found, r, i, shared, content, bool(same_answer), params)
    if pending:
        keys = list(dict.fromkeys(p[4] for p in pending))
        verdicts = answers_equivalent(keys) if answers_equivalent is not None else [False] * len(keys)
        answer_pairs = dict(zip(keys, verdicts, strict=True))
        for r, i, shared, content, key in pending:
            if answer_pairs[key]:
                _keep(found, r, i, shared, content, True, params)
    return sorted(found.values(), key=lambda m: m.row)


def _idf(docs: list[set]) -> dict:
    """Inverse document frequency of every term over the documents (smoothed; 0 for a term in every one)."""
    df: Counter = Counter(t for d in docs for t in d)
    n = len(docs)
    return {t: math.log((n + 1) / (k + 1)) + 1e-3 for t, k in df.items()}


def _keep(
    found: dict, r: int, i: int, shared: int, content: float, same_answer: bool, params: ParaphraseParams
) -> None:
    threshold = params.min_content_same_answer if same_answer else params.min_content
    if content < threshold or math.isnan(content):
        return
    best = found.get(r)
    if best is None or (content, shared) > (best.content, best.shared_numbers):
        found[r] = ParaphraseMatch(r, i, shared, round(content, 4))
