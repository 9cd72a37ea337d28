"""How a completion is judged, in one place, for every step that judges (verify, filter, rejection-sample) and
for the GRPO rewards.

- `Judge`: the default judge. A row whose gold is a code problem's tests is judged by running the program in
  the sandbox (`judge.code`, `judge.sandbox`); every other row by math-verify in a pool of worker processes
  that cannot hang (`judge.math`). Both pools start on first use and stop on `close()`.
- `Verdict`, `CodeVerdict` and the statuses: `judge.verdict`.
- Reward functions, each with its `RewardSpec` (what it needs: gold, tests, verdicts, lengths, think handling):
  `judge.rewards`.
"""

from __future__ import annotations

import atexit
import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from r1data.judge.fast import fast_verdict
from r1data.judge.math import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, MathPool
from r1data.judge.verdict import (
    CORRECT,
    CORRECT_WITHOUT_FINAL,
    GOLD_SUSPECT,
    GOLD_UNPARSEABLE,
    INCORRECT,
    NO_GOLD,
    NOT_JUDGEABLE,
    PRED_UNPARSEABLE,
    CodeVerdict,
    Verdict,
)
from r1data.ops.answers import last_boxed
from r1data.ops.code import TestSuite
from r1data.ops.completions import completion_text, final_answer_text, gold_text, is_truncated
from r1data.ops.final_answer import (
    answer_choice,
    choice_letter,
    clean,
    final_answer_evidence,
    gold_suspect,
    options,
    stated_words,
    unevaluated_arithmetic,
    words_gold,
)
from r1data.ops.golds import GoldSet, Unjudgeable

# Which verdict of a row's several acceptable answers stands: a match first, then a plain mismatch.
_RANK = {CORRECT: 0, INCORRECT: 1, PRED_UNPARSEABLE: 2}

__all__ = ["Judge", "Verdict", "CodeVerdict", "default_judge", "DEFAULT_TIMEOUT", "DEFAULT_MEMORY_MB"]


