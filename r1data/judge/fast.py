"""Verdicts without sympy for the answers most RL data has: integers, decimals, simple fractions and single capital
letters, when both the gold and the committed answer are one such value. Anything else (or any doubt) returns None and
goes to math-verify; the verdicts are the same either way (tests/judge/test_fast.py holds them equal on real corpora and
math-verify's own cases).

Why it is safe: an answer whose text holds one `\\boxed{}` is read by math-verify from that box; the gold's own
text in it is the gold; two equal exact values are equal to it; two integers that differ are different; decimals
and fractions that differ by more than math-verify's rounding can reach are different. Values closer than that,
percent signs, units, several boxes: math-verify decides.

Beyond single values, `arithmetic` evaluates the small expressions that long chain-of-thought answers are made of
(`\\frac43`, `1\\frac{4}{5}`, `11\\sqrt2`, `\\frac{\\sqrt{21}}{5}`, `18+2\\pi`, `30^\\circ`, `10,\\!080`), in
math-verify's own reading of them: equal rational values are equal; values far apart (by more than any rounding)
are different; two irrational values that are close are left to math-verify (it decides by simplifying).
"""

from __future__ import annotations

import functools
import math
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


# --- small expressions ------------------------------------------------------------------------------------------

_TIDY = (  # LaTeX shorthands, written out (math-verify reads them the same way)
    (re.compile(r"\\[dt]frac"), r"\\frac"),
    (re.compile(r"\\frac\s*(\d)\s*(\d)"), r"\\frac{\1}{\2}"),
    (re.compile(r"\\frac\s*(\d)\s*\{"), r"\\frac{\1}{"),
    (re.compile(r"\\frac(\{[^{}]*\})\s*(\d)"), r"\\frac\1{\2}"),
    (re.compile(r"\\sqrt\s*(\d)"), r"\\sqrt{\1}"),
    (re.compile(r"\^\s*\{?\s*\\circ\s*\}?\s*$|°\s*$"), ""),  # degrees, at the end
)
_TOKEN = re.compile(r"\s*(\d+\.\d+|\d+|\.\d+|\\frac|\\sqrt|\\pi|\\cdot|\\times|[-+*/(){}])")


@functools.lru_cache(maxsize=8192)
def tidy(text: str) -> str:
    grouped = re.sub(r"\\!\s*", "", text.strip())
    if _THOUSANDS.fullmatch(grouped):  # 10,\\!080 is one number to math-verify ("32, 349" is not)
        return grouped.replace(",", "")
    text = _layout_free(text)
    for pattern, repl in _TIDY:
        text = pattern.sub(repl, text)
    return text


class _Unknown(Exception):
    """Not an expression this evaluator reads: math-verify decides."""


@functools.lru_cache(maxsize=8192)
def arithmetic(text: str) -> tuple[float, Fraction | None] | None:
    """(value, exact value when rational) of a small expression of numbers, `\\frac`, `\\sqrt`, `\\pi`, `+ - * /`,
    `\\cdot`, `\\times`, brackets and mixed numbers; None for anything else (a letter, a comma, a power ...)."""
    text = tidy(text)
    tokens, at = [], 0
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None:
            return None
        tokens.append(m.group(1))
        at = m.end()
        if len(tokens) > 64:
            return None
    if not tokens:
        return None
    try:
        value, exact, end = _sum(tokens, 0)
    except (_Unknown, ZeroDivisionError, OverflowError, ValueError):
        return None
    if end != len(tokens) or value != value or abs(value) == float("inf"):
        return None
    if len(tokens) > 1 and any("." in tok for tok in tokens):
        exact = None  # math-verify computes with decimals in floating point: 12.48 - 0.03 * 16 is not 12 to it
    return value, exact


def _sum(t: list[str], i: int) -> tuple[float, Fraction | None, int]:
    sign = 1
    if i < len(t) and t[i] in "+-":
        sign, i = (-1 if t[i] == "-" else 1), i + 1
    v, e, i = _product(t, i)
    v, e = sign * v, None if e is None else sign * e
    while i < len(t) and t[i] in ("+", "-"):
        s = -1 if t[i] == "-" else 1
        w, f, i = _product(t, i + 1)
        v, e = v + s * w, None if e is None or f is None else e + s * f
    return v, e, i


