"""`r1data rejection-sample`: verified, filtered chain-of-thought traces, ready for SFT."""

from __future__ import annotations

from typing import Any

from r1data.cli import common as c


def summarize(result: Any, cfg: Any, shown: dict) -> None:
    m = result.manifest
    extra = [("problems with accepted traces", m["inputs_kept"]), ("failed (rerun to retry)", m["rows_failed"])]
    c.summary(m, "r1data rejection-sample", extra, shown["quiet"], shown["json_out"])


EXAMPLES = [
    "r1data rejection-sample band -o traces --samples 4 --keep 1",
    "r1data rejection-sample band -o traces --samples 8 --max-tokens 16384 --model ./my-model",
]

rejection_sample_command = c.step_command("rejection-sample", summarize, examples=EXAMPLES)
