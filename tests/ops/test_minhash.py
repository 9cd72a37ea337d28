import re

import numpy as np

from r1data.ops.minhash import ShingleSpec, estimated_jaccard, signatures
from r1data.ops.normalize import TOKEN_PATTERN, normalize_text


def exact_jaccard(a: str, b: str, n: int) -> float:
    def shingles(s: str) -> set:
        t = re.findall(TOKEN_PATTERN, normalize_text(s))
        return {tuple(t[i : i + n]) for i in range(max(len(t) - n + 1, 1))}

    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def test_identical_texts_have_identical_signatures_and_runs_are_deterministic():
    spec = ShingleSpec()
    s1 = signatures(["a b c d e", "A  b c d e", "other text here"], spec)
    s2 = signatures(["a b c d e", "A  b c d e", "other text here"], spec)
    assert np.array_equal(s1, s2)
    assert np.array_equal(s1[0], s1[1])
    assert not np.array_equal(s1[0], s1[2])
    assert s1.dtype == np.uint32 and s1.shape == (3, 128)


def test_estimate_tracks_exact_jaccard():
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(300)]
    errors = []
    spec = ShingleSpec(ngram=3, num_perm=256)
    for _ in range(60):
        words = list(rng.choice(vocab, size=40))
        edited = list(words)
        for k in rng.choice(40, size=rng.integers(1, 8), replace=False):
            edited[k] = "zz"
        a, b = " ".join(words), " ".join(edited)
        sig = signatures([a, b], spec)
        errors.append(estimated_jaccard(sig, np.array([0]), np.array([1]))[0] - exact_jaccard(a, b, 3))
    errors = np.array(errors)
    assert abs(errors.mean()) < 0.03  # unbiased
    assert np.sqrt((errors**2).mean()) < 0.06  # ~ binomial sd sqrt(J(1-J)/256) <= 0.031


def test_short_and_empty_documents():
    sig = signatures(["", "two words", "two words", "x"], ShingleSpec(ngram=5))
    assert (sig[0] == np.iinfo(np.uint32).max).all()  # nothing to hash
    assert np.array_equal(sig[1], sig[2])  # shorter than n: one shingle of all tokens
    assert not np.array_equal(sig[1], sig[3])


def test_compiled_kernel_equals_numpy_path():
    import os

    import pytest

    from r1data.ops import minhash
    from r1data.ops.kernel import kernel as compiled_kernel

    if compiled_kernel() is None:
        assert not os.environ.get("CI"), "CI installs with a compiler: the C kernel must be built"
        pytest.skip("r1data._minhash is not built (no C compiler at install)")
    texts = ["", "x", "a b", "what is 2+3?", "the quick brown fox jumps over the lazy dog " * 5, "ünïcödé ∑ text"]
    for kind, n in (("word", 3), ("word", 5), ("char", 5)):
        spec = ShingleSpec(ngram=n, kind=kind, num_perm=64)
        flat, lengths = minhash.token_arrays([normalize_text(t) for t in texts], kind)
        expected = minhash.signatures_numpy(flat, lengths, spec)
        for threads in (1, 2, 3):
            assert np.array_equal(minhash.signatures_compiled(flat, lengths, spec, threads), expected)
