"""Strict final answers: a match counts only when the completion commits to it; multiple-choice letters, answers
written around their number, and garbled golds. Literal cases for each rule, then the adjudicated set."""

from collections import Counter

import pytest

from r1data.judge import Judge
from r1data.judge.verdict import (
    CORRECT,
    CORRECT_WITHOUT_FINAL,
    GOLD_SUSPECT,
    GOLD_UNPARSEABLE,
    INCORRECT,
    PRED_UNPARSEABLE,
)
from r1data.ops.final_answer import choice_letter, clean, final_answer_evidence, gold_suspect, options
from tests.judge.adjudicated import agrees, cases

REASONING = "Let me think. The first try gives 7, then 12 after fixing the carry. Checking: 12 works."


@pytest.fixture(scope="module")
def judge():
    with Judge(workers=2) as j:
        yield j


def status(judge: Judge, gold: str, completion: str, problem: str | None = None, cut: bool = False) -> str:
    return judge.verify([gold], [completion], problems=[problem], truncated=[cut])[0].status


# --- no final answer --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "completion,cut",
    [
        (f"<think>\n{REASONING}\n\nSo the total would be", True),  # cut off in thought, finish_reason length
        (f"{REASONING}\n\nNext we add the remaining part and", False),  # no end: trails off mid-sentence
        (f"<|begin_of_thought|>\n{REASONING}\n\nHmm, maybe", False),  # Bespoke thought never closed
        (f"<think>{REASONING}</think> The answer is $\\boxed{{12}}$.", True),  # finished text, but finish=length
    ],
    ids=["cut-length", "trails-off", "bespoke-open", "finish-length"],
)
def test_a_match_without_a_committed_final_answer_is_not_correct(judge, completion, cut):
    """A thought that never closed has no answer section at all (pred_unparseable); otherwise the match is reported
    as correct_without_final_answer. Neither counts as correct."""
    got = status(judge, "12", completion, cut=cut)
    assert got == (PRED_UNPARSEABLE if completion.startswith("<") and "</" not in completion else CORRECT_WITHOUT_FINAL)


def test_lenient_judging_counts_them(judge):
    with Judge(workers=1, lenient=True) as lenient:
        assert status(lenient, "12", f"{REASONING}\n\nNext we add the remaining part and") == CORRECT
    assert status(judge, "12", f"{REASONING}\n\nNext we add the remaining part and") == CORRECT_WITHOUT_FINAL


@pytest.mark.parametrize(
    "ending",
    [
        "The answer is $\\boxed{12}$.",
        "Final Answer: The final answer is $12$. I hope it is correct.",
        "**Final Answer**\n\\[ \\boxed{12} \\]",
        "Therefore the answer is 12.",
        "So the total is $12$.",
        "#### 12",
        "<answer>12</answer>",
        "12",
    ],
)
def test_committed_endings_are_correct(judge, ending):
    assert status(judge, "12", f"<think>{REASONING}</think>\n\n{ending}") == CORRECT


def test_a_concluding_sentence_is_what_is_verified():
    """math-verify alone reads "$f(0)=0$ ... Therefore n is 3." as 0: the concluding sentence is verified."""
    text = "First, $f(0)=0$ and the base case holds. Therefore n is 3."
    assert final_answer_evidence(text) == (True, "Therefore n is 3.")


def test_therefore_n_is_3_after_f0_is_0(judge):
    text = "First, $f(0)=0$ and the base case holds.\n\nTherefore n is 3."
    assert status(judge, "3", text) == CORRECT
    assert status(judge, "0", text) == INCORRECT


def test_chat_template_tokens_after_the_answer_do_not_hide_it():
    assert final_answer_evidence("Therefore the probability is 2/3. <|im_start|>user")[0]
    assert final_answer_evidence("Therefore the probability is 2/3.<|eot_id|>")[0]


# --- multiple choice --------------------------------------------------------------------------------------------

