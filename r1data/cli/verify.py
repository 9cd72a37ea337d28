"""`r1data verify`: judge completions against gold answers and score checks."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from r1data.cli import common as c
from r1data.ops.mathcheck import STATUSES
from r1data.steps import JudgeOptions, verify_step


@c.handle_errors
@c.with_io_options
def verify_command(
    inputs: c.Inputs,
    output: c.Output,
    checks: Annotated[
        str,
        typer.Option(
            help="Comma-separated: accuracy, format, language_consistency, overlong, repetition, cosine, length."
        ),
    ] = "accuracy,format",
    completion_field: Annotated[
        str | None,
        typer.Option(help="Column with the completion (a string) or completions (a list) [default: generations, ...]."),
    ] = None,
    think_prefilled: Annotated[
        bool,
        typer.Option(
            "--think-prefilled", help="Completions start inside <think> (the chat template opened it, as R1-Distill's)."
        ),
    ] = False,
    answer_tags: Annotated[bool, typer.Option("--answer-tags", help="format: require <answer>...</answer>.")] = False,
    language: Annotated[str, typer.Option(help="language_consistency: target language (en, zh, ...).")] = "en",
    max_tokens: Annotated[int, typer.Option(help="overlong / cosine: the length limit in tokens.")] = 4096,
    cache_tokens: Annotated[int, typer.Option(help="overlong: the soft-penalty band before the limit.")] = 512,
    timeout: Annotated[float, typer.Option(help="Seconds per verification before it is killed (timeout).")] = 5.0,
    workers: Annotated[int | None, typer.Option(help="Verification processes [default: CPU count + 1].")] = None,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per verification process (MiB).")] = 4096,
    io: c.IOOptions = None,  # the input/output options, added by with_io_options
    quiet: c.Quiet = False,
    json_out: c.JsonOut = False,
) -> None:
    """Judge each completion against the row's gold answer with math-verify, in worker processes that
    cannot hang, and score the requested checks.

    Adds correct (true/false/null), pred_answer, verify_status (correct, incorrect, gold_unparseable,
    pred_unparseable, timeout, crash_or_oom) and reward_<check>; list columns also get pass_rate.
    Rows whose gold answer cannot be parsed are listed: they are data bugs.
    """
    from r1data.ops.verify import parse_checks

    options = {"answer_tags": answer_tags, "language": language, "max_tokens": max_tokens, "cache_tokens": cache_tokens}
    judge = JudgeOptions(workers, timeout, memory_mb, think_prefilled)
    with c.progress("Verifying...", quiet):
        result = verify_step(inputs, output, parse_checks(checks), io, judge, completion_field, options)
    m = result.manifest | {"output": str(output)}
    stats = m["stats"]
    acc = stats["accuracy"]
    extra = [("completions", stats["completions"]), ("accuracy (of judged)", "n/a" if acc is None else f"{acc:.1%}")]
    extra += [(f"  {s}", stats["statuses"][s]) for s in STATUSES if stats["statuses"][s]]
    extra += [(f"mean reward_{k}", "n/a" if v is None else f"{v:.3f}") for k, v in stats["check_means"].items()]
    c.summary(m, "r1data verify", extra, quiet, json_out)
    if stats["gold_unparseable_rows"] and not quiet:
        c.console.print(f"{stats['gold_unparseable_rows']} rows whose gold answer cannot be parsed (fix the data):",
                        soft_wrap=True)  # fmt: skip
        table = Table()
        table.add_column("id")
        table.add_column("answer")
        for row_id, answer in stats["gold_unparseable_examples"][:20]:
            table.add_row(str(row_id), repr(answer))
        c.console.print(table)
