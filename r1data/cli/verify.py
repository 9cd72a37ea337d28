"""`r1data verify`: judge completions against gold answers (or tests) and score checks."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from r1data.cli import common as c


def summarize(result: Any, cfg: Any, shown: dict) -> None:
    m = result.manifest
    stats = m["stats"]
    acc = stats["accuracy"]
    extra = [("completions", stats["completions"]), ("accuracy (of judged)", "n/a" if acc is None else f"{acc:.1%}")]
    extra += [(f"  {s}", n) for s, n in stats["statuses"].items() if n]
    extra += [(f"mean reward_{k}", "n/a" if v is None else f"{v:.3f}") for k, v in stats["check_means"].items()]
    if stats.get("judge_retries"):
        extra.append(("timed out once, judged again", stats["judge_retries"]))
    c.summary(m, "r1data verify", extra, shown["quiet"], shown["json_out"])
    for key, what in (("gold_unparseable", "cannot be parsed"), ("gold_suspect", "looks truncated or garbled")):
        if stats.get(f"{key}_rows") and not shown["quiet"]:
            c.console.print(f"{stats[f'{key}_rows']} rows whose gold answer {what} (fix the data):", soft_wrap=True)
            table = Table()
            table.add_column("id")
            table.add_column("answer")
            for row_id, answer in stats[f"{key}_examples"][:20]:
                table.add_row(str(row_id), repr(answer))
            c.console.print(table)


EXAMPLES = [
    "r1data verify generations.jsonl -o verified",
    "r1data verify traces -o verified --completion-field generations --lenient",
]

verify_command = c.step_command("verify", summarize, examples=EXAMPLES)