CONIC = "Which conic is $x^2 - y^2 = 1$? (A) Line (B) Circle (C) Parabola (D) Ellipse (E) Hyperbola"
AMC = "What is $7+8$? $\\textbf{(A) }13\\qquad\\textbf{(B) }14\\qquad\\textbf{(C) }15\\qquad\\textbf{(D) }16$"


def test_options_are_read_from_plain_and_amc_layouts():
    assert options(CONIC)["E"] == "Hyperbola"
    assert options(AMC) == {"A": "13", "B": "14", "C": "15", "D": "16"}
    assert options("Compute (a) the sum (b) the product.") == {}
    assert choice_letter("\\text{(E) Hyperbola}") == "E" and choice_letter("\\textbf{(C)}") == "C"


@pytest.mark.parametrize(
    "problem,gold,answer,expected",
    [
        (CONIC, "(E)", "$\\boxed{\\text{(E) Hyperbola}}$", CORRECT),
        (CONIC, "(E)", "The answer is (E).", CORRECT),
        (CONIC, "E", "$\\boxed{E}$", CORRECT),
        (CONIC, "(E)", "$\\boxed{\\text{Hyperbola}}$", CORRECT),
        (CONIC, "(E)", "$\\boxed{\\text{(D) Ellipse}}$", INCORRECT),
        (AMC, "\\textbf{(C)}", "$\\boxed{15}$", CORRECT),
        (AMC, "\\textbf{(C)}", "$\\boxed{\\textbf{(C) }15}$", CORRECT),
        (AMC, "\\textbf{(C)}", "$\\boxed{14}$", INCORRECT),
    ],
    ids=["letter+text", "letter-phrase", "bare-letter", "option-text", "wrong-letter", "value", "amc-box", "wrong"],
)
def test_multiple_choice_is_judged_by_letter(judge, problem, gold, answer, expected):
    assert status(judge, gold, f"<think>{REASONING}</think> {answer}", problem) == expected


# --- numbers with words around them -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gold,answer,expected",
    [
        ("12", "She is in the $\\boxed{12^{th}}$ grade.", CORRECT),
        ("12", "$\\boxed{12\\text{th}}$", CORRECT),
        ("12", "$\\boxed{11^{th}}$", INCORRECT),
        ("12", "$\\boxed{12 \\text{ cm}}$", CORRECT),
        ("12 \\text{ cm}", "$\\boxed{12}$", CORRECT),
        ("3.14", "So $x \\approx 3.14$.", CORRECT),
        ("\\$18", "$\\boxed{18}$", CORRECT),
        ("18", "The total is $\\boxed{\\$18}$.", CORRECT),
    ],
    ids=["ordinal", "ordinal-text", "ordinal-wrong", "units", "units-gold", "approx", "currency-gold", "currency"],
)
def test_numbers_written_with_words(judge, gold, answer, expected):
    assert status(judge, gold, f"<think>{REASONING}</think> {answer}") == expected


def test_an_approximation_after_an_exact_value_leaves_the_exact_value():
    assert clean("$x \\approx 3.14$") == "$x = 3.14$"
    assert clean("$x = 1/3 \\approx 0.33$") == "$x = 1/3 \\approx 0.33$"


# --- garbled golds ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gold,why",
    [
        ("(+5)(b+2)", "lone operator"),
        ("\\frac{3}{4", "unbalanced"),
        ("\\begin{pmatrix} 1 & 2 3 & 4 \\end{pmatrix}", "matrix"),
        ("2x + ", "lone operator"),
    ],
)
def test_garbled_golds_are_suspect(gold, why):
    assert why in gold_suspect(gold)


