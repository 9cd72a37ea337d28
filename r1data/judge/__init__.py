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
import threading
from collections.abc import Sequence
from typing import Any

from r1data.judge.math import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, MathPool
from r1data.judge.verdict import CodeVerdict, Verdict
from r1data.ops.code import TestSuite
from r1data.ops.completions import final_answer_text, gold_text

__all__ = ["Judge", "Verdict", "CodeVerdict", "default_judge", "DEFAULT_TIMEOUT", "DEFAULT_MEMORY_MB"]


class Judge:
    """Judges completions against golds (math answers or code tests). Use as a context manager, or `close()`.

    `verify` may be called from any thread; items are independent, so one that hangs or crashes affects only
    itself, and the pools stay usable. How a completion is read (a prefilled think block, the program's
    language) is given per call, so one judge serves every caller."""

    def __init__(self, workers: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 memory_mb: int = DEFAULT_MEMORY_MB, code_workers: int | None = None) -> None:  # fmt: skip
        self.timeout = timeout
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
    ) -> list[Verdict | CodeVerdict]:
        """Judge completions[i] against golds[i]; the verdicts keep the input order. A gold that is a TestSuite
        (a code problem's tests) runs the program (pass/fail: `stop_on_failure` stops at the first failing
        test); every other gold is a math answer."""
        if len(golds) != len(completions):
            raise ValueError(f"{len(golds)} gold answers for {len(completions)} completions")
        out: list[Any] = [None] * len(golds)
        code_at = [i for i, g in enumerate(golds) if isinstance(g, TestSuite)]
        math_at = [i for i, g in enumerate(golds) if not isinstance(g, TestSuite)]
        if code_at:
            verdicts = self.code.verify([golds[i] for i in code_at], [completions[i] for i in code_at],
                                        stop_on_failure, think_prefilled, language)  # fmt: skip
            for i, v in zip(code_at, verdicts, strict=True):
                out[i] = v
        if math_at:
            pairs = [(gold_text(golds[i]), final_answer_text(completions[i], think_prefilled)) for i in math_at]
            for i, v in zip(math_at, self.math.verify(pairs), strict=True):
                out[i] = v
        return out


_default: Judge | None = None
_default_lock = threading.Lock()


def default_judge() -> Judge:
    """The process's judge for reward functions called without one (TRL calls them many times per step).
    Made once, with the default settings, and closed when the process exits; callers that want other settings
    make their own Judge and pass it to the rewards."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Judge()
            atexit.register(_default.close)
        return _default
