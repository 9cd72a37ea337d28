"""`r1data decontaminate`: drop rows that overlap benchmark problems."""

from __future__ import annotations

from typing import Any

from r1data.cli import common as c


def summarize(result: Any, cfg: Any, shown: dict) -> None:
    m = result.manifest
    stats = m["stats"]
    extra = [
        (f"matched {name} ({stats['benchmark_items'][name]} items)", n) for name, n in stats["rows_matched"].items()
    ]
    c.summary(m, "r1data decontaminate", extra, shown["quiet"], shown["json_out"])


EXAMPLES = [
    "r1data decontaminate deduped -o clean --against math500.jsonl --against gsm8k_test.jsonl",
    "r1data decontaminate deduped -o clean --against aime24.parquet --ngram 8 --paraphrase --semantic",
]

decontaminate_command = c.step_command("decontaminate", summarize, examples=EXAMPLES)
