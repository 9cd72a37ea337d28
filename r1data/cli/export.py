"""`r1data export INPUT --to verl|openrlhf|sharegpt|messages -o OUT`: the layout another trainer reads."""

from __future__ import annotations

from typing import Any

from r1data.cli import common as c


def summarize(result: Any, cfg: Any, shown: dict) -> None:
    m = result.manifest
    rows = [("rows written", m["stats"]["rows_written"])]
    if reward := m["stats"].get("reward"):  # the judge that curated the data, as the trainer's reward
        from rich.markup import escape  # "reward_funcs=[accuracy]" is not markup

        rows += [
            ("reward", f"{reward['file']} ({reward['for']}, same verdicts as r1data)"),
            ("use it", escape(reward["use"])),
        ]
    c.summary(m, f"r1data export --to {cfg.to}", rows, shown["quiet"], shown["json_out"])


EXAMPLES = [
    "r1data export verified -o rl --to verl",
    'r1data export traces -o sft --to sharegpt --system "Think step by step."',
]

export_command = c.step_command("export", summarize, examples=EXAMPLES)
