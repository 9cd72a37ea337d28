"""`r1data stats`: chain-of-thought length, truncation, correctness and pass-rate statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
import typer
from rich.table import Table

from r1data.cli import common as c
from r1data.errors import MissingExtraError

Plot = Annotated[
    Path | None,
    typer.Option(
        help="Write overlaid think-length histograms to this PNG.", metavar="PNG", rich_help_panel=c.DISPLAY_PANEL
    ),
]


def _fmt(x: object, pct: bool = False) -> str:
    if x is None:
        return "–"
    if pct:
        return f"{x:.1%}"
    return f"{x:,.0f}" if isinstance(x, int | float) else str(x)


def _lengths(rows: pl.DataFrame, names: list[str]) -> dict[str, np.ndarray]:
    """Per dataset, the think lengths (the answer lengths where no trace has a think block)."""
    out = {}
    for name in names:
        part = rows.filter(pl.col("dataset") == name)
        if "think_tokens" not in part.columns or part.get_column("think_tokens").null_count() == part.height:
            continue  # no traces in this dataset
        think, answer = part.get_column("think_tokens"), part.get_column("answer_tokens")
        if think.dtype == pl.String:  # datasets of scalar and list traces side by side: stored as JSON text
            think, answer = (
                c.str.json_decode(pl.List(pl.Int64)) if c.str.starts_with("[").any() else c.cast(pl.Int64)
                for c in (think, answer)
            )
        if think.dtype.base_type() == pl.List:
            think, answer = think.explode().drop_nulls(), answer.explode().drop_nulls()
        think, answer = think.to_numpy().astype(np.int64), answer.to_numpy().astype(np.int64)
        out[name] = think if think.any() else answer
    return out


def summarize(result: Any, cfg: Any, shown: dict) -> None:
    from r1data.ops.stats import histogram

    report = result.manifest["stats"]
    if shown["json_out"]:
        c.emit_json(report)
    lengths = _lengths(result.kept, list(report["datasets"]))
    if not shown["quiet"]:
        _print(report, lengths, histogram)
        for warning in result.manifest.get("warnings", []):
            c.console.print(f"[yellow]Warning:[/] {warning}", soft_wrap=True)
        if result.out is not None:
            c.console.print(f"Wrote {result.out}")
    if shown["plot"] is not None:
        _plot(lengths, shown["plot"], report["tokens"])
        if not shown["quiet"]:
            c.console.print(f"Wrote {shown['plot']}")


EXAMPLES = ["r1data stats traces", "r1data stats openr1.parquet s1k.parquet --plot lengths.png"]

stats_command = c.step_command(
    "stats",
    summarize,
    examples=EXAMPLES,
    display=(("plot", Plot, None),),
    inputs_help="One or more datasets (each: a file, glob or folder), side by side.",
    output_required=False,
)


def _print(report: dict, lengths: dict, histogram) -> None:  # noqa: ANN001
    columns = [
        (f"{name}" if source == "all" else f"{name}\n{source}", s)
        for name, d in report["datasets"].items()
        for source, s in d.items()
        if isinstance(s, dict) and "think_tokens" in s
    ]
    table = Table(title=f"CoT statistics (tokens: {report['tokens']})", title_justify="left")
    table.add_column("")
    for label, _ in columns:
        table.add_column(label, justify="right")
    rows = [("traces", lambda s: _fmt(s["completions"]))]
    for part in ("think", "answer"):
        for stat in ("mean", "median", "p90", "p99", "max"):
            rows.append((f"{part} {stat}", lambda s, p=part, k=stat: _fmt(s[f"{p}_tokens"][k])))
    rows += [
        ("truncated", lambda s: _fmt(s["truncated_share"], True)),
        ("accuracy", lambda s: _fmt(s["accuracy"], True)),
        ("pass-rate mean", lambda s: _fmt(s.get("pass_rate", {}).get("mean"), True)),
    ]
    for label, get in rows:
        table.add_row(label, *(get(s) for _, s in columns))
    c.console.print(table)
    for name, values in lengths.items():
        bins = histogram(values)
        if not bins:
            continue
        top = max(n for _, n in bins) or 1
        c.console.print(f"[bold]{name}[/]: think length (answer length where there is no think block)")
        for label, n in bins:
            c.console.print(f"  {label:>13} │{'█' * round(40 * n / top):<40} {n:,}")
        rates = report["datasets"][name]["all"].get("pass_rate")
        if rates and rates["bins"]:
            c.console.print("  pass rate: " + "  ".join(f"{k}: {v:,}" for k, v in rates["bins"].items()))


def _plot(lengths: dict, path: Path, tokens: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingExtraError("matplotlib", "plot", "--plot") from None
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 4.5))
    top = max((int(v.max()) for v in lengths.values() if v.size), default=1)
    bins = np.geomspace(1, top + 1, 40)
    for name, values in lengths.items():
        ax.hist(np.maximum(values, 1), bins=bins, alpha=0.5, label=name)
    ax.set_xscale("log")
    ax.set_xlabel(f"think length; whole answer where there is no think block ({tokens})")
    ax.set_ylabel("traces")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
