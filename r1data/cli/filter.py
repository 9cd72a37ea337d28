"""`r1data filter --pass-rate LO:HI`: keep problems a model solves sometimes, but not always."""

from __future__ import annotations

from typing import Any

from r1data.cli import common as c


def summarize(result: Any, cfg: Any, shown: dict) -> None:
    m = result.manifest
    extra = [("samples drawn", m["stats"]["samples_drawn"]), ("failed (rerun to retry)", m["rows_failed"])]
    c.summary(m, "r1data filter", extra, shown["quiet"], shown["json_out"])


EXAMPLES = [
    "r1data filter clean -o band --pass-rate 0.1:0.9 --samples 8",
    "r1data filter clean -o band --pass-rate 0:0.5 --engine openai --base-url http://127.0.0.1:8000/v1 --model m",
]

filter_command = c.step_command("filter", summarize, examples=EXAMPLES)
