"""Out-of-core near-dup (`Spill`) gives exactly what the in-memory path gives, at any memory budget; the compiled
helpers it streams through (greedy sweep, union-find, Jaccard, the ASCII tokenizer) equal their numpy/regex forms."""

from __future__ import annotations

import random
import re
import string

import numpy as np
import polars as pl
import pytest

from r1data.io import read_inputs
from r1data.ops import minhash
from r1data.ops.dedup import DedupParams, components, dedup, sweep
from r1data.ops.kernel import kernel as compiled_kernel
from r1data.ops.normalize import _tokens_ascii, _tokens_regex, normalize_series
from r1data.spill import Spill

_TEXT = """apple tree river number sum triangle circle prime digit count find value area angle side train speed
hours miles bag coins sister brother garden ratio percent total each more less twice"""
WORDS = re.findall(r"[a-z]+", _TEXT)


def hostile_corpus(seed: int = 0) -> pl.DataFrame:
    """Exact copies, one-edit copies, renumbered templated siblings with their own answers, a 150-strong cluster
    of near copies (buckets past the 64-row window), answers that only the judge can compare, rows without one."""
    rng = random.Random(seed)
    problems, answers = [], []
    for i in range(600):
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 30))]
        for _ in range(3):
            words.insert(rng.randrange(len(words)), str(rng.randint(1, 99)))
        problems.append(" ".join(words))
        answers.append(rng.choice([str(i % 17), f"\\frac{{{i % 5}}}{{2}}", f"{(i % 5) / 2}", None]))
    for _ in range(300):
        k = rng.randrange(len(problems))
        words = problems[k].split()
        kind = rng.random()
        if kind < 0.3:
            text = problems[k]  # exact
        elif kind < 0.6:
            words[rng.randrange(len(words))] = rng.choice(WORDS)  # one-word edit
            text = " ".join(words)
        else:
            text = " ".join(str(int(w) + 1) if w.isdigit() else w for w in words)  # renumbered
        problems.append(text)
        answers.append(rng.choice([answers[k], str(rng.randint(0, 9)), None]))
    base = " ".join(rng.choice(WORDS) for _ in range(40))
    for i in range(150):
        words = base.split()
        words[i % 40] = rng.choice(WORDS)
        problems.append(" ".join(words) + f" {i % 3}")
        answers.append(None if i % 4 else "7")
    order = list(range(len(problems)))
    rng.shuffle(order)
    return pl.DataFrame(
        {
            "id": [f"r{i}" for i in order],
            "problem": [problems[i] for i in order],
            "answer": [answers[i] for i in order],
        },
        schema_overrides={"answer": pl.String},
    )


def kernel_or_skip():
    """The built C kernel. Without a C compiler the test has nothing to compare; CI installs with one, so there a
    missing kernel is a failure, not a skip."""
    import os

    kernel = compiled_kernel()
    if kernel is None:
        assert not os.environ.get("CI"), "CI installs with a compiler: the C kernel must be built"
        pytest.skip("the C kernel is not built (no C compiler at install)")
    return kernel


def judge_by_value(pairs: list[tuple[str, str]]) -> list[bool]:
    """A deterministic stand-in for math-verify: \\frac{a}{2} equals a / 2."""

    def value(text: str) -> float | None:
        if text.startswith("\\frac{"):
            num, den = text[6:].rstrip("}").split("}{")
            return int(num) / int(den)
        try:
            return float(text)
        except ValueError:
            return None

    return [value(a) is not None and value(a) == value(b) for a, b in pairs]


def same_result(a, b) -> None:
    assert a.kept.equals(b.kept)
    assert a.removed.equals(b.removed)
    timed = ("spill", "stage_seconds")
    assert {k: v for k, v in a.stats.items() if k not in timed} == {k: v for k, v in b.stats.items() if k not in timed}


