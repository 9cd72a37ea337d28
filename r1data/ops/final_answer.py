"""What a completion's final answer is, and whether it gave one: the text rules the judge applies before and after
math-verify, so that curation counts only answers a model actually committed to.

- Evidence of a final answer: a `\\boxed{}` (or `\\fbox{}`), a phrase such as "the final answer is" or "answer:",
  or a concluding last sentence ("Therefore n is 3.", "So the total is $12$."). Without any of them a match can
  only come from math-verify's fallback to the last number written, which is how a trace cut off mid-reasoning
  gets judged correct: that is `correct_without_final_answer`. A concluding sentence is also what is verified
  (math-verify alone reads "... $f(0)=0$. Therefore n is 3." as 0).
- Multiple choice: when the problem lists lettered options and the gold is a letter, a final answer naming the
  letter (with or without the option's text) or giving the option's value is judged by letter.
- Ordinals ("12^{th}"), "x \\approx 3.14" and currency signs are read as the number.
- Arithmetic left undone: when the gold is a plain number, an answer that never writes it but writes literals joined
  by + - * x \\times \\cdot ("14 + 5" for 19, "450 * 642" for 288900) restates the question; math-verify evaluates
  it and would call it correct, which GRPO learns to exploit within a few steps. Strictly it is incorrect.
  Fractions, powers and roots ("1/2", "2^{10}") are answers and are left alone.
- A gold answer that looks truncated or garbled (unbalanced brackets, a lone operator, a matrix whose rows ran
  together) is suspect: a mismatch against it is `gold_suspect`, never "incorrect".
"""

from __future__ import annotations

import functools
import json
import re

from r1data.ops.answers import last_boxed
from r1data.ops.completions import gold_text

_PHRASE = re.compile(
    r"final answer|the answer is|answer\s*(?:is|:|=)|the (?:result|solution) is|\\boxed|\\fbox|^\W*answer\b",
    re.IGNORECASE | re.MULTILINE,
)
_CUE = re.compile(
    r"^\W*(?:therefore|thus|hence|so|consequently|finally|in conclusion|in total|altogether|overall)\b|"
    r"\b(?:we|I) (?:find|found|get|got|obtain|conclude|have shown)\b|"
    r"(?:\bis|\bare|\bwas|\bequals?|\bgets?|\bhas|\bhave|\bmakes?|=)\s*\$?\s*[-\d\\(]",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!]\s*$|\$\s*$|\\\]\s*$|\)\s*$|\*\*\s*$")
_SUFFIX = r"(?:st|nd|rd|th)"
_ORDINAL = re.compile(
    rf"(\d)\s*(?:\^\s*\{{\s*\\(?:text|mathrm)\s*\{{\s*{_SUFFIX}\s*\}}\s*\}}|\^\s*\{{\s*{_SUFFIX}\s*\}}"
    rf"|\^\s*{_SUFFIX}\b|\\(?:text|mathrm)\s*\{{\s*{_SUFFIX}\s*\}}|{_SUFFIX}\b)"
)
_APPROX = re.compile(r"\\approx|≈")
_CURRENCY = re.compile(r"\\\$\s*(?=\d)")


def _approx(m: re.Match) -> str:
    """ "x \\approx 3.14" reads as "x = 3.14"; after an equation ("x = 1/3 \\approx 0.33") the exact value
    stands and the approximation is left alone."""
    before = m.string[: m.start()]
    formula = re.split(r"\$|\\\(|\\\[|\n", before)[-1]
    return m.group(0) if "=" in formula else "="


# E notation (8.7e8, 3.83e35), as code and physics answers write it: math-verify reads 8.7 \times 10^{8}.
_E_NOTATION = re.compile(r"(?<![\w.\\])(\d+(?:\.\d+)?)[eE]([+-]?\d{1,3})(?![\w.])")


