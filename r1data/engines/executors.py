"""Where a step's heavy work runs: `local` (this process and its pools) or `ray` (a Ray cluster).

Ray is the distributed engine here; r1data writes no scheduler of its own. Each step keeps its logic and its
outputs, and hands Ray only the parts that parallelise, which must give exactly the local results:

- dedup: MinHash signatures per block as Ray Data tasks; LSH entries (band, key, row) hash-shuffled by
  (band, key) with Ray Data's `repartition(keys=...)`, so each bucket lands whole in one block whose pairs are
  made there; candidate pairs confirmed in parallel Ray tasks against the signatures in the object store.
  Clusters and the keep rule then run on the driver (r1data.ops.dedup), so the kept rows are the local ones.
- decontaminate: row blocks checked against the benchmark index in parallel (a row's verdict depends on the
  row and the benchmarks only).
- judging: the judge's pools become Ray actors, each holding a local Judge (same per-item timeout, memory
  limit and sandbox), fed chunks of items; verdicts come back in order.
- generation: N engine replicas (Ray actors, each loading its own engine and judge) fed chunks by the chunked
  runner, which writes the same chunk files; a replica that dies has its chunk redone by another.

`connect` joins a cluster (`--ray-address`, default `auto`: the running one, else a local Ray started here).

The runner of a step (steps/base.py `run_one_shot`, steps/chunked.py `run_chunked`) makes the executor the input
settings name (`executor_for`) and hands it to the step: `Local` or `OnRay`, the same methods, so a step never asks
which one it has.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from r1data.errors import MissingExtraError, R1DataError

EXECUTORS = ("local", "ray")
_ITEMS_PER_CALL = 256  # judge items per actor call, at most
_JUDGE_TRIES = 3  # actors that may die on one call before the run ends
_PAIRS_PER_TASK = 1 << 18  # candidate pairs confirmed per task


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingExtraError("ray", "ray", "--executor ray") from None
    return ray


CONNECT_SECONDS = 5.0


def _reachable(address: str) -> None:
    """Fail in one line, in seconds, when nothing answers at a cluster address (Ray itself retries for minutes)."""
    import re
    import socket

    m = re.fullmatch(r"(?:ray://)?\[?([^\]\s]+?)\]?:(\d+)", address.strip())
    if m is None:
        return  # "auto", a cluster file or anything else: Ray decides
    host, port = m.group(1), int(m.group(2))
    try:
        socket.create_connection((host, port), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise R1DataError(
            f"--ray-address {address}: nothing answers there ({why}, within {CONNECT_SECONDS:g} s). "
            "Start the cluster with `ray start --head`, check the address, or leave --ray-address out "
            "to start a local one."
        ) from None


def connect(address: str | None = "auto") -> dict:
    """Join (or start) a Ray cluster once per process; returns what the manifest records of it."""
    ray = _ray()
    for name in ("ray", "ray.data", "ray._private"):  # Ray's notices (token auth, progress bars) are not the user's
        logging.getLogger(name).setLevel(logging.ERROR)
    if not ray.is_initialized():
        with _own_signal_handlers():
            _init(ray, address)
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # r1data's own progress is what the user sees
        with contextlib.suppress(AttributeError):
            ctx.print_on_execution_start = False
    return facts()


@contextlib.contextmanager
def _own_signal_handlers() -> Iterator[None]:
    """ray.init installs Ray's SIGTERM handler (a stack dump, exit 1) over the caller's: the caller's (r1data's: 143
    and one line) are put back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


def _init(ray: Any, address: str | None) -> None:
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING, "include_dashboard": False}
    if address in (None, "", "auto") and not os.environ.get("RAY_ADDRESS"):
        try:
            ray.init(address="auto", **options)
        except ConnectionError:  # no cluster running: a local one, in this process's lifetime
            ray.init(**options)
    else:
        _reachable(address or os.environ.get("RAY_ADDRESS", ""))
        try:
            ray.init(address=address or None, **options)
        except (ConnectionError, ValueError) as exc:
            raise R1DataError(
                f"--ray-address {address}: cannot join the Ray cluster ({exc}). Start it with "
                "`ray start --head`, or use --executor local."
            ) from None


