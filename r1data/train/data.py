"""Training rows from r1data folders (or any input r1data reads): SFT conversations, GRPO prompts with the columns
the rewards need; and the context check, made before a model loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from r1data import schema
from r1data.errors import ConfigError, InputError
from r1data.ops.completions import completion_text
from r1data.train.config import GRPOTrainConfig, SFTTrainConfig, TrainConfig


@dataclass
class TrainData:
    rows: list[dict]
    sources: list[dict]
    fingerprint: str
    dropped: dict[str, int]


def _read(data: list[str | Path], io: Any = None) -> tuple[pl.DataFrame, list[dict], str]:
    from r1data.steps.base import IOConfig

    result = (io or IOConfig()).read(data)
    if result.records.height == 0:
        raise InputError(f"{', '.join(map(str, data))}: no rows to train on")
    return result.records, result.sources, result.fingerprint


def trace_column(df: pl.DataFrame) -> str | None:
    """The column a row's trace comes from: the one `verify` and `export` read (schema.TEXT_CANDIDATES: generations,
    completion, response, output, ..., then the worked solution), or None."""
    try:
        return schema.find_column(df, None, schema.TEXT_CANDIDATES, "--completion-field", "train")
    except schema.SchemaError:
        return None


def _conversation(row: dict, col: str, trace_col: str | None = None) -> list[dict] | None:
    """The chat to train on: the messages column (any layout r1data reads maps its chat there), else the problem
    and the row's trace (`trace_col`: the first of a list of generations)."""
    msgs = row.get(col)
    if isinstance(msgs, list) and msgs:
        return [{"role": m.get("role"), "content": m.get("content") or ""} for m in msgs if isinstance(m, dict)]
    trace = row.get(trace_col) if trace_col else None
    if isinstance(trace, list):  # chat messages (one completion), or a list of generations (the first)
        trace = (completion_text(trace) if isinstance(trace[0], dict) else completion_text(trace[0])) if trace else None
    trace = trace or row.get(schema.SOLUTION)
    if not trace or not row.get(schema.PROBLEM):
        return None
    return [{"role": "user", "content": row[schema.PROBLEM]}, {"role": "assistant", "content": str(trace)}]


def sft_rows(data: list[str | Path], cfg: SFTTrainConfig, io: Any = None) -> TrainData:
    """Conversational prompt/completion rows (the loss covers the assistant's turn only) from any chat layout:
    `messages` (TRL, OpenR1, NuminaMath, rejection-sample), ShareGPT `conversations` with `system`
    (OpenThoughts, Bespoke-Stratos, Light-R1), AM's messages, prompt/completion, or a problem and its trace."""
    df, sources, fp = _read(data, io)
    col = cfg.messages_field
    if col != "messages" and col not in df.columns:
        raise InputError(
            f"{', '.join(map(str, data))}: no '{col}' column (messages_field). Columns: {', '.join(df.columns)}"
        )
    rows, dropped = [], {}
    trace_col = trace_column(df)
    for i, row in enumerate(df.iter_rows(named=True)):
        msgs = _conversation(row, col, trace_col)
        if msgs is None:
            dropped["no_conversation"] = dropped.get("no_conversation", 0) + 1
            continue
        if msgs[-1].get("role") != "assistant":
            raise InputError(
                f"row {i} (id {row[schema.ID]}): its chat must end with the assistant's reply (it ends with "
                f"'{msgs[-1].get('role')}')"
            )
        if not (msgs[-1].get("content") or "").strip():
            dropped["empty_reply"] = dropped.get("empty_reply", 0) + 1
            continue
        rows.append({"id": row[schema.ID], "prompt": msgs[:-1], "completion": [msgs[-1]]})
    if not rows:
        raise InputError(
            f"{', '.join(map(str, data))}: nothing to train on: no row has a chat, or a problem with a completion "
            f"({dropped}). Columns: {', '.join(df.columns)}"
        )
    return TrainData(rows, sources, fp, dropped)


def template_facts(model_path: str, rows: list[dict]) -> dict:
    """What the model's chat template does with a reasoning block: whether it keeps it in the assistant turn (some
    R1-Distill templates strip everything before `</think>`, so SFT would train on the answer alone), and whether
    it opens `<think>` itself in the generation prompt (then a completion's own leading `<think>` is removed, so
    the block is not opened twice)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)
    probe = "r1data-reasoning-probe"
    chat = [{"role": "user", "content": "q"}, {"role": "assistant", "content": f"<think>\n{probe}\n</think>\n\na"}]
    try:
        rendered = tok.apply_chat_template(chat, tokenize=False)
        opening = tok.apply_chat_template(chat[:1], tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # no template, or one that refuses this chat
        return {"template": f"not checked ({type(exc).__name__}: {exc})"}
    keeps = probe in rendered
    prefills = str(opening).rstrip().endswith("<think>")
    with_think = sum(
        "<think>" in (r["completion"][0]["content"] or "")
        or "<|begin_of_thought|>" in (r["completion"][0]["content"] or "")
        for r in rows
    )
    facts = {"keeps_reasoning": keeps, "prefills_think": prefills, "rows_with_reasoning": with_think}
    if with_think and not keeps:
        facts["warning"] = (
            f"the chat template of {model_path} drops the reasoning from assistant turns: {with_think} training "
            "targets would lose their <think> block. Use a template that keeps it (e.g. the base model's), or set "
            "the tokenizer's chat_template before training."
        )
    return facts


def prefill_fix(rows: list[dict]) -> int:
    """The template opens <think> itself: take a completion's own leading `<think>` away. Returns how many."""
    n = 0
    for r in rows:
        text = r["completion"][0]["content"]
        if text.lstrip().startswith("<think>"):
            r["completion"][0]["content"] = text.lstrip()[len("<think>") :].lstrip("\n")
            n += 1
    return n


