"""`r1data export INPUT --to verl|openrlhf|sharegpt|messages -o OUT`: the layout another trainer reads."""

from __future__ import annotations

from typing import Any

from r1data.cli import common as c


def summarize(result: Any, cfg: Any, shown: dict) -> None:
    m = result.manifest
    c.summary(m, f"r1data export --to {cfg.to}", [("rows written", m["stats"]["rows_written"])], shown["quiet"],
              shown["json_out"])  # fmt: skip


export_command = c.step_command("export", summarize)
