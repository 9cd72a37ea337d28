"""MinHash signatures without Python-level shingle building.

Building shingles in Python, not the MinHash arithmetic, is what costs: datasketch's per-shingle
`update` loop spends its time there. Here tokens are extracted and hashed by polars' native
(multi-threaded) string kernels, and one compiled loop (r1data/_minhash.c) forms each n-gram hash
from the token hashes, applies the `num_perm` permutations and keeps the per-document minimum,
never materialising shingles x permutations. A plain-numpy path computes the same values (a test
holds them equal) and serves when the C kernel could not be built.

Permutation family: h_k(x) = ((a_k * x + b_k) mod 2^64) >> 32 with odd a_k (multiply-shift
hashing) over 64-bit n-gram hashes; signatures are uint32 (512 bytes a document at 128).
Token hashes come from polars' seeded hash: signatures are reproducible for a given polars version,
which every manifest records.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from r1data.ops.kernel import kernel as compiled_kernel
from r1data.ops.normalize import normalize_text

_MAX32 = np.uint32(0xFFFFFFFF)
_BLOCK = 1 << 16  # shingles per block: 65,536 x 128 x 8 bytes = 64 MiB of scratch


@dataclass(frozen=True)
class ShingleSpec:
    ngram: int = 5
    kind: str = "word"  # "word": n consecutive tokens; "char": n consecutive characters
    num_perm: int = 128
    seed: int = 42


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    top = np.iinfo(np.uint64).max
    a = rng.integers(1, top, size=num_perm, dtype=np.uint64, endpoint=True) | np.uint64(1)
    b = rng.integers(0, top, size=num_perm, dtype=np.uint64, endpoint=True)
    return a, b


def _position_weights(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 7919)
    return rng.integers(1, np.iinfo(np.uint64).max, size=n, dtype=np.uint64) | np.uint64(1)


_TOKEN_SEED = 0x5EED


def token_hashes(normalized: list[str] | pl.Series, pattern: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Flat uint64 hashes of every token of every document, and per-document counts.

    Normalised text is its tokens joined by single spaces (ops/normalize.py), so by default tokens
    come from a split on spaces; `pattern` extracts other tokens (e.g. words only) by regex."""
    texts = normalized if isinstance(normalized, pl.Series) else pl.Series(normalized, dtype=pl.String)
    if pattern is None:
        lists = texts.str.split(" ")
        lengths = np.where(texts.str.len_bytes().to_numpy() == 0, 0, lists.list.len().to_numpy()).astype(np.int64)
        tokens = lists.explode()
        tokens = tokens.filter(tokens != "")  # an empty text splits into one empty string
    else:
        lists = texts.str.extract_all(pattern)
        lengths = lists.list.len().fill_null(0).to_numpy().astype(np.int64)
        tokens = lists.explode().drop_nulls()
    flat = tokens.hash(seed=_TOKEN_SEED).to_numpy().astype(np.uint64)
    if flat.size != lengths.sum():  # pragma: no cover - guards a change in polars' explode semantics
        raise RuntimeError("token count mismatch between the token lists and their concatenation")
    return flat, lengths


def token_arrays(normalized: list[str] | pl.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Flat uint64 token values for all documents, and each document's token count."""
    if kind == "char":
        normalized = normalized.to_list() if isinstance(normalized, pl.Series) else normalized
        parts = [np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32) for s in normalized]
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        flat = np.concatenate(parts).astype(np.uint64) if parts else np.zeros(0, np.uint64)
        return flat * np.uint64(0x9E3779B97F4A7C15), lengths
    return token_hashes(normalized)


