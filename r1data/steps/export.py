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
from r1data.errors import SchemaError
from r1data.judge.inputs import Reading
from r1data.ops.chat import SHAREGPT_ROLES, has_template
from r1data.ops.completions import completion_text
from r1data.steps.base import IOConfig, StepResult, run_one_shot

KIND = "one-shot"
TARGETS = ("verl", "openrlhf", "sharegpt", "messages")
NO_GOLD, NO_COMPLETION = "no_gold_answer", "no_completion"
VERL_COLUMNS = ("data_source", "prompt", "ability", "reward_model", "extra_info", "agent_name")


@dataclass(kw_only=True)
class Config:
    to: str = setting(help="The layout to write: verl, openrlhf, sharegpt or messages.")
    user_template: str = setting("{problem}", "The user turn, with {problem} (e.g. add an instruction for RL).")
    system: str | None = setting(None, "A system turn to add (sharegpt and messages: its `system`).")
    ability: str | None = setting(
        None, "verl: the `ability` [default: the input's, else code for rows with tests, else math]."
    )
    keep_columns: list[str] = setting(
        [], "Input columns to carry into every written row as they are, comma-separated (e.g. level,subject).", sep=","
    )

    def __post_init__(self) -> None:
        check(self.to in TARGETS, "to", f"must be one of {', '.join(TARGETS)} (got '{self.to}')")
        written = {
            "verl": VERL_COLUMNS,
            "openrlhf": ("input", "label", "datasource", "id"),
            "sharegpt": ("system", "conversations", "id", "tools"),
            "messages": ("messages", "id", "answer", "tests", "tools"),
        }[self.to]
        clash = [c for c in self.keep_columns if c in written]
        check(not clash, "keep_columns", f"{', '.join(clash)} is written by --to {self.to} itself")
        check("{problem}" in self.user_template, "user_template", "must contain {problem}")
        from r1data.prompts import template_error

        why = template_error(self.user_template)
        check(why is None, "user_template", why or "")


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


def _chat(row: dict, user: str, completion: str, system: str | None) -> list[dict]:
    """The conversation to write: every turn of the row's own chat when its last assistant turn is the trace
    being written (multi-turn and tool-call chats stay whole), else system + user + assistant."""
    turns = [t for t in (row.get("messages") or []) if isinstance(t, dict)]
    last = next((t.get("content") for t in reversed(turns) if t.get("role") == "assistant"), None)
    if turns and last == completion:
        out = [dict(role=t["role"], content=t.get("content") or "") for t in turns]
        first_user = next((i for i, t in enumerate(out) if t["role"] == "user"), None)
        if first_user is not None and user != row[schema.PROBLEM]:  # a --user-template to apply
            out[first_user]["content"] = user
        if system and not any(t["role"] == "system" for t in out):
            out.insert(0, {"role": "system", "content": system})
        return out
    systems = [{"role": "system", "content": system}] if system else [t for t in turns if t.get("role") == "system"]
    return [*systems, {"role": "user", "content": user}, {"role": "assistant", "content": completion}]


def _verl_row(row: dict, i: int, user: str, truth: Any, cfg: Config) -> dict:
    """A verl row that keeps what verl's agent loop reads from a verl input: the system turns, `agent_name`,
    `extra_info` (tools_kwargs, interaction_kwargs, question, answer, ...), the reward style and `ability`."""
    original = row.get("prompt_chat")
    turns = [t for t in (original or []) if isinstance(t, dict)]
    user_turns = [t for t in turns if t.get("role") == "user"]
    untouched = (
        turns
        and len(user_turns) == 1
        and not has_template(user_turns[0].get("content"))
        and user == row[schema.PROBLEM]
        and user_turns[0].get("content", "").strip() != ""
    )
    if untouched:
        prompt = [{"role": t.get("role"), "content": t.get("content")} for t in turns]
    else:
        systems = [{"role": "system", "content": t.get("content")} for t in turns if t.get("role") == "system"]
        prompt = [*systems, {"role": "user", "content": user}]
    reward = row.get("reward_model") if isinstance(row.get("reward_model"), dict) else {}
    extra = dict(row["extra_info"]) if isinstance(row.get("extra_info"), dict) else {}
    extra = {k: v for k, v in extra.items() if v is not None}
    extra.setdefault("index", i)
    extra.setdefault("id", str(row[schema.ID]))
    extra.setdefault("split", "train")
    extra.setdefault("question", row[schema.PROBLEM])  # the exported reward judges multiple choice by it
    ability = cfg.ability or row.get("ability") or ("code" if row.get(schema.TESTS) else "math")
    out = {
        "data_source": row.get(schema.SOURCE) or "r1data",
        "prompt": prompt,
        "ability": ability,
        "reward_model": {"style": reward.get("style") or "rule", "ground_truth": truth},
        "extra_info": extra,
    }
    if row.get("agent_name") is not None:
        out["agent_name"] = row["agent_name"]
    return out


def _truth(row: dict) -> Any:
    """The ground truth as what it is: the tests of a code row; every acceptable answer (a list); a structure
    (as it was given); else the gold text."""
    tests = row.get(schema.TESTS)
    if tests:
        return tests
    alternatives = row.get(schema.ANSWERS)
    if isinstance(alternatives, list) and len(alternatives) > 1:
        return list(alternatives)
    gold = row.get(schema.ANSWER)
    if row.get(schema.GOLD_KIND) == "structured" and isinstance(gold, str):
        reward = row.get("reward_model")
        if isinstance(reward, dict) and reward.get("ground_truth") is not None:
            return reward["ground_truth"]
        try:
            return json.loads(gold)
        except ValueError:
            return gold
    return gold


