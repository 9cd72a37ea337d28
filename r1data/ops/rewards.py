"""Reward and check functions with TRL's signature, shared by every step that judges.

    fn(completions: list, **columns) -> list[float | None]

`completions` are strings or chat-message lists; columns arrive as keyword arguments (the gold
answer under `answer`). None means "cannot judge" and is never turned into 0: TRL skips None
rewards, `r1data verify` writes null, pass rates leave them out of the denominator.

Pick functions by name with `get_reward("format", think_prefilled=True)`; `REWARDS` lists them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from r1data.ops.completions import THINK_CLOSE, THINK_OPEN, completion_text, split_think

Reward = Callable[..., list[float | None]]

_WORD = re.compile(r"\w+|[^\w\s]")


def _judge(
    completions: Sequence[Any],
    answer: Sequence[Any] | None,
    think_prefilled: bool,
    verdicts: list | None = None,
    tests: Sequence[Any] | None = None,
    columns: dict | None = None,
) -> list:
    """Verdicts for the completions: given ones (a caller that already judged), else the shared judge's.
    Rows with tests (code problems) are judged by running them; the others against `answer`."""
    if verdicts is not None:
        if len(verdicts) != len(completions):
            raise ValueError(f"{len(verdicts)} verdicts for {len(completions)} completions")
        return verdicts
    from r1data.judge import shared_judge

    if answer is None and tests is None:
        raise ValueError("accuracy needs the gold answers: pass them as answer=[...] (the `answer` column)")
    if answer is None:
        answer = [None] * len(completions)
    if tests is not None:
        suites = _suites(tests, columns or {})
        answer = [s if s is not None else a for s, a in zip(suites, answer, strict=True)]
    judge = shared_judge()
    if judge.think_prefilled != think_prefilled:
        from r1data.judge import configure_shared_judge

        judge = configure_shared_judge(workers=judge.workers, timeout=judge.timeout, think_prefilled=think_prefilled)
    return judge.verify(list(answer), list(completions))


def accuracy(
    completions: Sequence[Any],
    answer: Sequence[Any] | None = None,
    think_prefilled: bool = False,
    verdicts: list | None = None,
    tests: Sequence[Any] | None = None,
    **columns: Any,
) -> list[float | None]:
    """1.0 if the final answer (after `</think>`; math-verify prefers the last `\\boxed{}`) equals the
    gold `answer`, else 0.0 (an unparseable prediction is 0.0). None when the gold cannot be parsed or
    the check timed out or crashed. Gold first: math-verify's comparison is asymmetric. Code problems
    (rows with `tests`) score 1.0 when the program passes every test (as binary_code)."""
    return [v.score for v in _judge(completions, answer, think_prefilled, verdicts, tests, columns)]


def format_reward(
    completions: Sequence[Any], think_prefilled: bool = False, answer_tags: bool = False, **_: Any
) -> list[float | None]:
    """1.0 for `<think>…</think>` followed by a non-empty answer, else 0.0.

    `think_prefilled`: the chat template already opened `<think>` (R1-Distill), so the completion
    starts inside it and must not open another. `answer_tags`: the answer must be
    `<answer>…</answer>` (open-r1's format)."""
    out: list[float | None] = []
    for c in completions:
        text = completion_text(c)
        body = text if think_prefilled else text.lstrip()
        if not think_prefilled:
            if not body.startswith(THINK_OPEN):
                out.append(0.0)
                continue
            body = body[len(THINK_OPEN) :]
        if THINK_OPEN in body or body.count(THINK_CLOSE) != 1:
            out.append(0.0)
            continue
        think, answer = body.split(THINK_CLOSE)
        answer = answer.strip()
        if answer_tags:
            m = re.fullmatch(r"<answer>(.*?)</answer>", answer, flags=re.DOTALL)
            answer = m.group(1).strip() if m else ""
        out.append(1.0 if think.strip() and answer else 0.0)
    return out


# Scripts whose words count as each language (DeepSeek-R1's language-consistency reward is the
# share of target-language words in the chain of thought). Script-level: English and French share one.
_SCRIPTS = {
    "latin": r"[A-Za-z\u00C0-\u024F]+",
    "han": r"[\u4E00-\u9FFF\u3400-\u4DBF]",  # each character is a word
    "kana": r"[\u3040-\u30FF]+",
    "hangul": r"[\uAC00-\uD7AF]+",
    "cyrillic": r"[\u0400-\u04FF]+",
    "arabic": r"[\u0600-\u06FF]+",
    "devanagari": r"[\u0900-\u097F]+",
    "greek": r"[\u0370-\u03FF]+",
}
LANGUAGE_SCRIPTS = {
    "en": ("latin",), "fr": ("latin",), "de": ("latin",), "es": ("latin",), "it": ("latin",), "pt": ("latin",),
    "zh": ("han",), "ja": ("han", "kana"), "ko": ("hangul",), "ru": ("cyrillic",), "uk": ("cyrillic",),
    "ar": ("arabic",), "hi": ("devanagari",), "el": ("greek",),
}  # fmt: skip
_SCRIPT_RE = re.compile("|".join(f"(?P<{k}>{v})" for k, v in _SCRIPTS.items()))
# LaTeX commands and single letters (variables) are not words of any language.
_LATEX = re.compile(r"\\[A-Za-z]+|\$[^$]*\$")


def language_consistency(
    completions: Sequence[Any], language: str = "en", think_prefilled: bool = False, **_: Any
) -> list[float | None]:
    """Share of the chain of thought's words written in the target language's script(s):
    target words / all words in any known script, after dropping LaTeX and one-letter Latin tokens
    (variable names). None when the thought has no words at all."""
    if language not in LANGUAGE_SCRIPTS:
        raise ValueError(f"language '{language}' unknown; choose one of {', '.join(sorted(LANGUAGE_SCRIPTS))}")
    target = set(LANGUAGE_SCRIPTS[language])
    out: list[float | None] = []
    for c in completions:
        text = completion_text(c)
        think, answer, _ = split_think(text, think_prefilled)
        cot = _LATEX.sub(" ", think or answer)
        hits = mine = 0
        for m in _SCRIPT_RE.finditer(cot):
            if m.lastgroup == "latin" and len(m.group()) == 1:
                continue
            hits += 1
            mine += m.lastgroup in target
        out.append(mine / hits if hits else None)
    return out


def count_tokens(text: str) -> int:
    """Words and punctuation marks: the length measure when no tokenizer is given."""
    return len(_WORD.findall(text))


def _lengths(completions: Sequence[Any], completion_ids: Sequence[Sequence[int]] | None) -> list[int]:
    if completion_ids is not None:
        return [len(ids) for ids in completion_ids]
    return [count_tokens(completion_text(c)) for c in completions]


def overlong(
    completions: Sequence[Any],
    completion_ids: Sequence[Sequence[int]] | None = None,
    max_tokens: int = 4096,
    cache_tokens: int = 512,
    **_: Any,
) -> list[float | None]:
    """DAPO's soft overlong penalty, on token counts (`completion_ids` as TRL passes them, else
    words and punctuation): 0 up to max_tokens - cache_tokens, then falling linearly to -1 at
    max_tokens, and -1 beyond."""
    if not 0 < cache_tokens <= max_tokens:
        raise ValueError("overlong needs 0 < cache_tokens <= max_tokens")
    safe = max_tokens - cache_tokens
    out: list[float | None] = []
    for n in _lengths(completions, completion_ids):
        out.append(0.0 if n <= safe else -1.0 if n > max_tokens else (safe - n) / cache_tokens)
    return out


def repetition(completions: Sequence[Any], ngram: int = 3, max_penalty: float = 1.0, **_: Any) -> list[float | None]:
    """Minus the share of repeated word n-grams (1 - distinct/total), times max_penalty: 0 for text
    that never repeats itself, towards -max_penalty for text stuck in a loop. Texts shorter than one
    n-gram score 0."""
    out: list[float | None] = []
    for c in completions:
        words = completion_text(c).lower().split()
        grams = [tuple(words[i : i + ngram]) for i in range(len(words) - ngram + 1)]
        out.append(0.0 if not grams else -max_penalty * (1 - len(set(grams)) / len(grams)))
    return out


def cosine(
    completions: Sequence[Any],
    answer: Sequence[Any] | None = None,
    completion_ids: Sequence[Sequence[int]] | None = None,
    max_tokens: int = 4096,
    min_value_correct: float = 0.5,
    max_value_correct: float = 1.0,
    min_value_wrong: float = -1.0,
    max_value_wrong: float = -0.5,
    think_prefilled: bool = False,
    verdicts: list | None = None,
    **_: Any,
) -> list[float | None]:
    """Length-scaled accuracy (Yeo et al. 2025, "Demystifying long CoT"; as open-r1):
    r = lo + (hi - lo) * (1 + cos(pi * L / max_tokens)) / 2. Correct answers go from
    max_value_correct (short) to min_value_correct (at max_tokens); wrong ones from min_value_wrong
    (short) to max_value_wrong, so a long wrong answer is penalised less than a short one. None
    where accuracy is None."""
    verdicts = _judge(completions, answer, think_prefilled, verdicts)
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
    answer: Sequence[Any] | None = None,
    prompts: Sequence[Any] | None = None,
    completion_ids: Sequence[Sequence[int]] | None = None,
    think_prefilled: bool = False,
    verdicts: list | None = None,
    **_: Any,
) -> list[float | None]:
    """Kimi 1.5's length reward, within each group of completions of one prompt:
    lambda = 0.5 - (L - min L) / (max L - min L); correct answers get lambda, wrong ones min(0, lambda).
    All equal lengths give 0. Groups come from `prompts` (TRL passes them), else one group."""
    verdicts = _judge(completions, answer, think_prefilled, verdicts)
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


