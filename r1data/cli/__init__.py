"""The `r1data` command. Each command lives in its own module; heavy imports stay inside them."""

from __future__ import annotations

import typer

from r1data import __version__
from r1data.cli.decontaminate import decontaminate_command
from r1data.cli.dedup import dedup_command
from r1data.cli.demo import demo_command, demo_data_command
from r1data.cli.export import export_command
from r1data.cli.filter import filter_command
from r1data.cli.inspect import inspect_command
from r1data.cli.layouts import layouts_command
from r1data.cli.rejection_sample import rejection_sample_command
from r1data.cli.report import report_command
from r1data.cli.run import run_command
from r1data.cli.stats import stats_command
from r1data.cli.tag import tag_command
from r1data.cli.train import train_app
from r1data.cli.verify import verify_command

app = typer.Typer(
    name="r1data",
    help="Curate R1-style reasoning data: dedup -> decontaminate -> tag -> filter --pass-rate -> rejection-sample -> "
    "verify/stats -> train. Every step reads and writes a folder of Parquet shards with a manifest.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts say "[default: ...]"; rich markup would swallow the brackets
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"r1data {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """r1data: curate reasoning data the way the DeepSeek-R1 replications do."""


app.command("dedup")(dedup_command)
app.command("decontaminate")(decontaminate_command)
app.command("tag")(tag_command)
app.command("filter")(filter_command)
app.command("rejection-sample")(rejection_sample_command)
app.command("verify")(verify_command)
app.command("stats")(stats_command)
app.command("export")(export_command)
app.command("report")(report_command)
app.command("layouts")(layouts_command)
app.command("inspect")(inspect_command)
app.command("demo-data")(demo_data_command)
app.command("demo")(demo_command)
app.add_typer(train_app, name="train")
app.command("run")(run_command)


def main() -> None:
    from r1data.cli.common import install_signal_handlers

    install_signal_handlers()
    app()