def clean(text: str) -> str:
    """Ordinals, approximations, currency signs and E notation written so that math-verify reads the number."""
    text = _E_NOTATION.sub(r"\1\\times 10^{\2}", text)
    return _CURRENCY.sub("", _APPROX.sub(_approx, _ORDINAL.sub(r"\1", text)))


# What models append after they are done: chat-template tokens (and the role that follows), Minerva's sign-off.
_TRAILER = re.compile(
    r"(?:\s*(?:<\|[A-Za-z_]+\|>|</s>)\s*(?:user|assistant|system)?\s*|\s*I hope (?:it|this) is correct\.?\s*)+$",
    re.IGNORECASE,
)
_TEMPLATE_TOKENS = re.compile(r"(?:\s*(?:<\|[A-Za-z_]+\|>|</s>)\s*(?:user|assistant|system)?\s*)+$")
# A last line "Answer: 33" / "Final answer: 33", or "A: 18" (GSM8K's original model solutions), holding the value.
_ANSWER_LINE = re.compile(
    r"(?:^|\n)[ \t]*(?:\*\*)?(?:(?-i:A)|(?:final[ \t]+)?answer)[ \t]*(?:\*\*)?[ \t]*[:：]"
    r"[ \t]*(?:\*\*)?[ \t]*([^\n]{1,80}?)[ \t]*(?:\*\*)?[ \t]*\.?[ \t]*$",
    re.IGNORECASE,
)
_PROSE = re.compile(r"\\text\s*\{[^{}]*\}|\\(?:begin|end)\s*\{[^{}]*\}|\\[A-Za-z]+|\$|\\\[|\\\]")


def _last_sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    last = lines[-1].strip()
    # The last sentence of the last line (a "." inside $...$ or a decimal does not end a sentence).
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", last)
    return parts[-1]


_EMPTY_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{\s*\}")
_ANSWER_TAG = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL | re.IGNORECASE)
_CLOSED_TAG = re.compile(r"(?:^|[>\n])([^<>\n]+)</answer>\s*$", re.IGNORECASE)
_HASHES = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)
# PRM800K's generator and others end on an answer heading, then the value alone on the last line.
_ANSWER_HEADING = re.compile(
    r"(?:^|\n)[ \t]*(?:#+[ \t]*|\*\*)?(?:final[ \t]+)?answer[ \t]*:?[ \t]*(?:\*\*)?[ \t]*\n+"
    r"[ \t]*([^\n]+?)[ \t]*$",
    re.IGNORECASE,
)


_LITERAL = r"\d+(?:\.\d+)?"
_UNDONE = re.compile(rf"(?<![\w.^/]){_LITERAL}(?:\s*(?:[-+*×x]|\\times|\\cdot)\s*{_LITERAL})+(?![\w^/]|\.\d)")
_ANY_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@functools.lru_cache(maxsize=4096)
def _gold_number(gold: str):  # noqa: ANN202 - a Fraction or None
    from r1data.ops.answers import as_number, normalize_answer

    return as_number(normalize_answer(gold))


def unevaluated_arithmetic(gold: str, answer: str, problem: str | None = None) -> str | None:
    """For a plain-number gold: the arithmetic of literals the committed answer (the last box, else what follows the
    last answer phrase, else the whole answer) wrote instead of the number ("14 + 5" for 19), when the number itself
    is not written there; None otherwise. Given the problem, only arithmetic that restates the problem's own numbers
    counts (the reward hack: "What is 14 + 5?" answered "14 + 5"); a sum of values the completion worked out itself
    ("a + b + c = 11+9+0") is an answer left in a form math-verify evaluates."""
    value = _gold_number(gold)
    if value is None:
        return None
    region = last_boxed(answer)
    if region is None:
        phrases = list(_PHRASE.finditer(answer))
        region = answer[phrases[-1].end() :][:300] if phrases else answer
    undone = list(_UNDONE.finditer(region))
    if not undone:
        return None
    # The number written in the answer, or anywhere after the arithmetic ("5 * 8 = $40 ... started with $60",
    # "the actual calculation result is 142"): the work was done.
    at = answer.rfind(region)
    later = answer[at + undone[-1].end() :] if at >= 0 else ""
    for found in _ANY_NUMBER.findall(region) + _ANY_NUMBER.findall(later):
        try:
            if float(found.replace(",", "")) == float(value):
                return None
        except ValueError:
            continue
    undone = [m.group(0) for m in undone]
    if problem is not None:
        given = {n.replace(",", "") for n in _ANY_NUMBER.findall(problem)}
        if any(literal not in given for literal in re.findall(_LITERAL, undone[-1])):
            return None  # the completion's own values: the work was done
    return undone[-1]


