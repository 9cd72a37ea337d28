"""Reward and check functions, shared by every step that judges and by `r1data train grpo`.

Each reward is one `RewardSpec`: its scoring function and what it needs (the gold answer, the tests, the
judge's verdicts, token lengths, think handling). Training, `verify --checks` and the column checks before a
run all read the spec, so adding a reward is one function and one spec here.

`get_reward(name, judge=None, **options)` gives a function with TRL's signature,

    fn(completions: list, **columns) -> list[float | None]

`completions` are strings or chat-message lists; columns arrive as keyword arguments (the gold answer under
`answer`, a code problem's tests under `tests`). None means "cannot judge" and is never turned into 0: TRL
skips None rewards, `r1data verify` writes null, pass rates leave them out of the denominator.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from r1data import schema
from r1data.judge.verdict import CodeVerdict
from r1data.ops.completions import completion_text
from r1data.ops.quality import count_tokens, format_ok, language_share, repetition_share

Reward = Callable[..., list[float | None]]
PASS_FAIL, ALL_TESTS = "pass_fail", "all_tests"


def _lengths(completions: Sequence[Any], completion_ids: Sequence[Sequence[int]] | None) -> list[int]:
    if completion_ids is not None:
        return [len(ids) for ids in completion_ids]
    return [count_tokens(completion_text(c)) for c in completions]


def accuracy(completions: Sequence[Any], verdicts: Sequence[Any]) -> list[float | None]:
    """1.0 if the final answer (after `</think>`; math-verify prefers the last `\\boxed{}`) equals the gold
    `answer`, else 0.0 (an unparseable prediction is 0.0); None when the gold cannot be parsed or the check timed
    out or crashed. Code problems (rows with `tests`) score 1.0 when the program passes every test."""
    return [v.score for v in verdicts]


def format_reward(
    completions: Sequence[Any], think_prefilled: bool = False, answer_tags: bool = False, think_format: str = "auto"
) -> list[float | None]:
    """1.0 for `<think>…</think>` followed by a non-empty answer (or Bespoke's closed thought and solution blocks),
    else 0.0 (`think_prefilled` for R1-Distill templates, `answer_tags` for open-r1's `<answer>…</answer>`)."""
    return [float(format_ok(completion_text(c), think_prefilled, answer_tags, think_format)) for c in completions]


def language_consistency(
    completions: Sequence[Any], language: str = "en", think_prefilled: bool = False, think_format: str = "auto"
) -> list[float | None]:
    """DeepSeek-R1's share of target-language words in the chain of thought (`language`: en, zh, ja, ko, ru, ...;
    by script). None when the thought has no words."""
    return [language_share(completion_text(c), language, think_prefilled, think_format) for c in completions]


def overlong(
    completions: Sequence[Any],
    completion_ids: Sequence[Sequence[int]] | None = None,
    max_tokens: int = 4096,
    cache_tokens: int = 512,
) -> list[float | None]:
    """DAPO's soft overlong penalty: 0 up to max_tokens - cache_tokens, linear to -1 at max_tokens, -1 beyond
    (token counts from TRL's `completion_ids`, else words and punctuation)."""
    if not 0 < cache_tokens <= max_tokens:
        raise ValueError("overlong needs 0 < cache_tokens <= max_tokens")
    safe = max_tokens - cache_tokens
    return [
        0.0 if n <= safe else -1.0 if n > max_tokens else (safe - n) / cache_tokens
        for n in _lengths(completions, completion_ids)
    ]


def repetition(completions: Sequence[Any], ngram: int = 3, max_penalty: float = 1.0) -> list[float | None]:
    """Minus the share of repeated word n-grams, times max_penalty: 0 for text that never repeats itself."""
    return [-max_penalty * repetition_share(completion_text(c), ngram) for c in completions]


def cosine(
    completions: Sequence[Any],
    verdicts: Sequence[Any],
    completion_ids: Sequence[Sequence[int]] | None = None,
    max_tokens: int = 4096,
    min_value_correct: float = 0.5,
    max_value_correct: float = 1.0,
    min_value_wrong: float = -1.0,
    max_value_wrong: float = -0.5,
) -> list[float | None]:
    """Length-scaled accuracy (Yeo et al. 2025; as open-r1): correct answers go from max_value_correct (short) to
    min_value_correct (at max_tokens); wrong ones from min_value_wrong (short) to max_value_wrong, so a long
    wrong answer is penalised less than a short one. None where accuracy is None."""
    out: list[float | None] = []
    for v, n in zip(verdicts, _lengths(completions, completion_ids), strict=True):
        if v.correct is None:
            out.append(None)
            continue
        shrink = (1 + math.cos(math.pi * min(n, max_tokens) / max_tokens)) / 2
        lo, hi = (min_value_correct, max_value_correct) if v.correct else (max_value_wrong, min_value_wrong)
        out.append(lo + (hi - lo) * shrink)
    return out


def length(
    completions: Sequence[Any],
    verdicts: Sequence[Any],
    prompts: Sequence[Any] | None = None,
    completion_ids: Sequence[Sequence[int]] | None = None,
) -> list[float | None]:
    """Kimi 1.5's group length reward: lambda = 0.5 - (L - min L) / (max L - min L) within each prompt's group;
    lambda if correct, min(0, lambda) if not. Groups come from `prompts` (TRL passes them), else one group."""
    lengths = _lengths(completions, completion_ids)
    keys = [repr(p) for p in prompts] if prompts is not None else [""] * len(completions)
    bounds: dict[str, tuple[int, int]] = {}
    for k, n in zip(keys, lengths, strict=True):
        lo, hi = bounds.get(k, (n, n))
        bounds[k] = (min(lo, n), max(hi, n))
    out: list[float | None] = []
    for v, k, n in zip(verdicts, keys, lengths, strict=True):
        lo, hi = bounds[k]
        lam = 0.0 if hi == lo else 0.5 - (n - lo) / (hi - lo)
        out.append(None if v.correct is None else lam if v.correct else min(0.0, lam))
    return out


def code(completions: Sequence[Any], verdicts: Sequence[Any]) -> list[float | None]:
    """Share of the problem's tests the program passes (the last ```python block after the reasoning, run in the
    sandbox); None when the sandbox could not run it (never 0) or the row has no tests."""
    return [v.share if isinstance(v, CodeVerdict) else None for v in verdicts]


def binary_code(completions: Sequence[Any], verdicts: Sequence[Any]) -> list[float | None]:
    """1.0 when the program passes every test, else 0.0 (stops at the first failing test); None when the sandbox
    could not run it or the row has no tests."""
    return [v.score if isinstance(v, CodeVerdict) else None for v in verdicts]


def code_format(
    completions: Sequence[Any],
    think_prefilled: bool = False,
    language: str = "python",
    require_think: bool = True,
    think_format: str = "auto",
) -> list[float | None]:
    """1.0 for a closed think block (unless require_think is off) then a fenced ```language block that, for
    Python, parses; else 0.0."""
    import ast

    from r1data.ops.code import extract_code

    out: list[float | None] = []
    for c in completions:
        if require_think and not format_ok(completion_text(c), think_prefilled, fmt=think_format):
            out.append(0.0)
            continue
        src = extract_code(c, language, think_prefilled, fmt=think_format)
        ok = src is not None
        if ok and language == "python":
            try:
                ast.parse(src)
            except (SyntaxError, ValueError):
                ok = False
        out.append(float(ok))
    return out


@dataclass(frozen=True)
class RewardSpec:
    """A reward and what it needs."""

    name: str
    fn: Callable[..., list[float | None]]
    needs_gold: bool = False  # the `answer` column (or tests, for code rows)
    needs_tests: bool = False  # the `tests` column
    judged: str | None = None  # verdicts from the judge: pass_fail (stop at the first failing test) or all_tests
    think: bool = False  # reads the completion around its think block: takes think_prefilled
    length_limit: bool = False  # has max_tokens: training sets it to max_completion_length

    @property
    def help(self) -> str:
        return " ".join((self.fn.__doc__ or "").split())

    @property
    def options(self) -> list[str]:
        """The settings it takes (`reward_options` in a recipe, flags of `verify`)."""
        skip = {"completions", "verdicts", "completion_ids", "prompts"}
        own = [p for p in inspect.signature(self.fn).parameters if p not in skip]
        judged = ["think_prefilled", "think_format"] if self.judged else []
        code = ["language"] if self.needs_tests else []
        return list(dict.fromkeys([*own, *judged, *code]))


REWARDS: dict[str, RewardSpec] = {
    spec.name: spec
    for spec in (
        RewardSpec("accuracy", accuracy, needs_gold=True, judged=PASS_FAIL, think=True),
        RewardSpec("format", format_reward, think=True),
        RewardSpec("language_consistency", language_consistency, think=True),
        RewardSpec("overlong", overlong, length_limit=True),
        RewardSpec("repetition", repetition),
        RewardSpec("cosine", cosine, needs_gold=True, judged=PASS_FAIL, think=True, length_limit=True),
        RewardSpec("length", length, needs_gold=True, judged=PASS_FAIL, think=True),
        RewardSpec("code", code, needs_tests=True, judged=ALL_TESTS, think=True),
        RewardSpec("binary_code", binary_code, needs_tests=True, judged=PASS_FAIL, think=True),
        RewardSpec("code_format", code_format, think=True),
    )
}


def get_reward(name: str, judge: Any = None, **options: Any) -> Reward:
    """A reward by name with its options bound, in TRL's signature (e.g. get_reward("overlong", max_tokens=8192)).
    Judged rewards use `judge` (default: the process's `default_judge()`), or verdicts passed as `verdicts=`."""
    if name not in REWARDS:
        raise KeyError(f"unknown check '{name}'; choose from {', '.join(REWARDS)}")
    spec = REWARDS[name]
    params = set(inspect.signature(spec.fn).parameters)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise ValueError(f"reward {name}: unknown option(s) {', '.join(unknown)}; it takes {', '.join(spec.options)}")

    def reward(completions: Sequence[Any], verdicts: Sequence[Any] | None = None, **columns: Any) -> list:
        kwargs = {k: v for k, v in (columns | options).items() if k in params}
        if spec.judged:
            if verdicts is None:  # training: a batch the judge could not judge at all stops the run
                verdicts = _verdicts(spec, completions, columns, options, judge)
                _stop_if_all_failed(name, verdicts)
            if len(verdicts) != len(completions):
                raise ValueError(f"{len(verdicts)} verdicts for {len(completions)} completions")
            kwargs["verdicts"] = verdicts
        return spec.fn(list(completions), **kwargs)

    reward.__name__ = reward.__qualname__ = name  # TRL logs rewards by __name__
    return reward


def _stop_if_all_failed(name: str, verdicts: Sequence[Any]) -> None:
    """A timeout or crash is None (TRL leaves it out), never 0; a batch of nothing but those stops training."""
    from r1data.judge.exported import ERRORS, JudgeFailing

    failed = [v for v in verdicts if getattr(v, "status", None) in ERRORS]
    if len(verdicts) > 1 and len(failed) == len(verdicts):
        raise JudgeFailing(
            f"reward {name}: all {len(verdicts)} completions of the batch failed to be judged "
            f"({failed[0].status}: {failed[0].detail or 'no detail'}); stopping rather than training "
            "on nothing"
        )


def _verdicts(spec: RewardSpec, completions: Sequence[Any], columns: dict, options: dict, judge: Any) -> list:
    """The judge's verdicts, built as every step builds them (judge/inputs.py): the same golds (tests, every
    acceptable answer, unjudgeable golds), the problem text (multiple choice) and the same reading."""
    from r1data.judge.inputs import Reading, golds_from_columns, judge_completions, problems_from_columns

    answer, tests = columns.get(schema.ANSWER), columns.get(schema.TESTS)
    if spec.needs_tests and tests is None:
        raise ValueError(f"{spec.name} needs the tests: pass them as tests=[...] (the `tests` column)")
    if answer is None and tests is None:
        raise ValueError(f"{spec.name} needs the gold answers: pass them as answer=[...] (the `answer` column)")
    if judge is None:
        from r1data.judge import default_judge

        judge = default_judge(lenient=bool(options.get("lenient", False)))
    n = len(completions)
    reading = Reading(
        think_prefilled=bool(options.get("think_prefilled", False)),
        think_format=options.get("think_format", "auto"),
        lenient=bool(getattr(judge, "lenient", False)),
    )
    return judge_completions(
        judge,
        golds_from_columns(n, columns),
        completions,
        reading,
        problems=problems_from_columns(n, columns),
        stop_on_failure=spec.judged == PASS_FAIL,
        language=options.get("language", "python"),
    )
