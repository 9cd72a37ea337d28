"""What every command shares: the stderr console, error handling, signals, summaries, and the one factory that
turns a step's Config (plus `IOConfig`) into a command's options, so options and settings cannot drift apart."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import inspect
import json
import os
import signal
import sys
import typing
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand

from r1data.config import _parts, build_config, settings_of
from r1data.errors import R1DataError, Terminated, os_error

# On a terminal rich wraps at its width; in a pipe or a log (no width) every line stays whole, never cut at 80.
console = Console(stderr=True, highlight=False, soft_wrap=not sys.stderr.isatty())

IO_PANEL, DISPLAY_PANEL = "Input/output", "Display"
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.", rich_help_panel=DISPLAY_PANEL)
]
JsonOut = Annotated[
    bool, typer.Option("--json", help="Print the manifest as JSON on stdout.", rich_help_panel=DISPLAY_PANEL)
]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Show the engines' own logs (vLLM, TRL, transformers, torch) on the terminal "
        "instead of OUT/logs/engine.log.",
        rich_help_panel=DISPLAY_PANEL,
    ),
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace OUT if it exists (only once the new output is complete).")
]
DISPLAY = (("quiet", Quiet, False), ("verbose", Verbose, False), ("json_out", JsonOut, False))  # every step's


def kill_children() -> None:
    """Stop every process this one started (judge workers, engine processes, sandboxed programs)."""
    from r1data.lifetime import descendants, kill_all

    kill_all(descendants(os.getpid()))


def _on_signal(signum: int, frame: Any) -> None:
    # Every process this one started goes first (sandboxed programs, judge workers, engines): a thread waiting on
    # one of them then returns at once. Then every `finally` runs on the way out (staging folders removed).
    kill_children()
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def install_signal_handlers() -> None:
    """SIGTERM and Ctrl-C stop the run cleanly: children killed, staging removed, nothing published."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """An R1DataError or OSError becomes one line on stderr and exit 1 (R1DATA_DEBUG=1 shows the traceback);
    Ctrl-C exits 130 and SIGTERM 143, each after cleaning up."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (KeyboardInterrupt, Terminated) as exc:
            _stopped(exc)
        except Exception as exc:
            # A signal that arrived inside a library's C code can come back wrapped (Ray's wait: SystemError)
            behind = _interrupt_behind(exc)
            if behind is not None:
                _stopped(behind)
            _one_line(exc, kwargs.get("output"))

    return wrapper


def _interrupt_behind(exc: BaseException) -> BaseException | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, KeyboardInterrupt | Terminated):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _stopped(exc: BaseException) -> None:
    """Ctrl-C exits 130 and SIGTERM 143, each after killing what r1data started."""
    kill_children()
    what = "Terminated (SIGTERM)." if isinstance(exc, Terminated) else "Interrupted."
    console.print(
        f"[bold red]{what}[/] Nothing was published; earlier outputs are untouched. Rerun the same command to continue."
    )
    raise typer.Exit(143 if isinstance(exc, Terminated) else 130) from None