# Closing remarks after the answer: sign-offs, self-checks and comments on the problem. They carry no value, so the
# answer stands before them ("So m + n = 194.\n\nI think that's the answer.").
_CLOSING = re.compile(
    r"^\W*(?:I (?:think|believe|hope|am confident|am sure|'m confident|'m sure)|I'm (?:confident|sure)|"
    r"hope (?:this|that|it) helps|(?:this|the) (?:problem|question|exercise|solution|approach|result) "
    r"(?:demonstrates|shows|illustrates|highlights|tests|requires|involves|uses|is (?:a|an) )|"
    r"this (?:demonstrates|shows|illustrates|highlights)|that(?:'s| is) (?:the|my|our) (?:final )?answer|"
    r"(?:that|this) should be (?:it|correct|right)|let me know|feel free|good luck|done\b|that's (?:it|all)|"
    r"(?:the )?answer (?:is|seems|looks) (?:correct|right|consistent)|everything (?:checks|adds) up|"
    # a remark on the output's own format: "This JSON structure provides ..., followed by the final answer."
    r"(?:this|the)(?: above)? (?:json|yaml|code|output|response|format|structure|object|table)"
    r"(?: (?:structure|object|block|output|format|above)){0,2} "
    r"(?:provides|contains|shows|includes|gives|follows|presents|outlines|breaks|lists|has))",
    re.IGNORECASE,
)
_MATHLIKE = re.compile(r"\d|\$|\\\(|\\\[|\\boxed|\\frac|=")
_BOLD_END = re.compile(r"\*\*\s*\$?([^*\n]{1,60}?)\$?\s*\*\*\s*\.?\s*$")


# "... not in the final answer.", "a mistake of the final answer": the phrase named in passing, not a promise of one.
_MENTION = re.compile(r"\b(?:in|of|to|with|for|from|about|into|on)\s+(?:the|my|our|your|this|that)\s+$", re.IGNORECASE)

# "$\\boxed{12}$ is the final answer", "194 is the answer": the value stands right before the answer phrase.
_VALUE_FIRST = re.compile(
    r"(?:[\d$})]|\*\*)\s*(?:is|was|would be|will be|as)\s+(?:(?:the|our|my)\s+)?(?:final\s+)?$", re.IGNORECASE
)


_JSON_ANSWER = re.compile(r'"(?:final_)?answer"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d[\d.,]*)\s*(?=[,}])')


def _json_answer(text: str) -> str | None:
    """The `answer` of a JSON object the text ends with (ZeroEval's {"reasoning": ..., "answer": ...}, fenced or
    not), or None."""
    tail = text[-4000:]
    if not re.search(r"\}\s*(?:```)?\s*$", tail):
        return None
    found = list(_JSON_ANSWER.finditer(tail))
    if not found:
        return None
    raw = found[-1].group(1)
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    value = str(value).strip()
    return value or None


_JSON_REASONING = re.compile(r'\{\s*"reasoning"\s*:\s*"(.*)"\s*\}\s*(?:```)?\s*$', re.DOTALL)


