"""`r1data inspect FILE...`: how r1data reads each input, before anything long runs: the layout chosen and why,
the column (or path) that gives each role with two sample values, and every adjustment made."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from r1data.cli import common as c


@c.handle_errors
def inspect_command(
    inputs: Annotated[list[str], typer.Argument(help="Input files, globs or directories.")],
    layout: Annotated[str, typer.Option(help="The layout to read them in [default: recognised].")] = "auto",
    trace_source: Annotated[str, typer.Option(help="s1K-1.1: deepseek or gemini traces.")] = "deepseek",
    problem_field: Annotated[str | None, typer.Option(help="Column holding the problem text.")] = None,
    answer_field: Annotated[str | None, typer.Option(help="Column holding the gold answer.")] = None,
    solution_field: Annotated[str | None, typer.Option(help="Column holding a worked solution.")] = None,
    id_field: Annotated[str | None, typer.Option(help="Column holding a row id.")] = None,
    tests_field: Annotated[str | None, typer.Option(help="Column holding a code problem's tests.")] = None,
    limit: Annotated[int | None, typer.Option(help="Read only the first N rows.")] = None,
    json_out: c.JsonOut = False,
) -> None:
    """Show how each input is read: layout and why, where each role comes from (two samples each), and what was
    adjusted (a chat template removed, list golds, typed parts, test pointers). Example:

        r1data inspect train.parquet --layout verl
    """
    from r1data.steps.base import IOConfig

    io = c.build_config(
        IOConfig,
        {
            "layout": layout,
            "trace_source": trace_source,
            "problem_field": problem_field,
            "answer_field": answer_field,
            "solution_field": solution_field,
            "id_field": id_field,
            "tests_field": tests_field,
            "limit": limit,
        },
    )
    from r1data.io import read_inputs

    read = read_inputs(inputs, io.fields(), "skip", io.limit, io.layout, io.trace_source)
    if json_out:
        out = [{"path": r.path, "rows": r.rows, **r.as_dict()} for r in read.readings]
        c.emit_json(out, ensure_ascii=False)
        return
    for r in read.readings:
        c.console.print(
            f"[bold]{escape(r.path)}[/]: {r.rows:,} rows, layout [bold]{r.layout}[/] ({escape(r.why)})", soft_wrap=True
        )
        table = Table(show_header=True, title_justify="left")
        table.add_column("role")
        table.add_column("read from", overflow="fold")
        table.add_column("samples", overflow="fold")
        names = {"gold (all)": "gold", "traces": "trace"}
        shown = set()
        for role, source in r.roles.items():
            samples = r.samples.get(role) or r.samples.get({"gold": "gold", "trace": "traces"}.get(role, role)) or []
            table.add_row(role, escape(source), escape("\n".join(samples)) if samples else "(empty)")
            shown.add(role)
        for role, samples in r.samples.items():
            if role not in shown and names.get(role, role) not in shown:
                made = "(made by r1data)" if role in ("id", "source") else ""
                table.add_row(role, made, escape("\n".join(samples)))
        c.console.print(table)
        for note, n in r.adjustments.items():
            c.console.print(f"  adjusted: {escape(note)} ({n:,} rows)", soft_wrap=True)
        if not r.adjustments:
            c.console.print("  adjusted: nothing")
    for warning in read.warnings:
        c.console.print(f"[yellow]Warning:[/] {warning}", soft_wrap=True)
    if read.quarantined.height:
        c.console.print(
            f"[yellow]{read.quarantined.height} rows could not be read[/] (a step quarantines them in "
            "removed/ with --on-error skip)"
        )
