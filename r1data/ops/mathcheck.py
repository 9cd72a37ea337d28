"""One math verification, in-process: parse the gold and the prediction with math-verify, compare.

This runs inside the judge's worker processes (r1data/judge.py), which enforce the time and memory
limits; math-verify's own signal-based timeouts are switched off here, because a timed-out parse
returns [] and would be indistinguishable from an unparseable answer. Only plain values leave this
module: `str()` of a parsed expression can itself hang, so the answer text reported is the string
math-verify matched, never a printed sympy object.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

CORRECT = "correct"
INCORRECT = "incorrect"
GOLD_UNPARSEABLE = "gold_unparseable"
PRED_UNPARSEABLE = "pred_unparseable"
TIMEOUT = "timeout"
CRASH = "crash_or_oom"
STATUSES = (CORRECT, INCORRECT, GOLD_UNPARSEABLE, PRED_UNPARSEABLE, TIMEOUT, CRASH)

_GOLD_CACHE: OrderedDict[str, list] = OrderedDict()
_GOLD_CACHE_SIZE = 4096

# math-verify warns once that its timeout is off: that is intended here.
logging.getLogger("math_verify").setLevel(logging.ERROR)


def _parse(text: str) -> list:
    from math_verify import parse

    return parse(text, parsing_timeout=None)


def parse_gold(gold: str) -> list:
    """Parsed gold, cached: the k samples of one problem share one parse."""
    hit = _GOLD_CACHE.get(gold)
    if hit is None:
        hit = _parse(gold) if gold else []
        _GOLD_CACHE[gold] = hit
        if len(_GOLD_CACHE) > _GOLD_CACHE_SIZE:
            _GOLD_CACHE.popitem(last=False)
    else:
        _GOLD_CACHE.move_to_end(gold)
    return hit


def matched_text(parsed: list) -> str | None:
    """The answer as written (math-verify returns the matched string after the parsed objects)."""
    strings = [p for p in parsed if isinstance(p, str)]
    return strings[-1] if strings else None


def check(gold: str, pred: str) -> tuple[str, str | None]:
    """(status, predicted answer text) for a prepared gold and prediction (see ops/completions.py)."""
    from math_verify import verify

    gold_parsed = parse_gold(gold)
    if not gold_parsed:
        return GOLD_UNPARSEABLE, None
    gold_is_math = any(not isinstance(g, str) for g in gold_parsed)
    pred_parsed = _parse(pred) if pred else []
    if not pred_parsed:
        return (PRED_UNPARSEABLE if gold_is_math else GOLD_UNPARSEABLE), None
    ok = verify(gold_parsed, pred_parsed, timeout_seconds=None)
    if not gold_is_math and not ok:
        # The gold is only text (math-verify could not read it as mathematics): equal text proves
        # a match, but different text proves nothing. Reported so the data can be fixed.
        return GOLD_UNPARSEABLE, None
    return (CORRECT if ok else INCORRECT), matched_text(pred_parsed)