def _json_reasoning(text: str) -> str | None:
    """The `reasoning` of a JSON object the text ends with when the object has no answer field (ZeroEval's
    {"reasoning": "... Therefore the distance is 32."} with the answer left out): the text the rules then read.
    Models write such objects with raw newlines and LaTeX backslashes, so it is matched, not parsed."""
    found = _JSON_REASONING.search(text[-20000:])
    if found is None or re.search(r'"\s*,\s*"(?:final_)?answer"\s*:', found.group(1)):
        return None
    return found.group(1).replace('\\"', '"').replace("\\n", "\n")


def _chain_end(after: str) -> str | None:
    """The number an equation chain ends on, right after an answer phrase ("is 8! / 24 = 40,320 / 24 = 1680."),
    when there is no box in it; else None."""
    sentence = re.split(r"(?<![\d])[.!?](?!\d)\s|\n", after.strip(), maxsplit=1)[0]
    if sentence.count("=") < 2 or "\\boxed" in sentence or "<" in sentence:
        return None  # one "=" is an answer of its own ("x - 2y + z - 1 = 0"): math-verify reads it
    last = sentence.rsplit("=", 1)[1].strip().rstrip(".").strip().strip("$").strip()
    return last if re.fullmatch(r"-?\d[\d,]*(?:\.\d+)?", last) else None


_TOOL_OUTPUT = re.compile(r"```output\s*\n(.*?)```", re.DOTALL)


def _tool_output_restated(text: str) -> str | None:
    """Tool-integrated reasoning (ToRA, NuminaMath-TIR) ends on the program's output and a sentence that restates
    its value ("```output 60.0``` 60% of the students ..."): that sentence commits to it. None otherwise."""
    blocks = list(_TOOL_OUTPUT.finditer(text))
    if not blocks:
        return None
    after = text[blocks[-1].end() :].strip()
    numbers = re.findall(r"-?\d+(?:\.\d+)?", blocks[-1].group(1))
    if not after or not numbers or "```" in after or len(after) > 300:
        return None
    value = float(numbers[-1])
    stated = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", after.replace(",", ""))]
    return after if stated and stated[-1] == value else None


def strip_closing(text: str) -> str:
    """The text without the closing remarks at its end (paragraphs, then sentences, that carry no value and read
    as a sign-off, a self-check or a comment on the problem)."""
    text = text.rstrip()
    for _ in range(6):
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        if len(paragraphs) > 1 and _is_closing(paragraphs[-1]):
            text = text[: text.rstrip().rfind(paragraphs[-1].strip())].rstrip()
            continue
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z*])", text)
        if len(sentences) > 1 and _is_closing(sentences[-1]):
            text = text[: text.rfind(sentences[-1])].rstrip()
            continue
        break
    return text


