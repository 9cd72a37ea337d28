"""Gold answers as datasets really store them, read as what they are.

A gold is usually a string, but real files also hold
- a list of acceptable answers (DeepScaleR's test sets: `"answer": ["9.6\\n"]`): every item is an answer;
  `answer` is the first, `answers` (schema.ANSWERS) all of them, and a completion is correct when it matches any;
- a number (`ground_truth: 142.0` for an AMC integer answer): a whole float is the integer it stands for;
- a structure (Logic-RL's `{solution_text_format, statements}`): no rule-based math judge can compare it, so it
  is kept as JSON text and marked (schema.GOLD_KIND = "structured"); the judge says `not_judgeable`, never
  `pred_unparseable`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

LIST, STRUCTURED, NUMBER = "list", "structured", "number"


@dataclass(frozen=True)
class Gold:
    """One row's gold: the answer text (None: no gold), every acceptable answer when there are several, and the
    kind it was stored as (None for a plain string)."""

    answer: str | None
    answers: list[str] | None = None
    kind: str | None = None
    note: str | None = None  # what was adjusted, for the reading ("a whole float written as an integer")


def _number(value: float | int) -> tuple[str, str | None]:
    if isinstance(value, bool):
        return str(value), None
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value)), "whole-number float golds written as integers (142.0 -> 142)"
        return repr(value), None
    return str(value), None


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return _number(value)[0]
    text = str(value).strip()
    return text or None


def read_gold(value: Any) -> Gold:
    """A stored gold value (any JSON or Parquet type) as a Gold."""
    if hasattr(value, "to_list"):  # a polars Series out of a list column
        value = value.to_list()
    if value is None:
        return Gold(None)
    if isinstance(value, str):
        text = value.strip()
        return Gold(text or None)
    if isinstance(value, bool):
        return Gold(str(value), kind=STRUCTURED, note="boolean golds: no rule-based judge compares them")
    if isinstance(value, int | float):
        text, note = _number(value)
        return Gold(text, kind=NUMBER, note=note)
    if isinstance(value, list | tuple):
        if all(v is None or isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
            items = [s for s in (_scalar(v) for v in value) if s is not None]
            if not items:
                return Gold(None)
            if len(items) == 1:
                return Gold(items[0], kind=LIST, note="one-item list golds read as their item")
            return Gold(items[0], items, LIST, "list golds: every item is an acceptable answer")
        return Gold(
            json.dumps(value, ensure_ascii=False, default=str),
            kind=STRUCTURED,
            note="structured golds (nested lists): no rule-based judge compares them",
        )
    if isinstance(value, dict):
        if set(value) <= {"value", "answer", "ground_truth"} and len(value) == 1:  # {"value": "..."} wrappers
            return read_gold(next(iter(value.values())))
        return Gold(
            json.dumps(value, ensure_ascii=False, default=str),
            kind=STRUCTURED,
            note=f"structured golds ({', '.join(sorted(map(str, value)))}): no rule-based judge compares them",
        )
    return Gold(str(value))


class GoldSet(tuple):
    """Several acceptable answers for one row: a completion is correct when it matches any of them."""

    def __str__(self) -> str:
        return str(self[0]) if self else ""


@dataclass(frozen=True)
class Unjudgeable:
    """A gold no rule-based judge can compare (a structure, a boolean): the verdict is `not_judgeable`."""

    gold: str
    why: str

    def __str__(self) -> str:
        return self.gold