def _suites(tests: Sequence[Any], columns: dict) -> list:
    """Parsed TestSuites from a tests column (JSON text, any known layout, or suites already); None
    where a row has no tests. Row fields a layout may need (entry_point, fn_name) come from columns."""
    from r1data.ops.code import TestsError, TestSuite, parse_tests

    extra = {k: columns[k] for k in ("fn_name", "entry_point", "test_setup_code") if isinstance(columns.get(k), list)}
    out: list = []
    for i, t in enumerate(tests):
        if t is None or isinstance(t, TestSuite):
            out.append(t)
            continue
        try:
            out.append(parse_tests(t, {k: v[i] for k, v in extra.items()}))
        except (TestsError, ValueError, TypeError):
            out.append(TestSuite("stdio", ()))  # unreadable tests: sandbox_error, never a wrong answer
    return out


def _code_verdicts(completions: Sequence[Any], tests: Sequence[Any] | None, stop: bool, think_prefilled: bool,
                   language: str, columns: dict) -> list:  # fmt: skip
    if tests is None:
        raise ValueError("code rewards need the tests: pass them as tests=[...] (the `tests` column)")
    from r1data.codejudge import shared_code_judge

    judge = shared_code_judge()
    if judge.think_prefilled != think_prefilled or judge.language != language:
        judge = shared_code_judge(workers=judge.workers, limits=judge.limits, language=language,
                                  think_prefilled=think_prefilled)  # fmt: skip
    suites = _suites(tests, columns)
    return judge.verify(suites, list(completions), stop_on_failure=stop)


