"""Adaptive sampling against fixed k=16 on the same simulated problems, in one process.

A seeded simulator draws each problem's true pass rate from a U-shaped mixture (as real pass-rate
distributions are: many problems always or never solved), then the per-sample correctness. Both
strategies see the same sample sequence; fixed k uses the first 16, adaptive stops early.

Usage: python benchmarks/bench_pass_rate.py [--problems 4000] [--band 0.1:0.9] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

from r1data.ops.pass_rate import AdaptiveParams, AdaptiveSampler, Band


def simulate(problems: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, size=problems, p=[0.3, 0.3, 0.4])
    p = np.where(
        kind == 0,
        rng.beta(0.3, 6, problems),
        np.where(kind == 1, rng.beta(6, 0.3, problems), rng.beta(1.2, 1.2, problems)),
    )
    return rng.random((problems, k)) < p[:, None]


def run(draws: np.ndarray, band: Band, params: AdaptiveParams) -> tuple[list[bool], int]:
    sampler = AdaptiveSampler(band, params)
    for i in range(len(draws)):
        sampler.add(str(i))
    while not sampler.done():
        for key, n in sampler.requests().items():
            i, start = int(key), sampler.drawn[key]
            sampler.record(key, [bool(x) for x in draws[i, start : start + n]])
        sampler.settle()
    return [sampler.decided[str(i)] for i in range(len(draws))], sum(sampler.drawn.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=4000)
    ap.add_argument("--band", default="0.1:0.9")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    band, params = Band.parse(args.band), AdaptiveParams()
    draws = simulate(args.problems, params.k, args.seed)
    fixed = [band.keep(float(d.mean())) for d in draws]
    adaptive, used = run(draws, band, params)
    total = draws.size
    agree = sum(a == f for a, f in zip(adaptive, fixed, strict=True))
    print(f"{args.problems:,} simulated problems, band {band.lo} < p < {band.hi}, k={params.k}")
    print(f"fixed k=16 samples: {total:,}; kept {sum(fixed):,}")
    print(
        f"adaptive samples:   {used:,} ({1 - used / total:.1%} fewer; initial {params.initial}, "
        f"step {params.step}, confidence {params.confidence}); kept {sum(adaptive):,}"
    )
    print(f"identical keep/drop decisions: {agree / len(fixed):.1%}")


if __name__ == "__main__":
    main()