def _one_line(exc: Exception, out: Any) -> None:
    """An R1DataError, an OSError or a library's error on this input: one line and exit 1; anything else is a bug,
    raised with its traceback."""
    if os.environ.get("R1DATA_DEBUG"):
        raise exc
    if isinstance(exc, R1DataError):
        console.print(f"[bold red]Error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)  # r1data[embed] stays
        raise typer.Exit(1) from None
    if isinstance(exc, OSError):
        # An error without a path of its own ("no space left", from a library's write) names the output
        where = None if exc.filename or not out else f"{out} (or the temporary folder)"
        console.print(
            f"[bold red]Error:[/] {escape(str(os_error(exc, where, action='working')))}", markup=True, soft_wrap=True
        )
        raise typer.Exit(1) from None
    if isinstance(exc, ValueError | MemoryError | RecursionError) or type(exc).__module__.startswith(
        ("polars", "pyarrow", "datasets")
    ):
        _library_error(exc)
    raise exc  # a bug: its traceback is what to report


def _library_error(exc: BaseException) -> None:
    """An error a library raised on this input (polars, pyarrow, a ValueError, memory): one line, as the hf CLI
    maps its library errors, and exit 1. Nothing was published: earlier outputs are as they were."""
    if os.environ.get("R1DATA_DEBUG"):
        raise exc
    kill_children()
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    what = "out of memory" if isinstance(exc, MemoryError) else f"{type(exc).__name__}: {first}"
    console.print(
        f"[bold red]Error:[/] {escape(what)}. Nothing was published; earlier outputs are untouched. Rerun "
        "with R1DATA_DEBUG=1 to see where it happened (and report it if the input looks right).",
        markup=True,
        soft_wrap=True,
    )
    raise typer.Exit(1) from None


_JSON_SINK: contextvars.ContextVar[Any] = contextvars.ContextVar("r1data_json_sink", default=None)


@contextlib.contextmanager
def stdout_for_json(active: bool) -> Iterator[None]:
    """With --json, stdout carries the JSON and nothing else. While the command runs, whatever else writes to stdout
    (Ray's worker notices, an engine's logs, a child process's prints) goes to stderr; `emit_json` writes to the real
    stdout."""
    if not active:
        yield
        return
    original = sys.stdout
    original.flush()
    try:
        real_fd = original.fileno() == 1
    except (AttributeError, OSError, ValueError):  # a test runner's stream: no file descriptor behind it
        real_fd = False
    saved = os.dup(1) if real_fd else None
    sink = os.fdopen(os.dup(saved), "w") if saved is not None else original
    if saved is not None:
        os.dup2(2, 1)  # processes started from now on, and C code, write their stdout to stderr
    sys.stdout = sys.stderr
    token = _JSON_SINK.set(sink)
    try:
        yield
    finally:
        _JSON_SINK.reset(token)
        sys.stdout = original
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
            sink.close()


def emit_json(value: Any, **dumps: Any) -> None:
    """The command's JSON on stdout (the real one, under `stdout_for_json`)."""
    sink = _JSON_SINK.get() or sys.stdout
    sink.write(json.dumps(value, **({"indent": 2, "default": str} | dumps)) + "\n")
    sink.flush()


def summary(
    manifest: dict, title: str, extra: list[tuple[str, Any]] = (), quiet: bool = False, as_json: bool = False
) -> None:
    """Counts on stderr (a rich table); the whole manifest on stdout with --json."""
    if as_json:
        emit_json(manifest)
    if quiet:
        return
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("rows in", f"{manifest['rows_in']:,}")
    for label, value in extra:
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    for reason, n in sorted(manifest.get("drops", {}).items()):
        table.add_row(f"removed: {reason}", f"{n:,}")
    table.add_row("kept", f"[green]{manifest['rows_out']:,}[/]")
    table.add_row("seconds", f"{manifest['seconds']:.2f}")
    console.print(table)
    for warning in manifest.get("warnings", []):
        console.print(f"[yellow]Warning:[/] {warning}", soft_wrap=True)
    if manifest.get("output"):
        console.print(f"Wrote {manifest['output']}  (audit of every removed row in removed/)")


def progress(title: str, quiet: bool, verbose: bool = False) -> contextlib.AbstractContextManager:
    """Live progress on stderr while a step runs (a bar on a terminal, plain lines elsewhere, nothing with
    --quiet); `verbose` lets the engines' logs through to the terminal."""
    from r1data import progress as live

    if verbose:
        os.environ[live.VERBOSE_ENV] = "1"
    return live.reporting(title, quiet=quiet, console=console, grace=2.0, heartbeat=30.0)


# ---------------------------------------------------------------------------------------------------------------
# Commands from configs


METAVARS = {int: "N", float: "X", str: "TEXT"}


def option_for(f: dataclasses.Field, tp: Any, panel: str | None = None) -> tuple[Any, Any]:
    """(Annotated type, default) of the option that sets field f, shown in help `panel`. Lists repeat (or take
    commas, with `sep`); mappings are YAML text; true/false settings get --x/--no-x. A help text that states its own
    default ("[default: ...]") is the only default shown."""
    base, optional = _parts(tp)
    flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
    text = f.metadata.get("help", "")
    shown = {"rich_help_panel": panel, "show_default": "[default:" not in text}
    for prefix in ("vllm: ", "openai: ", "Judge: "):  # the panel already says whose setting it is
        if panel and text.startswith(prefix) and prefix.rstrip(": ").lower() in panel.lower():
            text = text[len(prefix) :]
            text = text[:1].upper() + text[1:]
    helptext = text
    default: Any = inspect.Parameter.empty
    if f.default is not dataclasses.MISSING:
        default = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        default = f.default_factory()  # type: ignore[misc]
    origin = typing.get_origin(base)
    if base is bool:
        return Annotated[bool, typer.Option(f"{flag}/--no-{flag[2:]}", help=helptext, **shown)], default
    if origin is list:
        option = typer.Option(flag, help=helptext, metavar="TEXT", **shown)
        return Annotated[list[str] | None if optional else list[str], option], default
    if origin is dict or base is dict:
        text_default = default if default is inspect.Parameter.empty else (json.dumps(default) if default else None)
        option = typer.Option(flag, help=helptext + " (YAML mapping)", metavar="YAML", **shown)
        return Annotated[str | None, option], text_default
    kind = base if base in (int, float, str) else str
    option = typer.Option(flag, help=helptext, metavar=METAVARS[kind], **shown)
    return Annotated[kind | None if optional else kind, option], default


def step_command(
    name: str,
    summarize: Callable[[Any, Any, dict], None],
    display: tuple = (),
    inputs_help: str = "Input files, globs or directories (JSONL, JSON, CSV, Parquet, a datasets save_to_disk "
    "folder, or an r1data output folder).",
    output_required: bool = True,
    examples: Sequence[str] = (),
) -> Callable[..., Any]:
    """The command of a registered step: INPUTS, -o OUT, one option per Config field, then the IOConfig options,
    then display options (`display`: (name, Annotated type, default) of this command's own, plus --quiet and
    --json). It builds the configs (a bad value is one line naming the setting), runs the step and hands the
    result to `summarize(result, cfg, display_values)`."""
    from r1data.steps.base import IOConfig, get_step, run_step

    step = get_step(name)
    hints_cfg = typing.get_type_hints(step.config)
    hints_io = typing.get_type_hints(IOConfig)
    kw = inspect.Parameter.KEYWORD_ONLY
    out_help = "Output directory (data/, removed/, manifest.json, README.md)."
    inputs = typer.Argument(help=inputs_help, metavar="INPUT...", show_default=False)
    output = typer.Option("--output", "-o", help=out_help, metavar="DIR", rich_help_panel=IO_PANEL)
    params = [
        inspect.Parameter("inputs", kw, annotation=Annotated[list[str], inputs]),
        inspect.Parameter(
            "output",
            kw,
            annotation=Annotated[Path | None if not output_required else Path, output],
            default=inspect.Parameter.empty if output_required else None,
        ),
    ]
    cfg_names = [f.name for f in settings_of(step.config)]
    io_names = [f.name for f in settings_of(IOConfig)]
    for cls, hints, panel in ((step.config, hints_cfg, None), (IOConfig, hints_io, IO_PANEL)):
        for f in settings_of(cls):
            annotation, default = option_for(f, hints[f.name], panel or help_panel(cls, f.name))
            params.append(inspect.Parameter(f.name, kw, annotation=annotation, default=default))
    shown = [*display, *DISPLAY]
    for opt, annotation, default in shown:
        params.append(inspect.Parameter(opt, kw, annotation=annotation, default=default))
    # Required options first (Python's signature rules), the order of the rest kept.
    params = [p for p in params if p.default is inspect.Parameter.empty] + [
        p for p in params if p.default is not inspect.Parameter.empty
    ]

    def command(**kwargs: Any) -> None:
        io = build_config(IOConfig, {k: kwargs[k] for k in io_names})
        cfg_values = {k: kwargs[k] for k in cfg_names}
        for f in settings_of(step.config):
            if f.name in cfg_values and isinstance(cfg_values[f.name], str) and _parts(hints_cfg[f.name])[0] is dict:
                import yaml

                cfg_values[f.name] = yaml.safe_load(cfg_values[f.name])
        cfg = build_config(step.config, cfg_values)
        shown_values = {opt: kwargs[opt] for opt, _, _ in shown}
        with stdout_for_json(shown_values.get("json_out", False)):
            with progress(f"r1data {name}", shown_values.get("quiet", False), shown_values.get("verbose", False)):
                result = run_step(name, kwargs["inputs"], kwargs["output"], cfg, io, argv=sys.argv[1:])
            if result.out is not None:
                result.manifest["output"] = str(result.out)
            summarize(result, cfg, shown_values)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = step.help
    command.__name__ = f"{name.replace('-', '_')}_command"
    wrapped = handle_errors(command)
    wrapped.examples = list(examples)  # type: ignore[attr-defined]  # the epilog (cli/__init__.py)
    return wrapped


def help_panel(cls: type, name: str) -> str | None:
    """The --help panel of a setting: the engine it belongs to (vllm, openai), else the panel of the config class
    that declares it (`HELP_PANEL`: the judge's, the model's), else the step's own options."""
    from r1data.steps.generation import ENGINE_OPTIONS

    for engine, names in ENGINE_OPTIONS.items():
        if name in names:
            return f"{engine} engine"
    for klass in reversed(cls.__mro__):
        if name in getattr(klass, "__annotations__", {}):
            return getattr(klass, "HELP_PANEL", None) if klass is not cls else None
    return None


def epilog(examples: Sequence[str]) -> str | None:
    """Examples under a command's help, a line each (`PanelCommand` writes them as they are)."""
    return "\n".join(examples) if examples else None


class PanelCommand(TyperCommand):
    """Help in plain text (compact at any width) with the options in panels: the step's own under "Options", the
    input/output options every step shares under "Input/output", display options under "Display" (the option's
    `rich_help_panel`), then "Examples" as written."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        panels: dict[str, list] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":  # its name as the user types it, not a Python type
                panel = "Arguments"
                record = (param.metavar or param.name.upper(), getattr(param, "help", None) or "")
            else:
                panel = getattr(param, "rich_help_panel", None) or "Options"
            panels.setdefault(panel, []).append(record)
        order = ["Arguments", "Options", "Model and sampling", "vllm engine", "openai engine", "Judge", IO_PANEL]
        order.append(DISPLAY_PANEL)
        for panel in sorted(panels, key=lambda p: order.index(p) if p in order else len(order)):
            with formatter.section(panel):
                formatter.write_dl(panels[panel])

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [self.options_metavar or "[OPTIONS]"]
        pieces += [p.metavar or p.name.upper() for p in self.get_params(ctx) if p.param_type_name == "argument"]
        return pieces

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.epilog:
            with formatter.section("Examples"):
                for line in self.epilog.splitlines():
                    formatter.write(f"{'':>{formatter.current_indent}}{line}\n")


def option_names(fn: Callable[..., Any]) -> list[str]:
    """The parameter names of a command (what a test holds equal to its Config's fields)."""
    return list(inspect.signature(fn).parameters)
