"""The layouts the public reasoning datasets are published in, recognised from their columns and mapped onto
r1data's record schema (`problem`, `answer`, `solution`, `id`, `source`), plus the trace (`completion`, or
`generations` when there are several), the conversation (`messages`, every turn, for SFT) and a code problem's
`tests`. Every input column is kept as it was; the mapped ones are added beside.

Each layout declares the roles it reads (problem, gold, trace, messages, tests, ...) and the columns it requires;
`choose` picks one and says why, and every conversion records what it adjusted (a chat template removed, list
golds, typed parts, test pointers) in a `Reading`, which `r1data inspect` prints and every step records in its
manifest.

Reasoning kept apart from its answer (OpenThoughts' `deepseek_reasoning`, s1K's trajectories, AM's
`info.think_content`, HuatuoGPT-o1's `Complex_CoT`, typed `reasoning` parts) becomes one trace,
`<think>REASONING</think>\\n\\nANSWER`, so every step splits it the same way (ops/traces.py). Columns that hold
the dataset's own verdict are kept: verify reports how often r1data agrees.

Adding a layout is one entry in `LAYOUTS` below: its name, the datasets, its roles, the columns it requires, a
detector and a converter.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from r1data.errors import SchemaError
from r1data.ops import chat
from r1data.ops.answers import extract_answer
from r1data.schema import gold_columns, has_gsm8k_answers

COMPLETION, GENERATIONS, MESSAGES, TESTS = "completion", "generations", "messages", "tests"
ANSWERS, GOLD_KIND = "answers", "gold_kind"
# Columns a dataset ships with its own verdict on each trace, compared with r1data's by verify.
VERDICT_COLUMNS = (
    "correctness_math_verify",
    "score",
    "deepseek_grade",
    "correctness",
    "is_correct",
    "symbolic_correct",
    "judgement",
    "graded_list",
    "exact_ok",
)
# Where a verl row (and similar) keeps the problem's clean text, beside a prompt that may carry a template.
CLEAN_FIELDS = ("question", "problem", "quiz", "raw_problem", "original_question")
TRACE_SOURCES = ("deepseek", "gemini")


# ---------------------------------------------------------------------------------------------------------------
# What was read, and how


@dataclass
class Reading:
    """How one input was read: the layout and why, where each role comes from, what was adjusted (with row
    counts), and sample values of each role (filled by `sample`)."""

    path: str
    layout: str = "columns"
    why: str = ""
    roles: dict[str, str] = field(default_factory=dict)
    adjustments: Counter = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)
    trace_source: str = "deepseek"
    rows: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # role -> column to sample, where not the usual one

    def adjust(self, message: str, n: int = 1) -> None:
        if n:
            self.adjustments[message] += n

    def line(self) -> str:
        """One line: `FILE: layout L (why); problem <- X, gold <- Y, ...; adjusted: ...`."""
        roles = ", ".join(f"{k} <- {v}" for k, v in self.roles.items())
        text = f"{self.path}: layout {self.layout} ({self.why}); {roles or 'no roles'}"
        if self.adjustments:
            text += "; adjusted: " + "; ".join(f"{m} ({n} rows)" for m, n in self.adjustments.items())
        return text

    def as_dict(self) -> dict:
        return {
            "layout": self.layout,
            "why": self.why,
            "roles": dict(self.roles),
            "adjustments": dict(self.adjustments),
            "samples": self.samples,
        }

    def sample(self, records: pl.DataFrame, n: int = 2, width: int = 100) -> None:
        """Two sample values of each role, as the records hold them after the reading."""
        columns = {
            "problem": "problem",
            "gold": "answer",
            "gold (all)": ANSWERS,
            "solution": "solution",
            "trace": COMPLETION,
            "traces": GENERATIONS,
            "messages": MESSAGES,
            "tests": TESTS,
            "id": "id",
            "source": "source",
        }
        columns |= self.columns
        for role, col in columns.items():
            if col not in records.columns:
                continue
            values = records.get_column(col).drop_nulls().head(n).to_list()
            if values:
                self.samples[role] = [_short(v, width) for v in values]
        for role in ("tests", "trace", "traces", "messages"):  # a role the layout can fill but this file does not
            if role in self.roles and role not in self.samples and not (role == "trace" and "traces" in self.samples):
                del self.roles[role]


def _short(value: Any, width: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class Layout:
    name: str
    datasets: str  # the public datasets published this way
    roles: dict[str, str]  # role -> the column (or path in a nested value) it is read from
    requires: tuple[str, ...]  # columns that must be present ("a|b": either)
    detect: Callable[[pl.DataFrame], bool]
    convert: Callable[[pl.DataFrame, Reading], pl.DataFrame]

    @property
    def reads(self) -> tuple[str, ...]:
        return tuple(self.roles.values())

    def missing(self, df: pl.DataFrame) -> list[str]:
        return [need for need in self.requires if not any(c in df.columns for c in need.split("|"))]


def _is_list(df: pl.DataFrame, col: str) -> bool:
    return col in df.columns and df.schema[col].base_type() in (pl.List, pl.Array)


def _is_struct(df: pl.DataFrame, col: str) -> bool:
    return col in df.columns and isinstance(df.schema[col], pl.Struct)


def _struct_fields(df: pl.DataFrame, col: str) -> set[str]:
    """Fields of a struct column, or of the structs inside a list column (a chat); else empty."""
    if col not in df.columns:
        return set()
    dtype = df.schema[col]
    if isinstance(dtype, pl.Struct):
        return {f.name for f in dtype.fields}
    if dtype.base_type() in (pl.List, pl.Array) and isinstance(dtype.inner, pl.Struct):  # type: ignore[union-attr]
        return {f.name for f in dtype.inner.fields}  # type: ignore[union-attr]
    return set()


def _think(reasoning: Any, answer: Any) -> str | None:
    if isinstance(reasoning, list):
        reasoning = "\n".join(str(r) for r in reasoning if r)
    if not reasoning:
        return answer if answer else None
    return f"<think>\n{str(reasoning).strip()}\n</think>\n\n{(answer or '').strip()}"


CHAT = pl.List(pl.Struct({"role": pl.String, "content": pl.String}))
TEXT = pl.String
GOLD = "\x00gold"  # a row function's raw gold value: made into answer / answers / gold_kind by _rows


def _rows(
    df: pl.DataFrame, fn: Callable[[dict], dict], columns: dict[str, pl.DataType], reading: Reading | None = None
) -> pl.DataFrame:
    """New columns computed row by row (nested chats are easier in Python than in expressions). A row's raw gold
    under GOLD becomes answer (+ answers, gold_kind)."""
    values = [fn(r) for r in df.iter_rows(named=True)]
    new = [pl.Series(name, [v.get(name) for v in values], dtype=dtype, strict=False) for name, dtype in columns.items()]
    if any(GOLD in v for v in values):
        new += gold_columns([v.get(GOLD) for v in values], reading)
    return _free(df, *(s.name for s in new)).with_columns(new)


def _free(df: pl.DataFrame, *names: str) -> pl.DataFrame:
    """The file's own columns that a layout is about to write under the same name stay, as NAME_input."""
    taken = {
        n: f"{n}_input"
        for n in names
        if n in df.columns and f"{n}_input" not in df.columns and n in ("answer", "problem", "solution", "id", "source")
    }
    return df.rename(taken) if taken else df