def _is_closing(part: str) -> bool:
    first = re.split(r"(?<=[.!?])\s+", part.strip(), maxsplit=1)[0]
    return bool(_CLOSING.search(first)) and not _MATHLIKE.search(part)


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def final_answer_evidence(answer: str) -> tuple[bool, str]:
    """(whether the answer text commits to a final answer, the text to verify). An `<answer>` tag, or a last line
    `#### N` (GSM8K; a markdown heading elsewhere is not one), `A: N` or a bold value: what it holds. A box or an
    answer phrase: the whole text (math-verify prefers them). A concluding last sentence: that sentence alone.
    Closing remarks after the answer ("I think that's the answer.", "This problem demonstrates ...") are skipped."""
    answer = _TEMPLATE_TOKENS.sub("", answer)  # "Answer: 33<|im_end|>": the chat template's tokens are not the answer
    bare = _EMPTY_BOX.sub(" ", _TRAILER.sub("", answer))  # "The answer is \\boxed{}." commits to nothing
    # judged without Minerva's sign-off but verified with it (math-verify knows it); closing remarks go from both
    closed = strip_closing(bare)
    shown = answer if len(closed) >= len(bare.rstrip()) else closed
    bare = closed
    tags = [t.strip() for t in _ANSWER_TAG.findall(answer) if t.strip()]
    if not tags and (closed_tag := _CLOSED_TAG.search(answer)) and _value_alone(closed_tag.group(1)):
        tags = [closed_tag.group(1).strip()]  # "<a> -1 </answer>": the opening tag garbled, the answer closed
    last = _last_line(bare)
    if not tags and (line := _HASHES.fullmatch(last)) and _value_alone(line.group(1)):
        tags = [line.group(1)]
    if not tags and (line := _ANSWER_LINE.search(bare)) and _value_alone(line.group(1)):
        tags = [line.group(1)]
    if not tags and (found := _json_answer(bare)) is not None:
        tags = [found]
    if not tags and (reasoning := _json_reasoning(bare)) is not None:
        bare = shown = reasoning  # a JSON object with its reasoning alone: the reasoning's own ending decides
        last = _last_line(bare)
    heading = None if tags else _ANSWER_HEADING.search(bare)
    if heading and (_value_alone(heading.group(1)) or not _prose(heading.group(1))):
        tags = [heading.group(1)]
    if not tags and not _PHRASE.search(last) and (bold := _BOLD_END.search(last)) and _value_alone(bold.group(1)):
        tags = [bold.group(1)]
    if tags:
        said = tags[-1]
        # A bare value is boxed so that LaTeX extraction reads all of it ("(3, -1)", "5 + 3i"), as golds are.
        return True, gold_text(said) if _value_alone(said) or not _prose(said) else said
    phrases = [m for m in _PHRASE.finditer(bare) if not _MENTION.search(bare[: m.start()][-40:])]
    if phrases and phrases[-1].group(0).lower() != "\\boxed" and (chain := _chain_end(bare[phrases[-1].end() :])):
        return True, gold_text(chain)  # "The final answer is 8! / 24 = 40,320 / 24 = 1680.": the chain's last value
    if phrases:  # the last "the answer is" / box must say something: an empty one is a promise left unkept
        after = re.sub(r"^[\s*:]*(?:is|was|=)?\b", "", bare[phrases[-1].end() :][:300])
        before = re.split(r"(?<![\d])[.!?](?!\d)|\n", bare[: phrases[-1].start()])[-1]
        # "... $\\boxed{12}$ is the final answer." and "m + n = 194 is the answer.": the value came first
        return bool(re.search(r"[\w$\\{]", after) or _VALUE_FIRST.search(before)), shown
    if _value_alone(bare):
        return True, shown  # the answer section is the value alone ("</think> 12", "x = 5 cm", "$$f(y)=y$$")
    sentence = _last_sentence(bare)
    if sentence and _CUE.search(sentence) and _SENTENCE_END.search(sentence) and re.search(r"\d|\\frac|\$", sentence):
        return True, sentence
    if (said := _tool_output_restated(bare)) is not None:
        return True, said
    return False, shown


# ---------------------------------------------------------------------------------------------------------------
# Golds in words: yes/no, true/false, valid/invalid, a sorted word list, a bracket sequence (BIG-Bench, logic data)

