"""`r1data demo-data` writes the built-in demo set; `r1data demo` runs the pipeline on it."""

from __future__ import annotations

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
    quiet: c.Quiet = False,
) -> None:
    """Generate the demo set and run the pipeline on it: dedup, decontaminate against its benchmark,
    verify that every worked solution reaches its gold answer, and print CoT statistics."""
    from r1data.cli.stats import stats_command
    from r1data.demo import TRAIN_FILES, generate
    from r1data.ops.decontaminate import DecontamParams
    from r1data.ops.dedup import DedupParams
    from r1data.steps import IOOptions, decontaminate_step, dedup_step, verify_step

    if workdir.exists() and any(workdir.iterdir()):
        if not overwrite:
            raise OutputError(f"{workdir}: already exists and is not empty. Pass --overwrite or choose another folder.")
        shutil.rmtree(workdir)
    raw = workdir / "raw"
    generate(raw, seed)
    io = IOOptions()
    with c.progress("1/4 dedup...", quiet):
        d = dedup_step([raw / f for f in TRAIN_FILES], workdir / "01-dedup", DedupParams(workers=1), io)
    c.summary(d.manifest | {"output": str(workdir / "01-dedup")}, "1/4 r1data dedup", quiet=quiet)
    with c.progress("2/4 decontaminate...", quiet):
        x = decontaminate_step(
            [workdir / "01-dedup"],
            workdir / "02-decontaminate",
            [f"benchmark={raw / 'benchmark.jsonl'}"],
            DecontamParams(digits_exact=True),
            io,
        )
    c.summary(x.manifest | {"output": str(workdir / "02-decontaminate")}, "2/4 r1data decontaminate", quiet=quiet)
    with c.progress("3/4 verify...", quiet):
        v = verify_step([workdir / "02-decontaminate"], workdir / "03-verify", ["accuracy"], io,
                        completion_field="solution")  # fmt: skip
    acc = v.manifest["stats"]["accuracy"]
    c.summary(v.manifest | {"output": str(workdir / "03-verify")}, "3/4 r1data verify (solutions against gold)",
              [("solutions reaching their gold answer", f"{acc:.1%}")], quiet=quiet)  # fmt: skip
    if not quiet:
        stats_command([str(workdir / "03-verify")], tokenizer=None, completion_field=None, think_prefilled=False,
                      plot=None, json_out=False, quiet=False)  # fmt: skip
        c.console.print(f"[green]Done.[/] Clean, verified problems: {workdir / '03-verify' / 'data'}")
