"""Trace formats: where a completion's reasoning ends and its answer begins, the same way in every step that
splits a trace (verify, stats, rejection-sample, rewards, train).

- `think`: `<think>…</think> answer` (or, prefilled by the chat template, `…</think> answer`); cut off when there
  is no `</think>`;
- `bespoke` (Bespoke-Stratos, OpenThoughts): `<|begin_of_thought|>…<|end_of_thought|>` then
  `<|begin_of_solution|>…<|end_of_solution|>`; cut off when an end tag is missing;
- `none`: the answer alone; never cut off by its markers (`finish_reason` may still say so).

`auto` (the default) decides per trace from its own markers, so a trace is split the same way wherever it is
read. Reasoning kept in a column of its own (`deepseek_reasoning`, `reasoning_content`, `thinking_trajectories`,
`info.think_content`) is put in front of its answer inside `<think>…</think>` when the layout is read, and then
is a `think` trace. An `<answer>…</answer>` around the answer is left to the answer (the format reward checks it).
"""

from __future__ import annotations

from typing import NamedTuple

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
BEGIN_THOUGHT, END_THOUGHT = "<|begin_of_thought|>", "<|end_of_thought|>"
BEGIN_SOLUTION, END_SOLUTION = "<|begin_of_solution|>", "<|end_of_solution|>"
FORMATS = ("auto", "think", "bespoke", "none")


class Split(NamedTuple):
    thought: str
    answer: str
    closed: bool  # the reasoning block ended (False also when there is none)
    truncated: bool  # a block was opened and never closed: the generation was cut off


def detect(text: str, think_prefilled: bool = False) -> str:
    """The format of one trace, from its own markers."""
    if BEGIN_THOUGHT in text or END_THOUGHT in text or BEGIN_SOLUTION in text:
        return "bespoke"
    if think_prefilled or THINK_OPEN in text or THINK_CLOSE in text:
        return "think"
    return "none"


def split(text: str, think_prefilled: bool = False, fmt: str = "auto") -> Split:
    """(reasoning, answer, closed, truncated) of one trace. A block that never closes is all reasoning and no
    answer: the generation was cut off."""
    if fmt not in FORMATS:
        raise ValueError(f"trace format '{fmt}' unknown; choose one of {', '.join(FORMATS)}")
    if fmt == "auto":
        fmt = detect(text, think_prefilled)
    if fmt == "bespoke":
        return _bespoke(text)
    if fmt == "think":
        return _think(text, think_prefilled)
    return Split("", text, False, False)


def _think(text: str, prefilled: bool) -> Split:
    start = 0
    opened = text.find(THINK_OPEN)
    if opened >= 0:
        start = opened + len(THINK_OPEN)
    elif not prefilled and THINK_CLOSE not in text:
        return Split("", text, False, False)
    close = text.find(THINK_CLOSE, start)
    if close < 0:
        return Split(text[start:], "", False, True)
    return Split(text[start:close], text[close + len(THINK_CLOSE) :], True, False)


def _bespoke(text: str) -> Split:
    begin = text.find(BEGIN_THOUGHT)
    start = begin + len(BEGIN_THOUGHT) if begin >= 0 else 0
    end = text.find(END_THOUGHT, start)
    if end < 0:
        if begin < 0 and BEGIN_SOLUTION in text:  # a solution block alone
            thought, rest = "", text
        else:
            return Split(text[start:], "", False, True)
    else:
        thought, rest = text[start:end], text[end + len(END_THOUGHT) :]
    solution = rest.find(BEGIN_SOLUTION)
    if solution < 0:
        return Split(thought, rest, True, False)
    body = rest[solution + len(BEGIN_SOLUTION) :]
    stop = body.find(END_SOLUTION)
    if stop < 0:
        return Split(thought, body, True, True)  # the solution was cut off: what there is, marked truncated
    return Split(thought, body[:stop], True, False)
