"""MinHash signatures computed as array operations.

Building shingles in Python, not the MinHash arithmetic, is what costs (datasketch's per-shingle
`update` does ~280 docs/s). Here each token is hashed once with xxhash (a C call per token), n-gram
hashes are formed by a position-weighted sum over a padded array, and the `num_perm` permutations
are one multiply-add-shift over a (shingles x permutations) block, reduced per document with
`np.minimum.reduceat`.

Permutation family: h_k(x) = ((a_k * x + b_k) mod 2^64) >> 32 with odd a_k (multiply-shift
hashing), applied to 64-bit shingle hashes; signatures are uint32 (512 bytes a document at 128).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import xxhash

from r1data.ops.normalize import TOKEN_PATTERN, normalize_text

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


_TOKEN_RE = re.compile(TOKEN_PATTERN)


def token_arrays(normalized: list[str], kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Flat uint64 token values for all documents, and each document's token count."""
    if kind == "char":
        parts = [np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32) for s in normalized]
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        flat = np.concatenate(parts).astype(np.uint64) if parts else np.zeros(0, np.uint64)
        return flat * np.uint64(0x9E3779B97F4A7C15), lengths
    tokens = [_TOKEN_RE.findall(s) for s in normalized]
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    flat_tokens = [t for ts in tokens for t in ts]
    hashes = map(xxhash.xxh3_64_intdigest, map(str.encode, flat_tokens))
    return np.fromiter(hashes, dtype=np.uint64, count=len(flat_tokens)), lengths


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


def signatures(texts: list[str], spec: ShingleSpec, normalized: bool = False) -> np.ndarray:
    """MinHash signatures of texts (normalised here unless already normalised)."""
    norm = texts if normalized else [normalize_text(t) for t in texts]
    flat, lengths = token_arrays(norm, spec.kind)
    shingles, counts = shingle_hashes(flat, lengths, spec.ngram, spec.seed)
    return signatures_from_shingles(shingles, counts, spec.num_perm, spec.seed)


def estimated_jaccard(sig: np.ndarray, left: np.ndarray, right: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """Share of equal signature slots for each (left[i], right[i]) pair."""
    out = np.empty(left.size, dtype=np.float64)
    for i in range(0, left.size, chunk):
        sl = slice(i, i + chunk)
        out[sl] = (sig[left[sl]] == sig[right[sl]]).mean(axis=1)
    return out