def facts() -> dict:
    """The cluster as the manifest records it: its address, nodes, and total resources."""
    ray = _ray()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    resources = ray.cluster_resources()
    return {
        "name": "ray",
        "ray_version": ray.__version__,
        "address": ray.get_runtime_context().gcs_address,
        "nodes": len(nodes),
        "resources": {k: v for k, v in resources.items() if k in ("CPU", "GPU", "memory", "object_store_memory")},
    }


def _cpus() -> int:
    return max(1, int(_ray().cluster_resources().get("CPU", 1)))


# ---------------------------------------------------------------------------------------------------------------
# dedup


def _signature_batch(batch: dict, spec: Any) -> dict:
    from r1data.ops.dedup import compute_signatures
    from r1data.ops.minhash import SIGNATURE_SCHEME

    sig = compute_signatures([str(t) for t in batch["text"]], spec, 1)
    return {"row": batch["row"], "sig": sig, "scheme": np.full(len(sig), SIGNATURE_SCHEME, dtype=np.int32)}


def _bucket_pairs(batch: dict) -> dict:
    from r1data.ops.dedup import bucket_pairs

    left, right = bucket_pairs(np.asarray(batch["band"]), np.asarray(batch["key"]), np.asarray(batch["row"]))
    return {"left": left, "right": right}


