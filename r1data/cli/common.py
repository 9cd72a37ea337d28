"""What every command shares: the stderr console, common options, error handling, summaries."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from r1data import schema
from r1data.errors import R1DataError
from r1data.steps import IOOptions

console = Console(stderr=True, highlight=False)

# Options every step takes. Annotated aliases keep them identical across commands.
Inputs = Annotated[
    list[str],
    typer.Argument(
        help="Input files, globs or directories (JSONL, JSON, CSV, Parquet, "
        "a datasets save_to_disk folder, or an r1data output folder)."
    ),
]
Output = Annotated[
    Path, typer.Option("--output", "-o", help="Output directory (data/, removed/, manifest.json, README.md).")
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace OUT if it exists (only once the new output is complete).")
]
ProblemField = Annotated[str | None, typer.Option(help="Input column holding the problem text [default: recognised].")]
AnswerField = Annotated[
    str | None, typer.Option(help="Input column holding the gold final answer [default: recognised].")
]
SolutionField = Annotated[
    str | None, typer.Option(help="Input column holding a worked solution [default: recognised].")
]
TestsField = Annotated[
    str | None,
    typer.Option(
        help="Input column holding a code problem's tests (stdin/stdout pairs, asserts, ...) "
        "[default: recognised: tests, test_cases, input_output, verification_info, test_list, ...]."
    ),
]
IdField = Annotated[str | None, typer.Option(help="Input column holding a row id [default: recognised, else a hash].")]
OnErrorOpt = Annotated[
    str, typer.Option("--on-error", help="fail: stop at the first unreadable line; skip: quarantine it in removed/.")
]
ShardRows = Annotated[int, typer.Option(help="Rows per Parquet shard.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the manifest as JSON on stdout.")]


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn an R1DataError into one line on stderr and exit 1 (R1DATA_DEBUG=1 shows the traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except R1DataError as exc:
            if os.environ.get("R1DATA_DEBUG"):
                raise
            console.print(f"[bold red]Error:[/] {exc}", markup=True, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            console.print("[bold red]Interrupted.[/] Nothing was published; earlier outputs are untouched.")
            raise typer.Exit(130) from None

    return wrapper


def check_on_error(value: str) -> str:
    if value not in ("fail", "skip"):
        raise R1DataError(f"--on-error must be 'fail' or 'skip' (got '{value}')")
    return value


def summary(
    manifest: dict, title: str, extra: list[tuple[str, Any]] = (), quiet: bool = False, as_json: bool = False
) -> None:
    """Counts on stderr (a rich table); the whole manifest on stdout with --json."""
    if as_json:
        sys.stdout.write(json.dumps(manifest, indent=2, default=str) + "\n")
    if quiet:
        return
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("rows in", f"{manifest['rows_in']:,}")
    for label, value in extra:
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    for reason, n in sorted(manifest["drops"].items()):
        table.add_row(f"removed: {reason}", f"{n:,}")
    table.add_row("kept", f"[green]{manifest['rows_out']:,}[/]")
    table.add_row("seconds", f"{manifest['seconds']:.2f}")
    console.print(table)
    console.print(f"Wrote {manifest.get('output', '')}  (audit of every removed row in removed/)")


def progress(message: str, quiet: bool) -> contextlib.AbstractContextManager:
    """A spinner on stderr while a step runs (nothing with --quiet)."""
    return contextlib.nullcontext() if quiet else console.status(message, spinner="dots")


_IO_OPTIONS = (  # (name, annotation, default): the input/output options every step command takes
    ("overwrite", Overwrite, False),
    ("problem_field", ProblemField, None),
    ("answer_field", AnswerField, None),
    ("solution_field", SolutionField, None),
    ("id_field", IdField, None),
    ("tests_field", TestsField, None),
    ("on_error", OnErrorOpt, "fail"),
    ("shard_rows", ShardRows, 100_000),
)


def with_io_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a step command the shared input/output options (--overwrite, --problem-field, ..., --shard-rows)
    and pass them to it checked, as one `io: IOOptions` argument. Typer reads options from the signature,
    so the wrapper's signature is the command's own, without `io`, plus these options before --quiet."""
    own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "io"]
    added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a) for n, a, d in _IO_OPTIONS]
    at = next((i for i, p in enumerate(own) if p.name == "quiet"), len(own))
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    params[at:at] = added

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name, _, _ in _IO_OPTIONS}
        return fn(**kwargs, io=io_options(**values))

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def io_options(
    problem_field: str | None,
    answer_field: str | None,
    solution_field: str | None,
    id_field: str | None,
    on_error: str,
    overwrite: bool,
    shard_rows: int,
    tests_field: str | None = None,
) -> IOOptions:
    """The shared input/output options of every step command, checked."""
    fields = schema.FieldMap(problem_field, answer_field, solution_field, id_field, tests_field)
    return IOOptions(fields, check_on_error(on_error), overwrite, shard_rows)


# Options of the generation steps (filter, rejection-sample).
Model = Annotated[str | None, typer.Option(
    help="Local model folder or .gguf file (openai: the served model's name) [default: built-in SmolLM2-135M]."
)]  # fmt: skip
EngineOpt = Annotated[str | None, typer.Option("--engine", help="vllm, openai or transformers [default: vllm].")]
Prompt = Annotated[str, typer.Option(help="Built-in prompt: boxed, r1-zero or code.")]
System = Annotated[str | None, typer.Option(help="System message (replaces the built-in prompt's).")]
UserTemplate = Annotated[str | None, typer.Option(help="User message with {problem}.")]
Temperature = Annotated[float, typer.Option()]
TopP = Annotated[float, typer.Option()]
MaxTokens = Annotated[int, typer.Option(help="Tokens per sample.")]
Seed = Annotated[int, typer.Option()]
ChunkRows = Annotated[int, typer.Option(help="Problems per persisted chunk (the unit of resume).")]
TensorParallel = Annotated[int, typer.Option(help="vllm: GPUs per model.")]
GpuMemory = Annotated[float | None, typer.Option(help="vllm: memory share (on CPU: of RAM) [default: 0.9, CPU 0.2].")]
MaxModelLen = Annotated[int | None, typer.Option(help="vllm: context length.")]
BaseUrl = Annotated[str | None, typer.Option(help="openai: e.g. http://127.0.0.1:8000/v1.")]
ApiKeyEnv = Annotated[str, typer.Option(help="openai: variable holding the API key.")]
Concurrency = Annotated[int, typer.Option(help="openai: requests in flight.")]
RequestTimeout = Annotated[float, typer.Option(help="openai: seconds per request.")]
Retries = Annotated[int, typer.Option(help="openai: retries on 429/5xx/connection errors.")]
Restart = Annotated[bool, typer.Option("--restart", help="Discard a run of another configuration in OUT.")]
JudgeTimeout = Annotated[float, typer.Option("--timeout", help="Judge: seconds per verification.")]


def engine_options(
    engine: str | None,
    tensor_parallel_size: int,
    gpu_memory_utilization: float | None,
    max_model_len: int | None,
    base_url: str | None,
    api_key_env: str,
    concurrency: int,
    request_timeout: float,
    retries: int,
) -> dict:
    """The options of the chosen engine only, so the configuration (and its resume check) holds no noise."""
    if engine == "openai":
        return {"base_url": base_url, "api_key_env": api_key_env, "concurrency": concurrency,
                "request_timeout": request_timeout, "retries": retries}  # fmt: skip
    return {"tensor_parallel_size": tensor_parallel_size, "gpu_memory_utilization": gpu_memory_utilization,
            "max_model_len": max_model_len}  # fmt: skip
