"""`--executor ray` scaling: the same work on a local Ray cluster of one node and of two nodes (one CPU each),
against the local executor, in one process. A ratio, not a promise: on this 2-core machine both "nodes" share
the cores; on a real cluster each node brings its own.

1. dedup of N short problems (the bench_dedup corpus, grown): seconds per executor, identical outputs checked.
2. judging of real MATH (gold, solution) pairs: items/s with judge actors on 1 and 2 nodes.

Usage: python benchmarks/bench_ray.py [--problems 200000] [--pairs 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import polars as pl  # noqa: E402
from bench_dedup import grow  # noqa: E402
from corpus import DATA, planted_corpus  # noqa: E402

from r1data.ops.dedup import DedupParams, Kernels, dedup  # noqa: E402


def frame(texts: list[str]) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "problem": texts,
            "answer": [None] * n,
            "solution": [None] * n,
            "source": ["bench"] * n,
        },
        schema_overrides={"answer": pl.String, "solution": pl.String},
    )


def on_cluster(nodes: int, work) -> object:  # noqa: ANN001
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    for _ in range(nodes - 1):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        return work()
    finally:
        ray.shutdown()
        cluster.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=200_000)
    ap.add_argument("--pairs", type=int, default=2000)
    args = ap.parse_args()
    from r1data.engines import executors

    texts, _ = planted_corpus(15_000, 5_000)
    df = frame(grow(texts, args.problems))
    params = DedupParams(workers=2)
    print(f"# 1. dedup of {df.height:,} short problems")
    t = time.perf_counter()
    local = dedup(df, params)
    base = time.perf_counter() - t
    print(f"local executor (2 signature threads): {base:7.1f} s  kept {local.kept.height:,}")
    for nodes in (1, 2):

        def work() -> tuple:
            executors.connect()
            k = executors.RayDedup()
            t0 = time.perf_counter()
            r = dedup(df, params, kernels=Kernels(signatures=k.signatures, pairs=k.pairs, jaccard=k.jaccard))
            return time.perf_counter() - t0, r

        seconds, r = on_cluster(nodes, work)
        same = r.kept.equals(local.kept) and r.removed.equals(local.removed)
        print(f"ray, {nodes} node(s) x 1 CPU:             {seconds:7.1f} s  kept {r.kept.height:,}  identical: {same}")
        if nodes == 1:
            one = seconds
    print(f"ratio 2 nodes / 1 node: x{one / seconds:.2f} (speed-up); local / 2 nodes: x{base / seconds:.2f}")

    from r1data.io import read_inputs

    rows = read_inputs([DATA / "math_test.jsonl"], limit=args.pairs).records
    golds, sols = rows.get_column("answer").to_list(), rows.get_column("solution").to_list()
    print(f"\n# 2. judging {len(golds):,} real MATH (gold, solution) pairs")
    rates = {}
    for nodes in (1, 2):

        def judge(nodes: int = nodes) -> float:
            with executors.RayJudge(workers=nodes) as j:
                j.verify(golds[:8], sols[:8])  # actors up
                t0 = time.perf_counter()
                verdicts = j.verify(golds, sols)
                assert sum(v.status == "correct" for v in verdicts) >= 0.95 * len(golds)
                return len(golds) / (time.perf_counter() - t0)

        rates[nodes] = on_cluster(nodes, judge)
        print(f"ray, {nodes} node(s), {nodes} judge actor(s): {rates[nodes]:7.1f} items/s")
    print(f"ratio 2 nodes / 1 node: x{rates[2] / rates[1]:.2f}")


if __name__ == "__main__":
    main()