def _confirm(sig: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    from r1data.ops.minhash import estimated_jaccard

    return estimated_jaccard(sig, left, right)


def check_schemes(found: np.ndarray) -> None:
    """Signatures made by the cluster's workers must follow this r1data's signature scheme: an r1data of another
    version on a node would make signatures that never match these, and near duplicates would be missed in silence."""
    from r1data.errors import ConfigError
    from r1data.ops.minhash import SIGNATURE_SCHEME

    others = sorted(set(np.unique(found).tolist()) - {SIGNATURE_SCHEME})
    if others:
        raise ConfigError(
            f"the Ray workers made MinHash signatures of scheme {', '.join(map(str, others))}, this r1data makes "
            f"scheme {SIGNATURE_SCHEME}: they cannot be mixed. Install the same r1data version on every node of the "
            "cluster (pip install r1data==<this version>), or run with --executor local."
        )


class RayDedup:
    """The Kernels of r1data.ops.dedup on a Ray cluster. Counts what each stage did, for the manifest."""

    def __init__(self, blocks: int | None = None) -> None:
        self.blocks = blocks or max(2, _cpus())
        self.counts: dict[str, int] = {}
        self._sig_ref = None

    def signatures(self, texts: Any, spec: Any, workers: int) -> np.ndarray:
        ray = _ray()
        import polars as pl
        import pyarrow as pa

        column = texts.to_arrow() if isinstance(texts, pl.Series) else texts
        ds = ray.data.from_arrow(pa.table({"row": np.arange(len(texts), dtype=np.int64), "text": column}))
        ds = ds.repartition(self.blocks)
        out = ds.map_batches(
            _signature_batch, fn_kwargs={"spec": spec}, batch_format="numpy", batch_size=None, zero_copy_batch=True
        )
        parts = list(out.iter_batches(batch_format="numpy", batch_size=None))
        rows = np.concatenate([p["row"] for p in parts]) if parts else np.zeros(0, np.int64)
        sig = np.concatenate([np.asarray(p["sig"]) for p in parts]) if parts else np.zeros((0, spec.num_perm))
        check_schemes(np.concatenate([p["scheme"] for p in parts]) if parts else np.zeros(0, np.int32))
        self.counts["signature_blocks"] = self.counts.get("signature_blocks", 0) + len(parts)
        return sig[np.argsort(rows, kind="stable")]

    def pairs(self, sig: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
        ray = _ray()
        import pyarrow as pa

        from r1data.ops.dedup import band_keys, unique_pairs

        n = sig.shape[0]
        if n == 0 or bands == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        keys = band_keys(sig, bands, rows)  # (n, bands): a few vector passes; the pairs are the heavy part
        entries = ray.data.from_arrow(
            pa.table(
                {
                    "band": np.repeat(np.arange(bands, dtype=np.int32), n),
                    "key": keys.T.reshape(-1),
                    "row": np.tile(np.arange(n, dtype=np.int64), bands),
                }
            )
        )
        # Ray's hash shuffle: every (band, key) bucket lands whole in one block, where its pairs are made.
        shuffled = entries.repartition(self.blocks, keys=["band", "key"])
        found = shuffled.map_batches(_bucket_pairs, batch_format="numpy", batch_size=None)
        parts = list(found.iter_batches(batch_format="numpy", batch_size=None))
        left = np.concatenate([p["left"] for p in parts]) if parts else np.zeros(0, np.int64)
        right = np.concatenate([p["right"] for p in parts]) if parts else np.zeros(0, np.int64)
        self.counts["shuffle_blocks"] = self.blocks
        self.counts["lsh_entries"] = n * bands
        return unique_pairs(left, right, n)

    def jaccard(self, sig: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        ray = _ray()
        if left.size == 0:
            return np.zeros(0)
        sig_ref = ray.put(sig)  # one copy in the object store, read zero-copy by every task on a node
        confirm = ray.remote(_confirm)
        refs = [
            confirm.remote(sig_ref, left[lo : lo + _PAIRS_PER_TASK], right[lo : lo + _PAIRS_PER_TASK])
            for lo in range(0, left.size, _PAIRS_PER_TASK)
        ]
        self.counts["confirm_tasks"] = len(refs)
        return np.concatenate(ray.get(refs))


# ---------------------------------------------------------------------------------------------------------------
# decontaminate


def ray_decontaminate(records: Any, benchmarks: list, params: Any, blocks: int | None = None) -> Any:
    """r1data.ops.decontaminate on row blocks in parallel Ray tasks; the same result as one local call."""
    ray = _ray()
    import polars as pl

    from r1data.ops.decontaminate import DecontamResult
    from r1data.ops.decontaminate import decontaminate as local

    def block(df: pl.DataFrame) -> tuple:
        from r1data.judge import Judge, answers_equivalent

        with Judge(workers=1) as judge:
            r = local(df, benchmarks, params, answers_equivalent(judge))
        return r.kept, r.removed, r.stats

    n = max(1, min(blocks or _cpus() * 2, records.height))
    size = -(-records.height // n)
    task = ray.remote(block)
    results = ray.get([task.remote(records.slice(lo, size)) for lo in range(0, records.height, size)])
    kept = pl.concat([r[0] for r in results], how="diagonal_relaxed")
    removed = pl.concat([r[1] for r in results], how="diagonal_relaxed")
    stats = _merge_stats([r[2] for r in results])
    # items hit: a set, not a sum
    hit = (
        {(row[0], row[1]) for row in removed.select("contaminated_benchmark", "contaminated_item").iter_rows()}
        if removed.height
        else set()
    )
    stats["benchmark_items_hit"] = len(hit)
    stats["benchmark_items"] = {b.name: len(b.problems) for b in benchmarks}  # each block saw them all: not a sum
    stats["blocks"] = len(results)
    return DecontamResult(kept, removed, stats)


def _merge_stats(parts: list[dict]) -> dict:
    """Counts added up key by key (nested dicts too); other values from the first part."""
    out: dict = {}
    for part in parts:
        for k, v in part.items():
            if isinstance(v, dict):
                out[k] = _merge_stats([out.get(k, {}), v])
            elif isinstance(v, (int, float)) and not isinstance(v, bool) and k in out:
                out[k] = out[k] + v
            else:
                out.setdefault(k, v)
    return out


# ---------------------------------------------------------------------------------------------------------------
# judging


class _JudgeActor:
    def __init__(self, settings: dict) -> None:
        from r1data.judge import Judge

        self.judge = Judge(**{**settings, "workers": 1})

    def verify(self, args: tuple, kwargs: dict) -> list:
        return self.judge.verify(*args, **kwargs)

    def close(self) -> None:
        self.judge.close()


class RayJudge:
    """The Judge's interface with its work on Ray actors (one per CPU of the cluster by default, or `workers`),
    each holding a local Judge: the same per-item timeout, memory limit and sandbox, so the same verdicts. An actor
    that dies (killed, its node lost) is replaced and its calls are judged again by the new one; a call that kills
    `_JUDGE_TRIES` actors ends the run in one line naming its rows."""

    def __init__(self, workers: int | None = None, **settings: Any) -> None:
        ray = _ray()
        self.settings = settings
        self.workers = workers or _cpus()
        self.actor_class = ray.remote(num_cpus=1)(_JudgeActor)
        self.actors = [self.actor_class.remote(settings) for _ in range(self.workers)]
        self.generation = [0] * self.workers  # bumped when a slot's actor is replaced
        self.calls: dict[int, int] = {i: 0 for i in range(self.workers)}
        self.lost: list[str] = []
        self.lenient = settings.get("lenient", False)

    def __enter__(self) -> RayJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        ray = _ray()
        for a in self.actors:
            with contextlib.suppress(Exception):
                ray.kill(a)
        self.actors = []

    def verify(self, golds: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list:
        ray = _ray()
        from r1data import progress

        n = len(golds)
        per_item = {k: v for k, v in kwargs.items() if k in ("problems", "truncated") and v is not None}
        shared = {k: v for k, v in kwargs.items() if k not in per_item}
        # a few calls per actor at least, so that a lost actor costs a part of the work and the load evens out
        size = max(1, min(_ITEMS_PER_CALL, -(-n // (len(self.actors) * 4))))
        spans = [(lo, min(n, lo + size)) for lo in range(0, n, size)]

        def submit(slot: int, c: int) -> tuple[Any, tuple[int, int, int]]:
            lo, hi = spans[c]
            call = dict(shared, **{k: list(v[lo:hi]) for k, v in per_item.items()})
            self.calls[slot] += 1
            ref = self.actors[slot].verify.remote((list(golds[lo:hi]), list(completions[lo:hi])), call)
            return ref, (slot, c, self.generation[slot])

        running = dict(submit(c % len(self.actors), c) for c in range(len(spans)))
        parts: dict[int, list] = {}
        tries = [0] * len(spans)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            slot, c, generation = running.pop(ready[0])
            try:
                part = ray.get(ready[0])
            except ray.exceptions.RayActorError as exc:
                tries[c] += 1
                lo, hi = spans[c]
                if tries[c] >= _JUDGE_TRIES:
                    raise R1DataError(
                        f"Ray: judge actors died {tries[c]} times judging rows {lo}-{hi - 1} (last: "
                        f"{str(exc).strip().splitlines()[0][:200]}). Check the cluster's memory and logs, or run "
                        "with --executor local."
                    ) from None
                if generation == self.generation[slot]:  # the first of the dead actor's calls to come back
                    self.lost.append(f"judge-actor-{slot} (its calls judged again by a new actor)")
                    self.actors[slot] = self.actor_class.remote(self.settings)
                    self.generation[slot] += 1
                ref, where = submit(slot, c)
                running[ref] = where
                continue
            parts[c] = part
            progress.current().count(judged=len(part))
        return [verdict for c in range(len(spans)) for verdict in parts[c]]

    def facts(self) -> dict:
        return {"judge_actors": self.workers, "calls_per_actor": list(self.calls.values()), "lost": self.lost}


# ---------------------------------------------------------------------------------------------------------------
# generation


class _Replica:
    """One engine replica: loads its engine and judge once, then runs chunks of a chunked step."""

    def __init__(self, load_engine: Callable[[], Any], judge: dict) -> None:
        from r1data.judge import Judge

        self.engine = load_engine()
        self.judge = Judge(**judge)

    def run(self, work: Callable, rows: Any) -> Any:
        return work(rows, self.engine, self.judge)

    def close(self) -> None:
        self.judge.close()
        with contextlib.suppress(Exception):
            self.engine.close()


class Replicas:
    """N engine replicas on the cluster, each an actor holding one engine (a GPU each when the cluster has GPUs,
    else one CPU); `run` feeds them chunks as they free up and yields (index, rows) as chunks finish. A chunk whose
    replica dies is redone on another (a new one is started when none is left)."""

    def __init__(self, n: int, load_engine: Callable[[], Any], judge: dict, name: str = "r1data-replica") -> None:
        ray = _ray()
        gpus = ray.cluster_resources().get("GPU", 0)
        self.options = {"num_gpus": 1} if gpus else {"num_cpus": 1}
        self.load_engine, self.judge, self.name = load_engine, judge, name
        self.actor_class = ray.remote(**self.options)(_Replica)
        self.replicas: dict[int, Any] = {}
        self.next_id = 0
        self.chunks_done: dict[str, int] = {}
        self.lost: list[str] = []
        for _ in range(n):
            self._start()

    def _start(self) -> int:
        rid = self.next_id
        self.next_id += 1
        self.replicas[rid] = self.actor_class.options(
            name=f"{self.name}-{os.getpid()}-{rid}", namespace="r1data", lifetime=None
        ).remote(self.load_engine, self.judge)
        self.chunks_done[f"replica-{rid}"] = 0
        return rid

    def run(self, work: Callable, chunks: list[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
        ray = _ray()
        todo = list(chunks)
        running: dict[Any, tuple[int, int, Any]] = {}  # ref -> (replica, chunk index, rows)
        idle = list(self.replicas)
        while todo or running:
            while todo and idle:
                rid = idle.pop(0)
                index, rows = todo.pop(0)
                running[self.replicas[rid].run.remote(work, rows)] = (rid, index, rows)
            ready, _ = ray.wait(list(running), num_returns=1)
            ref = ready[0]
            rid, index, rows = running.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayActorError:
                self.lost.append(f"replica-{rid} (chunk {index} redone elsewhere)")
                del self.replicas[rid]
                todo.insert(0, (index, rows))
                if not self.replicas and not running:
                    idle.append(self._start())
                continue
            self.chunks_done[f"replica-{rid}"] += 1
            idle.append(rid)
            yield index, result

    def close(self) -> None:
        ray = _ray()
        refs = [r.close.remote() for r in self.replicas.values()]
        with contextlib.suppress(Exception):
            ray.get(refs, timeout=60)
        for r in self.replicas.values():
            with contextlib.suppress(Exception):
                ray.kill(r)
        self.replicas = {}

    def facts(self) -> dict:
        return {
            "replicas": len(self.chunks_done),
            "per_replica_chunks": self.chunks_done,
            "lost": self.lost,
            "replica_resources": self.options,
        }


class LocalChunks:
    """Chunks one after another in this process, with one engine (the given one, else loaded by `open` when the step
    needs one, and closed by `close`) and one Judge."""

    def __init__(self, load_engine: Callable[[], Any] | None, judge: dict, engine: Any = None) -> None:
        self.load_engine, self.judge_settings, self.engine = load_engine, judge, engine
        self.owned = False
        self.judge: Any = None

    def open(self) -> None:
        from r1data.judge import Judge

        if self.engine is None and self.load_engine is not None:
            self.engine, self.owned = self.load_engine(), True  # it says "loading the model … N s" as it loads
        self.judge = Judge(**self.judge_settings)

    def run(self, work: Callable, chunks: Sequence[tuple[int, Callable[[], Any]]]) -> Iterator[tuple[int, Any]]:
        from r1data import progress

        for done, (index, rows) in enumerate(chunks, 1):
            progress.current().stage(f"chunk {done}/{len(chunks)} running")
            yield index, work(rows(), self.engine, self.judge)

    def facts(self) -> dict:
        """What the manifest records of the engine's settings on this machine (vLLM on CPU: its cores, its KV cache)."""
        facts = getattr(self.engine, "facts", None)
        return {"engine": facts()} if callable(facts) else {}

    def close(self) -> None:
        try:
            if self.judge is not None:
                self.judge.close()
        finally:
            if self.owned and self.engine is not None:
                self.engine.close()
                self.engine = None


class RayChunks:
    """Chunks on N engine replicas of the cluster (`Replicas`): the same chunk results, in the order they finish."""

    def __init__(self, n: int, load_engine: Callable[[], Any] | None, judge: dict) -> None:
        self.n, self.load_engine, self.judge = n, load_engine or (lambda: None), judge
        self.replicas: Replicas | None = None

    def open(self) -> None:
        from r1data import progress

        progress.current().stage(f"starting {self.n} engine replicas")
        self.replicas = Replicas(self.n, self.load_engine, self.judge)

    def run(self, work: Callable, chunks: Sequence[tuple[int, Callable[[], Any]]]) -> Iterator[tuple[int, Any]]:
        assert self.replicas is not None, "open() first"
        yield from self.replicas.run(work, [(index, rows()) for index, rows in chunks])

    def facts(self) -> dict:
        return self.replicas.facts() if self.replicas is not None else {}

    def close(self) -> None:
        if self.replicas is not None:
            self.replicas.close()


# ---------------------------------------------------------------------------------------------------------------
# The executors


class Local:
    """The work in this process and its pools."""

    name = "local"

    def start(self) -> dict:
        return {"name": "local"}

    def judge(self, **settings: Any) -> Any:
        from r1data.judge import Judge

        return Judge(**settings)

    def dedup_kernels(self) -> Any:
        """Ray's dedup kernels, or None: the local ones (and out of core where the step asks for it)."""
        return None

    def decontaminate(self, records: Any, benchmarks: list, params: Any) -> Any:
        from r1data.judge import Judge, answers_equivalent
        from r1data.ops.decontaminate import decontaminate

        with Judge(workers=2) as judge:  # started only if a pair of answers takes math-verify to compare
            return decontaminate(records, benchmarks, params, answers_equivalent(judge))

    def chunks(
        self, load_engine: Callable[[], Any] | None, judge: dict, engine: Any = None, replicas: int | None = None
    ) -> LocalChunks:
        return LocalChunks(load_engine, judge, engine)


class OnRay:
    """The work on a Ray cluster (joined, or started here, by `start`)."""

    name = "ray"

    def __init__(self, address: str | None = "auto") -> None:
        self.address = address
        self.cluster: dict = {}

    def start(self) -> dict:
        self.cluster = connect(self.address)
        return self.cluster

    def judge(self, **settings: Any) -> RayJudge:
        return RayJudge(**settings)

    def dedup_kernels(self) -> RayDedup:
        return RayDedup()

    def decontaminate(self, records: Any, benchmarks: list, params: Any) -> Any:
        result = ray_decontaminate(records, benchmarks, params)
        result.stats["executor"] = {"blocks": result.stats.pop("blocks")}
        return result

    def chunks(
        self, load_engine: Callable[[], Any] | None, judge: dict, engine: Any = None, replicas: int | None = None
    ) -> RayChunks:
        """Engine replicas: `replicas`, else one per GPU of the cluster, else one (an engine given here is this
        process's: replicas load their own)."""
        gpus = (self.cluster or facts())["resources"].get("GPU", 0)
        return RayChunks(replicas or max(1, int(gpus)), load_engine, judge)


def executor_for(name: str, address: str | None = "auto") -> Local | OnRay:
    """The executor `--executor` names."""
    return OnRay(address) if name == "ray" else Local()