@pytest.mark.parametrize("budget", [16 << 10, 256 << 10, 1 << 30])
def test_out_of_core_equals_in_memory_on_hostile_rows(tmp_path, budget):
    df = hostile_corpus()
    params = DedupParams(workers=2)
    memory = dedup(df, params, answers_equivalent=judge_by_value)
    spilled = dedup(df, params, answers_equivalent=judge_by_value, spill=Spill(tmp_path, budget))
    same_result(memory, spilled)
    # the corpus exercises every rule, and the small budgets really spill
    stats = spilled.stats
    assert stats["exact_duplicates"] and stats["near_duplicates"] and stats["templated_siblings"]
    assert stats["pairs_rejected_numbers_differ"] and stats["near_clusters"]
    if budget < 1 << 20:
        assert stats["spill"]["partitions"] > 1 and stats["spill"]["key_blocks"] > 1
        assert stats["spill"]["signatures_in_memory"] is False and stats["spill"]["keys_in_memory"] is False
    assert list(tmp_path.iterdir()) == []  # the runs are consumed as they go


def test_out_of_core_equals_in_memory_on_the_demo_data(demo_dir, tmp_path):
    df = read_inputs([demo_dir / f for f in ("gsm8k_style.jsonl", "math_style.jsonl", "numina_style.parquet")])
    for params in (DedupParams(), DedupParams(answer_aware=False, max_number_changes=None, threshold=0.5)):
        memory = dedup(df.records, params, df.normalized)
        spilled = dedup(df.records, params, df.normalized, spill=Spill(tmp_path, 64 << 10))
        same_result(memory, spilled)
        assert spilled.stats["spill"]["partitions"] > 1


def test_compiled_sweep_equals_the_python_loop():
    rng = np.random.default_rng(0)
    n, k = 400, 3000
    better, worse = rng.integers(0, n, k), rng.integers(0, n, k)
    sim = rng.random(k)
    out = []
    for compiled in (True, False):
        kept, dup_of, dup_sim = np.ones(n, np.uint8), np.full(n, -1), np.full(n, np.nan)
        sweep(better, worse, sim, kept, dup_of, dup_sim, compiled=compiled if compiled else False)
        out.append((kept.copy(), dup_of.copy(), dup_sim.copy()))
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(*out, strict=True))


def test_compiled_union_find_gives_the_components():
    kernel = kernel_or_skip()
    rng = np.random.default_rng(1)
    n = 500
    left, right = rng.integers(0, n, 300), rng.integers(0, n, 300)
    parent = np.arange(n, dtype=np.int64)
    kernel.union(parent, left, right)
    while not np.array_equal(parent[parent], parent):
        parent = parent[parent]
    assert np.array_equal(parent, components(n, left, right))
    with pytest.raises(ValueError, match="union"):
        kernel.union(np.arange(3, dtype=np.int64), np.array([0]), np.array([7]))


def test_compiled_jaccard_equals_numpy():
    rng = np.random.default_rng(2)
    sig = rng.integers(0, 4, (300, 64)).astype(np.uint32)
    left, right = rng.integers(0, 300, 120_000), rng.integers(0, 300, 120_000)
    assert np.array_equal(minhash.estimated_jaccard(sig, left, right), (sig[left] == sig[right]).mean(axis=1))