_WORDS = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ \t]+[A-Za-z][A-Za-z'’-]*)*")
_BRACKETS = re.compile(r"[()\[\]{}<>]+(?:\s+[()\[\]{}<>]+)*")
_MARKUP = re.compile(r"\\(?:text|textbf|mathrm|mathbf|emph)\s*\{([^{}]*)\}|\*\*|__|[`\"“”$]")


def _plain(text: str) -> str:
    """Text without markup, quotes, end punctuation or case: what a word answer says."""
    text = _MARKUP.sub(lambda m: m.group(1) or "", text)
    return " ".join(text.split()).strip(" .,;:!").lower()


@functools.lru_cache(maxsize=4096)
def words_gold(gold: str | None) -> str | None:
    """A gold that is words or a bracket sequence rather than mathematics, as `_plain` writes it; None otherwise.
    A lone letter is a variable or an option, never words."""
    text = (gold or "").strip()
    if _BRACKETS.fullmatch(text):
        return " ".join(text.split())
    if _WORDS.fullmatch(text) and len(re.sub(r"[^A-Za-z]", "", text)) >= 2:
        return _plain(text)
    return None


def stated_words(answer: str) -> str | None:
    """What a completion commits to, as words: its last `<answer>` tag, its last box, or the rest of the sentence
    after its last answer phrase ("So the answer is ] ] >." -> "] ] >"); None when it states nothing."""
    answer = strip_closing(_TEMPLATE_TOKENS.sub("", answer))
    tags = [t for t in _ANSWER_TAG.findall(answer) if t.strip()]
    if tags:
        said = tags[-1]
        said = last_boxed(said) or said
    elif (boxed := last_boxed(answer)) is not None and _PHRASE.search(answer[-300:] or "") is None:
        said = boxed
    else:
        phrases = [m for m in _PHRASE.finditer(answer) if m.group(0).lower() not in ("\\boxed", "\\fbox")]
        if not phrases:
            return None
        rest = re.sub(r"^[\s*:]*(?:is|was|=)?[\s*:]*", "", answer[phrases[-1].end() :][:400], flags=re.IGNORECASE)
        said = re.split(r"\n|(?<=[a-z'’)\]}>])[.!?](?:\s|$)", rest, maxsplit=1)[0]
        said = last_boxed(said) or said
    said = said.strip()
    return _plain(said) if said else None


def _prose(text: str) -> list[str]:
    """The words of a text outside its math commands and \\text{}."""
    return re.findall(r"[A-Za-z]{2,}", _PROSE.sub(" ", text))


def _value_alone(answer: str) -> bool:
    """The text is one value or expression and nothing else: a short line with at most two words of prose, or a
    single math block ($...$, $$...$$, \\[...\\]) whose \\text{} is the answer itself."""
    text = answer.strip()
    if not text:
        return False
    block = re.fullmatch(r"(\$\$?|\\\[)(.+?)(\$\$?|\\\])\.?", text, re.DOTALL)
    if block and "$" not in block.group(2):
        return True
    words = _prose(text)
    return len(text) <= 40 and "\n" not in text and bool(re.search(r"\d", text)) and len(words) <= 2


# ---------------------------------------------------------------------------------------------------------------
# Multiple choice

# Options A to R: AMC's five, MMLU-Pro's ten, BIG-Bench's up to eighteen.
_OPTION = re.compile(
    r"(?:\\textbf\{\s*)?\(\s*([A-R])\s*\)\s*\}?\s*(?:\\[ ;,!]|\\qquad|\\quad|~|\s)*(.*?)"
    r"(?=(?:\\qquad|\\quad|\s|\$|\\textbf\{)*\(\s*[A-R]\s*\)|\\textbf\{\s*\(\s*[A-R]|$)",
    re.DOTALL,
)
# Options one per line: "A. text", "B) text" (MMLU, MedQA and most evaluation harnesses).
_OPTION_LINE = re.compile(r"^[ \t]*\(?([A-R])[.):][ \t]+(\S.*?)[ \t]*$", re.MULTILINE)
_LETTER = re.compile(
    r"^\s*(?:\*\*)?(?:option\s+)?(?:\\text(?:bf)?\s*\{\s*)?\(?\s*([A-R])\s*\)?\s*\}?(?:\*\*)?"
    r"(?:\s|\\[ ;,!]|\\qquad|\\quad|~|\.|:|,|\}|$)"
)


@functools.lru_cache(maxsize=4096)
def _options(problem: str) -> tuple[tuple[str, str], ...]:
    return tuple(_options_of(problem).items())


def options(problem: str) -> dict[str, str]:
    """The lettered options a problem lists (cached: the k samples of a problem share them)."""
    return dict(_options(problem))


def _options_of(problem: str) -> dict[str, str]:
    """The lettered options of a problem ("(A) 3 (B) 5 ...", AMC's "$\\textbf{(A) }3\\qquad..."), or {}."""
    for pattern in (_OPTION, _OPTION_LINE):
        found = {m.group(1): m.group(2).strip().strip("$").strip() for m in pattern.finditer(problem or "")}
        letters = "".join(sorted(found))
        if len(found) >= 3 and letters == "ABCDEFGHIJKLMNOPQR"[: len(letters)]:
            return found
    return {}


@functools.lru_cache(maxsize=4096)
def choice_letter(text: str | None) -> str | None:
    """The option a final answer names: "(E)", "E", "\\text{(E) Hyperbola}", "\\textbf{(C)}", or None."""
    if not text:
        return None
    m = _LETTER.match(text.strip().strip("$"))
    return m.group(1) if m else None


def answer_choice(answer: str) -> str | None:
    """The text a multiple-choice answer commits to: its `<answer>` tag, its last box, or what follows "answer
    is", or the last line."""
    tags = [t.strip() for t in _ANSWER_TAG.findall(answer) if t.strip()]
    if tags:
        answer = tags[-1]
    boxed = last_boxed(answer)
    if boxed is not None:
        return boxed
    text = answer.strip()
    said = [text[m.end() :].strip() for m in re.finditer(r"answer\s*(?:is|:)\s*", text, re.IGNORECASE)]
    if said:  # the last time it names an option ("The answer is (D). The answer is -39.02°."), else the last
        return next((s for s in reversed(said) if choice_letter(s)), said[-1]) or None
    sentence = _last_sentence(answer)
    letters = re.findall(r"\(([A-R])\)", sentence)
    return f"({letters[-1]})" if letters else None


# ---------------------------------------------------------------------------------------------------------------
# Suspect gold answers

_PAIRS = {"(": ")", "[": "]", "{": "}"}


@functools.lru_cache(maxsize=4096)
def gold_suspect(gold: str | None) -> str | None:
    """Why a gold answer looks truncated or garbled (the reason, for the listing), or None."""
    if gold is None:
        return None
    text = gold.strip()
    if not text:
        return None
    if re.search(r"\\(?:boxed|fbox)\s*\{", text):
        boxed = last_boxed(text)
        if boxed is None:
            return "unbalanced braces (the box never closes)"
        text = boxed.strip()
    elif len(_prose(text)) > 4 or len(text) > 200:
        return None  # a worked solution, not an answer: these rules are for answers
    if re.fullmatch(r"[()\[\]{}<>]+(?:\s+[()\[\]{}<>]+)*", text):
        return None  # a sequence of brackets is the answer itself (BIG-Bench's Dyck languages), not a broken one
    bare = re.sub(r"\\[{}]|\\left|\\right", "", text)
    depth = 0
    for ch in bare:  # an interval may close a "[" with ")": round and square count together
        depth += ch in "([" and 1 or ch in ")]" and -1 or 0
        if depth < 0:
            return "unbalanced brackets"
    braces = 0
    for ch in bare:
        braces += ch == "{" and 1 or ch == "}" and -1 or 0
        if braces < 0:
            return "unbalanced braces"
    if depth or braces:
        return "unbalanced brackets"
    if re.search(r"[(\[{,]\s*[+*/^=]\s*\d|[+\-*/^=]\s*[)\]},]|^[+*/^=]|[+\-*/^=]\s*$", text):
        return "a lone operator (a term dropped?)"
    matrix = re.search(r"\\begin\{[pbv]?matrix\}(.*?)\\end\{[pbv]?matrix\}", text, re.DOTALL)
    if matrix:
        rows = [r for r in matrix.group(1).split("\\\\") if r.strip()]
        widths = {len(r.split("&")) for r in rows}
        cells = [c for r in rows for c in r.split("&")]
        if len(widths) > 1 or any(re.search(r"-?\d+\s+-?\d+", c) for c in cells):
            return "matrix rows run together (a missing \\\\ ?)"
    return None
