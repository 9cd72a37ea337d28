"""Taking completions apart: the think block, the answer after it, the final answer to verify."""

from __future__ import annotations

import re
from typing import Any

from r1data.ops.traces import THINK_CLOSE, THINK_OPEN, split

__all__ = [
    "THINK_CLOSE",
    "THINK_OPEN",
    "completion_text",
    "final_answer_text",
    "gold_text",
    "is_truncated",
    "split_think",
]
# How much of a long answer the parser sees: the final answer is at the end, and the LaTeX
# extraction regexes get slow on megabytes of text.
ANSWER_TAIL_CHARS = 8000
# Gold text that already carries math delimiters; an escaped dollar (\$3.54) is a currency sign.
_DELIMITED = re.compile(r"(?<!\\)\$|\\boxed|\\\(|\\\[")


def completion_text(completion: Any) -> str:
    """The text of a completion in any of TRL's forms: a string, or a list of chat messages
    (the last assistant message's content)."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, list | tuple):
        for message in reversed(completion):
            if isinstance(message, dict) and message.get("role", "assistant") == "assistant":
                return str(message.get("content") or "")
        return ""
    return str(completion)


def split_think(text: str, think_prefilled: bool = False, fmt: str = "auto") -> tuple[str, str, bool]:
    """(chain of thought, answer, reasoning block closed), in the trace's format (see ops/traces.py).

    With `think_prefilled` (R1-Distill chat templates put `<think>` in the prompt) the completion
    starts inside the think block. Without a reasoning block the whole text is the answer. An opened
    block that never closes is all thought and no answer (the generation was cut off)."""
    thought, answer, closed, _ = split(text, think_prefilled, fmt)
    return thought, answer, closed


def is_truncated(text: str, think_prefilled: bool = False, fmt: str = "auto") -> bool:
    """A reasoning (or Bespoke solution) block that was opened and never closed: the generation was cut off."""
    return split(text, think_prefilled, fmt).truncated


def final_answer_text(completion: Any, think_prefilled: bool = False, fmt: str = "auto") -> str:
    """What the verifier parses: the answer after the think block.

    math-verify's extraction then prefers the last `\boxed{}` (adjacent boxes become one set, so
    "\boxed{-2} and \boxed{1}" is {-2, 1}), then "the final answer is ...". Long answers are cut to
    their last `ANSWER_TAIL_CHARS` characters, extended back to keep the last box."""
    text = completion_text(completion)
    _, answer, _, truncated = split(text, think_prefilled, fmt)
    if truncated and not answer:
        return ""  # cut off inside the thought: no answer given
    if len(answer) <= ANSWER_TAIL_CHARS:
        return answer
    start = len(answer) - ANSWER_TAIL_CHARS
    box = max(answer.rfind("\\boxed"), answer.rfind("\\fbox"))
    if 0 <= box < start:
        start = max(0, box - 200)
    return answer[start:]


def gold_text(gold: Any) -> str:
    """A gold answer as the parser should see it: bare answers ("\\frac{1}{2}", "18") are boxed so
    that LaTeX extraction takes all of them (bare, `\\left( 3, \\frac{\\pi}{2} \\right)` parses as 3)."""
    text = "" if gold is None else str(gold).strip()
    if not text:
        return ""
    if _DELIMITED.search(text):
        return text
    return f"\\boxed{{{text}}}"
