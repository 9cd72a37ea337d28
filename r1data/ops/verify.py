"""Tables of completions: a row holds one completion (a string column) or several (a list column such as
`generations`). Flattened for judging, regrouped for writing back."""

from __future__ import annotations

from typing import Any

import polars as pl


def flatten_column(df: pl.DataFrame, col: str) -> tuple[list[Any], list[int], bool]:
    """A column of values or of lists of values, flattened: (values, count per row, was a list)."""
    values = df.get_column(col).to_list()
    if df.schema[col].base_type() not in (pl.List, pl.Array):
        return values, [1] * len(values), False
    rows = [list(v) if v is not None else [] for v in values]
    return [x for r in rows for x in r], [len(r) for r in rows], True


def regroup(values: list, sizes: list[int], is_list: bool) -> list:
    """The inverse of `flatten_column`: per row a list (list columns) or its one value."""
    out, i = [], 0
    for n in sizes:
        out.append(values[i : i + n] if is_list else values[i])
        i += n
    return out


def pass_rates(correct: list[bool | None], sizes: list[int]) -> tuple[list[float | None], list[int]]:
    """Per row: correct / judged (None when nothing could be judged), and how many were judged."""
    rates, judged = [], []
    for row in regroup(correct, sizes, True):
        known = [c for c in row if c is not None]
        judged.append(len(known))
        rates.append(sum(known) / len(known) if known else None)
    return rates, judged
