"""`r1data decontaminate`: drop rows that overlap benchmark problems."""

from __future__ import annotations

from typing import Annotated

import typer

from r1data.cli import common as c
from r1data.ops.decontaminate import DecontamParams
from r1data.steps import decontaminate_step


@c.handle_errors
@c.with_io_options
def decontaminate_command(
    inputs: c.Inputs,
    output: c.Output,
    against: Annotated[
        list[str], typer.Option("--against", help="Benchmark file/dir (PATH or NAME=PATH); repeat for several.")
    ],
    ngram: Annotated[int, typer.Option(help="Word n-gram size (8 as open-r1; 32 as Light-R1).")] = DecontamParams.ngram,
    min_overlap: Annotated[
        float,
        typer.Option(
            help="Share of a benchmark problem's n-grams a row must contain; 0 = any shared n-gram (open-r1's rule)."
        ),
    ] = DecontamParams.min_overlap,
    digits_exact: Annotated[
        bool,
        typer.Option(
            "--digits-exact/--no-digits-exact",
            help="Also drop rows equal to a benchmark problem once digits are masked.",
        ),
    ] = DecontamParams.digits_exact,
    io: c.IOOptions = None,  # the input/output options, added by with_io_options
    quiet: c.Quiet = False,
    json_out: c.JsonOut = False,
) -> None:
    """Remove rows that share word n-grams with benchmark problems.

    Each removed row names the benchmark, the benchmark item it matched, the overlap and the first
    shared n-gram (OUT/removed/), so every decision can be checked.
    """
    params = DecontamParams(ngram=ngram, min_overlap=min_overlap, digits_exact=digits_exact)
    with c.progress("Decontaminating...", quiet):
        result = decontaminate_step(inputs, output, against, params, io)
    m = result.manifest | {"output": str(output)}
    stats = m["stats"]
    extra = [
        (f"matched {name} ({stats['benchmark_items'][name]} items)", n) for name, n in stats["rows_matched"].items()
    ]
    c.summary(m, "r1data decontaminate", extra, quiet, json_out)