def code(
    completions: Sequence[Any],
    tests: Sequence[Any] | None = None,
    think_prefilled: bool = False,
    language: str = "python",
    **columns: Any,
) -> list[float | None]:
    """Share of the problem's tests the program passes (the last ```python block after the reasoning,
    run in the sandbox). A timeout, memory or runtime error fails that test; None when the sandbox
    could not run it (never 0: a broken sandbox must not look like a wrong answer) or the row has no
    tests."""
    return [v.share for v in _code_verdicts(completions, tests, False, think_prefilled, language, columns)]


def binary_code(
    completions: Sequence[Any],
    tests: Sequence[Any] | None = None,
    think_prefilled: bool = False,
    language: str = "python",
    **columns: Any,
) -> list[float | None]:
    """1.0 when the program passes every test, else 0.0 (stops at the first failing test); None when
    the sandbox could not run it or the row has no tests."""
    return [v.score for v in _code_verdicts(completions, tests, True, think_prefilled, language, columns)]


def code_format(
    completions: Sequence[Any],
    think_prefilled: bool = False,
    language: str = "python",
    require_think: bool = True,
    **_: Any,
) -> list[float | None]:
    """1.0 for a closed think block (unless require_think is off) followed by a fenced ```language block
    that, for Python, parses; else 0.0."""
    import ast

    from r1data.ops.code import extract_code

    out: list[float | None] = []
    for c in completions:
        if require_think and not format_reward([c], think_prefilled=think_prefilled)[0]:
            out.append(0.0)
            continue
        src = extract_code(c, language, think_prefilled)
        if src is None:
            out.append(0.0)
            continue
        if language == "python":
            try:
                ast.parse(src)
            except (SyntaxError, ValueError):
                out.append(0.0)
                continue
        out.append(1.0)
    return out


REWARDS: dict[str, Reward] = {
    "accuracy": accuracy,
    "format": format_reward,
    "language_consistency": language_consistency,
    "overlong": overlong,
    "repetition": repetition,
    "cosine": cosine,
    "length": length,
    "code": code,
    "binary_code": binary_code,
    "code_format": code_format,
}
NEEDS_GOLD = {"accuracy", "cosine", "length"}
NEEDS_TESTS = {"code", "binary_code"}


def get_reward(name: str, **options: Any) -> Reward:
    """A reward by name, with its options bound (e.g. get_reward("overlong", max_tokens=8192))."""
    if name not in REWARDS:
        raise KeyError(f"unknown check '{name}'; choose from {', '.join(REWARDS)}")
    fn = partial(REWARDS[name], **options) if options else REWARDS[name]
    if options:
        fn.__name__ = name  # type: ignore[attr-defined]  # TRL logs rewards by __name__
    return fn