class Judge:
    """Judges completions against golds (math answers or code tests). Use as a context manager, or `close()`.

    `verify` may be called from any thread; items are independent, so one that hangs or crashes affects only
    itself, and the pools stay usable. How a completion is read (a prefilled think block, the program's
    language) is given per call, so one judge serves every caller."""

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int = DEFAULT_MEMORY_MB,
        code_workers: int | None = None,
        lenient: bool = False,
        fast: bool = True,
    ) -> None:
        self.timeout = timeout
        self.lenient = lenient  # a match without a final answer counts as correct
        self.fast = fast  # plain numbers and letters compared without sympy (judge/fast.py): the same verdicts
        self.math = MathPool(workers, timeout, memory_mb)
        self.workers = self.math.workers
        self.code_workers = code_workers
        self._code = None
        self._lock = threading.Lock()

    @property
    def code(self):  # noqa: ANN201 - a CodeJudge, made on first use (it claims sandbox uids)
        with self._lock:
            if self._code is None:
                from r1data.judge.code import CodeJudge
                from r1data.judge.sandbox import Limits

                limits = Limits(wall_seconds=self.timeout, cpu_seconds=max(1, int(round(self.timeout))))
                self._code = CodeJudge(self.code_workers, limits)
            return self._code

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.math.close()
        if self._code is not None:
            self._code.close()
            self._code = None

    def verify(
        self,
        golds: Sequence[Any],
        completions: Sequence[Any],
        think_prefilled: bool = False,
        stop_on_failure: bool = True,
        language: str = "python",
        think_format: str = "auto",
        problems: Sequence[str | None] | None = None,
        truncated: Sequence[bool] | None = None,
    ) -> list[Verdict | CodeVerdict]:
        """Judge completions[i] against golds[i]; the verdicts keep the input order. A gold that is a TestSuite
        (a code problem's tests) runs the program (pass/fail: `stop_on_failure` stops at the first failing
        test); every other gold is a math answer (ops/final_answer.py: the final answer's evidence, multiple
        choice by `problems`' options, suspect golds). `truncated`: the engine stopped the completion at its
        length limit (finish_reason), which counts as cut off."""
        if len(golds) != len(completions):
            raise ValueError(f"{len(golds)} gold answers for {len(completions)} completions")
        out: list[Any] = [None] * len(golds)
        code_at = [i for i, g in enumerate(golds) if isinstance(g, TestSuite)]
        math_at = [i for i, g in enumerate(golds) if not isinstance(g, TestSuite)]
        if code_at:
            verdicts = self.code.verify(
                [golds[i] for i in code_at],
                [completions[i] for i in code_at],
                stop_on_failure,
                think_prefilled,
                language,
                think_format,
            )
            for i, v in zip(code_at, verdicts, strict=True):
                out[i] = v
        if math_at:
            self._verify_math(out, math_at, golds, completions, think_prefilled, think_format, problems, truncated)
        return out

    def _verify_math(
        self,
        out: list,
        at: list[int],
        golds: Sequence[Any],
        completions: Sequence[Any],
        think_prefilled: bool,
        think_format: str,
        problems: Sequence[str | None] | None,
        truncated: Sequence[bool] | None,
    ) -> None:
        pending, pairs, evidence, cut, problem_of = [], [], {}, {}, {}
        verdicts: list[Verdict | None] = []
        for i in at:
            if isinstance(golds[i], Unjudgeable):
                out[i] = Verdict(NOT_JUDGEABLE, detail=golds[i].why)
                continue
            if golds[i] is None or not str(golds[i]).strip():
                out[i] = Verdict(NO_GOLD, detail="the row has no gold answer")
                continue
            if (why := oversized(str(golds[i]))) is not None:  # one row's gold never ends the run
                out[i] = Verdict(GOLD_UNPARSEABLE, detail=f"the gold is {why}")
                continue
            text = completion_text(completions[i])
            answer = final_answer_text(completions[i], think_prefilled, think_format)
            if (why := oversized(answer)) is not None:  # bounded before any parse: no item outlives its timeout
                out[i] = Verdict(PRED_UNPARSEABLE, detail=f"the answer is {why}")
                continue
            cut[i] = bool(truncated[i]) if truncated is not None else False
            cut[i] = cut[i] or is_truncated(text, think_prefilled, think_format)
            alternatives = list(golds[i]) if isinstance(golds[i], GoldSet) else [golds[i]]
            problem = problems[i] if problems is not None else None
            problem_of[i] = problem
            choices = [self._choice("" if g is None else str(g), answer, problem) for g in alternatives]
            if all(c is not None for c in choices):
                best = next((c for c in choices if c.status == CORRECT), choices[0])
                out[i] = self._final(best, str(alternatives[choices.index(best)]), not cut[i])
                continue
            if (said := self._words(alternatives, answer)) is not None:
                out[i] = self._final(Verdict(CORRECT, said[1], 0.0), said[0], not cut[i])
                continue
            evidence[i], pred = final_answer_evidence(answer)
            for gold in alternatives:  # several acceptable answers: one pair each, the best verdict wins
                text = "" if gold is None else str(gold)
                pending.append((i, text))
                pairs.append(pair := (_prepared_gold(text), clean(_with_parts(pred, answer, text))))
                verdicts.append(fast_verdict(*pair) if self.fast else None)
                if verdicts[-1] is None:  # a row needs the math pool: it starts now, beside the rows still to read
                    self.math.prestart()
        slow = [k for k, v in enumerate(verdicts) if v is None]  # the math pool starts only if a pair needs it
        if len(slow) < len(pairs):  # the pool counts its own as they come
            from r1data import progress

            progress.current().count(judged=len(pairs) - len(slow))
        # The same (gold, answer) pair is checked once: the k samples of a problem often end on the same answer.
        distinct = list(dict.fromkeys(pairs[k] for k in slow))
        checked = dict(zip(distinct, self.math.verify(distinct), strict=True))
        if len(distinct) < len(slow):
            from r1data import progress

            progress.current().count(judged=len(slow) - len(distinct))
        for k in slow:
            verdicts[k] = checked[pairs[k]]
        best: dict[int, tuple[int, Verdict, str, str]] = {}
        for (i, gold), v, (_, pred) in zip(pending, verdicts, pairs, strict=True):
            rank = _RANK.get(v.status, len(_RANK))
            if i not in best or rank < best[i][0]:
                best[i] = (rank, v, gold, pred)
        for i, (_, v, gold, pred) in best.items():
            out[i] = self._final(v, gold, evidence[i] and not cut[i], pred, problem_of[i])

    def _final(self, v: Verdict, gold: str, committed: bool, pred: str = "", problem: str | None = None) -> Verdict:
        out = self._judged(v, gold, committed, pred, problem)
        return replace(out, retried=True) if v.retried and not out.retried else out

    def _judged(self, v: Verdict, gold: str, committed: bool, pred: str = "", problem: str | None = None) -> Verdict:
        """A match without a committed final answer, a match on arithmetic left undone, and a mismatch against a
        suspect gold, say so."""
        if v.status == CORRECT and not self.lenient and (undone := unevaluated_arithmetic(gold, pred, problem)):
            return Verdict(
                INCORRECT, v.pred_answer, v.seconds, f"arithmetic left undone ({undone}): the number is never written"
            )
        if v.status == CORRECT and not committed and not self.lenient:
            return Verdict(
                CORRECT_WITHOUT_FINAL,
                v.pred_answer,
                v.seconds,
                "no final answer (no box, answer phrase or concluding sentence), or cut off",
            )
        if v.status in (CORRECT, INCORRECT, PRED_UNPARSEABLE, GOLD_UNPARSEABLE) and (why := gold_suspect(gold)):
            # Even a match: what math-verify made of a garbled gold is a guess, so the row is listed, not trusted.
            seen = "matches" if v.status == CORRECT else "does not match"
            detail = f"the gold answer looks garbled ({why}); the answer {seen} what can be read of it"
            return Verdict(GOLD_SUSPECT, v.pred_answer, v.seconds, detail)
        return v

    @staticmethod
    def _words(golds: list[Any], answer: str) -> tuple[str, str] | None:
        """(the gold, what was said) when the gold is words or a bracket sequence and the completion states exactly
        it ("So the answer is valid.", "Yes, because ..."); None otherwise, and math-verify decides as before."""
        words = {w: str(g) for g in golds if g is not None and (w := words_gold(str(g))) is not None}
        if not words or (said := stated_words(answer)) is None:
            return None
        for candidate in (said, said.split(",")[0].strip()):
            if candidate in words:
                return words[candidate], said
        return None

    @staticmethod
    def _choice(gold: str, answer: str, problem: str | None) -> Verdict | None:
        """Multiple choice, decided by letter: the gold names an option and the answer names one (with or without
        its text) or gives the gold option's value. None when it is not a multiple-choice question."""
        letter = choice_letter(gold)
        if letter is None:
            return None
        opts = options(problem or "")
        if not opts and not re.fullmatch(r"\s*\(?[A-E]\)?\s*|.*\\text\{\s*\([A-E]\).*", gold):
            return None
        said = answer_choice(answer)
        first = re.split(r"(?<=[.!?])\s|\n", (said or "").strip(), maxsplit=1)[0]
        hedge = _HEDGE.search(first)
        if hedge and hedge.group(1) != hedge.group(2):  # "(H) or (C)", "(A) and (B)": a hedge, not an answer
            return Verdict(INCORRECT, first[:40], 0.0, "names several options")
        picked = choice_letter(said)
        if picked is None and said and opts:
            from r1data.ops.answers import normalize_answer, plainly_different

            mine = normalize_answer(said)
            picked = next((k for k, v in opts.items() if plainly_different(mine, normalize_answer(v)) is False), None)
        if picked is None:
            return None
        return Verdict(CORRECT if picked == letter else INCORRECT, f"({picked})", 0.0)