def _frame(rows: list[dict]) -> pl.DataFrame:
    """Rows as a table. One column holds one type: where some ground truths are lists, a single answer becomes a
    one-item list (DeepScaleR's reward reads both); where structures mix with text, the text stays text and the
    structures become JSON text."""
    truths = [r["reward_model"]["ground_truth"] for r in rows if "reward_model" in r]
    kinds = {type(t) for t in truths}
    if len(kinds) > 1:
        for r in rows:
            truth = r["reward_model"]["ground_truth"]
            if list in kinds and dict not in kinds:
                r["reward_model"]["ground_truth"] = truth if isinstance(truth, list) else [truth]
            elif not isinstance(truth, str):
                r["reward_model"]["ground_truth"] = json.dumps(truth, ensure_ascii=False)
    return pl.from_dicts(rows, infer_schema_length=None)


def _tools(row: dict) -> dict:
    """The tool schemas a tool-calling chat was made with (LLaMA-Factory's and TRL's `tools`), kept beside it."""
    tools = row.get("tools")
    return {} if tools is None else {"tools": tools if isinstance(tools, str) else json.dumps(tools)}


def convert(df: pl.DataFrame, cfg: Config) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows in the target layout, the input rows that could not be written, with drop_reason)."""
    out: list[dict] = []
    dropped: list[int] = []
    reasons: list[str] = []
    missing = [c for c in cfg.keep_columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"--keep-columns {', '.join(missing)}: no such column. Columns present: "
            f"{', '.join(c for c in df.columns if c != schema.ROW)}"
        )
    for i, row in enumerate(df.iter_rows(named=True)):
        user = cfg.user_template.format(problem=row[schema.PROBLEM])
        kept = {c: row[c] for c in cfg.keep_columns}
        gold = row.get(schema.ANSWER)
        if cfg.to in ("verl", "openrlhf"):
            truth = _truth(row)
            if truth is None or (isinstance(truth, str) and not truth.strip()):
                dropped.append(i)
                reasons.append(NO_GOLD)
                continue
            if cfg.to == "verl":
                out.append(_verl_row(row, i, user, truth, cfg) | kept)
            else:
                label = truth if isinstance(truth, str) else json.dumps(truth, ensure_ascii=False)
                out.append(
                    {
                        "input": user,
                        "label": label,
                        "datasource": row.get(schema.SOURCE) or "r1data",
                        "id": str(row[schema.ID]),
                    }
                    | kept
                )
            continue
        completion = _completion(row)
        if completion is None:
            dropped.append(i)
            reasons.append(NO_COMPLETION)
            continue
        turns = _chat(row, user, completion, cfg.system)
        if cfg.to == "sharegpt":
            system = "\n\n".join(t["content"] for t in turns if t["role"] == "system")
            conv = [
                {"from": SHAREGPT_ROLES.get(t["role"], t["role"]), "value": t["content"]}
                for t in turns
                if t["role"] != "system"
            ]
            out.append({"system": system, "conversations": conv, "id": str(row[schema.ID])} | _tools(row) | kept)
        else:
            tests = {schema.TESTS: row[schema.TESTS]} if row.get(schema.TESTS) else {}  # the TRL reward runs them
            out.append(
                {"messages": turns, "id": str(row[schema.ID]), "answer": None if gold is None else str(gold)}
                | tests
                | _tools(row)
                | kept
            )
    removed = df[dropped].with_columns(pl.Series(schema.DROP_REASON, reasons, dtype=pl.String))
    return _frame(out) if out else pl.DataFrame(), removed


REWARD_FOR = {"verl": "verl", "openrlhf": "openrlhf", "messages": "trl"}  # the reward.py each export writes


def curation_reading(inputs: list[str | Path], io: IOConfig) -> Reading:
    """How the curation read the traces: the settings an input folder's manifest records (the step that judged
    them), else this export's own --think-format."""
    for path in inputs:
        manifest = Path(path) / "manifest.json"
        if Path(path).is_dir() and manifest.is_file():
            try:
                config = json.loads(manifest.read_text()).get("config") or {}
            except ValueError:
                continue
            if any(k in config for k in ("think_prefilled", "lenient")):
                return Reading.from_dict(
                    {**config, "think_format": (config.get("io") or {}).get("think_format", io.think_format)}
                )
    return Reading(think_format=io.think_format)


def run(inputs: list[str | Path], out: str | Path, cfg: Config, io: IOConfig, *, engine: Any = None) -> StepResult:
    """`r1data export`."""
    from r1data.judge.exported import USAGE, reward_module

    def op(read: Any, _executor: Any) -> tuple:
        kept, removed = convert(read.records, cfg)
        if kept.height == 0:
            kept = read.records.clear().select(schema.ID)
        stats = {
            "to": cfg.to,
            "rows_written": kept.height,
            "example": json.loads(kept.head(1).write_json())[0] if kept.height else None,
        }
        if (target := REWARD_FOR.get(cfg.to)) is not None:
            reading = curation_reading(inputs, io)
            stats["files"] = {"reward.py": reward_module(target, reading)}
            stats["reward"] = {
                "file": "reward.py",
                "for": target,
                "reading": reading.to_dict(),
                "use": USAGE[target].format(path=Path(out).resolve() / "reward.py"),
            }
        return kept, removed, stats

    return run_one_shot("export", inputs, out, cfg, io, op)
