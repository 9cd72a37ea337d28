"""The `r1data` command. Each command lives in its own module; heavy imports stay inside them."""

from __future__ import annotations

import importlib
import sys

import typer

from r1data import __version__
from r1data.cli.common import PanelCommand, epilog
from r1data.steps.registry import step_commands

# name: (module, attribute). A command's module is imported only when the app is built with it: `r1data verify ...`
# builds verify alone (start-up is part of every small job), `r1data --help` and `from r1data.cli import app` all.
COMMANDS = {
    **step_commands(),  # every registered step's command (r1data/steps/registry.py)
    "report": ("r1data.cli.report", "report_command"),
    "layouts": ("r1data.cli.layouts", "layouts_command"),
    "inspect": ("r1data.cli.inspect", "inspect_command"),
    "demo-data": ("r1data.cli.demo", "demo_data_command"),
    "demo": ("r1data.cli.demo", "demo_command"),
    "train": ("r1data.cli.train", "train_app"),
    "run": ("r1data.cli.run", "run_command"),
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"r1data {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """r1data: curate reasoning data the way the DeepSeek-R1 replications do."""


def build_app(only: str | None = None) -> typer.Typer:
    """The `r1data` app with every command, or with `only` that one (the others are not imported)."""
    built = typer.Typer(
        name="r1data",
        help="Curate R1-style reasoning data: dedup -> decontaminate -> tag -> filter --pass-rate -> "
        "rejection-sample -> verify/stats -> train. Every step reads and writes a folder of Parquet shards with a "
        "manifest.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # plain help, compact at any width; panels and examples: cli/common.PanelCommand
    )
    built.callback()(_root)
    for name, (module, attribute) in COMMANDS.items():
        if only is None or name == only:
            command = getattr(importlib.import_module(module), attribute)
            if isinstance(command, typer.Typer):
                built.add_typer(command, name=name)
            else:
                examples = epilog(getattr(command, "examples", ()))
                built.command(name, cls=PanelCommand, epilog=examples)(command)
    return built


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole app, built once on first use
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module 'r1data.cli' has no attribute {name!r}")


def main() -> None:
    from r1data.cli.common import install_signal_handlers

    install_signal_handlers()
    args = sys.argv[1:]
    build_app(args[0] if args and args[0] in COMMANDS else None)()
