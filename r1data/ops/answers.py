"""Gold-answer extraction from worked solutions.

MATH-style solutions put the final answer in the last `\\boxed{...}` (braces may nest);
GSM8K-style solutions end with `#### N`.
"""

from __future__ import annotations

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


def extract_answer(solution: str | None) -> str | None:
    """Gold answer of a worked solution: `#### N` if present, else the last box."""
    return gsm8k_answer(solution) or last_boxed(solution)