def test_ascii_tokenizer_equals_the_regex():
    kernel = kernel_or_skip()
    rng = random.Random(3)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x00\x7f"
    texts = ["", " ", "\\", "a\\", "\\frac12", "\\Frac", "x_1+y__2", "\\\\ab", "a\x1cb", "  lead trail  "]
    texts += ["".join(rng.choice(alphabet + "\\\\\\") for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    series = pl.Series(texts).str.to_lowercase()
    assert _tokens_ascii(kernel, series).to_list() == _tokens_regex(series).to_list()
    # two halves at once for long inputs, and slices that do not start at 0
    long = pl.Series(texts * 10).str.to_lowercase()
    assert _tokens_ascii(kernel, long).equals(_tokens_regex(long))
    assert _tokens_ascii(kernel, long.slice(7, 25_000)).equals(_tokens_regex(long.slice(7, 25_000)))


def test_normalize_series_mixes_ascii_and_unicode_rows(monkeypatch):
    texts = pl.Series(["Ｆind \\dfrac{1}{2}", "plain x+1", None, "café au lait", "\\left( a \\right)", "ß_2"])
    fast = normalize_series(texts)
    monkeypatch.setattr("r1data.ops.normalize.compiled_kernel", lambda: None)
    assert fast.to_list() == normalize_series(texts).to_list()


def test_compiled_band_keys_equal_the_numpy_keys():
    from r1data.ops.dedup import _band_keys, band_keys

    kernel_or_skip()
    sig = np.random.default_rng(0).integers(0, 2**32, size=(500, 64), dtype=np.uint32)
    for bands, rows in ((9, 7), (1, 64), (16, 4)):
        expected = np.stack([_band_keys(sig, b, rows) for b in range(bands)], axis=1)
        assert np.array_equal(band_keys(sig, bands, rows), expected)


def test_compiled_number_changes_equal_the_scalar_rule():
    from r1data.ops.dedup import NumberIndex, Rules, number_changes

    rng = random.Random(4)
    texts = ["", "no numbers", "3 3 3.5 12", "x = 3.50 and 3.5", "٣ and 3"]  # repeated, decimal, Arabic-Indic
    texts += [" ".join(str(rng.choice([1, 2, 3, 10, 2.5, 100])) for _ in range(rng.randint(0, 6))) for _ in range(300)]
    left = np.array([rng.randrange(len(texts)) for _ in range(5000)])
    right = np.array([rng.randrange(len(texts)) for _ in range(5000)])
    index = NumberIndex.of(pl.Series(texts))
    rules = Rules(DedupParams(), index, pl.Series([None] * len(texts), dtype=pl.String), None)
    expected = [number_changes(texts[a], texts[b]) for a, b in zip(left.tolist(), right.tolist(), strict=True)]
    assert rules.number_changes(left, right).tolist() == expected


@pytest.fixture
def without_kernel(monkeypatch):
    """r1data as installed without a C compiler (or with R1DATA_NO_KERNEL=1): every compiled helper's numpy path."""
    monkeypatch.setenv("R1DATA_NO_KERNEL", "1")
    compiled_kernel.cache_clear()
    assert compiled_kernel() is None
    yield
    monkeypatch.delenv("R1DATA_NO_KERNEL")
    compiled_kernel.cache_clear()


def test_without_the_kernel_the_budget_still_bounds_dedup_and_the_result_is_the_same(tmp_path, without_kernel):
    df = hostile_corpus(seed=4)
    params = DedupParams(workers=2)
    plain = dedup(df, params, answers_equivalent=judge_by_value, spill=Spill(tmp_path, 16 << 10))
    assert plain.stats["spill"]["partitions"] > 1 and plain.stats["spill"]["key_blocks"] > 1
    compiled_kernel.cache_clear()
    with pytest.MonkeyPatch.context() as m:
        m.delenv("R1DATA_NO_KERNEL")
        kernel_or_skip()
        same_result(dedup(df, params, answers_equivalent=judge_by_value), plain)
    compiled_kernel.cache_clear()


def test_a_kernel_of_another_version_is_not_used(monkeypatch, caplog):
    compiled_kernel.cache_clear()
    kernel_or_skip()
    import r1data._minhash as built

    monkeypatch.setattr(built, "VERSION", built.VERSION + 1)
    compiled_kernel.cache_clear()
    try:
        assert compiled_kernel() is None
        assert "needs" in caplog.text and "Rebuild" in caplog.text
    finally:
        monkeypatch.undo()
        compiled_kernel.cache_clear()
    assert compiled_kernel() is built
