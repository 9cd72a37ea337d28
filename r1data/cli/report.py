"""`r1data report`: one self-contained HTML page for a pipeline run or step outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from r1data.cli import common as c


@c.handle_errors
def report_command(
    runs: Annotated[list[Path], typer.Argument(help="A pipeline run folder (its NN-step folders) or step outputs.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("report.html"),
    title: Annotated[str | None, typer.Option(help="The page's title [default: the folders].")] = None,
    quiet: c.Quiet = False,
) -> None:
    """The funnel (rows in and kept per step, drops per reason), chain-of-thought length histograms and pass-rate
    distributions per source, verifier statuses, example kept and removed rows, and each manifest's facts, as one
    HTML file with its images embedded."""
    from r1data.report import write_report

    out, views = write_report(runs, output, title)
    if not quiet:
        c.console.print(f"Wrote {out.absolute()}  ({len(views)} step outputs; open it in a browser)")
