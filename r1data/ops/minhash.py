"""MinHash signatures without Python-level shingle building.

Building shingles in Python, not the MinHash arithmetic, is what costs: datasketch's per-shingle
`update` loop spends its time there. Here one compiled pass (r1data/_minhash.c) splits each normalised
text into its tokens, hashes them, forms each n-gram hash from the token hashes, applies the
`num_perm` permutations and keeps the per-document minimum, never materialising tokens or
shingles x permutations. A plain-numpy path computes the same values (a test holds them equal) and
serves when the C kernel could not be built.

Signature scheme 2 (`SIGNATURE_SCHEME`, recorded in every dedup manifest): a word token's hash is
FNV-1a 64 over its UTF-8 bytes, finalised by splitmix64's mixer (scheme 1 used polars' seeded hash,
which could change with polars); a character token's hash is its code point times a constant. The
n-gram hash is the mixer over a weighted sum of its token hashes; the permutation family is
h_k(x) = ((a_k * x + b_k) mod 2^64) >> 32 with odd a_k (multiply-shift hashing); signatures are
uint32 (512 bytes a document at 128).
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
SIGNATURE_SCHEME = 2  # raise it whenever a signature's value changes for the same text and settings
_FNV_OFFSET, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)


def _finalise(x: np.ndarray) -> np.ndarray:
    """splitmix64's mixer, in place on a uint64 array (the C kernel's `finalise`)."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def text_buffers(texts: list[str] | pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of all texts and the int64 offsets (texts + 1) of each, from Arrow's buffers (no copy of a
    large_string array that starts at 0)."""
    import pyarrow as pa

    series = texts if isinstance(texts, pl.Series) else pl.Series(texts, dtype=pl.String)
    arr = series.cast(pl.String).fill_null("").to_arrow()
    arr = arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr
    arr = pa.concat_arrays([arr]) if arr.offset else arr  # buffers from position 0
    _, offsets, data = arr.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64, count=len(arr) + 1)
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return data[offsets[0] : offsets[-1]], offsets - offsets[0]


def word_token_hashes(normalized: list[str] | pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Scheme 2's word tokens in numpy: the hash of every space-separated token of every normalised text (FNV-1a
    over its bytes, finalised) and each text's token count: what the C kernel computes as it splits."""
    data, offsets = text_buffers(normalized)
    docs = offsets.size - 1
    if data.size == 0:
        return np.zeros(0, np.uint64), np.zeros(docs, np.int64)
    byte = data != 0x20
    first = np.zeros(data.size, dtype=bool)  # a document's first byte
    last = np.zeros(data.size, dtype=bool)  # and its last
    nonempty = offsets[1:] > offsets[:-1]
    first[offsets[:-1][nonempty]] = True
    last[offsets[1:][nonempty] - 1] = True
    before = np.concatenate(([False], byte[:-1])) & ~first  # the previous byte is a token's, in this document
    after = np.concatenate((byte[1:], [False])) & ~last
    starts = np.flatnonzero(byte & ~before)
    ends = np.flatnonzero(byte & ~after) + 1
    length = ends - starts
    order = np.argsort(-length, kind="stable")  # longest first: the tokens still going at byte j are a prefix
    descending, at = -length[order], starts[order]
    h_sorted = np.full(starts.size, _FNV_OFFSET, dtype=np.uint64)
    for j in range(int(length.max(initial=0))):
        alive = int(np.searchsorted(descending, -j, side="left"))  # the tokens longer than j
        h_sorted[:alive] ^= data[at[:alive] + j]
        h_sorted[:alive] *= _FNV_PRIME
    h = np.empty_like(h_sorted)
    h[order] = h_sorted
    lengths = np.bincount(np.searchsorted(offsets, starts, side="right") - 1, minlength=docs).astype(np.int64)
    return _finalise(h), lengths


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
    return word_token_hashes(normalized)


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
    bounds = _split(lengths, threads)  # by tokens, not documents: each thread gets a similar amount of work

    def run(lo: int, hi: int) -> None:
        kernel.signatures(flat, lengths[lo:hi], starts[lo:hi], lo, spec.ngram, weights, a, b, out)

    if len(bounds) <= 2:
        run(0, lengths.size)
    else:
        with ThreadPoolExecutor(len(bounds) - 1) as pool:
            list(pool.map(run, bounds[:-1], bounds[1:]))
    return out


def _split(weights: np.ndarray, threads: int) -> list[int]:
    """Bounds that cut items into `threads` runs of about equal total weight."""
    threads = max(1, min(threads, weights.size))
    cuts = np.searchsorted(np.cumsum(weights), np.linspace(0, weights.sum(), threads + 1)[1:-1])
    return [0, *cuts.tolist(), weights.size]


def signatures_of_text(normalized: list[str] | pl.Series, spec: ShingleSpec, threads: int = 1) -> np.ndarray:
    """Word-token signatures straight from normalised texts in the C kernel: tokens are split and hashed in the
    same pass (the values of `signatures_numpy` over `word_token_hashes`), texts spread over `threads` by bytes."""
    kernel = compiled_kernel()
    if kernel is None:
        raise RuntimeError("r1data._minhash is not built; reinstall r1data with a C compiler present")
    data, offsets = text_buffers(normalized)
    docs = offsets.size - 1
    a, b = permutations(spec.num_perm, spec.seed)
    weights = _position_weights(spec.ngram, spec.seed)
    out = np.full((docs, spec.num_perm), _MAX32, dtype=np.uint32)
    bounds = _split(np.diff(offsets) + 1, threads)

    def run(lo: int, hi: int) -> None:
        kernel.signatures_text(data, offsets[lo : hi + 1], lo, spec.ngram, weights, a, b, out)

    if len(bounds) <= 2:
        run(0, docs)
    else:
        with ThreadPoolExecutor(len(bounds) - 1) as pool:
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
    if compiled is None:
        compiled = compiled_kernel() is not None
    if compiled and spec.kind == "word":
        return signatures_of_text(norm, spec, threads)
    flat, lengths = token_arrays(norm, spec.kind)
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