def _chat(value: Any, reading: Reading, column: str) -> list[dict]:
    try:
        out, seen = chat.turns(value, f"{reading.path}: layout {reading.layout}, column '{column}'")
    except chat.UnknownRole as exc:
        raise SchemaError(f"{exc}. Map the role to one of those, or name the layout with --layout.") from None
    for note in seen:
        reading.adjust(note)
    return out


def _problem(text: Any, reading: Reading) -> str | None:
    """A user turn's text, with a chat template rendered into it removed (and said)."""
    if not isinstance(text, str):
        return None if text is None else str(text)
    clean, template = chat.strip_template(text)
    if template:
        reading.adjust(f"{template} chat template removed from the problem")
    return clean


def _clean_field(extra: Any) -> tuple[str, str] | tuple[None, None]:
    if not isinstance(extra, dict):
        return None, None
    for key in CLEAN_FIELDS:
        value = extra.get(key)
        if isinstance(value, str) and value.strip():
            return key, value
    return None, None


# ---------------------------------------------------------------------------------------------------------------
# The layouts


def _sharegpt(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    def row(r: dict) -> dict:
        turns = _chat(r["conversations"], reading, "conversations")
        system = r.get("system")
        if isinstance(system, str) and system and not any(t["role"] == "system" for t in turns):
            turns = [{"role": "system", "content": system}, *turns]
        return {
            "problem": _problem(chat.first(turns, "user"), reading),
            COMPLETION: chat.last(turns, "assistant"),
            MESSAGES: turns,
        }

    return _rows(df, row, {"problem": TEXT, COMPLETION: TEXT, MESSAGES: CHAT}, reading)


def _openthoughts_metadata(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    has_gold = "ground_truth_solution" in df.columns
    if not has_gold:
        reading.roles.pop("gold", None)

    def row(r: dict) -> dict:
        out = {COMPLETION: _think(r.get("deepseek_reasoning"), r.get("deepseek_solution"))}
        if has_gold:
            gold = r.get("ground_truth_solution")
            out[GOLD] = extract_answer(gold) if gold else None
        tests = r.get("test_cases")
        out[TESTS] = tests if tests not in (None, "", "[]", "{}") else None
        return out

    return _rows(df, row, {COMPLETION: TEXT, TESTS: TEXT}, reading)


def _openr1(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    out = df
    if "uuid" in df.columns and "id" not in df.columns:
        out = out.with_columns(pl.col("uuid").cast(pl.String).alias("id"))
    return out


def _am(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    def row(r: dict) -> dict:
        raw = r["messages"] or []
        turns = _chat(raw, reading, MESSAGES)
        user = next((t for t in raw if str(t.get("role")) == "user"), {}) or {}
        info = user.get("info") or {}
        reply = next((t for t in reversed(raw) if str(t.get("role")) == "assistant"), {}) or {}
        content = reply.get("content")
        rinfo = reply.get("info") or {}
        if not content and rinfo.get("think_content"):
            content = _think(rinfo.get("think_content"), rinfo.get("answer_content"))
        test = info.get("test_case")
        return {
            "problem": _problem(chat.first(turns, "user"), reading),
            COMPLETION: content,
            MESSAGES: turns,
            GOLD: info.get("reference_answer") or None,
            "source": info.get("source"),
            TESTS: (test if isinstance(test, str) else json.dumps(test)) if test else None,
        }

    return _rows(df, row, {"problem": TEXT, COMPLETION: TEXT, MESSAGES: CHAT, "source": TEXT, TESTS: TEXT}, reading)


def _s1k(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    """s1K (`thinking_trajectories` + `attempt`) and s1K-1.1 (`deepseek_*` and `gemini_*` pairs: `--trace-source`
    picks one; deepseek by default). The gold is the `answer` column when there is one, else the reference
    solution's last box."""
    source = reading.trace_source
    pairs = {
        "deepseek": ("deepseek_thinking_trajectory", "deepseek_attempt"),
        "gemini": ("gemini_thinking_trajectory", "gemini_attempt"),
    }
    thinking, attempt = pairs[source]
    if thinking not in df.columns:
        other = next((s for s, (t, _) in pairs.items() if t in df.columns), None)
        if other is not None and source != "deepseek":
            raise SchemaError(
                f"{reading.path}: --trace-source {source} needs column {thinking}; this file has "
                f"{pairs[other][0]}. Pass --trace-source {other}."
            )
        thinking, attempt = pairs[other] if other else ("thinking_trajectories", "attempt")
    reading.roles["trace"] = f"{thinking} + {attempt}"
    has_answer = "answer" in df.columns

    def row(r: dict) -> dict:
        gold = (
            r.get("answer")
            if has_answer and r.get("answer") not in (None, "")
            else extract_answer(r.get("solution") if isinstance(r.get("solution"), str) else None)
        )
        return {"problem": r.get("question"), COMPLETION: _think(r.get(thinking), r.get(attempt)), GOLD: gold}

    reading.roles["gold"] = "answer" if has_answer else "solution (its last \\boxed{})"
    out = _rows(df, row, {"problem": TEXT, COMPLETION: TEXT}, reading)
    return out.rename({"solution": "reference_solution"}) if "solution" in out.columns else out


def _deepmath(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    cols = [c for c in ("r1_solution_1", "r1_solution_2", "r1_solution_3") if c in df.columns]
    out = df.with_columns(
        pl.col("question").alias("problem"),
        pl.concat_list([pl.col(c).cast(pl.String) for c in cols]).list.drop_nulls().alias(GENERATIONS),
    )
    return _free(out, "answer").with_columns(gold_columns(df.get_column("final_answer").to_list(), reading))


def _openmath(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    out = _free(df, "answer").with_columns(pl.col("generated_solution").cast(pl.String).alias(COMPLETION))
    return out.with_columns(gold_columns(df.get_column("expected_answer").to_list(), reading))


def _numina(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    """The worked solution is the trace (the messages' assistant turn is the same text)."""
    if _is_list(df, MESSAGES):
        df = _rows(df, lambda r: {MESSAGES: _chat(r[MESSAGES], reading, MESSAGES)}, {MESSAGES: CHAT})
    return df.with_columns(pl.col("solution").cast(pl.String).alias(COMPLETION))


def _verl(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    """verl's RL parquet. The problem is the dataset's own clean text where it keeps one (`extra_info.question`,
    Logic-RL's `quiz`, ...), else the last user turn with any chat template removed. Code rows' ground truth is
    their tests; a structured ground truth (Logic-RL) is kept whole and marked."""

    def row(r: dict) -> dict:
        prompt = r["prompt"]
        turns = (
            _chat(prompt, reading, "prompt") if isinstance(prompt, list) else [{"role": "user", "content": str(prompt)}]
        )
        reward = r.get("reward_model") or {}
        truth = reward.get("ground_truth") if isinstance(reward, dict) else None
        extra = r.get("extra_info") or {}
        index = extra.get("index") if isinstance(extra, dict) else None
        key, clean = _clean_field(extra)
        where = f"extra_info.{key}"
        if clean is None:  # Logic-RL keeps the clean text in a column of its own (`quiz`)
            key, clean = _clean_field({k: r.get(k) for k in CLEAN_FIELDS})
            where = str(key)
        user = chat.last(turns, "user")
        used[where if clean is not None else "prompt[last user]"] += 1
        if clean is not None:
            if chat.has_template(user):
                reading.adjust(f"problem from {where} (the prompt holds a chat template)")
            else:
                reading.adjust(f"problem from {where}")
            problem = clean
        else:
            problem = _problem(user, reading)
        code = str(r.get("ability", "") or "").lower() == "code"
        return {
            "problem": problem,
            GOLD: None if code else truth,
            TESTS: (truth if isinstance(truth, str) else json.dumps(truth)) if code and truth else None,
            "source": r.get("data_source"),
            "id": None if index is None else str(index),
        }

    used: Counter = Counter()
    out = _rows(df, row, {"problem": TEXT, TESTS: TEXT, "source": TEXT, "id": TEXT}, reading)
    reading.roles["problem"] = ", else ".join(used) if len(used) > 1 else next(iter(used), "prompt")
    return out.rename({"prompt": "prompt_chat"})  # the chat stays, under a name no step reads as a problem


def _messages(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    def row(r: dict) -> dict:
        turns = _chat(r[MESSAGES], reading, MESSAGES)
        return {
            "problem": _problem(chat.first(turns, "user"), reading),
            COMPLETION: chat.last(turns, "assistant"),
            MESSAGES: turns,
        }

    return _rows(df, row, {"problem": TEXT, COMPLETION: TEXT, MESSAGES: CHAT}, reading)


def _trl_prompt_completion(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    def row(r: dict) -> dict:
        prompt, completion = r["prompt"], r["completion"]
        p_turns = (
            _chat(prompt, reading, "prompt") if isinstance(prompt, list) else [{"role": "user", "content": str(prompt)}]
        )
        c_turns = (
            _chat(completion, reading, "completion")
            if isinstance(completion, list)
            else [{"role": "assistant", "content": str(completion)}]
        )
        return {
            "problem": _problem(chat.last(p_turns, "user"), reading),
            "completion_text": chat.last(c_turns, "assistant"),
            MESSAGES: [*p_turns, *c_turns],
        }

    out = _rows(df, row, {"problem": TEXT, "completion_text": TEXT, MESSAGES: CHAT}, reading)
    out = out.rename({"prompt": "prompt_input", "completion": "completion_input"})
    return out.rename({"completion_text": COMPLETION})


def _openrlhf(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    key = "input" if "input" in df.columns else "context_messages"
    reading.roles["problem"] = key

    def row(r: dict) -> dict:
        value = r[key]
        turns = _chat(value, reading, key) if isinstance(value, list) else [{"role": "user", "content": str(value)}]
        return {
            "problem": _problem(chat.last(turns, "user"), reading),
            GOLD: r.get("label"),
            "source": r.get("datasource"),
        }

    return _rows(df, row, {"problem": TEXT, "source": TEXT}, reading)


def _orz(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    """Open-Reasoner-Zero: a chat of from/value turns (`prompt`, or the item itself as `conversations`) whose
    assistant turn holds `ground_truth.value`, or a `final_answer` beside it."""
    key = "prompt" if "prompt" in df.columns else "conversations"

    def row(r: dict) -> dict:
        raw = r[key] or []
        turns = _chat(
            [
                {k: v for k, v in t.items() if k in ("from", "role", "value", "content")}
                for t in raw
                if isinstance(t, dict)
            ],
            reading,
            key,
        )
        gold = r.get("final_answer")
        if gold is None:
            for t in raw:
                truth = t.get("ground_truth") if isinstance(t, dict) else None
                if truth is not None:
                    gold = truth.get("value") if isinstance(truth, dict) else truth
        return {"problem": _problem(chat.first(turns, "user"), reading), GOLD: gold}

    out = _rows(df, row, {"problem": TEXT}, reading)
    return out.rename({key: f"{key}_chat"})


def _huatuo(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    """HuatuoGPT-o1 / medical-o1: `Question`, the reasoning `Complex_CoT` and the `Response` as one trace, the gold
    from `Ground-True Answer` where the file has it."""
    gold_col = next((c for c in ("Ground-True Answer", "Ground_True_Answer", "answer") if c in df.columns), None)
    if gold_col is None:
        reading.roles.pop("gold", None)

    def row(r: dict) -> dict:
        return {
            "problem": r.get("Question"),
            COMPLETION: _think(r.get("Complex_CoT"), r.get("Response")),
            GOLD: r.get(gold_col) if gold_col else None,
        }

    return _rows(df, row, {"problem": TEXT, COMPLETION: TEXT}, reading)


def _options_text(options: Any) -> str:
    if isinstance(options, str):
        try:
            options = json.loads(options)
        except ValueError:
            return options
    if isinstance(options, dict):
        return "\n".join(f"{k}. {v}" for k, v in options.items() if v is not None)
    if isinstance(options, list):
        return "\n".join(f"{chr(65 + i)}. {v}" for i, v in enumerate(options))
    return ""


def _mcq(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    """A multiple-choice question with its options apart (MedQA, HuatuoGPT-o1's evaluation sets): the problem is
    the stem with the options listed (A. ..., B. ...), the gold the option's letter."""
    letter_col = next((c for c in ("answer_idx", "answer_letter", "label") if c in df.columns), None)
    reading.roles["gold"] = letter_col or "answer"

    def row(r: dict) -> dict:
        opts = _options_text(r.get("options"))
        stem = str(r.get("question") or "").strip()
        gold = r.get(letter_col) if letter_col else r.get("answer")
        return {"problem": f"{stem}\n{opts}" if opts else stem, GOLD: gold}

    reading.adjust("options appended to the question as A. ... lines", df.height)
    if letter_col and "answer" in df.columns and "answer_text" not in df.columns:
        df = df.rename({"answer": "answer_text"})  # the option's text; the gold is its letter
    return _rows(df, row, {"problem": TEXT}, reading)


def _responses(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    """Several responses per problem, keyed (SkyThought-style `{"0.7": {content, correctness}}`, or
    `{"method,budget": {text}}`) or listed: one row per response, with its key in `response_key` and the recorded
    verdict, where there is one, in `correctness`."""
    rows: list[dict] = []
    gold_col = next(
        (
            c
            for c in ("answer", "correct_answer", "gold", "expected_answer", "final_answer", "ground_truth")
            if c in df.columns
        ),
        None,
    )
    reading.roles["gold"] = gold_col or "(none)"
    keyed = [] if "responses" in df.columns else _response_columns(df)  # one column per method
    if keyed:
        reading.roles["trace"] = f"columns {', '.join(keyed)} (.solution|text|content)"
    for r in df.iter_rows(named=True):
        value = {c: r[c] for c in keyed} if keyed else r.get("responses")
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value or []))
        base = {k: v for k, v in r.items() if k != "responses" and k not in keyed}
        for key, resp in items:
            if resp is None:
                continue
            if isinstance(resp, dict):
                text = next((resp[k] for k in RESPONSE_TEXT if isinstance(resp.get(k), str)), None)
                verdict = next((resp[k] for k in ("correctness", "correct", "is_correct", "score") if k in resp), None)
            else:
                text, verdict = str(resp), None
            rows.append(base | {"response_key": str(key), COMPLETION: text, "correctness": verdict})
    reading.adjust(f"one row per response ({df.height} problems, {len(rows)} responses)", len(rows))
    out = pl.from_dicts(rows, infer_schema_length=None) if rows else df.clear().drop("responses")
    if gold_col:
        golds = gold_columns(out.get_column(gold_col).to_list(), reading)
        out = (_free(out, "answer") if gold_col != "answer" else out).with_columns(golds)
    if "correctness" in out.columns and out.get_column("correctness").null_count() == out.height:
        out = out.drop("correctness")
    return out


RESPONSE_TEXT = ("content", "text", "response", "output", "completion", "solution")


def _response_columns(df: pl.DataFrame) -> list[str]:
    """Columns that each hold one method's response as a struct with its text (and verdict), as in
    `{"6b_finetuning": {"solution", "is_correct"}, "175b_verification": {...}}`: two or more of them."""
    cols = [
        c
        for c in df.columns
        if isinstance(df.schema[c], pl.Struct)
        and set(_struct_fields(df, c)) & set(RESPONSE_TEXT)
        and set(_struct_fields(df, c)) & {"correctness", "correct", "is_correct", "score"}
    ]
    return cols if len(cols) >= 2 else []


def _nemo_skills(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    """NeMo-Skills generation output: `problem`, `generation`, `expected_answer`; its own verdicts
    (`symbolic_correct`, `judgement`, `is_correct`) are compared by verify."""
    out = _free(df, "answer").with_columns(pl.col("generation").cast(pl.String).alias(COMPLETION))
    return out.with_columns(gold_columns(df.get_column("expected_answer").to_list(), reading))


def _math_eval(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    """The math evaluation harness of Qwen2.5-Math (used by PRIME, SimpleRL-Zoo, ...): `question`, the gold `gt`
    (`answer` is the reference written out), the completions in `code` (a list), its own `pred` and `score`."""
    out = df.rename({c: f"{c}_input" for c in ("answer", "solution") if c in df.columns})
    out = out.with_columns(
        pl.col("code").alias(GENERATIONS) if _is_list(df, "code") else pl.col("code").cast(pl.String).alias(COMPLETION)
    )
    return out.with_columns(gold_columns(df.get_column("gt").to_list(), reading))


def _mbpp(df: pl.DataFrame, reading: Reading) -> pl.DataFrame:
    """MBPP: the task in `text`, its asserts in `test_list` (with `test_setup_code`), a reference program in
    `code`."""
    out = df.rename({"text": "problem"}) if "problem" not in df.columns else df
    return out.rename({"code": "reference_code"}) if "code" in out.columns else out


def _has(*cols: str) -> Callable[[pl.DataFrame], bool]:
    return lambda df: all(c in df.columns for c in cols)


def _other_problem_column(df: pl.DataFrame, *allowed: str) -> bool:
    """The table has a text column that names the problem outright (problem, question, ...), beside the ones a
    layout reads: then that layout is not the reading."""
    return any(
        c in df.columns and c not in allowed for c in ("problem", "question", "query", "instruction", "Question")
    )


def _verl_detect(df: pl.DataFrame) -> bool:
    """`prompt` and a `reward_model` struct holding `ground_truth` (a column that names a reward model is not)."""
    return "prompt" in df.columns and "ground_truth" in _struct_fields(df, "reward_model")


def _chat_of(df: pl.DataFrame, col: str) -> bool:
    return bool(_struct_fields(df, col) & {"from", "role"}) and _is_list(df, col)


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "verl",
        "verl RL parquet: DAPO-Math-17k, Skywork-OR1-RL-Data, DeepScaleR, SimpleRL-Zoo, STILL, Logic-RL",
        {
            "problem": "extra_info.question|quiz, else prompt[last user] (template removed)",
            "gold": "reward_model.ground_truth (text, list, number or struct)",
            "tests": "reward_model.ground_truth (ability: code)",
            "source": "data_source",
            "id": "extra_info.index",
        },
        ("prompt", "reward_model"),
        _verl_detect,
        _verl,
    ),
    Layout(
        "am-distilled",
        "AM-DeepSeek-R1-Distilled (messages with info)",
        {
            "problem": "messages[user]",
            "gold": "messages[user].info.reference_answer",
            "trace": "messages[assistant] (or info.think_content + answer_content)",
            "messages": "messages",
            "tests": "info.test_case",
        },
        ("messages",),
        lambda df: "info" in _struct_fields(df, MESSAGES),
        _am,
    ),
    Layout(
        "orz",
        "Open-Reasoner-Zero (from/value turns with ground_truth.value, or prompt + final_answer)",
        {"problem": "prompt|conversations[human]", "gold": "final_answer, else [assistant].ground_truth.value"},
        ("prompt|conversations",),
        lambda df: (
            ("final_answer" in df.columns and _chat_of(df, "prompt"))
            or "ground_truth" in _struct_fields(df, "conversations")
        ),
        _orz,
    ),
    Layout(
        "sharegpt",
        "OpenThoughts-114k, Bespoke-Stratos-17k, Light-R1-SFTData, LLaMA-Factory sharegpt (tool calls too)",
        {
            "problem": "conversations[first user]",
            "trace": "conversations[last assistant]",
            "messages": "conversations (every turn) + system",
        },
        ("conversations",),
        lambda df: _is_list(df, "conversations"),
        _sharegpt,
    ),
    Layout(
        "openr1-math",
        "OpenR1-Math-220k",
        {
            "problem": "problem",
            "gold": "answer",
            "traces": "generations",
            "id": "uuid",
            "verdict": "correctness_math_verify, is_reasoning_complete",
        },
        ("problem", "generations"),
        lambda df: (
            _has("problem", "generations")(df) and ("uuid" in df.columns or "correctness_math_verify" in df.columns)
        ),
        _openr1,
    ),
    Layout(
        "openthoughts-metadata",
        "OpenThoughts-114k (metadata config)",
        {
            "problem": "problem",
            "gold": "ground_truth_solution (its last \\boxed{})",
            "trace": "deepseek_reasoning + deepseek_solution",
            "tests": "test_cases",
        },
        ("problem", "deepseek_reasoning"),
        _has("problem", "deepseek_reasoning"),
        _openthoughts_metadata,
    ),
    Layout(
        "s1k",
        "s1K, s1K-1.1 (--trace-source deepseek|gemini)",
        {
            "problem": "question",
            "gold": "answer, else solution's last \\boxed{}",
            "trace": "thinking_trajectories + attempt | deepseek_* | gemini_* pair",
        },
        ("question",),
        lambda df: (
            "question" in df.columns
            and any(
                c in df.columns
                for c in ("thinking_trajectories", "deepseek_thinking_trajectory", "gemini_thinking_trajectory")
            )
        ),
        _s1k,
    ),
    Layout(
        "huatuo-o1",
        "HuatuoGPT-o1 / medical-o1-reasoning-SFT",
        {"problem": "Question", "gold": "Ground-True Answer", "trace": "Complex_CoT + Response"},
        ("Question", "Complex_CoT|Response"),
        lambda df: "Question" in df.columns and ("Complex_CoT" in df.columns or "Response" in df.columns),
        _huatuo,
    ),
    Layout(
        "mcq",
        "Multiple choice with options apart (MedQA, HuatuoGPT-o1 evaluation)",
        {"problem": "question + options", "gold": "answer_idx (the letter)"},
        ("question", "options"),
        lambda df: _has("question", "options")(df) and (_is_struct(df, "options") or _is_list(df, "options")),
        _mcq,
    ),
    Layout(
        "responses",
        "Generation results with several responses per problem (dict keyed or listed)",
        {
            "problem": "problem|question",
            "gold": "answer|correct_answer",
            "trace": "responses[KEY].content|text",
            "verdict": "responses[KEY].correctness",
        },
        (),
        lambda df: (
            (_is_struct(df, "responses") or _struct_fields(df, "responses") != set() or bool(_response_columns(df)))
            and any(c in df.columns for c in ("problem", "question", "prompt"))
        ),
        _responses,
    ),
    Layout(
        "deepmath",
        "DeepMath-103K",
        {"problem": "question", "gold": "final_answer", "traces": "r1_solution_1..3"},
        ("question", "final_answer", "r1_solution_1"),
        _has("question", "final_answer", "r1_solution_1"),
        _deepmath,
    ),
    Layout(
        "openmathreasoning",
        "OpenMathReasoning",
        {"problem": "problem", "gold": "expected_answer", "trace": "generated_solution"},
        ("problem", "generated_solution", "expected_answer"),
        _has("problem", "generated_solution", "expected_answer"),
        _openmath,
    ),
    Layout(
        "nemo-skills",
        "NeMo-Skills generation output",
        {
            "problem": "problem",
            "gold": "expected_answer",
            "trace": "generation",
            "verdict": "symbolic_correct|judgement|is_correct",
        },
        ("problem|question", "generation", "expected_answer"),
        lambda df: _has("generation", "expected_answer")(df) and ("problem" in df.columns or "question" in df.columns),
        _nemo_skills,
    ),
    Layout(
        "math-eval",
        "Qwen2.5-Math evaluation output (PRIME, SimpleRL-Zoo, ...): code/pred/score per sample",
        {"problem": "question|problem", "gold": "gt", "traces": "code", "verdict": "score"},
        ("question|problem", "gt", "code", "score"),
        lambda df: _has("gt", "code", "score")(df) and ("question" in df.columns or "problem" in df.columns),
        _math_eval,
    ),
    Layout(
        "mbpp",
        "MBPP",
        {"problem": "text", "tests": "test_list (+ test_setup_code)", "solution": "code"},
        ("text", "test_list"),
        lambda df: _has("text", "test_list")(df) and "problem" not in df.columns,
        _mbpp,
    ),
    Layout(
        "numina",
        "NuminaMath-CoT, NuminaMath-1.5",
        {
            "problem": "problem",
            "gold": "answer, else solution's last \\boxed{}",
            "trace": "solution",
            "messages": "messages",
        },
        ("problem", "solution"),
        lambda df: _has("problem", "solution")(df) and (_is_list(df, MESSAGES) or "problem_is_valid" in df.columns),
        _numina,
    ),
    Layout(
        "limo",
        "LIMO (the long solution is the trace)",
        {"problem": "question", "gold": "answer", "trace": "solution"},
        ("question", "solution", "answer"),
        lambda df: (
            set(df.columns) >= {"question", "solution", "answer"}
            and "final_answer" not in df.columns
            and df.schema["solution"] == pl.String
        ),
        lambda df, reading: df.rename({"solution": COMPLETION}),
    ),
    Layout(
        "openrlhf",
        "OpenRLHF prompt data (--input_key input or context_messages, --label_key label)",
        {"problem": "input|context_messages", "gold": "label", "source": "datasource"},
        ("input|context_messages", "label"),
        lambda df: (
            ("input" in df.columns or "context_messages" in df.columns)
            and "label" in df.columns
            and not _other_problem_column(df)
            and "output" not in df.columns
        ),
        _openrlhf,
    ),
    Layout(
        "trl-messages",
        "TRL conversational, OpenAI chat (messages; typed content parts)",
        {"problem": "messages[first user]", "trace": "messages[last assistant]", "messages": "messages"},
        ("messages",),
        lambda df: _chat_of(df, MESSAGES) and "problem" not in df.columns,
        _messages,
    ),
    Layout(
        "trl-prompt-completion",
        "TRL prompt/completion (strings or chats)",
        {"problem": "prompt[last user]", "trace": "completion", "messages": "prompt + completion"},
        ("prompt", "completion"),
        lambda df: _has("prompt", "completion")(df) and not _other_problem_column(df),
        _trl_prompt_completion,
    ),
)
BY_NAME = {layout.name: layout for layout in LAYOUTS}
# Layouts that need no mapping: schema.to_records reads them as they are.
PLAIN = (
    ("math", "MATH, MATH-500, DeepScaleR", ("problem", "solution (\\boxed{})", "answer", "unique_id")),
    ("gsm8k", "GSM8K", ("question", "answer (ending in #### N)")),
    ("alpaca", "Alpaca (instruction, input, output)", ("instruction + input", "output")),
    ("columns", "anything else with a problem column", ("--problem-field, --answer-field, ...",)),
)
PLAIN_REQUIRES = {
    "math": ("problem",),
    "gsm8k": ("question", "answer"),
    "alpaca": ("instruction", "output"),
    "columns": (),
}
NAMES = ("auto", *BY_NAME, *(name for name, _, _ in PLAIN))


def plain_name(df: pl.DataFrame) -> str:
    """The name of a plain layout, for the manifest."""
    if "instruction" in df.columns and "output" in df.columns:
        return "alpaca"
    if "question" in df.columns and has_gsm8k_answers(df, "answer") and "problem" not in df.columns:
        return "gsm8k"
    if "problem" in df.columns and ("solution" in df.columns or "answer" in df.columns):
        return "math"
    return "columns"


def detect(df: pl.DataFrame) -> Layout | None:
    return next((layout for layout in LAYOUTS if layout.detect(df)), None)


def choose(df: pl.DataFrame, given: str = "auto", where: str = "") -> Layout | None:
    """The layout of a table: the one given (every column it requires checked, with the layout the columns fit
    suggested), or the first whose columns match; None when the table needs no mapping (plain columns)."""
    if given not in NAMES:
        raise SchemaError(f"{where}: --layout '{given}' is unknown; choose one of {', '.join(NAMES)}")
    if given == "auto":
        return detect(df)
    layout = BY_NAME.get(given)
    requires = layout.requires if layout is not None else PLAIN_REQUIRES[given]
    missing = [need for need in requires if not any(c in df.columns for c in need.split("|"))]
    if missing:
        fits = detect(df)
        suggestion = fits.name if fits is not None else plain_name(df)
        raise SchemaError(
            f"{where}: --layout {given} needs column(s) {', '.join(m.replace('|', ' or ') for m in missing)}, and "
            f"the columns are {', '.join(df.columns)}. These columns fit --layout {suggestion} (or leave it to auto)."
        )
    return layout


def why(layout: Layout | None, df: pl.DataFrame, given: str) -> str:
    if given != "auto":
        return "--layout"
    if layout is None:
        return "no layout's columns match: plain columns"
    present = [c for need in layout.requires for c in need.split("|") if c in df.columns]
    return "columns " + ", ".join(present)


def read_layout(
    df: pl.DataFrame, given: str, where: str, trace_source: str = "deepseek"
) -> tuple[pl.DataFrame, Reading, bool]:
    """Convert a table from its layout; (the table, the reading so far, whether a layout mapped it)."""
    layout = choose(df, given, where)
    reading = Reading(where, trace_source=trace_source, rows=df.height)
    if layout is None:
        reading.layout = given if given in PLAIN_REQUIRES else plain_name(df)
        reading.why = why(None, df, given)
        return df, reading, False
    reading.layout, reading.why = layout.name, why(layout, df, given)
    reading.roles = dict(layout.roles)
    return layout.convert(df, reading), reading, True
