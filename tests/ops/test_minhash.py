import re

import numpy as np
import polars as pl

from r1data.ops import minhash
from r1data.ops.kernel import kernel as compiled_kernel
from r1data.ops.minhash import ShingleSpec, estimated_jaccard, signatures
from r1data.ops.normalize import TOKEN_PATTERN, normalize_text

PINNED = "cc9e8bd666050642"  # xxh3-64 of the pinned texts' signatures under scheme 2


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

    if compiled_kernel() is None:
        assert not os.environ.get("CI"), "CI installs with a compiler: the C kernel must be built"
        pytest.skip("r1data._minhash is not built (no C compiler at install)")
    texts = ["", "x", "a b", "what is 2+3?", "the quick brown fox jumps over the lazy dog " * 5, "ünïcödé ∑ text"]
    norm = [normalize_text(t) for t in texts] + ["a  b ", " lead", "x" * 300]  # spaces where the normal form has none
    for kind, n in (("word", 1), ("word", 3), ("word", 5), ("char", 5)):
        spec = ShingleSpec(ngram=n, kind=kind, num_perm=64)
        flat, lengths = minhash.token_arrays(norm, kind)
        expected = minhash.signatures_numpy(flat, lengths, spec)
        assert np.array_equal(signatures(norm, spec, normalized=True, compiled=False), expected)
        for threads in (1, 2, 3):
            assert np.array_equal(minhash.signatures_compiled(flat, lengths, spec, threads), expected)
            assert np.array_equal(signatures(norm, spec, normalized=True, compiled=True, threads=threads), expected)
            if kind == "word":  # tokens split and hashed in the kernel's one pass
                assert np.array_equal(minhash.signatures_of_text(pl.Series(norm), spec, threads), expected)


def test_the_signature_scheme_is_pinned():
    """Signatures of a fixed text are fixed for a scheme: a change to their values must raise SIGNATURE_SCHEME (the
    manifest records it, and signatures of two schemes are never mixed)."""
    import xxhash

    texts = ["Find the sum of the roots of x^2 - 5x + 6 = 0.", "Ünïcödé ∑ text, \\frac{1}{2}", "x", ""]
    for compiled in (False, True) if compiled_kernel() is not None else (False,):
        sig = signatures(texts, ShingleSpec(ngram=3, num_perm=128, seed=42), compiled=compiled)
        assert minhash.SIGNATURE_SCHEME == 2
        assert xxhash.xxh3_64_hexdigest(sig.tobytes()) == PINNED


def test_signatures_of_another_scheme_are_refused_not_mixed():
    """A Ray worker with another r1data would sign rows under another scheme: its signatures never match these, so
    near duplicates would be missed in silence. The driver refuses them, naming both schemes."""
    import pytest

    from r1data.engines.executors import check_schemes
    from r1data.errors import ConfigError

    check_schemes(np.full(4, minhash.SIGNATURE_SCHEME, dtype=np.int32))
    with pytest.raises(ConfigError, match=f"scheme 1, this r1data makes scheme {minhash.SIGNATURE_SCHEME}"):
        check_schemes(np.array([minhash.SIGNATURE_SCHEME, 1], dtype=np.int32))
