"""Gold-answer extraction from worked solutions.

MATH-style solutions put the final answer in the last `\\boxed{...}` (braces may nest);
GSM8K-style solutions end with `#### N`.
"""

from __future__ import annotations

import functools
import re

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_GSM8K_RE = re.compile(r"####\s*(.+?)\s*$", re.DOTALL)


def last_boxed(text: str | None) -> str | None:
    """Content of the last `\\boxed{...}` (or `\\fbox{...}`, or `\\boxed 5`), nested braces kept.

    Returns None when there is no box or the last box is never closed.
    """
    if not text:
        return None
    start = max(text.rfind(cmd) for cmd in _BOX_COMMANDS)
    if start < 0:
        return None
    cmd = next(c for c in _BOX_COMMANDS if text.startswith(c, start))
    i = start + len(cmd)
    if i < len(text) and text[i] == " ":
        # `\boxed 5`: the argument is the next token, up to a space or `$`.
        m = re.match(r" +([^\s$]+)", text[i:])
        return m.group(1) if m else None
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text) or text[i] != "{":
        return None
    depth = 0
    j = i
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            j += 2  # an escaped character, e.g. `\{`, never opens or closes a group
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
        j += 1
    return None


def all_boxed(text: str | None) -> list[str]:
    """The contents of every `\\boxed{...}` in order (nested braces kept)."""
    out: list[str] = []
    if not text:
        return out
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, j = 0, m.end() - 1
        while j < len(text):
            ch = text[j]
            if ch == "\\":
                j += 2
                continue
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                out.append(text[m.end() : j].strip())
                break
            j += 1
    return out


@functools.lru_cache(maxsize=4096)
def _parts(answer: str) -> tuple[str, ...]:
    return tuple(_split_parts(answer))


def top_level_parts(answer: str) -> list[str]:
    """An answer split at its top-level separators (",", ";", "and"), outside brackets: "(-2,18) and (8,38)" has
    two parts, "(3, -1)" one."""
    return list(_parts(answer))


def _split_parts(answer: str) -> list[str]:
    """An answer split at its top-level separators (",", ";", "and"), outside brackets: "(-2,18) and (8,38)" has
    two parts, "(3, -1)" one."""
    text = re.sub(r"\\text\s*\{\s*(and|or)\s*\}", r" \1 ", answer)
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and (ch in ",;" or text.startswith(" and ", i)):
            parts.append(text[start:i])
            start = i + (5 if ch == " " else 1)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def gsm8k_answer(text: str | None) -> str | None:
    """The text after the last `####`, without thousands separators' surrounding space or a final period."""
    if not text or "####" not in text:
        return None
    tail = text[text.rfind("####") :]
    m = _GSM8K_RE.match(tail)
    if not m:
        return None
    ans = m.group(1).strip().rstrip(".")
    return ans or None


_ANSWER_LINE = re.compile(r"(?:^|\n)\s*(?:A|Answer|Final [Aa]nswer)\s*[:：]\s*([^\n]{1,80}?)\s*\.?\s*$")


def extract_answer(solution: str | None) -> str | None:
    """Gold answer of a worked solution: `#### N` if present, else the last box, else a last line `Answer: N`
    (`A: N`)."""
    found = gsm8k_answer(solution) or last_boxed(solution)
    if found is None and solution:
        m = _ANSWER_LINE.search(solution.rstrip())
        found = m.group(1).strip() if m else None
    return found


_UNWRAP = re.compile(r"\\(?:text|textbf|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}")
_DROP = re.compile(r"(?<!\\)\\[,;:! ]|\\(?:left|right|displaystyle)\b|\\?\$|\s+|\^\{?\\circ\}?|°|\\%|%")
_SHORT_FRAC = re.compile(r"\\frac(\d)(\d)")
_HALF_BRACED = re.compile(r"\\frac\{([^{}]+)\}(\d)|\\frac(\d)\{([^{}]+)\}")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


def normalize_answer(answer: str | None) -> str:
    """A gold answer as plain text for comparison: no box, no dollars, no spacing commands, no thousands
    separators, \\dfrac as \\frac, no trailing period, lower case. Equal results are the same answer; unequal
    ones may still be (1/2 and 0.5): the judge decides those."""
    if not answer:
        return ""
    text = answer.strip()
    boxed = last_boxed(text)
    if boxed is not None and text.startswith(("\\boxed", "$\\boxed")):
        text = boxed
    for _ in range(3):
        text = _UNWRAP.sub(r"\1", text)
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    text = _THOUSANDS.sub("", _DROP.sub("", text))
    text = _SHORT_FRAC.sub(r"\\frac{\1}{\2}", text)
    text = _HALF_BRACED.sub(lambda m: f"\\frac{{{m.group(1) or m.group(3)}}}{{{m.group(2) or m.group(4)}}}", text)
    return text.rstrip(".").lower()


