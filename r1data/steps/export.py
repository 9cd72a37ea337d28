"""Write the rows in the layout another trainer reads: verl (RL parquet: `prompt` chat list, `reward_model:
{style: rule, ground_truth}`, `data_source`, `ability`, `extra_info.index`), openrlhf (`input`, `label`,
`datasource`), sharegpt (`conversations` of from/value turns, `system`) or messages (TRL's conversational
`messages`). Rows that lack what the layout needs (a gold answer or tests for RL, a completion for SFT) go to
removed/ with the reason. r1data reads every one of these layouts back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from r1data import schema
from r1data.config import check, setting
from r1data.ops.completions import completion_text
from r1data.steps.base import IOConfig, StepResult, run_one_shot

KIND = "one-shot"
TARGETS = ("verl", "openrlhf", "sharegpt", "messages")
NO_GOLD, NO_COMPLETION = "no_gold_answer", "no_completion"


@dataclass(kw_only=True)
class Config:
    to: str = setting(help="The layout to write: verl, openrlhf, sharegpt or messages.")
    user_template: str = setting("{problem}", "The user turn, with {problem} (e.g. add an instruction for RL).")
    system: str | None = setting(None, "A system turn to add (sharegpt and messages: its `system`).")
    ability: str | None = setting(None, "verl: the `ability` [default: code for rows with tests, else math].")

    def __post_init__(self) -> None:
        check(self.to in TARGETS, "to", f"must be one of {', '.join(TARGETS)} (got '{self.to}')")
        check("{problem}" in self.user_template, "user_template", "must contain {problem}")


def _completion(row: dict) -> str | None:
    """The trace to train on: a completion column, the first of the generations, the last assistant turn of the
    messages, else the worked solution."""
    for col in ("completion", "response", "output"):
        if isinstance(row.get(col), str) and row[col].strip():
            return row[col]
    if isinstance(row.get("generations"), list) and row["generations"]:
        return str(row["generations"][0])
    if isinstance(row.get("messages"), list):
        text = completion_text([m for m in row["messages"] if isinstance(m, dict)])
        if text.strip():
            return text
    solution = row.get(schema.SOLUTION)
    return solution if isinstance(solution, str) and solution.strip() else None


def convert(df: pl.DataFrame, cfg: Config) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows in the target layout, the input rows that could not be written, with drop_reason)."""
    out: list[dict] = []
    dropped: list[int] = []
    reasons: list[str] = []
    for i, row in enumerate(df.iter_rows(named=True)):
        user = cfg.user_template.format(problem=row[schema.PROBLEM])
        tests = row.get(schema.TESTS)
        gold = row.get(schema.ANSWER)
        if cfg.to in ("verl", "openrlhf"):
            truth = tests if tests else gold
            if truth is None or not str(truth).strip():
                dropped.append(i)
                reasons.append(NO_GOLD)
                continue
            if cfg.to == "verl":
                ability = cfg.ability or ("code" if tests else "math")
                out.append({
                    "data_source": row.get(schema.SOURCE) or "r1data",
                    "prompt": [{"role": "user", "content": user}],
                    "ability": ability,
                    "reward_model": {"style": "rule", "ground_truth": str(truth)},
                    "extra_info": {"index": i, "id": str(row[schema.ID]), "split": "train"},
                })  # fmt: skip
            else:
                out.append({"input": user, "label": str(truth), "datasource": row.get(schema.SOURCE) or "r1data",
                            "id": str(row[schema.ID])})  # fmt: skip
            continue
        completion = _completion(row)
        if completion is None:
            dropped.append(i)
            reasons.append(NO_COMPLETION)
            continue
        if cfg.to == "sharegpt":
            turns = [{"from": "user", "value": user}, {"from": "assistant", "value": completion}]
            out.append({"system": cfg.system or "", "conversations": turns, "id": str(row[schema.ID])})
        else:
            system = [{"role": "system", "content": cfg.system}] if cfg.system else []
            turns = [*system, {"role": "user", "content": user}, {"role": "assistant", "content": completion}]
            out.append({"messages": turns, "id": str(row[schema.ID]),
                        "answer": None if gold is None else str(gold)})  # fmt: skip
    removed = df[dropped].with_columns(pl.Series(schema.DROP_REASON, reasons, dtype=pl.String))
    return pl.from_dicts(out, infer_schema_length=None) if out else pl.DataFrame(), removed


def run(inputs: list[str | Path], out: str | Path, cfg: Config, io: IOConfig, *, engine: Any = None) -> StepResult:
    """`r1data export`."""

    def op(read: Any) -> tuple:
        kept, removed = convert(read.records, cfg)
        if kept.height == 0:
            kept = read.records.clear().select(schema.ID)
        return kept, removed, {"to": cfg.to, "rows_written": kept.height, "example": json.loads(
            kept.head(1).write_json())[0] if kept.height else None}  # fmt: skip

    return run_one_shot("export", inputs, out, cfg, io, op)
