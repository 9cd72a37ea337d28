"""What the judge reads, declared once: every step, every reward and every exported reward function builds its judge
call here, so the same completion gets the same verdict in verify, filter, rejection-sample, `train grpo` and the
RL stack the data is exported to.

- `Reading`: the settings a verdict depends on (where the reasoning ends, strict or lenient). Steps take them from
  their Config and IOConfig, rewards from their options; the manifest records them and `export` writes them into
  the reward function it exports.
- `golds_from_columns`: per row, what its completions are judged against (tests for a code problem, all the
  acceptable answers, a structured or non-math gold marked unjudgeable) from the columns as lists, so a DataFrame,
  TRL's reward keyword arguments and an exported row all resolve alike.
- `problems_from_columns`: the problem text (multiple choice is judged against its options), from `problem`, else
  the last user turn of the prompt.
- `judge_completions`: the one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from r1data import schema

# The columns a gold is resolved from (besides the answer itself).
GOLD_COLUMNS = (schema.ANSWER, schema.ANSWERS, schema.GOLD_KIND, "ability", schema.TESTS, *schema.TEST_EXTRA_FIELDS)
PROBLEM_COLUMNS = (schema.PROBLEM, "prompt", "prompts")


@dataclass(frozen=True)
class Reading:
    """The settings a verdict depends on, besides the row: where a trace's reasoning ends and how an unfinished
    answer counts."""

    think_prefilled: bool = False  # completions start inside <think> (the chat template opened it)
    think_format: str = "auto"  # think, bespoke, answer-tags or auto
    lenient: bool = False  # a matching answer without a committed final answer counts

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> Reading:
        values = values or {}
        return cls(**{k: values[k] for k in ("think_prefilled", "think_format", "lenient") if k in values})


def golds_from_columns(n: int, columns: Mapping[str, Sequence[Any] | None]) -> list:
    """Per row what its completions are judged against: the parsed tests of a code problem, else its gold answer
    (a GoldSet of every acceptable answer when `answers` lists several; Unjudgeable for a structured gold or a
    non-math `ability`)."""
    from r1data.ops.code import suites_for
    from r1data.ops.golds import GoldSet, Unjudgeable

    def column(name: str) -> list | None:
        values = columns.get(name)
        return None if values is None else list(values)

    answers = column(schema.ANSWER) or [None] * n
    if (alternatives := column(schema.ANSWERS)) is not None:  # several acceptable answers: a match with any one
        answers = [
            GoldSet(alts) if alts is not None and len(alts) > 1 else a
            for a, alts in zip(answers, alternatives, strict=True)
        ]
    if (kinds := column(schema.GOLD_KIND)) is not None:
        answers = [
            Unjudgeable(str(a), "a structured gold (not an answer a rule-based judge can compare)")
            if kind == "structured" and a is not None
            else a
            for a, kind in zip(answers, kinds, strict=True)
        ]
    if (abilities := column("ability")) is not None:  # verl's ability: only math (and code, below) is judged by rule
        answers = [
            Unjudgeable(str(a), f"ability '{ab}': r1data judges math and code only")
            if a is not None and ab and str(ab).lower() not in ("math", "code", "")
            else a
            for a, ab in zip(answers, abilities, strict=True)
        ]
    tests = column(schema.TESTS)
    if tests is None:
        return answers
    extra = {k: v for k in schema.TEST_EXTRA_FIELDS if (v := column(k)) is not None}
    rows = [{k: v[i] for k, v in extra.items()} for i in range(n)] if extra else None
    suites = suites_for(tests, rows)
    return [s if s is not None else a for s, a in zip(suites, answers, strict=True)]


def golds_for(df: Any) -> list:
    """`golds_from_columns` for a DataFrame's rows."""
    return golds_from_columns(df.height, {c: df.get_column(c).to_list() for c in GOLD_COLUMNS if c in df.columns})


def _prompt_text(prompt: Any) -> str | None:
    if prompt is None or isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence):  # chat messages: the last user turn
        users = [m.get("content") for m in prompt if isinstance(m, Mapping) and m.get("role") == "user"]
        return str(users[-1]) if users and users[-1] is not None else None
    return None


def problems_from_columns(n: int, columns: Mapping[str, Sequence[Any] | None]) -> list[str | None]:
    """Per row its problem text: `problem`, else the last user turn of `prompt` (TRL passes the chat prompts)."""
    for name in PROBLEM_COLUMNS:
        values = columns.get(name)
        if values is not None:
            texts = [_prompt_text(v) for v in values]
            if len(texts) == n:
                return texts
    return [None] * n


def judge_completions(
    judge: Any,
    golds: Sequence[Any],
    completions: Sequence[Any],
    reading: Reading,
    problems: Sequence[str | None] | None = None,
    truncated: Sequence[bool] | None = None,
    stop_on_failure: bool = True,
    language: str = "python",
) -> list:
    """The verdicts of completions[i] against golds[i], read as `reading` says: the call every step and reward
    makes. A judge built lenient (or not) must match the reading."""
    if bool(getattr(judge, "lenient", False)) != reading.lenient:
        raise ValueError(
            f"a {'lenient' if reading.lenient else 'strict'} reading needs a judge built that way "
            f"(Judge(lenient={reading.lenient}))"
        )
    return judge.verify(
        golds,
        list(completions),
        think_prefilled=reading.think_prefilled,
        think_format=reading.think_format,
        problems=problems,
        truncated=truncated,
        stop_on_failure=stop_on_failure,
        language=language,
    )
