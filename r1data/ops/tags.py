"""Problem types that rule-based verification cannot judge, found by rules on the problem text and its gold answer.

Curation pipelines drop problems whose answers cannot be checked by rule (OpenThoughts' math filter, Big-Math,
Skywork-OR1, Qwen3's data card): proofs, multiple choice (a guessable letter), several answers in one problem,
problems that depend on a figure that is not there, yes/no answers (a coin flip) and golds that are not a closed
form. Each tag's rule, in the order of `TAGS`:

- proof: the problem asks to prove, show or demonstrate a statement ("Prove that", "Show that ... for all n"),
  or its gold says it is a proof. "Show your work" and "as shown" are not proofs.
- multiple_choice: lettered options ((A)..., AMC's \\textbf{(A)}...), "which of the following" with listed
  options, "enter the letter(s) of ...", or a gold that is an option letter.
- multi_part: separately marked parts ((a) ... (b), (i) ... (ii), (1) ... (2) at sentence starts, "Part 1 ...
  Part 2", "part (a)"), counted outside $math$ so f(a) and f(b) are not parts; or a gold with marked parts.
- needs_figure: a reference to a figure, diagram, picture, graph, chart or table that the problem depends on
  ("shown below", "in the diagram", "the table below", "pictured") with no figure in the text: an inline [asy]
  figure, a tabular/array, a markdown table or an image link is present, not missing.
- yes_no: a gold that is yes/no/true/false; without a gold, a question that opens "Is there", "Does there
  exist", "Determine whether", "Can ...?".
- no_answer: no gold, or a gold that is not a closed form: a sentence (more than four words of prose outside
  math), or "proof"/"see solution"/"omitted". A number, expression, interval, set, tuple or a short word answer
  ("odd", "Monday", "\\text{(C)}") is a closed form.
- code: a test suite in the row, or a programming task in the text ("write a function", Input/Output format
  sections, sample input, stdin, a code block or a def).

Measured against a hand-labelled sample of real MATH and GSM8K problems: benchmarks/bench_tags.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TAGS = ("proof", "multiple_choice", "multi_part", "needs_figure", "yes_no", "no_answer", "code")

_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\\[.*?\\\]|\\\(.*?\\\)", re.DOTALL)
_FIGURE_PRESENT = re.compile(
    r"\[asy\]|\\begin\{(?:tabular|array|tikzpicture)\}|^\s*\|.*\|.*\|\s*$|<img\b|!\[[^\]]*\]\(|\\includegraphics",
    re.MULTILINE | re.IGNORECASE,
)
_FIGURE_NOUN = r"(?:figure|fig\.|diagram|picture|graph|chart|table|drawing|illustration|image|map|grid|plot|sketch)"
# Nouns that are also mathematical or everyday objects ("the graph of y = x^2", "on the table", "on a map") count
# only with a pointer ("the graph below", "shown in the table", "in the table"); these count after in/see/from.
_PAPER_NOUN = r"(?:figure|fig\.|diagram|picture|chart|illustration|image)"
_WHERE = rf"(?:below|here|at (?:the )?(?:right|left)|in (?:the |this )?(?:[a-z-]+ )?{_FIGURE_NOUN})"
_FIGURE_REF = re.compile(
    rf"\b(?:as\s+(?:shown|pictured|depicted|illustrated)\b"
    rf"|(?:is|are|was|were)\s+(?:shown|pictured|depicted|illustrated)(?=\s*(?:[.;:)]|$|{_WHERE}))"
    rf"|(?:shown|drawn|given|represented|depicted|labeled|labelled|marked)\s+{_WHERE}"
    rf"|(?:in|from|see|using|use|according\s+to)\s+(?:the|this)\s+(?:following\s+|accompanying\s+|given\s+|adjacent\s+)?"
    rf"(?:[a-z-]+\s+)?{_PAPER_NOUN}s?\b"
    rf"|in\s+(?:the|this)\s+(?:following\s+|accompanying\s+|given\s+)?tables?\b"
    rf"|(?:the|this)\s+(?:[a-z-]+\s+)?{_FIGURE_NOUN}s?\s+(?:below|above|shows?|at (?:the )?(?:right|left))"
    rf"|(?:following|accompanying|adjacent)\s+(?:[a-z-]+\s+)?{_FIGURE_NOUN}s?\b|pictured\b|\bsee\s+(?:figure|fig\.|diagram))",
    re.IGNORECASE,
)
# An instruction to prove: "prove" anywhere; "show/demonstrate/establish that" where a clause starts (not "the
# records show that", "his report card needs to show that").
_CLAUSE = r"(?:^|[.;:!?)]\s*|\b(?:and|then|also|hence|please|first|now|further|furthermore)\s*,?\s*)"
_PROOF = re.compile(
    rf"\b(?:prove|proving|disprove)\b|{_CLAUSE}(?:show|demonstrate|establish|deduce|verify)\s+(?:that|why)\b"
    r"|\bgive\s+a\s+proof\b|\bjustify\s+(?:that|why)\b",
    re.IGNORECASE | re.MULTILINE,
)
_PROOF_GOLD = re.compile(
    r"^\W*(?:proof|qed|see\s+(?:the\s+)?(?:proof|solution|explanation)|omitted|n/?a|\\blacksquare|not\s*found|"
    r"no\s+answer)\W*$",
    re.IGNORECASE,
)
_LETTER_GOLD = re.compile(
    r"^\s*\$?\s*(?:\\text(?:bf)?\s*\{\s*)?\(?\s*[A-E]\s*\)?\s*\}?(?:\s*[,\s]\s*\(?[A-E]\)?)*\s*\$?\s*$"
)
_MC_TEXT = re.compile(
    r"\b(?:enter|provide|give|choose|select|pick|write)\s+(?:the\s+|a\s+)?(?:correct\s+)?letters?\b|"
    r"\blist\s+of\s+letters\b|\banswer\s+as\s+\(?A\)?,\s*\(?B\)?|\bletters?\s+of\s+the\s+correct\b|\bwhich\s+of\s+the\s+following\b.*\(\s*[A-E1-5]\s*\)",
    re.IGNORECASE | re.DOTALL,
)
_OPTION_MARK = re.compile(r"(?:\\textbf\{\s*|\\mathrm\{\s*|\s|^|\$)\(\s*([A-E])\s*\)")
_OPTION_LINE = re.compile(r"^\s*(?:\$?\\bullet\$?|[-*•])?\s*\(?([A-E])\s*[.):：．]\s*\S", re.MULTILINE)
_ASY = re.compile(r"\[asy\].*?(?:\[/asy\]|$)", re.DOTALL)
_PART_MARK = re.compile(r"(?:^|(?<=[\s.:;?!]))\(?\s*(a|b|c|d|i{1,3}|iv|I{1,3}|IV|1|2|3|4)\s*\)(?=\s|$)", re.MULTILINE)
_PART_WORD = re.compile(r"\bpart\s*\(?\s*(?:[a-d1-4]|i{1,3})\b\s*\)?", re.IGNORECASE)
_PART_PAIRS = (("a", "b"), ("i", "ii"), ("1", "2"))
_YES_NO_GOLD = re.compile(r"^\W*(?:yes|no|true|false)\W*$", re.IGNORECASE)
_YES_NO_QUESTION = re.compile(
    r"(?:^|[.!?]\s+)(?:is\s+(?:there|it\s+(?:possible|true))|are\s+there|does\s+there\s+exist|do\s+there\s+exist|"
    r"determine\s+(?:whether|if)|decide\s+(?:whether|if)|can\s+\w+[^.?]*\?)",
    re.IGNORECASE,
)
_CODE = re.compile(
    r"\b(?:write|implement|complete|create)\s+(?:a|an|the)\s+(?:\w+\s+){0,2}(?:function|program|class|method|script|"
    r"solution\s+in\s+\w+)\b|-----\s*input\s*-----|\binput\s+format\b|\boutput\s+format\b|\bsample\s+input\b|"
    r"\bstandard\s+input\b|\bstdin\b|```|^\s*def\s+\w+\s*\(|\bclass\s+Solution\b",
    re.IGNORECASE | re.MULTILINE,
)


def _prose(text: str) -> str:
    """The text with its math masked (so "f(a) + f(b)" and "(a, b)" are not parts), the same length as the text so
    that positions agree: each span becomes "MATH" padded with spaces ("MMM" when shorter)."""
    return _MATH.sub(
        lambda m: ("MATH" + " " * (len(m.group(0)) - 4)) if len(m.group(0)) >= 4 else "M" * len(m.group(0)), text
    )


def _words(gold: str) -> list[str]:
    """Prose words of a gold answer: \\text{} contents count, LaTeX commands do not."""
    text = re.sub(r"\\text(?:bf|rm|it)?\s*\{([^{}]*)\}", r" \1 ", gold)
    text = re.sub(r"\\[A-Za-z]+", " ", text)
    return re.findall(r"[A-Za-z]{2,}", text)


def is_proof(problem: str, gold: str | None) -> bool:
    return bool(_PROOF.search(_prose(problem)) or (gold and _PROOF_GOLD.match(gold)))


def is_multiple_choice(problem: str, gold: str | None) -> bool:
    from r1data.ops.final_answer import options

    problem = _ASY.sub(" ", problem)  # "(A)" in a figure's code is a point, not an option
    if options(problem) or _MC_TEXT.search(problem):
        return True
    letters = {m.group(1) for m in _OPTION_MARK.finditer(problem)}
    if {"A", "B", "C"} <= letters or {"A", "B", "C"} <= set(_OPTION_LINE.findall(problem)):
        return True
    return bool(gold and _LETTER_GOLD.match(gold) and re.search(r"\(\s*[A-E]\s*\)", problem))


_ASKS = re.compile(
    r"\?|(?:^|[.;:!]\s+)\s*(?:find|compute|determine|calculate|evaluate|prove|show|express|give|"
    r"write|solve|simplify|list|state|sketch|draw|what|how|which)\b",
    re.IGNORECASE,
)


def _asking_parts(text: str) -> bool:
    """Two marked parts that each ask something: "(a) Find ... (b) What ...". Numbered or lettered conditions
    ("(1) a is positive, (2) the equation has integer roots?") are one question."""
    marks = list(_PART_MARK.finditer(text))
    for first, second in _PART_PAIRS:
        at = {m.group(1).lower(): m for m in reversed(marks)}
        if first in at and second in at and at[first].start() < at[second].start():
            a, b = at[first], at[second]
            after_b = next((m.start() for m in marks if m.start() > b.start()), len(text))
            if _ASKS.search(text[a.end() : b.start()]) and _ASKS.search(text[b.end() : after_b]):
                # Marked items followed by the one question about them ("... c) Do you play? How many answer
                # combinations are possible?") are data, not parts.
                last = marks[-1].end()
                end = text.find("\n\n", last)
                return end < 0 or not _ASKS.search(text[end:])
    return False


def is_multi_part(problem: str, gold: str | None) -> bool:
    text = _prose(_ASY.sub(" ", problem))
    if _asking_parts(text):
        return True
    if len({m.group(0).lower().replace(" ", "") for m in _PART_WORD.finditer(text)}) >= 2:
        return True
    gold_marks = {m.group(1).lower() for m in _PART_MARK.finditer(gold or "")}
    return any(a in gold_marks and b in gold_marks for a, b in _PART_PAIRS)


_GRAPH_OF = re.compile(
    r"\b(?:graph|plot)s?\s+of\s+(?:the\s+|an?\s+|this\s+|that\s+|its\s+)?(?:function|equation|"
    r"line|parabola|curve|polynomial|circle|MATH|M{1,3}\b)",
    re.IGNORECASE,
)


def needs_figure(problem: str) -> bool:
    if _FIGURE_PRESENT.search(problem):
        return False
    text = _prose(problem)
    # "the graph of $y = f(x)$ ... the holes in the graph": a graph the text defines is not a missing picture.
    defined_graph = bool(_GRAPH_OF.search(text))
    for m in _FIGURE_REF.finditer(text):
        if defined_graph and re.search(r"graph|plot", m.group(0), re.IGNORECASE):
            continue
        if re.search(r"below|following", text[m.start() : m.end() + 8], re.IGNORECASE) and _DISPLAY.search(
            problem[m.end() :]
        ):
            continue  # "the numbers shown below" followed by them, written out
        return True
    return False


_DISPLAY = re.compile(r"\\begin\{|\$\$|\\\[|(?:^\s*(?:\$\\bullet\$|[-*•]|\d+[.)]).*\n?){2,}", re.MULTILINE)


def is_yes_no(problem: str, gold: str | None) -> bool:
    if gold is not None and gold.strip():
        return bool(_YES_NO_GOLD.match(re.sub(r"\\text(?:bf|rm)?\s*\{([^{}]*)\}|\\boxed\{([^{}]*)\}", r"\1\2", gold)))
    return bool(_YES_NO_QUESTION.search(_prose(problem)))


def has_no_answer(gold: str | None) -> bool:
    if gold is None or not str(gold).strip():
        return True
    gold = str(gold)
    return bool(_PROOF_GOLD.match(gold)) or len(_words(gold)) > 4


def is_code(problem: str, has_tests: bool) -> bool:
    return has_tests or bool(_CODE.search(problem))


def tag(problem: str, gold: str | None = None, has_tests: bool = False) -> list[str]:
    """The tags of one problem, in the order of TAGS."""
    problem = problem or ""
    found = {
        "proof": is_proof(problem, gold),
        "multiple_choice": is_multiple_choice(problem, gold),
        "multi_part": is_multi_part(problem, gold),
        "needs_figure": needs_figure(problem),
        "yes_no": is_yes_no(problem, gold),
        # A code problem's answer is its tests, not a closed form: it never counts as no_answer.
        "no_answer": not has_tests and not (is_code(problem, False) and not gold) and has_no_answer(gold),
        "code": is_code(problem, has_tests),
    }
    return [t for t in TAGS if found[t]]


def check_tags(names: Iterable[str]) -> list[str]:
    """Tag names as given to --drop, checked: unknown names raise ValueError naming the vocabulary."""
    out = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        if name not in TAGS:
            raise ValueError(f"unknown tag '{name}': the tags are {', '.join(TAGS)}")
        out.append(name)
    return out