def shingle_hashes(flat: np.ndarray, lengths: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hash of every n-gram that lies inside one document.

    A document shorter than n tokens gets one shingle made of all its tokens, so short problems
    still compare. Returns the shingle hashes (grouped by document) and each document's count.
    """
    total = flat.size
    doc = np.repeat(np.arange(lengths.size), lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if lengths.size else np.zeros(0, np.int64)
    pos = np.arange(total) - starts[doc]
    remaining = lengths[doc] - pos  # tokens from here to the end of the document
    padded = np.concatenate((flat, np.zeros(n, np.uint64)))
    weights = _position_weights(n, seed)
    acc = np.zeros(total, np.uint64)
    for j in range(n):
        inside = (remaining > j).astype(np.uint64)
        acc += weights[j] * padded[j : j + total] * inside
    # splitmix64 finaliser: the sum above is linear; the permutations must not see that structure.
    acc ^= acc >> np.uint64(30)
    acc *= np.uint64(0xBF58476D1CE4E5B9)
    acc ^= acc >> np.uint64(27)
    acc *= np.uint64(0x94D049BB133111EB)
    acc ^= acc >> np.uint64(31)
    valid = (remaining >= n) | ((pos == 0) & (lengths[doc] < n))
    counts = np.where(lengths >= n, lengths - n + 1, np.minimum(lengths, 1))
    return acc[valid], counts


def signatures_from_shingles(shingles: np.ndarray, counts: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """(documents x num_perm) uint32 MinHash signatures; a document with no shingle gets all-max."""
    a, b = permutations(num_perm, seed)
    out = np.full((counts.size, num_perm), _MAX32, dtype=np.uint32)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    buf = np.empty((_BLOCK, num_perm), dtype=np.uint64)
    doc = 0
    while doc < counts.size:
        # Whole documents up to the block size (at least one document, however long).
        end = max(int(np.searchsorted(offsets, offsets[doc] + _BLOCK, side="right")) - 1, doc + 1)
        lo, hi = offsets[doc], offsets[end]
        block_docs = np.arange(doc, end)
        nonempty = block_docs[counts[doc:end] > 0]
        if nonempty.size:
            s = shingles[lo:hi]
            work = buf[: s.size] if s.size <= _BLOCK else np.empty((s.size, num_perm), np.uint64)
            np.multiply(s[:, None], a[None, :], out=work)
            work += b
            # The shift is monotonic, so shifting the per-document minima equals minimising the shifted values.
            minima = np.minimum.reduceat(work, offsets[nonempty] - lo, axis=0)
            out[nonempty] = (minima >> np.uint64(32)).astype(np.uint32)
        doc = end
    return out


def signatures_numpy(flat: np.ndarray, lengths: np.ndarray, spec: ShingleSpec) -> np.ndarray:
    """Reference path in plain numpy (materialises a shingles x permutations block)."""
    shingles, counts = shingle_hashes(flat, lengths, spec.ngram, spec.seed)
    return signatures_from_shingles(shingles, counts, spec.num_perm, spec.seed)


def signatures_compiled(flat: np.ndarray, lengths: np.ndarray, spec: ShingleSpec, threads: int = 1) -> np.ndarray:
    """Same values as `signatures_numpy`, from the C kernel (r1data/_minhash.c): n-gram hash,
    permutations and minimum in one pass per shingle, documents split over `threads` (it releases
    the GIL)."""
    kernel = compiled_kernel()
    if kernel is None:
        raise RuntimeError("r1data._minhash is not built; reinstall r1data with a C compiler present")
    a, b = permutations(spec.num_perm, spec.seed)
    lengths = np.ascontiguousarray(lengths, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    flat = np.ascontiguousarray(flat, dtype=np.uint64)
    out = np.full((lengths.size, spec.num_perm), _MAX32, dtype=np.uint32)
    weights = _position_weights(spec.ngram, spec.seed)
    # Split by tokens, not documents, so each thread gets a similar amount of work.
    threads = max(1, min(threads, lengths.size))
    cuts = np.searchsorted(np.cumsum(lengths), np.linspace(0, lengths.sum(), threads + 1)[1:-1])
    bounds = [0, *cuts.tolist(), lengths.size]

    def run(lo: int, hi: int) -> None:
        kernel.signatures(flat, lengths[lo:hi], starts[lo:hi], lo, spec.ngram, weights, a, b, out)

    if threads == 1:
        run(0, lengths.size)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, bounds[:-1], bounds[1:]))
    return out


def signatures(
    texts: list[str] | pl.Series,
    spec: ShingleSpec,
    normalized: bool = False,
    compiled: bool | None = None,
    threads: int = 1,
) -> np.ndarray:
    """MinHash signatures of texts (normalised here unless already normalised).

    `compiled=None` uses the C kernel when it is built, else the numpy path; both give identical
    signatures (tests/ops/test_minhash.py holds them together)."""
    norm = texts if normalized else [normalize_text(t) for t in texts]  # a Series stays one (no copies)
    flat, lengths = token_arrays(norm, spec.kind)
    if compiled is None:
        compiled = compiled_kernel() is not None
    return signatures_compiled(flat, lengths, spec, threads) if compiled else signatures_numpy(flat, lengths, spec)


def estimated_jaccard(sig: np.ndarray, left: np.ndarray, right: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """Share of equal signature slots for each (left[i], right[i]) pair (the C kernel, two threads, when built)."""
    out = np.empty(left.size, dtype=np.float64)
    kernel = compiled_kernel()
    if kernel is not None and sig.dtype == np.uint32 and sig.flags.c_contiguous:
        left, right = np.ascontiguousarray(left, np.int64), np.ascontiguousarray(right, np.int64)
        half = left.size // 2
        if half < 50_000:
            kernel.jaccard(sig, sig.shape[1], left, right, out)
            return out
        with ThreadPoolExecutor(2) as pool:
            list(
                pool.map(
                    lambda s: kernel.jaccard(sig, sig.shape[1], left[s], right[s], out[s]),
                    (slice(0, half), slice(half, None)),
                )
            )
        return out
    for i in range(0, left.size, chunk):
        sl = slice(i, i + chunk)
        out[sl] = (sig[left[sl]] == sig[right[sl]]).mean(axis=1)
    return out
