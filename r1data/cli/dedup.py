"""`r1data dedup`: exact and MinHash near-duplicate removal."""

from __future__ import annotations

import os
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from r1data import schema
from r1data.cli import common as c
from r1data.ops.dedup import NEAR, SIMILARITY, DedupParams
from r1data.steps import dedup_step


@c.handle_errors
@c.with_io_options
def dedup_command(
    inputs: c.Inputs,
    output: c.Output,
    ngram: Annotated[int, typer.Option(help="Shingle size: n words (or characters with --char).")] = DedupParams.ngram,
    char: Annotated[bool, typer.Option("--char", help="Character n-grams instead of word n-grams.")] = False,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = DedupParams.num_perm,
    threshold: Annotated[
        float, typer.Option(help="Estimated Jaccard at or above which two rows are duplicates.")
    ] = DedupParams.threshold,
    bands: Annotated[int | None, typer.Option(help="LSH bands [default: chosen from --threshold].")] = None,
    rows: Annotated[int | None, typer.Option(help="LSH rows per band (with --bands).")] = None,
    max_number_changes: Annotated[
        int,
        typer.Option(
            help="A pair whose numbers differ in more places is not a duplicate (templated siblings); -1: off."
        ),
    ] = 1,
    exact_only: Annotated[
        bool, typer.Option("--exact-only", help="Only exact duplicates of the normalised text.")
    ] = False,
    workers: Annotated[int | None, typer.Option(help="Threads of the signature kernel [default: CPU count].")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the MinHash permutations.")] = DedupParams.seed,
    show_clusters: Annotated[int, typer.Option(help="Print N example near-duplicate clusters.")] = 0,
    io: c.IOOptions = None,  # the input/output options, added by with_io_options
    quiet: c.Quiet = False,
    json_out: c.JsonOut = False,
) -> None:
    """Remove exact duplicates (normalised text), then near duplicates (MinHash LSH over n-grams).

    In each duplicate cluster the row with a gold answer, earliest in input order, is kept; the
    others go to OUT/removed/ with drop_reason, duplicate_of (the kept id) and similarity.
    """
    params = DedupParams(
        ngram=ngram,
        ngram_kind="char" if char else "word",
        num_perm=num_perm,
        threshold=threshold,
        bands=bands,
        rows=rows,
        seed=seed,
        workers=workers or os.cpu_count() or 1,
        near=not exact_only,
        max_number_changes=None if max_number_changes < 0 else max_number_changes,
    )
    with c.progress("Deduplicating...", quiet):
        result = dedup_step(inputs, output, params, io)
    m = result.manifest | {"output": str(output)}
    stats = m["stats"]
    extra = [("exact duplicates", stats["exact_duplicates"])]
    if params.near:
        extra += [
            ("near duplicates", stats["near_duplicates"]),
            ("near-duplicate clusters", stats["near_clusters"]),
            ("LSH bands x rows", f"{stats['lsh_bands']} x {stats['lsh_rows']}"),
        ]
    if stats["exact_groups_with_conflicting_answers"]:
        extra.append(("identical problems, different answers", stats["exact_groups_with_conflicting_answers"]))
    c.summary(m, "r1data dedup", extra, quiet, json_out)
    if show_clusters and not quiet:
        print_clusters(result.kept, result.removed, show_clusters)


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
