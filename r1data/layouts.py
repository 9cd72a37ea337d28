"""The layouts the public reasoning datasets are published in, recognised from their columns and mapped onto
r1data's record schema (`problem`, `answer`, `solution`, `id`, `source`), plus the trace (`completion`, or
`generations` when there are several), the conversation (`messages`, for SFT) and a code problem's `tests`.
Every input column is kept as it was; the mapped ones are added beside.

Reasoning kept apart from its answer (OpenThoughts' `deepseek_reasoning`, s1K's `thinking_trajectories`, AM's
`info.think_content`) becomes one trace, `<think>REASONING</think>\\n\\nANSWER`, so every step splits it the same
way (ops/traces.py). Columns that hold the dataset's own verdict (`correctness_math_verify`,
`is_reasoning_complete`, `score`, s1K-1.1's `deepseek_grade`) are kept: verify reports how often r1data agrees.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from r1data.errors import SchemaError
from r1data.ops.answers import extract_answer

COMPLETION, GENERATIONS, MESSAGES, TESTS = "completion", "generations", "messages", "tests"
# Columns a dataset ships with its own verdict on each trace, compared with r1data's by verify.
VERDICT_COLUMNS = ("correctness_math_verify", "score", "deepseek_grade")
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system",
         "model": "assistant", "bot": "assistant"}  # fmt: skip


@dataclass(frozen=True)
class Layout:
    name: str
    datasets: str  # the public datasets published this way
    reads: tuple[str, ...]  # the columns it reads
    detect: Callable[[pl.DataFrame], bool]
    convert: Callable[[pl.DataFrame], pl.DataFrame]


def _is_list(df: pl.DataFrame, col: str) -> bool:
    return col in df.columns and df.schema[col].base_type() in (pl.List, pl.Array)


def _struct_fields(df: pl.DataFrame, col: str) -> set[str]:
    """Fields of the structs inside a list column (a chat), else empty."""
    if not _is_list(df, col):
        return set()
    inner = df.schema[col].inner  # type: ignore[union-attr]
    return {f.name for f in inner.fields} if isinstance(inner, pl.Struct) else set()


def _think(reasoning: Any, answer: Any) -> str | None:
    if not reasoning:
        return answer if answer else None
    return f"<think>\n{str(reasoning).strip()}\n</think>\n\n{(answer or '').strip()}"


def _rows(df: pl.DataFrame, fn: Callable[[dict], dict], columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """New columns computed row by row (nested chats are easier in Python than in expressions)."""
    values = [fn(r) for r in df.iter_rows(named=True)]
    return df.with_columns(
        pl.Series(name, [v.get(name) for v in values], dtype=dtype, strict=False) for name, dtype in columns.items()
    )


CHAT = pl.List(pl.Struct({"role": pl.String, "content": pl.String}))
TEXT = pl.String


def _turns(chat: Any) -> list[dict]:
    """A chat in any convention (role/content or ShareGPT's from/value) as role/content turns."""
    out = []
    for turn in chat or []:
        if not isinstance(turn, dict):
            continue
        role = ROLES.get(str(turn.get("role", turn.get("from", ""))).lower(), str(turn.get("role", turn.get("from"))))
        content = turn.get("content", turn.get("value"))
        out.append({"role": role, "content": "" if content is None else str(content)})
    return out


def _first(turns: list[dict], role: str) -> str | None:
    return next((t["content"] for t in turns if t["role"] == role), None)


def _last(turns: list[dict], role: str) -> str | None:
    return next((t["content"] for t in reversed(turns) if t["role"] == role), None)


# ---------------------------------------------------------------------------------------------------------------


def _sharegpt(df: pl.DataFrame) -> pl.DataFrame:
    def row(r: dict) -> dict:
        turns = _turns(r["conversations"])
        system = r.get("system")
        if system and not any(t["role"] == "system" for t in turns):
            turns = [{"role": "system", "content": system}, *turns]
        return {"problem": _first(turns, "user"), COMPLETION: _last(turns, "assistant"), MESSAGES: turns}

    return _rows(df, row, {"problem": TEXT, COMPLETION: TEXT, MESSAGES: CHAT})


def _openthoughts_metadata(df: pl.DataFrame) -> pl.DataFrame:
    def row(r: dict) -> dict:
        out = {COMPLETION: _think(r.get("deepseek_reasoning"), r.get("deepseek_solution"))}
        gold = r.get("ground_truth_solution")
        out["answer"] = extract_answer(gold) if gold else None
        tests = r.get("test_cases")
        out[TESTS] = tests if tests not in (None, "", "[]", "{}") else None
        return out

    return _rows(df, row, {COMPLETION: TEXT, "answer": TEXT, TESTS: TEXT})


def _openr1(df: pl.DataFrame) -> pl.DataFrame:
    out = df
    if "uuid" in df.columns and "id" not in df.columns:
        out = out.with_columns(pl.col("uuid").cast(pl.String).alias("id"))
    return out


def _am(df: pl.DataFrame) -> pl.DataFrame:
    def row(r: dict) -> dict:
        chat = r["messages"] or []
        turns = _turns(chat)
        user = next((t for t in chat if str(t.get("role")) == "user"), {}) or {}
        info = user.get("info") or {}
        reply = next((t for t in reversed(chat) if str(t.get("role")) == "assistant"), {}) or {}
        content = reply.get("content")
        rinfo = reply.get("info") or {}
        if not content and rinfo.get("think_content"):
            content = _think(rinfo.get("think_content"), rinfo.get("answer_content"))
        test = info.get("test_case")
        return {"problem": _first(turns, "user"), COMPLETION: content, MESSAGES: turns,
                "answer": info.get("reference_answer") or None, "source": info.get("source"),
                TESTS: (test if isinstance(test, str) else json.dumps(test)) if test else None}  # fmt: skip

    return _rows(df, row, {"problem": TEXT, COMPLETION: TEXT, MESSAGES: CHAT, "answer": TEXT, "source": TEXT,
                           TESTS: TEXT})  # fmt: skip


def _s1k(df: pl.DataFrame) -> pl.DataFrame:
    def row(r: dict) -> dict:
        if r.get("deepseek_thinking_trajectory"):  # s1K-1.1: DeepSeek-R1's traces
            trace = _think(r["deepseek_thinking_trajectory"], r.get("deepseek_attempt"))
        else:
            trajectories = r.get("thinking_trajectories") or []
            reasoning = "\n".join(trajectories) if isinstance(trajectories, list) else trajectories
            trace = _think(reasoning, r.get("attempt"))
        return {"problem": r.get("question"), COMPLETION: trace, "answer": extract_answer(r.get("solution"))}

    return _rows(df, row, {"problem": TEXT, COMPLETION: TEXT, "answer": TEXT})


def _deepmath(df: pl.DataFrame) -> pl.DataFrame:
    cols = [c for c in ("r1_solution_1", "r1_solution_2", "r1_solution_3") if c in df.columns]
    return df.with_columns(
        pl.col("question").alias("problem"),
        pl.col("final_answer").cast(pl.String).alias("answer"),
        pl.concat_list([pl.col(c).cast(pl.String) for c in cols]).list.drop_nulls().alias(GENERATIONS),
    )


def _openmath(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.col("expected_answer").cast(pl.String).alias("answer"),
        pl.col("generated_solution").cast(pl.String).alias(COMPLETION),
    )


def _numina(df: pl.DataFrame) -> pl.DataFrame:
    """The worked solution is the trace (the messages' assistant turn is the same text)."""
    if _is_list(df, MESSAGES):
        df = _rows(df, lambda r: {MESSAGES: _turns(r[MESSAGES])}, {MESSAGES: CHAT})
    return df.with_columns(pl.col("solution").cast(pl.String).alias(COMPLETION))


def _verl(df: pl.DataFrame) -> pl.DataFrame:
    def row(r: dict) -> dict:
        prompt = r["prompt"]
        turns = _turns(prompt) if isinstance(prompt, list) else [{"role": "user", "content": str(prompt)}]
        reward = r.get("reward_model") or {}
        truth = reward.get("ground_truth") if isinstance(reward, dict) else None
        if isinstance(truth, list):
            truth = truth[0] if len(truth) == 1 else json.dumps(truth)
        extra = r.get("extra_info") or {}
        index = extra.get("index") if isinstance(extra, dict) else None
        code = str(r.get("ability", "")).lower() == "code"
        return {"problem": _last(turns, "user"), "answer": None if code else truth, TESTS: truth if code else None,
                "source": r.get("data_source"), "id": None if index is None else str(index)}  # fmt: skip

    out = _rows(df, row, {"problem": TEXT, "answer": TEXT, TESTS: TEXT, "source": TEXT, "id": TEXT})
    return out.rename({"prompt": "prompt_chat"})  # the chat stays, under a name no step reads as a problem


def _trl_messages(df: pl.DataFrame) -> pl.DataFrame:
    def row(r: dict) -> dict:
        turns = _turns(r[MESSAGES])
        return {"problem": _first(turns, "user"), COMPLETION: _last(turns, "assistant"), MESSAGES: turns}

    return _rows(df, row, {"problem": TEXT, COMPLETION: TEXT, MESSAGES: CHAT})


def _trl_prompt_completion(df: pl.DataFrame) -> pl.DataFrame:
    def row(r: dict) -> dict:
        prompt, completion = r["prompt"], r["completion"]
        p_turns = _turns(prompt) if isinstance(prompt, list) else [{"role": "user", "content": str(prompt)}]
        c_turns = (_turns(completion) if isinstance(completion, list)
                   else [{"role": "assistant", "content": str(completion)}])  # fmt: skip
        return {"problem": _last(p_turns, "user"), "completion_text": _last(c_turns, "assistant"),
                MESSAGES: [*p_turns, *c_turns]}  # fmt: skip

    out = _rows(df, row, {"problem": TEXT, "completion_text": TEXT, MESSAGES: CHAT})
    out = out.rename({"prompt": "prompt_input", "completion": "completion_input"})
    return out.rename({"completion_text": COMPLETION})


def _openrlhf(df: pl.DataFrame) -> pl.DataFrame:
    key = "input" if "input" in df.columns else "context_messages"

    def row(r: dict) -> dict:
        value = r[key]
        turns = _turns(value) if isinstance(value, list) else [{"role": "user", "content": str(value)}]
        return {"problem": _last(turns, "user"), "answer": None if r.get("label") is None else str(r["label"]),
                "source": r.get("datasource")}  # fmt: skip

    return _rows(df, row, {"problem": TEXT, "answer": TEXT, "source": TEXT})


def _has(*cols: str) -> Callable[[pl.DataFrame], bool]:
    return lambda df: all(c in df.columns for c in cols)


LAYOUTS: tuple[Layout, ...] = (
    Layout("verl", "verl RL parquet: DAPO-Math-17k, Skywork-OR1-RL-Data, DeepScaleR (verl form)",
           ("prompt", "reward_model.ground_truth", "data_source", "ability", "extra_info.index"),
           lambda df: "reward_model" in df.columns and "prompt" in df.columns, _verl),
    Layout("am-distilled", "AM-DeepSeek-R1-Distilled (messages with info)",
           ("messages[].role/content", "info.reference_answer", "info.test_case", "info.think_content"),
           lambda df: "info" in _struct_fields(df, MESSAGES), _am),
    Layout("sharegpt", "OpenThoughts-114k, Bespoke-Stratos-17k, Light-R1-SFTData (conversations)",
           ("conversations[].from/value", "system"), lambda df: _is_list(df, "conversations"), _sharegpt),
    Layout("openr1-math", "OpenR1-Math-220k", ("problem", "solution", "answer", "generations", "uuid",
           "correctness_math_verify", "is_reasoning_complete", "finish_reasons"),
           lambda df: _has("problem", "generations")(df) and ("uuid" in df.columns
                                                              or "correctness_math_verify" in df.columns), _openr1),
    Layout("openthoughts-metadata", "OpenThoughts-114k (metadata config)",
           ("problem", "deepseek_reasoning", "deepseek_solution", "ground_truth_solution", "domain", "test_cases",
            "starter_code"), _has("problem", "deepseek_reasoning"), _openthoughts_metadata),
    Layout("s1k", "s1K, s1K-1.1", ("question", "solution", "thinking_trajectories", "attempt",
                                   "deepseek_thinking_trajectory", "deepseek_attempt"),
           lambda df: "question" in df.columns and ("thinking_trajectories" in df.columns
                                                    or "deepseek_thinking_trajectory" in df.columns), _s1k),
    Layout("deepmath", "DeepMath-103K", ("question", "final_answer", "difficulty", "topic", "r1_solution_1..3"),
           _has("question", "final_answer", "r1_solution_1"), _deepmath),
    Layout("openmathreasoning", "OpenMathReasoning", ("problem", "generated_solution", "expected_answer",
                                                      "problem_type", "generation_model", "pass_rate_72b_tir"),
           _has("problem", "generated_solution", "expected_answer"), _openmath),
    Layout("numina", "NuminaMath-CoT, NuminaMath-1.5", ("problem", "solution", "messages", "answer", "source"),
           lambda df: _has("problem", "solution")(df) and (_is_list(df, MESSAGES) or "problem_is_valid" in df.columns),
           _numina),
    Layout("limo", "LIMO (the long solution is the trace)", ("question", "solution", "answer"),
           lambda df: set(df.columns) >= {"question", "solution", "answer"} and "final_answer" not in df.columns,
           lambda df: df.rename({"solution": COMPLETION})),
    Layout("openrlhf", "OpenRLHF prompt data (--input_key input or context_messages, --label_key label)",
           ("input | context_messages", "label", "datasource"),
           lambda df: ("input" in df.columns or "context_messages" in df.columns) and "label" in df.columns
           and "problem" not in df.columns, _openrlhf),
    Layout("trl-messages", "TRL conversational (messages)", ("messages[].role/content",),
           lambda df: bool(_struct_fields(df, MESSAGES)) and "problem" not in df.columns, _trl_messages),
    Layout("trl-prompt-completion", "TRL prompt/completion (strings or chats)", ("prompt", "completion"),
           lambda df: _has("prompt", "completion")(df) and "problem" not in df.columns, _trl_prompt_completion),
)  # fmt: skip
BY_NAME = {layout.name: layout for layout in LAYOUTS}
# Layouts that need no mapping: schema.to_records reads them as they are.
PLAIN = (("math", "MATH, MATH-500, DeepScaleR", ("problem", "solution (\\boxed{})", "answer", "unique_id")),
         ("gsm8k", "GSM8K", ("question", "answer (ending in #### N)")),
         ("columns", "anything else with a problem column", ("--problem-field, --answer-field, ...",)))  # fmt: skip
NAMES = ("auto", *BY_NAME, *(name for name, _, _ in PLAIN))


def choose(df: pl.DataFrame, given: str = "auto", where: str = "") -> Layout | None:
    """The layout of a table: the one given (checked against the columns), or the first whose columns match;
    None when the table needs no mapping (MATH, GSM8K and other plain columns)."""
    if given not in NAMES:
        raise SchemaError(f"{where}: --layout '{given}' is unknown; choose one of {', '.join(NAMES)}")
    if given != "auto":
        layout = BY_NAME.get(given)
        if layout is not None:
            missing = [c.split(".")[0].split("[")[0] for c in layout.reads[:1]]
            if any(m not in df.columns for m in missing):
                raise SchemaError(
                    f"{where}: --layout {given} reads {', '.join(layout.reads)}, and the columns are "
                    f"{', '.join(df.columns)}. Choose another --layout, or leave it to auto."
                )
        return layout
    return next((layout for layout in LAYOUTS if layout.detect(df)), None)


def plain_name(df: pl.DataFrame) -> str:
    """The name of a plain layout, for the manifest."""
    if "question" in df.columns and "answer" in df.columns and "problem" not in df.columns:
        return "gsm8k"
    if "problem" in df.columns and ("solution" in df.columns or "answer" in df.columns):
        return "math"
    return "columns"
