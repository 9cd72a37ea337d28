"""`r1data run RECIPE`: execute a pipeline recipe step by step, skipping finished steps."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from r1data.cli import common as c


@c.handle_errors
def run_command(
    recipe: Annotated[Path, typer.Argument(help="Pipeline recipe (YAML with input, output, steps).")],
    inputs: Annotated[
        list[str] | None, typer.Option("--input", "-i", help="Inputs of the first step [default: the recipe's].")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder for every step's output [default: the recipe's].")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the recipe and print the commands only.")] = False,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            help="Run the steps in this process: consecutive generation steps with the same engine settings share "
            "one loaded model [default: each step in its own process, which returns the engine's memory].",
        ),
    ] = False,
    quiet: c.Quiet = False,
    verbose: c.Verbose = False,
) -> None:
    """Run dedup -> decontaminate -> filter -> rejection-sample -> train (or any sequence of steps) as a
    recipe describes, each step reading the one before. Every command line is checked before the first
    step starts. Rerun after a crash: finished steps are skipped, a half-done step resumes."""
    from rich.table import Table

    from r1data.pipeline import load_pipeline, run_pipeline

    pipe = load_pipeline(recipe, inputs, output)
    if dry_run:
        for step in pipe.steps:
            typer.echo("r1data " + shlex.join(step.argv))
        return
    echo = (lambda m: None) if quiet else (lambda m: c.console.print(m, markup=False))
    with c.progress("r1data run", quiet, verbose):  # a step in its own process shows its own progress
        report = run_pipeline(pipe, echo=echo, in_process=in_process, quiet=quiet)
    if quiet:
        return
    table = Table(title=f"r1data run {recipe}", title_justify="left")
    for col in ("step", "action", "seconds"):
        table.add_column(col)
    for r in report:
        table.add_row(r["step"], r["action"], f"{r['seconds']:.1f}")
    c.console.print(table)
    c.console.print(f"Outputs in {pipe.output}; commands in {pipe.output / 'pipeline.json'}")