def _product(t: list[str], i: int) -> tuple[float, Fraction | None, int]:
    v, e, i, kind = _factor(t, i)
    while i < len(t) and t[i] not in ("+", "-", ")", "}"):
        op = t[i]
        if op in ("*", "/", "\\cdot", "\\times"):
            w, f, i, _ = _factor(t, i + 1)
        else:  # side by side: a coefficient before a root or pi only ("1 2" and "\\sqrt{3}2" are not read here)
            w, f, i, right = _factor(t, i)
            if right not in ("sqrt", "pi") or kind not in ("number", "sqrt", "pi"):
                raise _Unknown
            op = "*"
        if op == "/":
            v, e = v / w, None if e is None or f is None else e / f
        else:
            v, e = v * w, None if e is None or f is None else e * f
        kind = "product"
    return v, e, i


def _group(t: list[str], i: int) -> tuple[float, Fraction | None, int]:
    if i >= len(t) or t[i] != "{":
        raise _Unknown
    v, e, i = _sum(t, i + 1)
    if i >= len(t) or t[i] != "}":
        raise _Unknown
    return v, e, i + 1


def _factor(t: list[str], i: int) -> tuple[float, Fraction | None, int, str]:
    if i >= len(t):
        raise _Unknown
    tok = t[i]
    if tok[0].isdigit() or tok[0] == ".":
        exact = Fraction(tok)
        if i + 1 < len(t) and t[i + 1] == "\\frac" and "." not in tok:  # a mixed number: 1\\frac{4}{5} is 9/5
            n, fn, j = _group(t, i + 2)
            d, fd, j = _group(t, j)
            if fn is None or fd is None or fn.denominator != 1 or fd.denominator != 1 or fd == 0:
                raise _Unknown
            exact = exact + fn / fd
            return float(exact), exact, j, "mixed"
        return float(exact), exact, i + 1, "number"
    if tok == "\\frac":
        n, fn, j = _group(t, i + 1)
        d, fd, j = _group(t, j)
        return n / d, None if fn is None or fd is None else fn / fd, j, "frac"
    if tok == "\\sqrt":
        v, e, j = _group(t, i + 1)
        if v < 0:
            raise _Unknown
        if e is not None and e >= 0:
            root = Fraction(math.isqrt(e.numerator), math.isqrt(e.denominator))
            if root * root == e:
                return float(root), root, j, "sqrt"
        return math.sqrt(v), None, j, "sqrt"
    if tok == "\\pi":
        return math.pi, None, i + 1, "pi"
    if tok in ("(", "{"):
        v, e, j = _sum(t, i + 1)
        if j >= len(t) or t[j] != (")" if tok == "(" else "}"):
            raise _Unknown
        return v, e, j + 1, "bracket"
    raise _Unknown


def _by_value(g_box: str, p_box: str) -> Verdict | None:
    """Two small expressions compared by value: equal rationals, or values too far apart for any rounding."""
    g, p = arithmetic(g_box), arithmetic(p_box)
    if g is None or p is None:
        return None
    if g[1] is not None and p[1] is not None and g[1] == p[1]:
        return Verdict(CORRECT, p_box, 0.0)
    if abs(g[0] - p[0]) > 1e-4 * max(1.0, abs(g[0]), abs(p[0])):
        return Verdict(INCORRECT, p_box, 0.0)
    return None


def fast_verdict(gold: str, pred: str) -> Verdict | None:
    """The verdict for a prepared (gold, answer) pair when plain arithmetic settles it, or when the answer's box
    holds exactly the gold's text; else None."""
    g_box, g = _gold(gold)
    if g_box is None:
        return None
    p_box = the_box(pred)
    if p_box is None:
        return None
    if _layout_free(p_box) == _layout_free(g_box) or tidy(p_box) == tidy(g_box):  # the same text: equal to itself
        return Verdict(CORRECT, p_box, 0.0)
    if g is None:
        return _by_value(g_box, p_box)
    p = value(p_box)
    if p is None and not isinstance(g, str):
        return _by_value(g_box, p_box)
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
