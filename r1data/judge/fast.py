"""Verdicts without sympy for the answers most RL data has: integers, decimals, simple fractions and single capital
letters, when both the gold and the committed answer are one such value. Anything else (or any doubt) returns None and
goes to math-verify; the verdicts are the same either way (tests/judge/test_fast.py holds them equal on real corpora and
math-verify's own cases).

Why it is safe: an answer whose text holds one `\\boxed{}` is read by math-verify from that box; the gold's own
text in it is the gold; two equal exact values are equal to it; two integers that differ are different; decimals
and fractions that differ by more than math-verify's rounding can reach are different. Values closer than that,
percent signs, units, several boxes: math-verify decides.
"""

from __future__ import annotations

import functools
import re
from fractions import Fraction

from r1data.judge.verdict import CORRECT, INCORRECT, Verdict

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?|[-+]?\.\d+")
# Thousands separators as math-verify reads them: 3-digit groups after a first group that is not 0 ("0,111" is a
# decimal to it).
_THOUSANDS = re.compile(r"[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
_FRACTION = re.compile(r"([-+]?)\\[dt]?frac\{\s*([-+]?\d+)\s*\}\{\s*(\d+)\s*\}|([-+]?\d+)\s*/\s*(\d+)")
_LETTER = re.compile(r"[A-Z]")
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_PERCENT_AFTER = re.compile(r"^\s*\$?\s*\\?%|^\s*\\text\s*\{\s*\\?%")


@functools.lru_cache(maxsize=8192)
def value(text: str) -> Fraction | int | str | None:
    """A simple answer as an exact number (or a capital letter); None for anything else."""
    text = text.strip().strip("$").strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if _LETTER.fullmatch(text):
        return text
    if text.isdigit() or (text[:1] == "-" and text[1:].isdigit()):
        return int(text)
    if _NUMBER.fullmatch(text) or _THOUSANDS.fullmatch(text):
        return Fraction(text.replace(",", ""))
    m = _FRACTION.fullmatch(text)
    if m and (int(m.group(3) or m.group(5))):
        if m.group(2) is not None:
            sign = -1 if m.group(1) == "-" else 1
            return sign * Fraction(int(m.group(2)), int(m.group(3)))
        return Fraction(int(m.group(4)), int(m.group(5)))
    return None


def the_box(text: str) -> str | None:
    """The content of the text's one `\\boxed{}` (math-verify reads a box before anything else); None when it has
    none or several, or a percent sign after it changes the reading."""
    from r1data.ops.answers import all_boxed

    if len(_BOX.findall(text)) != 1:
        return None
    boxes = all_boxed(text)
    if len(boxes) != 1:
        return None
    start = _BOX.search(text).end()  # type: ignore[union-attr]
    end = text.find(boxes[0], start) + len(boxes[0])
    if _PERCENT_AFTER.search(text[end + 1 : end + 30]):  # "\\boxed{10}\\%": math-verify reads a percentage
        return None
    return boxes[0]


@functools.lru_cache(maxsize=8192)
def _gold(gold: str) -> tuple[str | None, Fraction | int | str | None]:
    from r1data.judge.math import _GARBLED

    box = the_box(gold)
    if box is None or _GARBLED.search(box):  # a gold math-verify may not read at all: it decides
        return None, None
    return box, value(box)


_SIZING = re.compile(r"\\(?:left|right)(?![A-Za-z])|\\[,;:!]")
_SPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=8192)
def _layout_free(text: str) -> str:
    """The text without what only lays it out: `\\left`/`\\right`, thin spaces, and spaces that separate nothing
    (a space between two letters or digits stays: `\\pi r` is not `\\pir`, `1 2` is not `12`). Text inside
    `\\text{}` is not touched: the text is returned as it is."""
    text = text.strip()
    if re.search(r"\\(?:text|mathrm|mbox|operatorname)", text):
        return text
    text = _SIZING.sub("", text)
    return _SPACE.sub(lambda m: " " if _joins(text, m.start(), m.end()) else "", text)


def _joins(text: str, start: int, end: int) -> bool:
    return start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()


def fast_verdict(gold: str, pred: str) -> Verdict | None:
    """The verdict for a prepared (gold, answer) pair when plain arithmetic settles it, or when the answer's box
    holds exactly the gold's text; else None."""
    g_box, g = _gold(gold)
    if g_box is None:
        return None
    p_box = the_box(pred)
    if p_box is None:
        return None
    if _layout_free(p_box) == _layout_free(g_box):  # the same text parses the same: equal to itself
        return Verdict(CORRECT, p_box, 0.0)
    if g is None:
        return None
    p = value(p_box)
    if g is None or p is None or isinstance(g, str) != isinstance(p, str):
        return None
    if g == p:
        return Verdict(CORRECT, p_box, 0.0)
    if isinstance(g, str):
        return Verdict(INCORRECT, p_box, 0.0)
    g, p = Fraction(g), Fraction(p)
    integers = g.denominator == 1 and p.denominator == 1 and "." not in g_box + p_box
    scale = max(1, abs(g), abs(p))
    if integers or abs(g - p) > Fraction(1, 10**4) * scale:
        return Verdict(INCORRECT, p_box, 0.0)
    return None  # close values: math-verify's rounding decides
