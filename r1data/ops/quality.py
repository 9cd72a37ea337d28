"""Text measures of a trace: its format, its language, its repetition, its length. Pure functions, shared by
rejection-sample's quality filters (DeepSeek-R1's: one language, no loops, a proper think block), the reward
functions (`r1data.judge.rewards`) and stats."""

from __future__ import annotations

import re

from r1data.ops.traces import END_SOLUTION, THINK_CLOSE, THINK_OPEN, detect, split

_WORD = re.compile(r"\w+|[^\w\s]")

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
    "en": ("latin",),
    "fr": ("latin",),
    "de": ("latin",),
    "es": ("latin",),
    "it": ("latin",),
    "pt": ("latin",),
    "zh": ("han",),
    "ja": ("han", "kana"),
    "ko": ("hangul",),
    "ru": ("cyrillic",),
    "uk": ("cyrillic",),
    "ar": ("arabic",),
    "hi": ("devanagari",),
    "el": ("greek",),
}
_SCRIPT_RE = re.compile("|".join(f"(?P<{k}>{v})" for k, v in _SCRIPTS.items()))
# LaTeX commands and single letters (variables) are not words of any language.
_LATEX = re.compile(r"\\[A-Za-z]+|\$[^$]*\$")


def count_tokens(text: str) -> int:
    """Words and punctuation marks: the length measure when no tokenizer is given."""
    return len(_WORD.findall(text))


def format_ok(text: str, think_prefilled: bool = False, answer_tags: bool = False, fmt: str = "auto") -> bool:
    """`<think>…</think>` followed by a non-empty answer (with `answer_tags`, inside `<answer>…</answer>`).
    With `think_prefilled` the chat template opened `<think>` (R1-Distill), so the text starts inside it and
    must not open another. A Bespoke/OpenThoughts trace: a closed thought block, then a closed solution block."""
    if (detect(text, think_prefilled) if fmt == "auto" else fmt) == "bespoke":
        thought, answer, closed, truncated = split(text, think_prefilled, "bespoke")
        return bool(closed and not truncated and thought.strip() and answer.strip() and END_SOLUTION in text)
    body = text if think_prefilled else text.lstrip()
    if not think_prefilled:
        if not body.startswith(THINK_OPEN):
            return False
        body = body[len(THINK_OPEN) :]
    if THINK_OPEN in body or body.count(THINK_CLOSE) != 1:
        return False
    think, answer = body.split(THINK_CLOSE)
    answer = answer.strip()
    if answer_tags:
        m = re.fullmatch(r"<answer>(.*?)</answer>", answer, flags=re.DOTALL)
        answer = m.group(1).strip() if m else ""
    return bool(think.strip() and answer)


def language_share(text: str, language: str = "en", think_prefilled: bool = False, fmt: str = "auto") -> float | None:
    """Share of the chain of thought's words written in the target language's script(s): target words / all
    words in any known script, after dropping LaTeX and one-letter Latin tokens (variable names). None when the
    thought has no words at all."""
    if language not in LANGUAGE_SCRIPTS:
        raise ValueError(f"language '{language}' unknown; choose one of {', '.join(sorted(LANGUAGE_SCRIPTS))}")
    target = set(LANGUAGE_SCRIPTS[language])
    think, answer, _, _ = split(text, think_prefilled, fmt)
    cot = _LATEX.sub(" ", think or answer)
    hits = mine = 0
    for m in _SCRIPT_RE.finditer(cot):
        if m.lastgroup == "latin" and len(m.group()) == 1:
            continue
        hits += 1
        mine += m.lastgroup in target
    return mine / hits if hits else None


def repetition_share(text: str, ngram: int = 3) -> float:
    """Share of repeated word n-grams (1 - distinct/total): 0 for text that never repeats itself, towards 1 for
    text stuck in a loop. Texts shorter than one n-gram: 0."""
    words = text.lower().split()
    grams = [tuple(words[i : i + ngram]) for i in range(len(words) - ngram + 1)]
    return 0.0 if not grams else 1 - len(set(grams)) / len(grams)
