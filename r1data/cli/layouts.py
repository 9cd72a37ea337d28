"""`r1data layouts`: the dataset layouts and trace formats r1data reads, and the columns each one reads."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from r1data.cli import common as c


@c.handle_errors
def layouts_command() -> None:
    """List the layouts r1data recognises (and `--layout` names), with the columns each reads, and the trace
    formats (`--think-format`)."""
    from r1data.layouts import LAYOUTS, PLAIN
    from r1data.ops.traces import FORMATS

    table = Table(
        title="Layouts (recognised from the columns; --layout NAME to choose; `r1data inspect FILE` shows "
        "how a file is read)",
        title_justify="left",
    )
    for col in ("layout", "datasets", "roles: where each is read from"):
        table.add_column(col, overflow="fold")
    for layout in LAYOUTS:
        table.add_row(
            layout.name, escape(layout.datasets), escape("; ".join(f"{k}: {v}" for k, v in layout.roles.items()))
        )
    for name, datasets, reads in PLAIN:
        table.add_row(name, escape(datasets), escape(", ".join(reads)))
    c.console.print(table)
    c.console.print(
        "Trace formats (--think-format): " + ", ".join(FORMATS) + ". auto decides per trace: "
        "<|begin_of_thought|> ... is bespoke, <think> or </think> is think, else none."
    )