_FRACTION = re.compile(r"^(-?)\\frac\{(-?\d+)\}\{(\d+)\}$|^(-?\d+)/(\d+)$")
_NUMBER = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)$")
_WORDS = re.compile(r"^[a-z][a-z ]*$")
_ASSIGNED = re.compile(r"^[a-z]=(?=[^=]+$)")


def plainly_different(a: str, b: str) -> bool | None:
    """For two normalised answers: True or False when plain arithmetic or plain words settle it (12 vs 15,
    0.5 vs 1/2, monday vs sunday), None when it takes the judge (x^2+7x+10 vs (x+2)(x+5))."""
    if a == b:
        return False
    a, b = _ASSIGNED.sub("", a), _ASSIGNED.sub("", b)  # x=3 and 3 are one answer
    if a == b:
        return False
    x, y = as_number(a), as_number(b)
    if x is not None and y is not None:
        return x != y
    if _WORDS.match(a) and _WORDS.match(b):
        return True
    same = arithmetic_equal(a, b)
    return None if same is None else not same


def value_key(normalized: str) -> tuple | None:
    """A hashable key of what a normalised answer is worth, when plain arithmetic or plain words settle it without
    a partner: two answers with keys of the same kind are the same answer exactly when their keys are equal (the
    verdict `plainly_different` gives them; a value rounds to 12 significant digits). None when it takes a
    partner or the judge (variables, words beside numbers, anything the evaluator cannot read). Computing it once per
    distinct answer makes comparing a million pairs of a templated corpus a lookup."""
    if not normalized:
        return None
    text = _ASSIGNED.sub("", normalized)
    number = as_number(text)
    if number is not None:
        return ("number", number)
    if _WORDS.match(text):
        return ("words", text)
    if re.search(r"[a-z]", re.sub(r"\\[a-z]+", " ", text)):
        return None  # variables: compared at random points, pair by pair
    try:
        shape, values = _values(text, {})
    except (ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError):
        return None
    if any(isinstance(v, complex) for v in values):
        return None
    return ("value", shape, tuple(float(f"{v:.12g}") for v in values))


def as_number(normalized: str):  # noqa: ANN201 - a Fraction or None
    """A normalised answer that is a plain number (an integer, a decimal, a/b or \\frac{a}{b}) as an exact
    Fraction; None for anything else (the judge compares those)."""
    from fractions import Fraction

    if _NUMBER.match(normalized):
        return Fraction(normalized)
    m = _FRACTION.match(normalized)
    if not m:
        return None
    sign, num, den = (m.group(1), m.group(2), m.group(3)) if m.group(2) is not None else ("", m.group(4), m.group(5))
    if int(den) == 0:
        return None
    value = Fraction(int(num), int(den))
    return -value if sign else value


# ---------------------------------------------------------------------------------------------------------------
# A small evaluator for the answers plain arithmetic can compare: numbers, + - * / ^, \frac, \sqrt, \pi, implicit
# products (2x, 3\sqrt{2}), single-letter variables (compared at random points), and tuples/intervals of those.
# Anything else raises, and the judge (math-verify) decides.

_FUNCTIONS = {
    "\\sin": "sin",
    "\\cos": "cos",
    "\\tan": "tan",
    "\\sec": "sec",
    "\\csc": "csc",
    "\\cot": "cot",
    "\\ln": "log",
    "\\log": "log10",
    "\\exp": "exp",
    "\\sinh": "sinh",
    "\\cosh": "cosh",
    "\\tanh": "tanh",
}
_TOKENS = re.compile(
    r"\\(?:frac|sqrt|pi|cdot|times|infty|sinh|cosh|tanh|sin|cos|tan|sec|csc|cot|ln|log|exp)|\d+\.?\d*|\.\d+|[a-z]"
    r"|[-+*/^(){}\[\],]"
)