@pytest.mark.parametrize(
    "gold", ["[0, 1)", "(-\\infty, 2]", "\\{1, 2\\}", "-5", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"]
)
def test_intact_golds_are_not_suspect(gold):
    assert gold_suspect(gold) is None


def test_real_golds_are_not_suspect(shared_data):
    """No gold of GSM8K or MATH (21,792 answers) is flagged."""
    from r1data.io import read_inputs

    for name in ("gsm8k_train", "gsm8k_test", "math_train", "math_test"):
        golds = read_inputs([shared_data / f"{name}.jsonl"]).records.get_column("answer").cast(str).to_list()
        assert [g for g in golds if gold_suspect(g)] == [], name


@pytest.mark.parametrize(
    "gold,answer",
    [("(+5)(b+2)", "$\\boxed{(a+5)(b+2)}$"), ("\\frac{3}{4", "$\\boxed{\\frac{3}{4}}$"), ("(+5)(b+2)", "$\\boxed{7}$")],
    ids=["dropped-variable", "unbalanced-match", "mismatch"],
)
def test_a_verdict_against_a_garbled_gold_is_gold_suspect_never_incorrect(judge, gold, answer):
    verdict = judge.verify([gold], [f"<think>{REASONING}</think> {answer}"])[0]
    assert verdict.status == GOLD_SUSPECT and verdict.correct is None and "garbled" in verdict.detail


# --- the adjudicated set ----------------------------------------------------------------------------------------


def test_agreement_with_the_adjudicated_set(judge):
    """605 long chain-of-thought traces in 17 model styles plus multiple choice and answer forms, each labelled
    by hand (tests/judge/adjudicated.py says how). Target: at least 0.997."""
    adjudicated = cases()
    verdicts = judge.verify(
        [c.gold for c in adjudicated],
        [c.completion for c in adjudicated],
        problems=[c.problem for c in adjudicated],
        truncated=[c.finish_reason == "length" for c in adjudicated],
    )
    wrong = [
        (c.style, c.truth, v.status)
        for c, v in zip(adjudicated, verdicts, strict=True)
        if not agrees(v.status, c.truth)
    ]
    agreement = 1 - len(wrong) / len(adjudicated)
    print(f"\nadjudicated agreement {agreement:.4f} on {len(adjudicated)}: {Counter(c.truth for c in adjudicated)}")
    assert agreement >= 0.997, Counter(wrong).most_common(10)


def test_an_empty_box_commits_to_nothing(judge):
    """Seen from SmolLM2 on the demo's sums: "13 + 14 = 27  The answer is \\boxed{}." math-verify reads 27 from
    the equation; the answer the model promised is empty."""
    assert status(judge, "27", "13 + 14 = 27  The answer is \\boxed{}.") == CORRECT_WITHOUT_FINAL
    assert status(judge, "27", "13 + 14 = 27  The answer is \\boxed{27}.") == CORRECT


@pytest.mark.parametrize(
    "gold,completion,expected",
    [
        ("19", "14 + 5", INCORRECT),  # the echo GRPO learned on "What is 14 + 5?" (bench_curation, seed 0)
        ("288900", "Your answer: 450 * 642", INCORRECT),
        ("99630", "162 * 615.", INCORRECT),
        ("12", "The answer is $3 \\times 4$.", INCORRECT),
        ("19", "14 + 5 = 19", CORRECT),  # worked and written
        ("288900", "The answer is 288,900.", CORRECT),
        ("0.5", "The answer is 1/2.", CORRECT),  # a fraction is an answer
        ("1024", "The answer is $2^{10}$.", CORRECT),  # so is a power
        ("x + 1", "The answer is $x+1$.", CORRECT),  # not a plain-number gold: no rule
    ],
)
def test_arithmetic_left_undone_is_not_an_answer(judge, gold, completion, expected):
    """math-verify evaluates "14 + 5" and calls it 19: a reward GRPO games within a few steps by restating the
    question. Strictly it is incorrect; lenient judging keeps math-verify's verdict."""
    assert status(judge, gold, completion) == expected
    if expected == INCORRECT:
        with Judge(workers=1, lenient=True) as lenient:
            assert lenient.verify([gold], [completion])[0].status == CORRECT


# --- how models really end (issue 21): each form seen in real long-CoT output ------------------------------------


@pytest.mark.parametrize(
    "gold,ending",
    [
        ("194", "So m + n = 194.\n\nI think that's the answer."),  # committed in words after the value
        ("12", "Therefore, $\\boxed{12}$ is the final answer."),  # a box, then "is the final answer."
        ("3", "**Conclusion:** The number of solutions is 3.\n\nThis problem demonstrates the pigeonhole principle."),
        ("194", "Adding them, m + n = 25 + 169 = **194**"),  # a bold final value
        (
            "236",
            "#### Case 1: \\( n = 5 \\)\nThis case gives 120.\n\n#### Case 2: \\( n = 6 \\)\nThis gives 116, "
            "so the total is $\\boxed{236}$.",
        ),  # markdown headings are not GSM8K answers
        ("18", "She makes 9 * 2 = $18 every day.\nA: 18"),  # GSM8K's original solutions end on "A: N"
        ("(-2,18) and (8,38)", "The first point is $\\boxed{(-2,18)}$. The other one is $\\boxed{(8,38)}$."),
        ("-1", "so the power is \\(\\cos(3\\pi) = -1\\).\n\nThus, \n\\[\n<a> -1 </answer>"),  # a garbled opening tag
        (
            "310",
            '```json\n{\n    "reasoning": "Each of 5 days brings 62, so 5 * 62 = 310.",\n'
            '    "answer": "$310"\n}\n```'
            "\n\nThis JSON structure provides a step-by-step reasoning, followed by the final answer.",
        ),
        (
            "310",
            '{"reasoning": "5 * 62 = 310.", "answer": "310"}\n\nThe JSON object above gives the reasoning and '
            "the final answer.",
        ),
    ],
    ids=[
        "words-after",
        "box-then-text",
        "closing-remark",
        "bold",
        "heading",
        "a-line",
        "one-box-per-part",
        "closing-tag-only",
        "json-then-format-remark",
        "json-then-object-remark",
    ],
)
def test_real_endings_are_committed_answers(judge, gold, ending):
    assert status(judge, gold, f"<think>{REASONING}</think>\n\n{ending}") == CORRECT


@pytest.mark.parametrize(
    "gold,ending",
    [
        ("12", "Let me verify each case once more. The final answer is"),  # a promise left unkept
        ("12", "#### Case 1: \\( n = 12 \\)\nNow the second case"),  # a heading, then it trails off
        ("236", "So the total is 236.\n\nI think that's the answer. Wait, let me recheck the case n = 7, which gives"),
    ],
    ids=["unkept-promise", "heading-only", "recheck-trails-off"],
)
def test_cut_off_endings_stay_uncommitted(judge, gold, ending):
    assert final_answer_evidence(f"{REASONING}\n\n{ending}")[0] is False
    assert status(judge, gold, f"{REASONING}\n\n{ending}") in (CORRECT_WITHOUT_FINAL, INCORRECT)


TEN_OPTIONS = "Which is largest?\nA. 0.98\nB. 0.96\nC. 0.95\nD. 0.89\nE. 0.90\nF. 0.94\nG. 0.93\nH. 0.92\nI. 0.99"
TEN_OPTIONS += "\nJ. 0.97"


@pytest.mark.parametrize(
    "problem,gold,ending,expected",
    [
        (
            TEN_OPTIONS,
            "I",
            "Comparing them, 0.99 is the largest. The answer is (I).",
            CORRECT,
        ),  # ten options, one per line
        (
            TEN_OPTIONS,
            "I",
            "The answer is (J).",
            INCORRECT,
        ),
        ("What is 2 * 8?", "16", '```json\n{\n  "reasoning": "2 * 8 = 16, not 18",\n  "answer": "16"\n}\n```', CORRECT),
        ("What is 2 * 8?", "16", '{"reasoning": "It is 16, I think, or 18.", "answer": "18"}', INCORRECT),
        (
            "Find p(x).",
            "-x^2 - 4x - 13",
            "So $p(x) = -x^2 - 4x - 13$, since $a = -1$.\n\n# Answer\n\n-x^2 - 4x - 13",
            CORRECT,
        ),  # an answer heading, then the value
        (
            "Compute the cross product.",
            "\\begin{pmatrix} -18 \\\\ -49 \\\\ 96 \\end{pmatrix}",
            "<answer>\\begin{pmatrix} -18 \\\\ -49 \\\\ 96 \\end{pmatrix}</answer>",
            CORRECT,
        ),  # a matrix in a tag
        ("Find m + n.", "33", "### Final Answer\n\nAnswer: 33<|im_end|>", CORRECT),  # template token after it
        (
            "Which?\nA. 2.1 eV\nB. 1.1 eV\nC. 0.5 eV\nD. 3 eV\nE. 4 eV\nF. 5 eV\nG. 6 eV\nH. 1.5 eV",
            "H",
            "Therefore, the answer is $5.1eV - 3.6eV = 1.5eV$. The answer is (H).",
            CORRECT,
        ),  # the last "answer is"
        (
            "Which?\nA. x\nB. y\nC. z\nD. w\nE. v\nF. u\nG. t\nH. s",
            "H",
            "The correct answer is H, as it describes a cache.",
            CORRECT,
        ),
        ("Which?\nA. -12.5°\nB. 20.1°\nC. 5°\nD. -39.02°", "D", "The answer is (D). The answer is -39.02°.", CORRECT),
        (
            "Which?\nA. x\nB. y\nC. z\nD. w",
            "A",
            "The answer is (A)." + "\nThe answer is ..." * 5 + "\nThe answer",
            CORRECT,
        ),  # a degenerate repetition names no other option
        ("Which?\nA. x\nB. y\nC. z\nD. w", "A", "The answer is (A) or (C).", INCORRECT),  # a hedge
        (
            "Which?\nA. x\nB. y\nC. z\nD. w\nE. v",
            "E",
            "So the correct answer is (E) P(R) = 7/16, P(B) = 1/4.",
            CORRECT,
        ),  # letters in parentheses that are not options joined by "or"
        (
            "What percent?",
            "60",
            "```python\nprint(3 / 5 * 100)\n```\n```output\n60.0\n```\n60% of the students enrolled in hip-hop.",
            CORRECT,
        ),  # tool output, then restated
        ("How many arrangements?", "1680", "The final answer is 8! / 24 = 40,320 / 24 = 1680.", CORRECT),  # a chain
        ("Find the plane.", "x-2y+z-1=0", "Final Answer: The final answer is $x-2y+z-1=0$.", CORRECT),  # not a chain
        # ZeroEval's JSON with the answer field left out: the reasoning's own ending (raw newlines, LaTeX)
        (
            "How far apart?",
            "32",
            '```json\n{\n  "reasoning": "$d = \\sqrt{1600} = 40$, minus 8.\n\nTherefore, the distance is 32."\n}\n```',
            CORRECT,
        ),
        ("How far apart?", "32", '{"reasoning": "The distance is $40 - 8$, which gives"}', CORRECT_WITHOUT_FINAL),
    ],
    ids=[
        "ten-options",
        "ten-options-wrong",
        "json-answer",
        "json-answer-wrong",
        "answer-heading",
        "matrix-tag",
        "answer-line-template-token",
        "last-answer-is",
        "letter-comma",
        "letter-then-value",
        "repeated-answer-is",
        "hedge",
        "not-a-hedge",
        "tool-output",
        "equation-chain",
        "equation-answer",
        "json-reasoning-only",
        "json-reasoning-unfinished",
    ],
)
def test_harness_answer_forms(judge, problem, gold, ending, expected):
    assert status(judge, gold, f"<think>{REASONING}</think>\n\n{ending}", problem) == expected


# BIG-Bench-Hard's code-davinci-002 outputs (the real judge corpus): golds in words and bracket sequences, and
# options past J. Before: every grader called "So the answer is True." against "True" incorrect.
@pytest.mark.parametrize(
    "problem,gold,ending,expected",
    [
        ("not ( True ) and ( True ) is", "False", "So the answer is False.", CORRECT),
        ("not ( True ) and ( True ) is", "False", "So the answer is True.", INCORRECT),
        ("Is the argument valid or invalid?", "invalid", "So the answer is invalid.", CORRECT),
        ("Is the argument valid or invalid?", "invalid", "So the answer is valid.", INCORRECT),
        ("Does Sherrie tell the truth?", "Yes", "We know from (5) that she does. So the answer is Yes.", CORRECT),
        ("Is it plausible?", "yes", "The answer is: Yes, because he plays football.", CORRECT),
        ("Sort: therefrom syndrome", "syndrome therefrom", "So the answer is syndrome therefrom.", CORRECT),
        ("Sort: therefrom syndrome", "syndrome therefrom", "So the answer is therefrom syndrome.", INCORRECT),
        ("Close the sequence: < [ [", "] ] >", 'So, we need "]", "]", ">". So the answer is ] ] >.', CORRECT),
        ("Close the sequence: < [ ] (", ") >", "So the answer is ) >.", CORRECT),
        ("Close the sequence: < [ ] (", ") >", "So the answer is > ).", INCORRECT),
        ("Is 7 prime?", "Yes", "So the answer is $\\boxed{\\text{Yes}}$.", CORRECT),
        (
            "Options:\n" + "\n".join(f"({c}) shape {c}" for c in "ABCDEFGHIJK"),
            "K",
            "It is the only closed shape. So the answer is (K).",
            CORRECT,
        ),
        (
            "Options:\n" + "\n".join(f"({c}) colour {c}" for c in "ABCDEFGHIJKLMNOPQR"),
            "Q",
            "The mug is purple. So the answer is (Q).",
            CORRECT,
        ),
        (
            "Options:\n" + "\n".join(f"({c}) colour {c}" for c in "ABCDEFGHIJKLMNOPQR"),
            "Q",
            "The mug is red. So the answer is (R).",
            INCORRECT,
        ),
    ],
    ids=[
        "false",
        "false-wrong",
        "invalid",
        "invalid-wrong",
        "yes",
        "yes-because",
        "word-list",
        "word-list-order",
        "dyck",
        "dyck-short",
        "dyck-wrong",
        "boxed-text",
        "option-k",
        "option-q",
        "option-q-wrong",
    ],
)
def test_golds_in_words_and_options_past_j(judge, problem, gold, ending, expected):
    assert status(judge, gold, f"Let's think step by step.\n{REASONING}\n{ending}", problem) == expected


def test_a_word_answer_cut_off_is_not_correct(judge):
    completion = "We start at the origin.\n(1) Take 4 steps.\nSo the answer is Yes"
    assert status(judge, "Yes", completion, None, cut=True) == CORRECT_WITHOUT_FINAL


@pytest.mark.parametrize("gold", ["] ] >", ")", "> } ]", "{ [ ( ) ] }"])
def test_a_bracket_sequence_is_not_a_garbled_gold(gold):
    assert gold_suspect(gold) is None


@pytest.mark.parametrize(
    "gold,completion,expected,why",
    [
        ("7" * 4301, "The answer is \\boxed{" + "7" * 4301 + "}.", GOLD_UNPARSEABLE, "4,301 digits"),
        ("5", "The answer is \\boxed{" + "{" * 5000 + "5" + "}" * 5000 + "}.", PRED_UNPARSEABLE, "nested"),
        ("5", "The answer is $" + "(" * 5000 + "5" + ")" * 5000 + "$.", PRED_UNPARSEABLE, "nested"),
        ("5", "The answer is \\boxed{" + "5 + " * 6000 + "5}.", PRED_UNPARSEABLE, "a box of"),
    ],
    ids=["huge-integer-gold", "deep-braces", "deep-parentheses", "huge-box"],
)
def test_one_oversized_row_is_one_verdict_with_its_reason(judge, gold, completion, expected, why):
    """Before: a 4,301-digit gold ended verify with a traceback; deep nesting took seconds past --timeout 1."""
    v = judge.verify([gold, "5"], [completion, "The answer is \\boxed{5}."])
    assert (v[0].status, v[1].status) == (expected, CORRECT) and why in v[0].detail


@pytest.mark.parametrize(
    "problem,completion,expected",
    [
        ("What is 14 + 5?", "The answer is \\boxed{14 + 5}.", INCORRECT),  # restates the problem: the reward hack
        (
            "Write $(\\sqrt{2}+\\sqrt{3})^3$ as $a\\sqrt{2}+b\\sqrt{3}+c\\sqrt{6}$. Find $a+b+c$.",
            '{"reasoning": "a = 11, b = 9 and c = 0.", "answer": "11+9+0"}',
            CORRECT,
        ),  # its own values (ZeroEval, Yi)
        (None, "The answer is \\boxed{11+9+0}.", INCORRECT),  # no problem to tell: strict
    ],
    ids=["restated", "own-values", "no-problem"],
)
def test_arithmetic_left_undone_counts_only_when_it_restates_the_problem(judge, problem, completion, expected):
    assert status(judge, "19" if "14 + 5" in completion else "20", completion, problem) == expected


ALLOWANCE = "Ann gets $5 a week for 6 weeks and then has $90. How much money did Ann have at the start?"
WORKED_AFTER_JSON = (
    '```json\n{\n    "reasoning": "Her weekly money over the weeks is taken away from what she has at the end.",\n'
    '    "answer": "$20"\n}\n```\n\nAnn is given $5 every week, and she is given it for 6 weeks in a row, so over the '
    "whole period the money she receives from her allowance comes to 5 * 6 = $30 in total. Since the $90 she holds at "
    "the end is made of the money she started with plus all of that allowance, the amount she started with is what "
    "remains once the allowance is taken away from the final amount: $90 - $30. Therefore, Ann had $60 at the start."
)


@pytest.mark.parametrize(
    "completion,expected",
    [
        (WORKED_AFTER_JSON, CORRECT),  # ZeroEval's Yi: a JSON answer, then the worked prose ends on the value
        ('{"reasoning": "Multiply the weekly money by the weeks and add it.", "answer": "90 - 5 * 6"}', INCORRECT),
        (
            '{"reasoning": "...", "answer": "90 - 5 * 6"}\n\nThe answer field holds the calculation; the actual result '
            "is 60 dollars.",
            CORRECT,
        ),  # the note after the object writes the number
    ],
    ids=["worked-after-json", "left-undone", "result-in-a-note"],
)
def test_arithmetic_worked_out_later_in_the_answer_is_done(judge, completion, expected):
    """Before: "5 * 6 = $30 ... Ann had $60" was called arithmetic left undone, because the number was looked for only
    in the 300 characters after the JSON's `"answer"` line (5 real ZeroEval completions, labelled correct blind)."""
    assert status(judge, "60", completion, ALLOWANCE) == expected


@pytest.mark.parametrize(
    "ending,expected",
    [
        (
            "**Note:** The final answer is correct ($64), although one step above said otherwise. The slip was in the "
            "middle step, not in the final answer.",
            CORRECT,
        ),
        ("The slip was in the middle step, not in the final answer. The final answer is", CORRECT_WITHOUT_FINAL),
    ],
    ids=["mentioned-after-the-answer", "promise-unkept"],
)
def test_the_answer_named_in_passing_is_no_promise(judge, ending, expected):
    """Before: "... not in the final answer." was read as a final answer promised and never given, so a completion
    that had said "The final answer is correct ($64)" was not committed (a real ZeroEval completion)."""
    completion = f"Each box holds 8 pens and there are 8 boxes, so there are 8 * 8 = 64 pens.\n\n{ending}"
    assert status(judge, "64", completion) == expected
