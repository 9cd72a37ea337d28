"""An adjudicated set of long chain-of-thought traces in the styles of several model families, for the judge's
agreement test (tests/judge/test_final_answers.py) and benchmarks/bench_verify.py --adjudicated.

How it was adjudicated: every trace is built from a template whose truth is fixed by construction (the value it
commits to is the gold or a wrong value; it is cut off or not; the gold is intact or garbled), and each template
was read and labelled by hand once: `correct` (commits to the gold), `incorrect` (commits to another value),
`no_final_answer` (cut off, or never commits: curation must not count it correct even if the gold appears in the
reasoning), `gold_suspect` (the gold itself is garbled: neither right nor wrong). The problems are the demo
generator's (r1data.demo), with their computed answers, plus a few multiple-choice problems written here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

CORRECT, INCORRECT, NO_FINAL, SUSPECT = "correct", "incorrect", "no_final_answer", "gold_suspect"


@dataclass(frozen=True)
class Case:
    style: str
    problem: str
    gold: str
    completion: str
    finish_reason: str | None
    truth: str


def _reasoning(rng: random.Random, gold: str, wrong: str, mention_gold: bool = True) -> str:
    steps = [
        "Let me set up the quantities carefully before computing anything.",
        f"A first guess would be {wrong}, but that ignores one of the conditions.",
        "Wait, I should double-check the arithmetic step by step.",
        f"Recomputing gives {gold}, which is consistent with every condition."
        if mention_gold
        else "Recomputing, the conditions are consistent.",
        "Let me verify once more by plugging the value back in.",
    ]
    rng.shuffle(steps[:3])
    return "\n\n".join(steps)


def _styles(rng: random.Random, problem: str, gold: str, wrong: str) -> list[tuple[str, str, str | None, str]]:
    r = _reasoning(rng, gold, wrong)
    return [
        ("r1_boxed", f"<think>\n{r}\n</think>\n\nThe answer is $\\boxed{{{gold}}}$.", "stop", CORRECT),
        ("r1_boxed_wrong", f"<think>\n{r}\n</think>\n\nThe answer is $\\boxed{{{wrong}}}$.", "stop", INCORRECT),
        ("r1_cut_in_thought", f"<think>\n{r}\n\nSo the total would be", "length", NO_FINAL),
        ("distill_prefilled", f"{r}\n</think>\n\n**Answer:** $\\boxed{{{gold}}}$", "stop", CORRECT),
        (
            "plain_cut_gold_mentioned",
            f"We start. {r}\n\nNext we need to add the remaining part and",
            "length",
            NO_FINAL,
        ),
        ("plain_cut_no_finish_reason", f"We start. {r}\n\nNext we need to add the remaining part and", None, NO_FINAL),
        (
            "unboxed_conclusion",
            f"First, $f(0)=0$ and the base case holds. {r}\n\nTherefore the answer is {gold}.",
            "stop",
            CORRECT,
        ),
        ("unboxed_conclusion_wrong", f"We note $f(0)=0$. {r}\n\nTherefore the value is {wrong}.", "stop", INCORRECT),
        ("stray_number_ending", f"Computing, $g(0)=0$. {r}\n\nTherefore n is {gold}.", "stop", CORRECT),
        (
            "final_answer_phrase",
            f"{r}\n\nFinal Answer: The final answer is ${gold}$. I hope it is correct.",
            "stop",
            CORRECT,
        ),
        ("gsm8k_hashes", f"{r}\n#### {gold}", "stop", CORRECT),
        (
            "bespoke",
            "<|begin_of_thought|>\n\n" + r + "\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\n"
            f"The result is $\\boxed{{{gold}}}$.\n\n<|end_of_solution|>",
            "stop",
            CORRECT,
        ),
        ("bespoke_cut", "<|begin_of_thought|>\n\n" + r + "\n\nHmm, maybe", "length", NO_FINAL),
        ("qwq_final_answer_block", f"Alright, {r}\n\n**Final Answer**\n\\[ \\boxed{{{gold}}} \\]", "stop", CORRECT),
        (
            "two_boxes_last_wins",
            f"<think>{r}</think> At first $\\boxed{{{wrong}}}$, corrected: $\\boxed{{{gold}}}$.",
            "stop",
            CORRECT,
        ),
        ("answer_tags", f"<think>\n{r}\n</think>\n<answer>{gold}</answer>", "stop", CORRECT),
        ("answer_tags_wrong", f"<think>\n{r}\n</think>\n<answer>{wrong}</answer>", "stop", INCORRECT),
    ]


MULTIPLE_CHOICE = [
    (
        "Which conic section is given by $x^2 - y^2 = 1$? (A) Line (B) Circle (C) Parabola (D) Ellipse (E) Hyperbola",
        "(E)",
        "Hyperbola",
        "(D)",
    ),
    (
        "What is $7 + 8$? $\\textbf{(A) }13\\qquad\\textbf{(B) }14\\qquad\\textbf{(C) }15\\qquad\\textbf{(D) }16\\qquad"
        "\\textbf{(E) }17$",
        "\\textbf{(C)}",
        "15",
        "(B)",
    ),
    ("Which number is prime? (A) 21 (B) 27 (C) 33 (D) 37 (E) 39", "D", "37", "(A)"),
    ("How many edges does a cube have? (A) 6 (B) 8 (C) 10 (D) 12 (E) 14", "(D)", "12", "(B)"),
]


def _multiple_choice(rng: random.Random) -> list[Case]:
    out = []
    for problem, gold, value, wrong in MULTIPLE_CHOICE:
        letter = gold.strip("()").replace("\\textbf{", "").rstrip("}").strip("()")
        r = _reasoning(rng, value, wrong)
        out += [
            Case(
                "mc_letter_with_text",
                problem,
                gold,
                f"<think>{r}</think> $\\boxed{{\\text{{({letter}) {value}}}}}$",
                "stop",
                CORRECT,
            ),
            Case("mc_letter", problem, gold, f"{r}\n\nThe answer is ({letter}).", "stop", CORRECT),
            Case("mc_value", problem, gold, f"<think>{r}</think> $\\boxed{{{value}}}$", "stop", CORRECT),
            Case("mc_wrong_letter", problem, gold, f"<think>{r}</think> $\\boxed{{{wrong}}}$", "stop", INCORRECT),
        ]
    return out


def _forms(rng: random.Random) -> list[Case]:
    """Answers written around their number: ordinals, units, approximations, fractions and decimals, and garbled
    golds."""
    r = _reasoning(rng, "12", "11")
    p = "Answer the question."
    return [
        Case("ordinal", p, "12", f"<think>{r}</think> She is in the $\\boxed{{12^{{th}}}}$ grade.", "stop", CORRECT),
        Case("ordinal_text", p, "12", f"<think>{r}</think> $\\boxed{{12\\text{{th}}}}$", "stop", CORRECT),
        Case("ordinal_wrong", p, "12", f"<think>{r}</think> $\\boxed{{11^{{th}}}}$", "stop", INCORRECT),
        Case("units", p, "12", f"<think>{r}</think> $\\boxed{{12 \\text{{ cm}}}}$", "stop", CORRECT),
        Case("units_gold", p, "12 \\text{ cm}", f"<think>{r}</think> $\\boxed{{12}}$", "stop", CORRECT),
        Case("approx", p, "3.14", f"<think>{r}</think> So $x \\approx 3.14$.", "stop", CORRECT),
        Case("currency_gold", p, "\\$18", f"<think>{r}</think> $\\boxed{{18}}$", "stop", CORRECT),
        Case("fraction_decimal", p, "\\frac{1}{2}", f"<think>{r}</think> $\\boxed{{0.5}}$", "stop", CORRECT),
        Case(
            "garbled_dropped_variable", p, "(+5)(b+2)", f"<think>{r}</think> $\\boxed{{(a+5)(b+2)}}$", "stop", SUSPECT
        ),
        Case(
            "garbled_matrix",
            p,
            "\\begin{pmatrix} 1 & 2 3 & 4 \\end{pmatrix}",
            f"<think>{r}</think> $\\boxed{{\\begin{{pmatrix}} 1 & 2 \\\\ 3 & 4 \\end{{pmatrix}}}}$",
            "stop",
            SUSPECT,
        ),
        Case(
            "garbled_unbalanced", p, "\\frac{3}{4", f"<think>{r}</think> $\\boxed{{\\frac{{3}}{{4}}}}$", "stop", SUSPECT
        ),
    ]


# Competition-style answers (written here) with a near miss each: the forms MATH and AIME golds take.
LATEX_ANSWERS = [
    ("\\frac{3}{7}", "\\frac{4}{7}"),
    ("2\\sqrt{5}", "\\sqrt{5}"),
    ("(-\\infty, 2]", "(-\\infty, 2)"),
    ("x^2 + 1", "x^2 - 1"),
    ("\\frac{\\pi}{6}", "\\frac{\\pi}{3}"),
    ("(3, -1)", "(-1, 3)"),
    ("-\\frac{1}{2}", "\\frac{1}{2}"),
    ("1, 4", "1, 3"),
    ("\\begin{pmatrix} 2 \\\\ -1 \\end{pmatrix}", "\\begin{pmatrix} -1 \\\\ 2 \\end{pmatrix}"),
    ("204", "206"),
    ("5 + 3i", "5 - 3i"),
    ("0.25", "0.5"),
]


def cases(n_problems: int = 22, seed: int = 7) -> list[Case]:
    """The adjudicated set: every style on n demo problems and on competition-style answers, plus multiple choice
    and answer forms."""
    from r1data.demo.data import WORD_TEMPLATES

    rng = random.Random(seed)
    out: list[Case] = []
    for _ in range(n_problems):
        template = rng.choice(WORD_TEMPLATES)
        problem, _, answer, _ = template(rng)
        wrong = str(int(answer) + rng.choice((-3, -2, -1, 1, 2, 5)))
        for style, completion, finish, truth in _styles(rng, problem, answer, wrong):
            out.append(Case(style, problem, answer, completion, finish, truth))
    for gold, wrong in LATEX_ANSWERS:
        problem = "Find the value described in the problem statement and give it in simplest form."
        for style, completion, finish, truth in _styles(rng, problem, f"${gold}$", f"${wrong}$"):
            out.append(
                Case(
                    "latex_" + style,
                    problem,
                    gold,
                    completion.replace("\\boxed{$", "\\boxed{")
                    .replace("$}", "}")
                    .replace("<answer>$", "<answer>")
                    .replace("$</answer>", "</answer>")
                    .replace("$$", "$"),
                    finish,
                    truth,
                )
            )
    return out + _multiple_choice(rng) + _forms(rng)


def agrees(status: str, truth: str) -> bool:
    """Does a judge's status say what the adjudication says (for curation)?"""
    return {
        CORRECT: status == "correct",
        INCORRECT: status in ("incorrect", "pred_unparseable"),
        NO_FINAL: status in ("correct_without_final_answer", "pred_unparseable", "incorrect"),
        SUSPECT: status in ("gold_suspect", "gold_unparseable"),
    }[truth]
