"""`r1data dedup`: exact and MinHash near-duplicate removal."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
import typer
from rich.table import Table

from r1data import schema
from r1data.cli import common as c
from r1data.ops.dedup import NEAR, SIMILARITY

ShowClusters = Annotated[
    int, typer.Option(help="Print N example near-duplicate clusters.", metavar="N", rich_help_panel=c.DISPLAY_PANEL)
]
ShowSiblings = Annotated[
    int,
    typer.Option(
        help="Print N near-duplicate pairs kept apart because their gold answers differ.",
        metavar="N",
        rich_help_panel=c.DISPLAY_PANEL,
    ),
]


def summarize(result: Any, cfg: Any, shown: dict) -> None:
    m = result.manifest
    stats = m["stats"]
    extra = [("exact duplicates", stats["exact_duplicates"])]
    if not cfg.exact_only:
        extra += [
            ("near duplicates", stats["near_duplicates"]),
            ("near-duplicate clusters", stats["near_clusters"]),
            ("LSH bands x rows", f"{stats['lsh_bands']} x {stats['lsh_rows']}"),
        ]
    if stats.get("templated_siblings"):
        extra.append(("kept apart: gold answers differ (templated siblings)", stats["templated_siblings"]))
    if stats["exact_groups_with_conflicting_answers"]:
        extra.append(("identical problems, different answers", stats["exact_groups_with_conflicting_answers"]))
    c.summary(m, "r1data dedup", extra, shown["quiet"], shown["json_out"])
    if not shown["quiet"]:
        print_overlap(stats.get("source_overlap"))
    if shown["show_clusters"] and not shown["quiet"]:
        print_clusters(result.kept, result.removed, shown["show_clusters"])
    if shown["show_siblings"] and not shown["quiet"]:
        print_siblings(result.kept, stats.get("sibling_examples", []), shown["show_siblings"])


def print_overlap(overlap: dict | None, top: int = 5) -> None:
    """The sources that overlap most: rows of one removed as duplicates of rows kept from another."""
    across = [p for p in (overlap or {}).get("pairs", []) if p["source"] != p["duplicates_of"]]
    if not across:
        return
    table = Table(title="overlap between sources (top pairs)", title_justify="left")
    for col in ("rows of", "duplicate rows kept from", "rows", "share of its rows"):
        table.add_column(col, justify="right" if col in ("rows", "share of its rows") else "left")
    for p in across[:top]:
        table.add_row(p["source"], p["duplicates_of"], f"{p['rows']:,}", f"{p['share']:.1%}")
    c.console.print(table)


def print_siblings(kept: pl.DataFrame, pairs: list, n: int, width: int = 60) -> None:
    """Near-duplicate pairs whose gold answers differ, side by side with their answers."""
    if not pairs:
        c.console.print("No templated siblings.")
        return
    rows = {r[schema.ID]: r for r in kept.select(schema.ID, schema.PROBLEM, schema.ANSWER).iter_rows(named=True)}
    table = Table(
        title=f"kept apart: near duplicates whose gold answers differ ({len(pairs)} shown at most)",
        title_justify="left",
        show_lines=True,
    )
    for col in ("problem", "answer", "sibling", "answer ", "similarity"):
        table.add_column(col, max_width=width if "answer" not in col else 20)
    for a, b, sim in pairs[:n]:
        ra, rb = rows.get(a, {}), rows.get(b, {})
        left = _clip(ra.get(schema.PROBLEM) or a, width * 3)
        right = _clip(rb.get(schema.PROBLEM) or b, width * 3)
        table.add_row(left, str(ra.get(schema.ANSWER)), right, str(rb.get(schema.ANSWER)), f"{sim:.2f}")
    c.console.print(table)


EXAMPLES = [
    "r1data dedup gsm8k.jsonl numina.parquet -o deduped",
    'r1data dedup "data/*.jsonl" -o deduped --threshold 0.7 --semantic --show-clusters 5',
]

dedup_command = c.step_command(
    "dedup",
    summarize,
    examples=EXAMPLES,
    display=(("show_clusters", ShowClusters, 0), ("show_siblings", ShowSiblings, 0)),
)


def print_clusters(kept: pl.DataFrame, removed: pl.DataFrame, n: int, width: int = 70) -> None:
    """The n largest near-duplicate clusters, kept row beside its removed members."""
    near = removed.filter(pl.col(schema.DROP_REASON) == NEAR)
    if near.height == 0:
        c.console.print("No near-duplicate clusters.")
        return
    sizes = (
        near.group_by(schema.DUPLICATE_OF).len().sort(["len", schema.DUPLICATE_OF], descending=[True, False]).head(n)
    )
    text_of = dict(zip(kept.get_column(schema.ID).to_list(), kept.get_column(schema.PROBLEM).to_list(), strict=True))
    for leader, size in sizes.iter_rows():
        table = Table(title=f"cluster of {size + 1} (kept {leader})", title_justify="left", show_lines=True)
        table.add_column("kept", max_width=width)
        table.add_column("removed", max_width=width)
        table.add_column("similarity", justify="right")
        members = near.filter(pl.col(schema.DUPLICATE_OF) == leader)
        for i, (problem, sim) in enumerate(members.select(schema.PROBLEM, SIMILARITY).iter_rows()):
            table.add_row(
                _clip(text_of.get(leader, ""), width * 3) if i == 0 else "", _clip(problem, width * 3), f"{sim:.2f}"
            )
        c.console.print(table)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
