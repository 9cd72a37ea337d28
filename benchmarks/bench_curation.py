"""Does curation pay? The same training on a raw pool and on what r1data keeps of it, over several seeds, with
intervals, at equal steps and at equal compute.

CPU (default; the built-in SmolLM2-135M, each arm alone):

- Pool: what a real pool holds, each in a known share (printed): sums like the held-out ones, exact copies and near
  copies of them, one-liners the model always solves ("The answer is 7. What is the answer?"), three-digit products
  it never solves, sums whose gold is garbled (a wrong number, or no answer at all: they reward the wrong thing or
  nothing), and held-out problems leaked into the pool (copied, and rephrased). Held out: --held-out sums from the
  same distribution, disjoint from the pool but for the planted leaks.
- Curation: `dedup` -> `decontaminate` against the held-out set -> `filter --pass-rate 0:1 --adaptive` with the
  built-in model (its samples are kept: the SFT arm's traces). Its samples are the curated arm's cost.
- RL: GRPO (recipes/smollm2-135m/grpo/cpu.yaml) for --steps steps on the raw pool (A) and on the kept band (B), one
  run per seed; greedy held-out accuracy at every --eval-every steps. Printed: per arm the accuracy over seeds with
  a bootstrap 95% interval (problems resampled), the paired difference B - A with its interval, per seed too; and
  the equal-compute curve, held-out accuracy against generated samples, where B's curve starts after the samples
  its curation drew, with A and B compared at equal samples.
- SFT: A on every sampled trace plus the cut-off ones a real dump holds (a known share), B on `rejection-sample`'s
  verified traces; --sft-steps steps, one run per seed, the same intervals.

GPU (`--gpu --model PATH`, a local 0.5-1.5B instruct model): the same flow on MATH train problems (shared data),
MATH-500 held out, vLLM for sampling; needs a GPU (the device tool lends one sometimes) and refuses on CPU.

Usage: python benchmarks/bench_curation.py [--steps 20] [--eval-every 10] [--seeds 0,1,2] [--held-out 240]
       [--out DIR [--reuse]] [--no-sft] [--gpu --model PATH]
About 31 minutes on 2 cores with the defaults (`--reuse` keeps DIR's curation and finished runs). Caveats: a 135M
model, easy problems, few steps.
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

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import greedy_scores  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GRPO_RECIPE = ROOT / "recipes" / "smollm2-135m" / "grpo" / "cpu.yaml"
SFT_RECIPE = ROOT / "recipes" / "smollm2-135m" / "sft" / "cpu.yaml"
TEMPLATE = "{problem} Answer with the number only."
STEP_FOLDERS = {"dedup": "01-dedup", "decontaminate": "02-decontaminate", "filter": "03-filter"}


def _pair(rng: random.Random, taken: set, top: int = 40) -> tuple[int, int]:
    while True:
        a, b = rng.randint(1, top), rng.randint(1, top)
        if (a, b) not in taken:
            taken.add((a, b))
            return a, b


def held_out_set(n: int = 240, seed: int = 4242) -> list[dict]:
    """Sums of two numbers from 1 to 40, each once: the held-out set."""
    rng, taken = random.Random(seed), set()
    out = []
    for i in range(n):
        a, b = _pair(rng, taken)
        out.append({"id": f"held/{i}", "problem": f"What is {a} + {b}?", "answer": str(a + b)})
    return out


def pool(
    seed: int = 0,
    sums: int = 120,
    copies: int = 20,
    near: int = 12,
    echoes: int = 30,
    products: int = 30,
    garbled: int = 16,
    held_out: list[dict] | None = None,
    leaked: int = 8,
    rephrased: int = 6,
) -> list[dict]:
    """The raw pool: what a scrape looks like before curation. Sums from the held-out set's distribution (never one of
    its problems, but for the planted leaks), and the faults real pools hold; each row's kind is its id's prefix."""
    rng = random.Random(seed)
    taken = {tuple(int(x) for x in h["problem"][8:-1].split(" + ")) for h in held_out or []}
    rows = []
    for i in range(sums):
        a, b = _pair(rng, taken)
        rows.append({"id": f"sum/{i}", "problem": f"What is {a} + {b}?", "answer": str(a + b)})
    for i in range(copies):  # exact duplicates
        rows.append(dict(rows[i % sums], id=f"copy/{i}"))
    for i in range(near):  # near duplicates: the same sum with a few words around it
        base = rows[(i * 7) % sums]
        rows.append(dict(base, id=f"near/{i}", problem=f"Quick question: {base['problem']} Think step by step."))
    for i in range(echoes):  # always solved
        a = rng.randint(2, 99)
        rows.append({"id": f"echo/{i}", "problem": f"The answer is {a}. What is the answer?", "answer": str(a)})
    for i in range(products):  # never solved
        a, b = rng.randint(100, 999), rng.randint(100, 999)
        rows.append({"id": f"product/{i}", "problem": f"What is {a} * {b}?", "answer": str(a * b)})
    for i in range(garbled):  # a wrong gold rewards the wrong answer; no gold rewards nothing
        a, b = _pair(rng, taken)
        wrong = str(a + b + rng.choice([-10, -1, 1, 10])) if i % 2 else "See the solution."
        rows.append({"id": f"garbled/{i}", "problem": f"What is {a} + {b}?", "answer": wrong})
    for i, row in enumerate((held_out or [])[:leaked]):  # benchmark leaks, copied
        rows.append(dict(row, id=f"leak/{i}"))
    for i, row in enumerate((held_out or [])[leaked : leaked + rephrased]):  # and rephrased
        a, b = row["problem"][8:-1].split(" + ")
        rows.append(dict(row, id=f"leak-rephrased/{i}", problem=f"Add {a} and {b}. What is the total of {a} + {b}?"))
    rng.shuffle(rows)
    return rows


def kinds(rows: list[dict]) -> dict[str, int]:
    """Rows per kind (the id's prefix), in a fixed order."""
    counted: dict[str, int] = {}
    for r in rows:
        kind = r["id"].split("/")[0]
        counted[kind] = counted.get(kind, 0) + 1
    return dict(sorted(counted.items()))


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


def bootstrap(values: np.ndarray, reps: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """The mean of per-problem values and its bootstrap 95% interval (the problems resampled with replacement)."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(reps, values.size))].mean(axis=1)
    return float(values.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def across_seeds(per_seed: np.ndarray) -> tuple[float, float, float]:
    """The mean of per-seed values and its 95% t interval (n - 1 degrees of freedom): the spread between training
    runs, which resampling problems alone does not see."""
    n = per_seed.size
    mean = float(per_seed.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    half = _T95.get(n - 1, 1.96) * float(per_seed.std(ddof=1)) / n**0.5
    return mean, mean - half, mean + half


def interval(values: np.ndarray) -> str:
    mean, lo, hi = bootstrap(values)
    return f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"


def signed(values: np.ndarray) -> str:
    mean, lo, hi = bootstrap(values)
    return f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def at_samples(curve: list[tuple[int, list[float]]], samples: float) -> np.ndarray:
    """Per-problem held-out scores of one run at a number of generated samples, read off its curve (samples, scores)
    by linear interpolation between the points around it (before the first point: the first point's scores)."""
    xs = [x for x, _ in curve]
    ys = np.array([y for _, y in curve], dtype=float)
    if samples <= xs[0]:
        return ys[0]
    if samples >= xs[-1]:
        return ys[-1]
    k = int(np.searchsorted(xs, samples)) - 1
    w = (samples - xs[k]) / (xs[k + 1] - xs[k])
    return (1 - w) * ys[k] + w * ys[k + 1]


def arm_steps(budget: int | None, steps: int, per_step: int, cost: int) -> int:
    """GRPO steps of an arm: `steps`; or, with a budget of generated samples, what the budget leaves after the
    samples the arm's curation drew (both arms counted alike: a GRPO step generates `per_step` completions)."""
    if budget is None:
        return steps
    return max(0, (budget - cost) // per_step)


def rl_run(data: Path, out: Path, steps: int, seed: int, held: list[dict], every: int, reuse: bool) -> dict:
    """One GRPO run, with greedy held-out scores at every `every` steps (its checkpoints) and at the end."""
    done = out / "bench-result.json"
    if reuse and done.is_file():
        return json.loads(done.read_text())
    started = time.perf_counter()
    train("grpo", data, out, steps, seed, {"save_steps": every})
    points = []
    for step in range(every, steps, every):
        checkpoint = out / f"checkpoint-{step}"
        if checkpoint.is_dir():
            points.append((step, greedy_scores(str(checkpoint), held, TEMPLATE, str(out / "model"))))
    points.append((steps, greedy_scores(str(out / "model"), held, TEMPLATE)))
    log = out / "log.jsonl"
    result = {
        "points": points,
        "rewards": rewards(log),
        "zero_adv": zero_advantage_share(log),
        "seconds": time.perf_counter() - started,
    }
    done.write_text(json.dumps(result))
    return result


def cut_off(rows: list[dict], share: float, seed: int = 0) -> tuple[list[dict], int]:
    """A share of SFT rows with the answer cut in half, as a dump of traces that hit the length limit holds."""
    rng = random.Random(seed)
    out, cut = [], 0
    for r in rows:
        if rng.random() < share:
            text = r["messages"][1]["content"]
            r = {"messages": [r["messages"][0], {"role": "assistant", "content": text[: len(text) // 2]}]}
            cut += 1
        out.append(r)
    return out, cut


def report(title: str, scores: dict[str, np.ndarray], before: np.ndarray) -> None:
    """Per arm: accuracy over seeds and problems with its interval; B - A paired by problem, overall and per seed."""
    a, b = scores.values()
    seeds, problems = a.shape
    print(f"\n{title}: held-out greedy accuracy, mean over {seeds} seeds and {problems} problems [95% bootstrap]")
    print(f"  before training     {interval(before)}")
    for name, m in scores.items():
        per_seed = ", ".join(f"{x:.3f}" for x in m.mean(axis=1))
        print(f"  {name:20}{interval(m.mean(axis=0))}   (per seed {per_seed})")
    print(f"  B - A, paired by problem (problems resampled)  {signed(b.mean(axis=0) - a.mean(axis=0))}")
    mean, lo, hi = across_seeds(b.mean(axis=1) - a.mean(axis=1))
    print(f"  B - A across seeds (t interval, {seeds - 1} df)     {mean:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    for k in range(seeds):
        print(f"    seed {k}: B - A          {signed(b[k] - a[k])}")


def draw_curves(curves: dict[str, list[list[tuple[int, list[float]]]]], path: Path) -> Path:
    """Held-out accuracy against generated samples: each seed's run thin, the mean of the seeds thick."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for (name, runs), color in zip(curves.items(), ("tab:gray", "tab:blue"), strict=False):
        xs = [x for x, _ in runs[0]]
        for run in runs:
            ax.plot(xs, [np.mean(y) for _, y in run], color=color, alpha=0.35, linewidth=1)
        ax.plot(
            xs,
            [np.mean([np.mean(run[i][1]) for run in runs]) for i in range(len(xs))],
            color=color,
            label=name,
            linewidth=2.5,
            marker="o",
        )
    ax.set_xlabel("generated samples (the curated arm's filter samples included)")
    ax.set_ylabel("held-out greedy accuracy")
    ax.set_title("RL at equal compute: raw pool (A) against r1data-curated (B)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def cpu(args: argparse.Namespace) -> None:
    from r1data.models import resolve_model
    from r1data.steps import IOConfig, run_step
    from r1data.steps.rejection_sample import Config as RS
    from r1data.train import load_train_config

    work = args.out or Path(tempfile.mkdtemp(prefix="bench-curation-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    held = held_out_set(args.held_out)
    held_path = write_jsonl(work / "held_out.jsonl", held)
    raw_rows = pool(0, held_out=held)
    raw = write_jsonl(work / "raw.jsonl", raw_rows)
    base = resolve_model(None)
    before = np.array(greedy_scores(base, held, TEMPLATE))
    shares = ", ".join(f"{k} {n} ({n / len(raw_rows):.0%})" for k, n in kinds(raw_rows).items())
    print(f"pool: {len(raw_rows)} problems: {shares}")
    print(f"held out: {len(held)} sums; greedy accuracy before: {interval(before)}")

    t = time.perf_counter()
    done = work / "curate" / STEP_FOLDERS["filter"] / "manifest.json"
    if args.reuse and done.is_file():  # the same pool, curated by an earlier run into this --out
        steps_out = {name: work / "curate" / folder for name, folder in STEP_FOLDERS.items()}
    else:
        steps_out = curate(raw, held_path, work / "curate", None)
    filtered = json.loads((steps_out["filter"] / "manifest.json").read_text())
    drawn = int(filtered["stats"]["samples_drawn"])
    kept_ids = pl.read_parquet(steps_out["filter"] / "data" / "*.parquet").get_column("id").to_list()
    print(
        f"curation: {time.perf_counter() - t:.0f} s; kept {filtered['rows_out']} of {len(raw_rows)} "
        f"({', '.join(f'{k} {n}' for k, n in kinds([{'id': i} for i in kept_ids]).items())}); "
        + ", ".join(f"{name} {json.loads((p / 'manifest.json').read_text())['drops']}" for name, p in steps_out.items())
        + f"; the filter drew {drawn:,} samples"
    )

    per_step = load_train_config("grpo", GRPO_RECIPE, {}).per_device_train_batch_size  # completions per step
    arms = {"A (raw pool)": (raw, 0), "B (r1data-curated)": (steps_out["filter"], drawn)}
    steps = {name: arm_steps(args.budget_samples, args.steps, per_step, cost) for name, (_, cost) in arms.items()}
    runs: dict[str, list[dict]] = {name: [] for name in arms}
    for seed in args.seeds:
        for name, (data, _) in arms.items():
            tag = "" if steps[name] == args.steps else f"-{steps[name]}steps"  # a run of other length: its own
            out = work / f"grpo-{name[0]}-{seed}{tag}"
            if steps[name] == 0:  # the budget is spent before training: the arm is the base model
                r = {"points": [(0, before.tolist())], "rewards": [], "zero_adv": [float("nan")], "seconds": 0.0}
            else:
                r = rl_run(data, out, steps[name], seed, held, args.eval_every, args.reuse)
            runs[name].append(r)
            print(
                f"RL {name}, seed {seed}, {steps[name]} steps: {r['seconds']:.0f} s; accuracy reward per step "
                + " ".join(f"{x:.2f}" for x in r["rewards"])
                + f"; zero-advantage share {statistics.mean(r['zero_adv']):.2f}"
            )
    final = {name: np.array([r["points"][-1][1] for r in rs]) for name, rs in runs.items()}
    if args.budget_samples is None:
        title = f"RL, equal steps ({args.steps} GRPO steps of {per_step} completions)"
    else:
        title = (
            f"RL, equal budget of {args.budget_samples:,} generated samples (steps: "
            + ", ".join(f"{name} {n}" for name, n in steps.items())
            + ")"
        )
    report(title, final, before)
    zero = {k: statistics.mean(x for r in v for x in r["zero_adv"]) for k, v in runs.items()}
    print("  zero-advantage groups: " + ", ".join(f"{k} {v:.2f}" for k, v in zero.items()))

    # equal compute: each run's curve against the samples generated, the curated arm's filter samples included
    curves = {
        name: [[(cost, before.tolist())] + [(cost + step * per_step, s) for step, s in r["points"]] for r in rs]
        for (name, (_, cost)), rs in zip(arms.items(), runs.values(), strict=True)
    }
    print(f"\nRL, equal compute: held-out accuracy against generated samples (B pays its filter's {drawn:,} first)")
    for name, cs in curves.items():
        points = []
        for i in range(len(cs[0])):
            x = cs[0][i][0]
            points.append(f"{x:,}: {np.mean([c[i][1] for c in cs]):.3f}")
        print(f"  {name:20}" + "  ".join(points))
    budget = args.budget_samples or args.steps * per_step
    for x in sorted({budget} if args.budget_samples else {budget, budget + drawn}):
        at = {name: np.array([at_samples(c, x) for c in cs]) for name, cs in curves.items()}
        a, b = at.values()
        print(
            f"  at {x:,} samples: A {interval(a.mean(axis=0))}, B {interval(b.mean(axis=0))}, "
            f"B - A {signed(b.mean(axis=0) - a.mean(axis=0))}"
            + ("" if x <= budget else " (A past its budget: its last point)")
        )

    print(f"  the curves, drawn: {draw_curves(curves, work / 'equal-compute.png')}")
    if not args.no_sft:
        sft(args, work, steps_out, held, before, RS, run_step, IOConfig)
    print(f"\nwall time {time.perf_counter() - started:.0f} s (work folder: {work})")


def sft(args, work: Path, steps_out: dict, held: list[dict], before: np.ndarray, RS, run_step, IOConfig) -> None:
    """The SFT arm: every sampled trace plus planted cut-offs (A) against the verified traces (B), one run per seed."""
    rows, cut = cut_off(all_traces(steps_out["filter"]), args.cut_off)
    all_rows = write_jsonl(work / "sft-all.jsonl", rows)
    rs = work / "curate" / "04-rejection-sample"
    if not (args.reuse and (rs / "manifest.json").is_file()):
        rs_cfg = RS(samples=8, keep=2, user_template=TEMPLATE, max_tokens=32, language=None)
        run_step("rejection-sample", [steps_out["filter"]], rs, rs_cfg, IOConfig(overwrite=True))
    verified = json.loads((rs / "manifest.json").read_text())["rows_out"]
    print(
        f"\nSFT: A on all {len(rows)} sampled traces ({cut} cut off, {cut / max(1, len(rows)):.0%}), B on the verified "
        f"traces of {verified} problems (keep 2 each), {args.sft_steps} steps each"
    )
    scores: dict[str, list] = {"A (all traces)": [], "B (verified)": []}
    for seed in args.seeds:
        for name, data in (("A (all traces)", all_rows), ("B (verified)", rs)):
            out = work / f"sft-{name[0]}-{seed}"
            done = out / "bench-result.json"
            if args.reuse and done.is_file():
                result = json.loads(done.read_text())
            else:
                train("sft", data, out, args.sft_steps, seed, {"max_length": 128})
                result = greedy_scores(str(out / "model"), held, TEMPLATE)
                done.write_text(json.dumps(result))
            scores[name].append(result)
    report(f"SFT ({args.sft_steps} steps)", {k: np.array(v) for k, v in scores.items()}, before)


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
    ap.add_argument("--steps", type=int, default=20, help="GRPO steps per run")
    ap.add_argument(
        "--budget-samples",
        type=int,
        default=None,
        help="equal compute: each arm trains until this many generated samples, its curation's samples included "
        "[default: equal steps, --steps each]",
    )
    ap.add_argument("--eval-every", type=int, default=10, help="held-out scores at every N GRPO steps (the curve)")
    ap.add_argument("--sft-steps", type=int, default=10, help="SFT steps per run")
    ap.add_argument(
        "--seeds",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[0, 1, 2],
        help="training seeds, one run per arm each",
    )
    ap.add_argument("--held-out", type=int, default=240, help="held-out sums (one problem = 1/N of accuracy)")
    ap.add_argument("--cut-off", type=float, default=0.2, help="share of the SFT arm A's traces cut in half")
    ap.add_argument("--reuse", action="store_true", help="reuse the curation and the runs an earlier run left in --out")
    ap.add_argument("--no-sft", action="store_true", help="skip the SFT arm")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--gpu", action="store_true", help="the GPU version (MATH, MATH-500, --model)")
    ap.add_argument("--model", default=None, help="--gpu: a local model folder")
    ap.add_argument("--problems", type=int, default=2000, help="--gpu: MATH train problems in the pool")
    args = ap.parse_args()
    (gpu if args.gpu else cpu)(args)


if __name__ == "__main__":
    main()
