"""Out-of-core near-duplicate search: the working files of `r1data.ops.dedup`'s near-dup when its state would not fit
in memory (`r1data dedup --memory-gb`). The algorithm's pieces (band keys, the keep sweep, union-find) are the ops';
this module holds the paths: signature blocks, per-band runs of pair codes, partitions, greedy spills, all under one
scratch folder on OUT's disk that the step creates and removes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from r1data.ops.dedup import (
    LARGE_BUCKET,
    DedupParams,
    HeldSignatures,
    Kernels,
    Near,
    Rules,
    SignatureStore,
    band_keys,
    components,
    sweep,
)
from r1data.ops.kernel import kernel as compiled_kernel


@dataclass(frozen=True)
class Spill:
    """Out-of-core near-dup: the working state (signatures, band buckets, pair partitions) stays within about
    `memory_bytes`; the rest lives in sorted runs under `folder` (a scratch folder on OUT's disk)."""

    folder: Path
    memory_bytes: int

    def signatures(self) -> SignatureStore:
        """Where the rows' signatures go while the rows are read: memory while they take under half the budget, then
        a file."""
        return SpilledSignatures(self.folder / "signatures.u32", self.memory_bytes // 2)

    def __call__(
        self,
        store: SignatureStore,
        survivors: np.ndarray,
        params: DedupParams,
        shape: tuple[int, int],
        kernels: Kernels,
        rules: Rules,
        rank: np.ndarray,
        stage: Callable[[str], None],
    ) -> Near:
        return _near_spilled(self, store, survivors, params, shape, kernels, rules, rank, stage)


class SpilledSignatures:
    """Signatures in memory up to `limit` bytes; past it, all of them in one file (appended batch by batch) that
    `gather` maps a piece at a time. The file goes when near-dup is done (`drop`)."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path, self.limit = path, limit
        self.memory = HeldSignatures()
        self.bytes = 0
        self.rows = 0
        self.perm = 0

    @property
    def held(self) -> bool:
        return self.bytes <= self.limit

    def add(self, block: np.ndarray) -> None:
        was_held = self.held
        self.bytes += block.nbytes
        self.rows += block.shape[0]
        self.perm = block.shape[1]
        if self.held:
            self.memory.add(block)
            return
        with open(self.path, "ab") as f:
            if was_held:  # the budget is passed now: what was held goes first
                for held in self.memory.blocks:
                    held.tofile(f)
                self.memory = HeldSignatures()
            np.ascontiguousarray(block, dtype=np.uint32).tofile(f)

    def mapped(self) -> np.ndarray:
        return np.memmap(self.path, dtype=np.uint32, mode="r", shape=(self.rows, self.perm))

    def gather(self, rows: np.ndarray) -> np.ndarray:
        if self.held:
            return self.memory.gather(rows)
        sig = self.mapped()
        out = np.asarray(sig[rows])
        del sig  # the mapping is dropped: its pages leave this process
        return out

    def take(self, rows: np.ndarray) -> np.ndarray:
        return self.memory.take(rows) if self.held else self.gather(rows)

    def drop(self) -> None:
        self.memory = HeldSignatures()
        self.path.unlink(missing_ok=True)


# working bytes per candidate pair while a partition is checked: the runs' slices and their union, ends, Jaccard, the
# rules' gathers and the greedy records (measured at ten million rows: about 290)
_PAIR_BYTES = 320
_GREEDY = np.dtype([("better", "<i8"), ("worse", "<i8"), ("sim", "<f8")])


def _band_run(key_path: Path | np.ndarray, run_path: Path, m: int) -> int:
    """One band's candidate pairs as a sorted run of unique codes lo * m + hi on disk; returns their count.
    The same pairs `candidate_pairs` finds in that band (stable order inside a bucket, `LARGE_BUCKET` window).
    `key_path`: the band's keys on disk (consumed), or in memory."""
    key = np.fromfile(key_path, dtype=np.uint64) if isinstance(key_path, Path) else np.ascontiguousarray(key_path)
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    del key
    codes = []
    for k in range(1, min(LARGE_BUCKET, m)):
        same = np.flatnonzero(sorted_keys[k:] == sorted_keys[:-k])
        if same.size == 0:
            break
        a, b = order[same], order[same + k]
        codes.append(np.minimum(a, b) * np.int64(m) + np.maximum(a, b))
    run = np.unique(np.concatenate(codes)) if codes else np.zeros(0, np.int64)
    run.astype(np.int64).tofile(run_path)
    if isinstance(key_path, Path):
        key_path.unlink()
    return int(run.size)


def _near_spilled(
    spill: Spill,
    store: SignatureStore,
    survivors: np.ndarray,
    params: DedupParams,
    shape: tuple[int, int],
    kernels: Kernels,
    rules: Rules,
    rank: np.ndarray,
    stage: Callable[[str], None],
) -> Near:
    """The same result as the in-memory near-dup search (`r1data.ops.dedup`), out of core, over the rows `survivors`
    of `store` (the signatures made as the rows were read):

    1. each block of rows' LSH keys, appended per band (or held, when they fit);
    2. per band (bands in parallel threads), its bucket pairs as a sorted run of unique pair codes;
    3. the runs cut at the same code boundaries into partitions that fit the budget; each partition's pairs are the
       union of the runs' slices, in code order, checked (Jaccard from the signatures, the rules) and its
       confirmed pairs joined by union-find and spilled by the worse row's rank;
    4. the greedy keep sweeps those spills in rank order (the order `greedy_keep` visits)."""
    bands, rows = shape
    m, perm, folder, budget = survivors.size, params.num_perm, spill.folder, spill.memory_bytes
    workers = max(1, params.workers)
    # the signatures stay where the store holds them: in memory (taken whole), or in its file (read by pieces)
    resident = store.take(survivors) if store.held else None
    # 1. band keys, a block of rows at a time: held when they fit a quarter of the budget, else on disk by band
    block = max(256, budget // 8 // (perm * 4 + 64 * 16))  # a block's signatures and keys: < budget / 8
    keys_held = m * bands * 8 <= budget // 4
    key_paths: list = [folder / f"band-{b:03d}.keys" for b in range(bands)]
    all_keys = np.empty((m, bands), dtype=np.uint64) if keys_held else None
    with contextlib.ExitStack() as files:
        key_files = [] if keys_held else [files.enter_context(open(path, "wb")) for path in key_paths]
        for lo in range(0, m, block):
            stage(f"LSH keys: {min(lo + block, m):,} of {m:,} problems")
            sig = resident[lo : lo + block] if resident is not None else store.gather(survivors[lo : lo + block])
            keys = band_keys(sig, bands, rows)
            if keys_held:
                all_keys[lo : lo + block] = keys  # type: ignore[index]
                continue
            for b, f in enumerate(key_files):
                np.ascontiguousarray(keys[:, b]).tofile(f)
    if keys_held:
        key_paths = [all_keys[:, b] for b in range(bands)]  # type: ignore[index]
    # 2. one sorted run of pair codes per band
    stage(f"LSH candidate pairs: {bands} bands")
    run_paths = [folder / f"band-{b:03d}.pairs" for b in range(bands)]
    with ThreadPoolExecutor(min(workers, max(1, budget // max(1, m * 48)))) as pool:
        sizes = list(pool.map(lambda b: _band_run(key_paths[b], run_paths[b], m), range(bands)))
    key_paths, all_keys = [], None  # the keys are spent
    total = sum(sizes)
    # 3. partitions at common code boundaries (quantiles of a sample of every run)
    per_part = max(1024, budget // 2 // _PAIR_BYTES)
    parts = max(1, -(-total // per_part))
    runs = [
        np.memmap(p, dtype=np.int64, mode="r") if n else np.zeros(0, np.int64)
        for p, n in zip(run_paths, sizes, strict=True)
    ]
    if parts > 1:
        step = max(1, total // (parts * 64))
        sample = np.sort(np.concatenate([r[::step] for r in runs]))
        cuts = sample[np.linspace(0, sample.size, parts + 1).astype(np.int64)[1:-1]]
        bounds = np.concatenate(([np.iinfo(np.int64).min], cuts, [np.iinfo(np.int64).max]))
    else:
        bounds = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max])
    slices = [np.searchsorted(r, bounds) for r in runs]
    del runs  # the runs are read back a slice at a time (mapped pages would count against the budget)
    position = np.empty(m, dtype=np.int64)
    position[rank] = np.arange(m)
    # the greedy spills: by the worse row's rank, in equal ranges of rank
    spills = max(1, parts)
    greedy_paths = [folder / f"greedy-{q:05d}.pairs" for q in range(spills)]
    greedy_files = [open(path, "wb") for path in greedy_paths]  # noqa: SIM115 - closed below
    # the signatures for the Jaccard estimates: in memory, or the store's file mapped one window of rows at a time. A
    # partition's pairs have their first rows in one contiguous range of the file (codes are ordered by it) and their
    # second rows anywhere after: taken window by window of the second row, a mapping holds that window and the range
    # at most. (Random pairs through one mapping of the whole file would map all of it: the kernel maps page-cache
    # folios around every fault.)
    window_rows = max(1024, budget // 8 // (perm * 4))
    kernel = compiled_kernel()
    parent = np.arange(m, dtype=np.int64)
    held_left, held_right = [], []  # without the C kernel: components() at the end
    confirmed = candidates = 0
    try:
        for i in range(len(bounds) - 1):
            stage(f"checking candidate pairs: partition {i + 1} of {len(bounds) - 1} ({total:,} band pairs)")
            pieces = [
                np.fromfile(path, dtype=np.int64, count=int(s[i + 1] - s[i]), offset=int(s[i]) * 8)
                for path, s in zip(run_paths, slices, strict=True)
                if s[i + 1] > s[i]
            ]
            codes = np.unique(np.concatenate(pieces)) if pieces else np.zeros(0, np.int64)
            del pieces
            candidates += codes.size
            if codes.size == 0:
                continue
            left, right = codes // m, codes % m
            del codes
            est = np.empty(left.size, dtype=np.float64)
            if resident is not None:
                est[:] = kernels.jaccard(resident, left, right)
            else:
                first, second = survivors[left], survivors[right]
                window = second // window_rows
                order = np.argsort(window, kind="stable")
                edges = np.flatnonzero(np.diff(window[order])) + 1
                for piece in np.split(order, edges):
                    sig = store.mapped()  # type: ignore[attr-defined]
                    est[piece] = kernels.jaccard(sig, first[piece], second[piece])
                    del sig  # the mapping is dropped after each window: its pages leave this process
                del first, second, window, order
            rules_ok = rules.confirm(left, right, est)
            left, right, est = left[rules_ok], right[rules_ok], est[rules_ok]
            confirmed += left.size
            if kernel is not None:
                kernel.union(parent, left, right)
            else:
                held_left.append(left)
                held_right.append(right)
            first_better = position[left] < position[right]
            pairs = np.empty(left.size, dtype=_GREEDY)
            pairs["better"] = np.where(first_better, left, right)
            pairs["worse"] = np.where(first_better, right, left)
            pairs["sim"] = est
            target = position[pairs["worse"]] * spills // m
            order = np.argsort(target, kind="stable")
            pairs, target = pairs[order], target[order]
            cuts = np.searchsorted(target, np.arange(spills + 1))
            for q in np.flatnonzero(np.diff(cuts)).tolist():
                pairs[cuts[q] : cuts[q + 1]].tofile(greedy_files[q])
    finally:
        for f in greedy_files:
            f.close()
    del resident
    for path in run_paths:
        path.unlink(missing_ok=True)
    if isinstance(store, SpilledSignatures):
        store.drop()
    # 4. the greedy keep, spill by spill in rank order
    stage(f"keeping one row per cluster ({confirmed:,} confirmed pairs)")
    dup_of = np.full(m, -1, dtype=np.int64)
    dup_sim = np.full(m, np.nan)
    kept = np.ones(m, dtype=np.uint8)
    for path in greedy_paths:
        pairs = np.fromfile(path, dtype=_GREEDY)
        path.unlink()
        if pairs.size:
            order = np.lexsort((position[pairs["better"]], -pairs["sim"], position[pairs["worse"]]))
            pairs = pairs[order]
            sweep(pairs["better"], pairs["worse"], pairs["sim"], kept, dup_of, dup_sim)
    if kernel is not None:
        while True:  # every link points to a smaller index: jumping converges to the roots
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    else:
        parent = components(
            m,
            np.concatenate(held_left or [np.zeros(0, np.int64)]),
            np.concatenate(held_right or [np.zeros(0, np.int64)]),
        )
    clusters = int(np.unique(parent[dup_of >= 0]).size)
    info = {
        "memory_budget_mib": round(spill.memory_bytes / 2**20),
        "key_blocks": -(-m // block),
        "signatures_in_memory": store.held,
        "keys_in_memory": keys_held,
        "band_pairs_on_disk": total,
        "partitions": len(bounds) - 1,
        "spilled_mib": round(
            (
                (0 if store.held else store.rows * perm * 4)  # type: ignore[attr-defined]
                + (0 if keys_held else m * bands * 8)
                + total * 8
                + confirmed * _GREEDY.itemsize
            )
            / 2**20
        ),
    }
    return Near(dup_of, dup_sim, candidates, confirmed, clusters, info)