class _Expr:
    def __init__(self, text: str, env: dict[str, float]) -> None:
        self.toks = _TOKENS.findall(text)
        if "".join(self.toks) != text:
            raise ValueError("not plain arithmetic")
        self.i, self.env = 0, env

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (want is not None and tok != want):
            raise ValueError(f"expected {want}")
        self.i += 1
        return tok

    def sum(self) -> float:
        value = self.product()
        while self.peek() in ("+", "-"):
            value = value + self.product() if self.take() == "+" else value - self.product()
        return value

    def product(self) -> float:
        value = self.power()
        while True:
            tok = self.peek()
            if tok in ("*", "/", "\\cdot", "\\times"):
                self.take()
                value = value / self.power() if tok == "/" else value * self.power()
            elif tok is not None and (
                tok[0].isdigit()
                or tok[0] in ".({"
                or tok.isalpha()
                or tok in ("\\frac", "\\sqrt", "\\pi")
                or tok in _FUNCTIONS
            ):
                value *= self.power()  # an implicit product: 2x, 3\sqrt{2}
            else:
                return value

    def power(self) -> float:
        base = self.unary()
        if self.peek() == "^":
            self.take()
            return base ** self.unary()
        return base

    def unary(self) -> float:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        if self.peek() == "+":
            self.take()
        return self.atom()

    def atom(self) -> float:
        tok = self.take()
        if tok in ("(", "{"):
            value = self.sum()
            self.take(")" if tok == "(" else "}")
            return value
        if tok == "\\frac":
            return self.group() / self.group()
        if tok == "\\sqrt":
            return self.group() ** 0.5
        if tok == "\\pi":
            return 3.141592653589793
        if tok in _FUNCTIONS:
            import math

            exponent = 1.0
            if self.peek() == "^":  # \sin^2 x
                self.take()
                exponent = self.unary()
            arg = self.power()
            name = _FUNCTIONS[tok]
            if name in ("sec", "csc", "cot"):
                return (1 / {"sec": math.cos, "csc": math.sin, "cot": math.tan}[name](arg)) ** exponent
            return getattr(math, name)(arg) ** exponent
        if tok[0].isdigit() or tok[0] == ".":
            return float(tok)
        if len(tok) == 1 and tok.isalpha():
            return self.env.setdefault(tok, 0.0)
        raise ValueError(f"unexpected {tok}")

    def group(self) -> float:
        if self.peek() == "{":
            self.take()
            value = self.sum()
            self.take("}")
            return value
        if self.peek() is not None and self.peek()[0].isdigit() and len(self.peek()) > 1:
            raise ValueError("\\frac with digits run together")  # normalize_answer braces \frac12 first
        return self.atom()  # one token: \frac\pi2


_MATRIX = re.compile(r"^\\begin\{([pbv]?matrix)\}(.*)\\end\{\1\}$")


def _values(normalized: str, env: dict[str, float]) -> tuple[str, list[float]]:
    """(shape, values) of a number, an expression, a tuple/interval, a union of intervals, or a matrix of them."""
    matrix = _MATRIX.match(normalized)
    if matrix:
        rows = [r for r in matrix.group(2).split("\\\\") if r]
        cells = [row.split("&") for row in rows]
        flat = [v for row in cells for cell in row for v in _values(cell, env)[1]]
        return f"matrix{[len(r) for r in cells]}", flat
    if "\\cup" in normalized:
        parts = [_values(p, env) for p in normalized.split("\\cup")]
        ordered = sorted(parts, key=lambda p: (p[1], p[0]))
        return "union" + "".join(s for s, _ in ordered), [v for _, vs in ordered for v in vs]
    if normalized.startswith("\\{") and normalized.endswith("\\}") and len(normalized) > 4:
        # a set: its elements in any order, each once (a templated corpus of set answers needs no judge)
        elements = [_values(part, env) for part in normalized[2:-2].split(",")]
        if any(shape or len(vs) != 1 for shape, vs in elements):
            raise ValueError("a set of tuples")
        return "set", sorted(
            {vs[0] for _, vs in elements}, key=lambda v: (v.real, v.imag) if isinstance(v, complex) else (v, 0)
        )
    shape, body = "", normalized
    if len(body) >= 2 and body[0] in "([" and body[-1] in ")]" and "," in body:
        shape, body = body[0] + body[-1], body[1:-1]
    parts = body.split(",") if shape else [body]
    out = []
    for part in parts:
        if part in ("\\infty", "-\\infty"):
            out.append(float("inf") if part[0] != "-" else float("-inf"))
            continue
        expr = _Expr(part, env)
        value = expr.sum()
        if expr.peek() is not None:
            raise ValueError("trailing text")
        out.append(value)
    return shape, out


def arithmetic_equal(a: str, b: str) -> bool | None:
    """Two normalised answers compared by evaluating them (variables at three random points): True, False, or
    None when either is not plain arithmetic."""
    import math
    import random

    rng = random.Random(1234)
    letters = set(re.findall(r"[a-z]", re.sub(r"\\[a-z]+", " ", a + " " + b)))
    try:
        for _ in range(3):
            env = {v: rng.uniform(1.5, 3.5) for v in letters}
            shape_a, va = _values(a, dict(env))
            shape_b, vb = _values(b, dict(env))
            if shape_a != shape_b or len(va) != len(vb):
                return False
            for x, y in zip(va, vb, strict=True):
                if isinstance(x, complex) or isinstance(y, complex):
                    return None
                if not (x == y or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)):
                    return False
    except (ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError):
        return None
    return True