@functools.lru_cache(maxsize=8192)
def _prepared_gold(gold: str) -> str:
    """A gold as the parser sees it (the k samples of a problem share it)."""
    return clean(gold_text(gold))


_HEDGE = re.compile(r"\(([A-R])\)\s*(?:,|or|and|&|/)\s*(?:\(([A-R])\))")


def _with_parts(pred: str, answer: str, gold: str) -> str:
    """A multi-part gold ("(-2,18) and (8,38)") answered with one box per part (MATH's own solutions do): the last
    boxes, as many as the gold has parts, are read together as one answer."""
    from r1data.ops.answers import all_boxed, top_level_parts

    parts = len(top_level_parts(gold))
    if parts < 2:
        return pred
    boxes = all_boxed(answer)
    if len(boxes) < parts or len(top_level_parts(boxes[-1])) >= parts:
        return pred
    return pred + "\n\n" + ", ".join(f"\\boxed{{{b}}}" for b in boxes[-parts:])


_defaults: dict[bool, Judge] = {}
_default_lock = threading.Lock()


# Bounds on what reaches a parser (checked before any parse, so no item takes longer than its timeout):
MAX_ANSWER_CHARS = 200_000  # the answer section (after the reasoning); a box's content is far smaller
MAX_BOX_CHARS = 20_000
MAX_DEPTH = 200  # brackets and braces nested deeper than any answer
MAX_DIGITS = 4_000  # Python refuses to read integers of more than 4,300 digits
_DIGITS = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


