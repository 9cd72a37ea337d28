"""What judging one completion says: a status, the answer found, and whether that counts as correct.

`correct` and `score` are True/1.0, False/0.0, or None: "cannot judge" (a gold that does not parse, a
check that timed out or crashed, a sandbox that could not run the program). None is never turned into 0:
pass rates leave it out, TRL skips it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Math statuses
CORRECT = "correct"
# Matches the gold, but the completion never committed to a final answer (no box, no "the answer is", no
# concluding sentence: the match came from the last number written), or it was cut off. Not correct for curation
# (filter, rejection-sample) unless judging is lenient; verify reports both.
CORRECT_WITHOUT_FINAL = "correct_without_final_answer"
INCORRECT = "incorrect"
GOLD_UNPARSEABLE = "gold_unparseable"
PRED_UNPARSEABLE = "pred_unparseable"
TIMEOUT = "timeout"
CRASH = "crash_or_oom"  # the worker died: killed for memory, or a crash in C code
JUDGE_ERROR = "judge_error"  # the checker raised an exception (a bug in it, with the exception as detail)
GOLD_SUSPECT = "gold_suspect"  # the gold looks truncated or garbled: never "incorrect" (nor trusted when it matches)
# The gold is something no rule-based judge compares (a logic puzzle's structure, another ability's answer)
NOT_JUDGEABLE = "not_judgeable"
NO_GOLD = "no_gold"  # the row has no gold answer at all (nothing to parse, nothing wrong with it)
# No sample can be judged against these golds.
GOLD_BAD_STATUSES = (GOLD_UNPARSEABLE, GOLD_SUSPECT, NOT_JUDGEABLE, NO_GOLD)
STATUSES = (
    CORRECT,
    CORRECT_WITHOUT_FINAL,
    INCORRECT,
    GOLD_UNPARSEABLE,
    GOLD_SUSPECT,
    PRED_UNPARSEABLE,
    TIMEOUT,
    CRASH,
    JUDGE_ERROR,
    NOT_JUDGEABLE,
    NO_GOLD,
)

# Code statuses
PASSED, FAILED, NO_CODE = "passed", "failed", "no_code"
MEMORY, RUNTIME_ERROR, SANDBOX_ERROR = "memory", "runtime_error", "sandbox_error"
CODE_STATUSES = (PASSED, FAILED, NO_CODE, TIMEOUT, MEMORY, RUNTIME_ERROR, SANDBOX_ERROR)


@dataclass(frozen=True)
class Verdict:
    """Outcome of one (gold answer, completion) check."""

    status: str
    pred_answer: str | None = None
    seconds: float | None = None  # time in the worker; None when it was killed or never ran
    detail: str | None = None  # why, when the status alone does not say (judge_error: the exception)
    retried: bool = False  # it timed out once and was judged again with a longer budget

    @property
    def correct(self) -> bool | None:
        """An unparseable prediction is wrong: the model gave no answer the verifier can read; so is a match
        without a final answer (see CORRECT_WITHOUT_FINAL)."""
        if self.status == CORRECT:
            return True
        if self.status in (INCORRECT, PRED_UNPARSEABLE, CORRECT_WITHOUT_FINAL):
            return False
        return None

    @property
    def score(self) -> float | None:
        c = self.correct
        return None if c is None else float(c)


@dataclass
class CodeVerdict:
    """Outcome of one program against its problem's tests.

    `failed` names the first failing test. timeout, memory and runtime_error are the program's own failures
    and count as not passing that test; sandbox_error (the sandbox could not run it) is never counted either
    way: score None."""

    status: str
    passed: int = 0
    total: int = 0
    failed_test: int | None = None
    detail: str = ""
    seconds: float = 0.0
    details: list = field(default_factory=list)

    @property
    def correct(self) -> bool | None:
        if self.status == SANDBOX_ERROR:
            return None
        return self.status == PASSED

    @property
    def score(self) -> float | None:
        c = self.correct
        return None if c is None else float(c)

    @property
    def pred_answer(self) -> str | None:
        return None  # a program has no final answer to show; `detail` says what happened

    @property
    def share(self) -> float | None:
        if self.status == SANDBOX_ERROR:
            return None
        return self.passed / self.total if self.total else 0.0


def gold_reason(statuses: list[str]) -> str | None:
    """The drop reason when no sample could be judged against the gold: gold_unparseable, or gold_suspect when the
    gold looks garbled (listed by `verify`, fixed by the user), or None."""
    if not statuses or not all(s in GOLD_BAD_STATUSES for s in statuses):
        return None
    for status in (GOLD_SUSPECT, NOT_JUDGEABLE, NO_GOLD):
        if status in statuses:
            return status
    return GOLD_UNPARSEABLE