def grpo_rows(data: list[str | Path], cfg: GRPOTrainConfig, io: Any = None) -> TrainData:
    """Chat prompts plus every column the rewards read (the gold stays under `answer`, as TRL passes it)."""
    from r1data.judge.rewards import REWARDS
    from r1data.prompts import PromptTemplate

    df, sources, fp = _read(data, io)
    template = PromptTemplate.build(cfg.prompt, cfg.system, cfg.user_template)
    needs_gold = sorted(n for n in cfg.reward_funcs if REWARDS[n].needs_gold)
    needs_tests = sorted(n for n in cfg.reward_funcs if REWARDS[n].needs_tests)
    dropped: dict[str, int] = {}
    has_tests = schema.TESTS in df.columns and df.get_column(schema.TESTS).null_count() < df.height
    if needs_tests and not has_tests:
        raise InputError(
            f"{', '.join(map(str, data))}: reward {', '.join(needs_tests)} needs test cases, and the data has none "
            f"(columns: {', '.join(df.columns)}). Pass --tests-field when curating, or name the column `tests`."
        )
    if needs_gold and has_tests:  # code rows are judged by their tests, math rows by their answers
        gold = df.get_column(schema.ANSWER) if schema.ANSWER in df.columns else pl.Series([None] * df.height)
        missing = gold.is_null() & df.get_column(schema.TESTS).is_null()
        if missing.any():
            dropped["no_gold_answer"] = int(missing.sum())
            df = df.filter(~missing)
    elif needs_gold:
        if schema.ANSWER not in df.columns or df.get_column(schema.ANSWER).null_count() == df.height:
            raise InputError(
                f"{', '.join(map(str, data))}: reward {', '.join(needs_gold)} needs gold answers, and the data has "
                f"none (columns: {', '.join(df.columns)}). Pass --answer-field when curating, or train on a "
                "folder whose rows have `answer`."
            )
        missing = df.get_column(schema.ANSWER).is_null() | (df.get_column(schema.ANSWER).cast(pl.Utf8) == "")
        if missing.any():
            dropped["no_gold_answer"] = int(missing.sum())
            df = df.filter(~missing)
    keep = [c for c in df.columns if not c.startswith("_") and c not in ("prompt", "completion", "messages")]
    rows = []
    for r in df.select(keep).iter_rows(named=True):
        r["prompt"] = template.messages(r[schema.PROBLEM])
        rows.append(r)
    return TrainData(rows, sources, fp, dropped)


def check_context(rows: list[dict], cfg: TrainConfig, model_path: str) -> dict[str, int]:
    """Prompt + completion must fit the model's context. Returns token-length facts for the manifest."""
    from transformers import AutoConfig, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)

    def n_tokens(messages: list[dict], generation_prompt: bool) -> int:
        ids = tok.apply_chat_template(messages, add_generation_prompt=generation_prompt, tokenize=True)
        return len(ids["input_ids"] if hasattr(ids, "keys") else ids)  # transformers 5 returns a BatchEncoding

    mcfg = AutoConfig.from_pretrained(model_path)
    context = getattr(mcfg, "max_position_embeddings", None) or getattr(mcfg, "n_positions", None)
    if isinstance(cfg, GRPOTrainConfig):
        lengths = [n_tokens(r["prompt"], True) for r in rows]
        longest = max(range(len(rows)), key=lengths.__getitem__)
        need = lengths[longest] + cfg.max_completion_length
        if context and need > context:
            raise ConfigError(
                f"row id {rows[longest].get('id')}: its prompt has {lengths[longest]} tokens, and with "
                f"max_completion_length {cfg.max_completion_length} that is {need} tokens, beyond the model's "
                f"context of {context}. Lower max_completion_length to {context - lengths[longest]} or less, or "
                "leave out the longest problems."
            )
        return {"context": context or 0, "longest_prompt_tokens": lengths[longest]}
    assert isinstance(cfg, SFTTrainConfig)
    if context and cfg.max_length > context:
        raise ConfigError(f"max_length {cfg.max_length} is beyond the model's context of {context}; lower it")
    lengths = [n_tokens(r["prompt"] + r["completion"], False) for r in rows]
    return {
        "context": context or 0,
        "longest_example_tokens": max(lengths),
        "examples_truncated": sum(n > cfg.max_length for n in lengths),
    }