def oversized(text: str) -> str | None:
    """Why a text is too big to parse safely (the reason for the verdict), or None."""
    if len(text) > MAX_ANSWER_CHARS:
        return f"{len(text):,} characters long (over {MAX_ANSWER_CHARS:,})"
    if len(text) > MAX_BOX_CHARS and (box := last_boxed(text)) is not None and len(box) > MAX_BOX_CHARS:
        return f"a box of {len(box):,} characters (over {MAX_BOX_CHARS:,})"
    if len(text) > MAX_DIGITS and (run := _DIGITS.search(text)) is not None:
        return f"a number of {len(run.group(0)):,} digits (over {MAX_DIGITS:,})"
    if text.count("{") + text.count("(") + text.count("[") <= MAX_DEPTH:
        return None  # cannot nest deeper than it has brackets
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep"
        elif ch in ")]}" and depth:
            depth -= 1
    return None


def default_judge(lenient: bool = False) -> Judge:
    """The process's judge for reward functions called without one (TRL calls them many times per step).
    Made once per strictness, with the default settings, and closed when the process exits; callers that want
    other settings make their own Judge and pass it to the rewards."""
    with _default_lock:
        if lenient not in _defaults:
            _defaults[lenient] = judge = Judge(lenient=lenient)
            atexit.register(judge.close)
        return _defaults[lenient]


def answers_equivalent(judge: Any) -> Any:
    """Two gold answers are the same answer when math-verify accepts either one as the other (1/2 and 0.5)."""
    from r1data.judge.verdict import CORRECT
    from r1data.ops.completions import gold_text

    def equivalent(pairs: list[tuple[str, str]]) -> list[bool]:
        forth = judge.math.verify([(gold_text(a), gold_text(b)) for a, b in pairs])
        same = [v.status == CORRECT for v in forth]
        rest = [k for k, s in enumerate(same) if not s]
        back = judge.math.verify([(gold_text(pairs[k][1]), gold_text(pairs[k][0])) for k in rest])
        for k, v in zip(rest, back, strict=True):
            same[k] = v.status == CORRECT
        return same

    return equivalent
