"""Does curation pay? The same training budget on a raw pool and on what r1data keeps of it, side by side.

CPU (default; the built-in SmolLM2-135M, same seeds, same step budget, each arm alone):

- Pool: sums the model solves sometimes, one-liners it solves more often ("The answer is 7. What is the
  answer?"), three-digit products it never solves, exact duplicates of some sums, and copies of held-out
  problems (contamination). Held out: sums from another seed, never in the pool except the planted copies.
- Curation: `dedup` -> `decontaminate` against the held-out set -> `filter --pass-rate 0:1 --adaptive` with the
  built-in model (its samples are kept: the SFT arm's traces).
- RL arm: GRPO (recipes/smollm2-135m/grpo/cpu.yaml) for --steps steps on the raw pool (A) and on the kept band
  (B). Printed per arm: accuracy reward per step, the share of zero-advantage groups (all-equal rewards: no
  gradient), greedy held-out accuracy before and after, and the ratio of held-out gains B / A.
- SFT arm: the same traces; A trains SFT on every sampled trace, B on `rejection-sample`'s verified ones (the
  same stored samples judged), for the same number of steps; greedy held-out accuracy after each.

GPU (`--gpu --model PATH`, a local 0.5-1.5B instruct model): the same flow on MATH train problems (shared data),
MATH-500 held out, vLLM for sampling; needs a GPU (the device tool lends one sometimes) and refuses on CPU.

Usage: python benchmarks/bench_curation.py [--steps 15] [--seeds 0,1,2] [--out DIR [--reuse]] [--no-sft]
       [--gpu --model PATH]
About 25 minutes on 2 cores with the defaults. Caveats: a 135M model, easy problems, few steps.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import greedy_accuracy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GRPO_RECIPE = ROOT / "recipes" / "smollm2-135m" / "grpo" / "cpu.yaml"
SFT_RECIPE = ROOT / "recipes" / "smollm2-135m" / "sft" / "cpu.yaml"
TEMPLATE = "{problem} Answer with the number only."
STEP_FOLDERS = {"dedup": "01-dedup", "decontaminate": "02-decontaminate", "filter": "03-filter"}


def pool(
    seed: int = 0,
    sums: int = 60,
    echoes: int = 30,
    products: int = 30,
    copies: int = 20,
    held_out: list[dict] | None = None,
    leaked: int = 6,
) -> list[dict]:
    """The raw pool: what a scrape looks like, before curation."""
    rng = random.Random(seed)
    rows = []
    for i in range(sums):
        a, b = rng.randint(1, 20), rng.randint(1, 20)
        rows.append({"id": f"sum/{i}", "problem": f"What is {a} + {b}?", "answer": str(a + b)})
    for i in range(echoes):
        a = rng.randint(2, 99)
        rows.append({"id": f"echo/{i}", "problem": f"The answer is {a}. What is the answer?", "answer": str(a)})
    for i in range(products):
        a, b = rng.randint(100, 999), rng.randint(100, 999)
        rows.append({"id": f"product/{i}", "problem": f"What is {a} * {b}?", "answer": str(a * b)})
    for i in range(copies):
        rows.append(dict(rows[i % sums], id=f"copy/{i}"))
    for i, row in enumerate((held_out or [])[:leaked]):
        rows.append(dict(row, id=f"leak/{i}"))
    rng.shuffle(rows)
    return rows


def held_out_set(n: int = 48, seed: int = 4242) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b = rng.randint(1, 20), rng.randint(1, 20)
        out.append({"id": f"held/{i}", "problem": f"What is {a} + {b}?", "answer": str(a + b)})
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def zero_advantage_share(log: Path) -> list[float]:
    """Per logged GRPO step, the share of groups whose rewards were all equal (TRL's frac_reward_zero_std)."""
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    return [r["frac_reward_zero_std"] for r in rows if "frac_reward_zero_std" in r]


def rewards(log: Path) -> list[float]:
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    return [r["rewards/accuracy/mean"] for r in rows if "rewards/accuracy/mean" in r]


def curate(
    raw: Path,
    held: Path,
    work: Path,
    model: str | None,
    engine: str | None = None,
    samples: int = 8,
    user_template: str | None = TEMPLATE,
    max_tokens: int = 32,
) -> dict:
    """dedup -> decontaminate -> filter --pass-rate 0:1 (adaptive; the samples kept); returns the step folders."""
    from r1data.steps import IOConfig, run_step
    from r1data.steps.decontaminate import Config as Decontam
    from r1data.steps.dedup import Config as Dedup
    from r1data.steps.filter import Config as Filter

    io = IOConfig(overwrite=True)
    out = {name: work / folder for name, folder in STEP_FOLDERS.items()}
    run_step("dedup", [raw], out["dedup"], Dedup(workers=1), io)
    run_step(
        "decontaminate",
        [out["dedup"]],
        out["decontaminate"],
        Decontam(against=[f"held={held}"], digits_exact=False),
        io,
    )
    cfg = Filter(
        pass_rate="0:1",
        samples=samples,
        adaptive=True,
        max_tokens=max_tokens,
        temperature=1.0,
        user_template=user_template,
        keep_generations=True,
        model=model,
        engine=engine,
    )
    run_step("filter", [out["decontaminate"]], out["filter"], cfg, io)
    return out


def all_traces(filter_out: Path) -> list[dict]:
    """Every sampled trace of the filter step (kept and removed rows) as an SFT row: the uncurated arm."""
    import polars as pl

    frames = [pl.read_parquet(filter_out / d / "*.parquet") for d in ("data", "removed") if (filter_out / d).exists()]
    rows = []
    for frame in frames:
        if "generations" not in frame.columns:
            continue
        for r in frame.select("problem", "generations").iter_rows(named=True):
            for g in r["generations"] or []:
                rows.append(
                    {
                        "messages": [
                            {"role": "user", "content": TEMPLATE.format(problem=r["problem"])},
                            {"role": "assistant", "content": g},
                        ]
                    }
                )
    return rows


def train(task: str, data: Path, out: Path, steps: int, seed: int, extra: dict | None = None) -> dict:
    from r1data.steps import IOConfig, run_step
    from r1data.train import load_train_config

    recipe = GRPO_RECIPE if task == "grpo" else SFT_RECIPE
    overrides = {"max_steps": steps, "seed": seed, "report_to": ["none"], "save_steps": steps, **(extra or {})}
    cfg = load_train_config(task, recipe, overrides)
    return run_step(f"train-{task}", [data], out, cfg, IOConfig(overwrite=True)).manifest


def rl_arm(name: str, data: Path, out: Path, steps: int, seed: int, held: list[dict]) -> dict:
    started = time.perf_counter()
    train("grpo", data, out, steps, seed)
    after = greedy_accuracy(str(out / "model"), held, TEMPLATE)
    log = out / "log.jsonl"
    return {
        "arm": name,
        "rewards": rewards(log),
        "zero_adv": zero_advantage_share(log),
        "after": after,
        "seconds": time.perf_counter() - started,
    }


def cpu(args: argparse.Namespace) -> None:
    from r1data.models import resolve_model
    from r1data.steps import IOConfig, run_step
    from r1data.steps.rejection_sample import Config as RS

    work = args.out or Path(tempfile.mkdtemp(prefix="bench-curation-"))
    work.mkdir(parents=True, exist_ok=True)
    held = held_out_set()
    held_path = write_jsonl(work / "held_out.jsonl", held)
    raw_rows = pool(0, held_out=held)
    raw = write_jsonl(work / "raw.jsonl", raw_rows)
    base = resolve_model(None)
    before = greedy_accuracy(base, held, TEMPLATE)
    print(f"pool: {len(raw_rows)} problems; held out: {len(held)} sums; greedy held-out accuracy before: {before:.3f}")

    t = time.perf_counter()
    done = work / "curate" / STEP_FOLDERS["filter"] / "manifest.json"
    if args.reuse and done.is_file():  # the same pool, curated by an earlier run into this --out
        steps_out = {name: work / "curate" / folder for name, folder in STEP_FOLDERS.items()}
    else:
        steps_out = curate(raw, held_path, work / "curate", None)
    kept = json.loads((steps_out["filter"] / "manifest.json").read_text())
    print(
        f"curation: {time.perf_counter() - t:.0f} s; kept {kept['rows_out']} of {len(raw_rows)} "
        + ", ".join(f"{name} {json.loads((p / 'manifest.json').read_text())['drops']}" for name, p in steps_out.items())
    )

    results: dict[str, list[dict]] = {"A (raw pool)": [], "B (r1data-curated)": []}
    for seed in args.seeds:
        for name, data in (("A (raw pool)", raw), ("B (r1data-curated)", steps_out["filter"])):
            r = rl_arm(name, data, work / f"grpo-{name[0]}-{seed}", args.steps, seed, held)
            results[name].append(r)
            print(f"\nRL arm {name}, seed {seed}: {r['seconds']:.0f} s")
            print("  accuracy reward per step: " + " ".join(f"{x:.2f}" for x in r["rewards"]))
            print("  zero-advantage share:     " + " ".join(f"{x:.2f}" for x in r["zero_adv"]))
            print(f"  held-out greedy accuracy: before {before:.3f}, after {r['after']:.3f}")
    gains = {k: [r["after"] - before for r in v] for k, v in results.items()}
    zero = {k: statistics.mean(x for r in v for x in r["zero_adv"]) for k, v in results.items()}
    print("\nRL arm, side by side (mean over seeds; spread = min..max):")
    for k in results:
        g = gains[k]
        print(
            f"  {k:20} held-out gain {statistics.mean(g):+.3f} ({min(g):+.3f}..{max(g):+.3f}); "
            f"zero-advantage groups {zero[k]:.2f}"
        )
    a, b = statistics.mean(gains["A (raw pool)"]), statistics.mean(gains["B (r1data-curated)"])
    print(f"  ratio of held-out gains B / A: {b / a:.2f}" if a else f"  held-out gain A is 0; B {b:+.3f}")

    if args.no_sft:
        print(f"\n(work folder: {work})")
        return
    # SFT arm: every sampled trace vs the verified ones
    all_rows = write_jsonl(work / "sft-all.jsonl", all_traces(steps_out["filter"]))
    rs = work / "curate" / "04-rejection-sample"
    rs_cfg = RS(samples=8, keep=2, user_template=TEMPLATE, max_tokens=32, language=None)
    run_step("rejection-sample", [steps_out["filter"]], rs, rs_cfg, IOConfig(overwrite=True))
    verified = json.loads((rs / "manifest.json").read_text())["rows_out"]
    n_all = len(all_rows.read_text().splitlines())
    print(
        f"\nSFT arm: A on all {n_all} sampled traces, B on the verified traces of {verified} problems "
        f"(keep 2 each), {args.sft_steps} steps each"
    )
    for name, data in (("A (all traces)", all_rows), ("B (verified)", rs)):
        out = work / f"sft-{name[0]}"
        train("sft", data, out, args.sft_steps, 0, {"max_length": 128})
        print(
            f"  {name:16} held-out greedy accuracy: before {before:.3f}, after "
            f"{greedy_accuracy(str(out / 'model'), held, TEMPLATE):.3f}"
        )
    print(f"\n(work folder: {work})")


def heldout_accuracy(model: str, held: Path, out: Path, max_tokens: int) -> float:
    """Greedy accuracy on the held-out set through r1data itself: `filter` with one sample at temperature 0 (vLLM,
    the boxed prompt, the strict judge); the mean pass rate over kept and removed rows."""
    import polars as pl

    from r1data.steps import IOConfig, run_step
    from r1data.steps.filter import Config as Filter

    cfg = Filter(pass_rate="0:1", samples=1, temperature=0.0, max_tokens=max_tokens, model=model, engine="vllm")
    run_step("filter", [held], out, cfg, IOConfig(overwrite=True))
    frames = [pl.read_parquet(out / d / "*.parquet") for d in ("data", "removed") if (out / d).exists()]
    rates = pl.concat([f.select("pass_rate") for f in frames if "pass_rate" in f.columns]).get_column("pass_rate")
    return float(rates.fill_null(0.0).mean())


def gpu(args: argparse.Namespace) -> None:
    import torch

    if not torch.cuda.is_available():
        print("--gpu needs a GPU (none here): run it on a GPU machine, e.g. through the device tool.")
        raise SystemExit(2)
    if not args.model:
        print("--gpu needs --model PATH: a local 0.5-1.5B instruct model (r1data never downloads one).")
        raise SystemExit(2)
    from corpus import DATA

    from r1data.io import read_inputs

    math = read_inputs([DATA / "math_train.jsonl"], limit=args.problems).records
    held = read_inputs([DATA / "math500_test.jsonl"]).records
    work = args.out or Path(tempfile.mkdtemp(prefix="bench-curation-gpu-"))
    work.mkdir(parents=True, exist_ok=True)
    raw = write_jsonl(work / "raw.jsonl", math.select("id", "problem", "answer").to_dicts())
    held_path = write_jsonl(work / "held_out.jsonl", held.select("id", "problem", "answer").to_dicts())
    before = heldout_accuracy(args.model, held_path, work / "held-before", 2048)
    print(f"MATH-500 greedy accuracy before: {before:.3f}")
    steps_out = curate(
        raw, held_path, work / "curate", args.model, "vllm", samples=16, user_template=None, max_tokens=2048
    )
    for name, data in (("A (raw pool)", raw), ("B (r1data-curated)", steps_out["filter"])):
        out = work / f"grpo-{name[0]}"
        train(
            "grpo",
            data,
            out,
            args.steps,
            0,
            {
                "model": args.model,
                "use_vllm": True,
                "max_completion_length": 1024,
                "user_template": None,
                "prompt": "boxed",
            },
        )
        after = heldout_accuracy(str(out / "model"), held_path, work / f"held-{name[0]}", 2048)
        zero = zero_advantage_share(out / "log.jsonl")
        print(
            f"{name}: accuracy reward per step {[round(x, 3) for x in rewards(out / 'log.jsonl')]}; "
            f"zero-advantage share {statistics.mean(zero) if zero else float('nan'):.2f}; "
            f"MATH-500 greedy accuracy {before:.3f} -> {after:.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=15, help="GRPO steps per arm")
    ap.add_argument("--sft-steps", type=int, default=10, help="SFT steps per arm")
    ap.add_argument(
        "--seeds",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[0],
        help="training seeds of the RL arms, e.g. 0,1,2 (the spread is printed)",
    )
    ap.add_argument("--reuse", action="store_true", help="reuse the curation an earlier run left in --out")
    ap.add_argument("--no-sft", action="store_true", help="skip the SFT arm")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--gpu", action="store_true", help="the GPU version (MATH, MATH-500, --model)")
    ap.add_argument("--model", default=None, help="--gpu: a local model folder")
    ap.add_argument("--problems", type=int, default=2000, help="--gpu: MATH train problems in the pool")
    args = ap.parse_args()
    (gpu if args.gpu else cpu)(args)


if __name__ == "__main__":
    main()
