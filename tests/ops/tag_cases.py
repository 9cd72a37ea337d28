"""Problems written here in the styles of the public sets that carry the types MATH and GSM8K lack (NuminaMath's
cn_k12 and olympiads, OpenR1-Math, Omni-MATH, AoPS, Codeforces, LeetCode, APPS), each labelled by hand. Used by
tests/ops/test_tags.py and benchmarks/bench_tags.py beside the hand-labelled real sample
(tests/data/problem_tags_labels.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

from r1data.ops.answers import last_boxed

# (problem, gold, has_tests, tags)
CASES: list[tuple[str, str | None, bool, set[str]]] = [
    # proofs
    (
        "Let $a, b, c$ be positive reals with $abc = 1$. Prove that $a^2 + b^2 + c^2 \\ge a + b + c$.",
        "proof",
        False,
        {"proof", "no_answer"},
    ),
    (
        "Show that for every positive integer $n$, the number $n^3 - n$ is divisible by $6$.",
        None,
        False,
        {"proof", "no_answer"},
    ),
    ("Prove that there are infinitely many primes of the form $4k+3$.", "notfound", False, {"proof", "no_answer"}),
    (
        "In triangle $ABC$, the incircle touches $BC$ at $D$. Show that $BD = s - b$, where $s$ is the semiperimeter.",
        "",
        False,
        {"proof", "no_answer"},
    ),
    (
        "Demonstrate that the sequence $a_n = (1 + 1/n)^n$ is increasing.",
        "The sequence is increasing because the ratio of consecutive terms exceeds one by AM-GM.",
        False,
        {"proof", "no_answer"},
    ),
    # not proofs
    (
        "As shown, a square of side $4$ has a circle inscribed in it. [asy]draw(unitsquare);[/asy] Find the area of "
        "the region outside the circle.",
        "16 - 4\\pi",
        False,
        set(),
    ),
    (
        "Show your work: a shirt costs $\\$20$ after a $20\\%$ discount. What was the original price?",
        "25",
        False,
        set(),
    ),
    # multiple choice
    (
        "Given the set $A = \\{x \\mid x^2 - 3x + 2 = 0\\}$, which of the following is correct?\nA: $1 \\notin A$\n"
        "B: $2 \\in A$\nC: $A = \\emptyset$\nD: $A = \\{0\\}$",
        "B",
        False,
        {"multiple_choice"},
    ),
    (
        "The function $f(x) = \\log_2 (x - 1)$ has domain ( )\nA. $(1, +\\infty)$\nB. $[1, +\\infty)$\nC. "
        "$(0, +\\infty)$\nD. $\\mathbb{R}$",
        "A",
        False,
        {"multiple_choice"},
    ),
    (
        "What is the smallest prime greater than $30$? $\\textbf{(A) } 31 \\qquad \\textbf{(B) } 33 \\qquad "
        "\\textbf{(C) } 37 \\qquad \\textbf{(D) } 39 \\qquad \\textbf{(E) } 41$",
        "\\textbf{(A)}",
        False,
        {"multiple_choice"},
    ),
    (
        "Which of the following numbers is irrational? (1) $\\sqrt{4}$ (2) $\\sqrt{5}$ (3) $0.25$ (4) $\\frac{22}{7}$",
        "(2)",
        False,
        {"multiple_choice"},
    ),
    # multi-part
    (
        "Given the function $f(x) = x^2 - 2x + 3$.\n(1) Find the minimum value of $f(x)$;\n(2) Find the range of "
        "$f(x)$ on $[0, 3]$.",
        "2, [2, 6]",
        False,
        {"multi_part"},
    ),
    (
        "In the arithmetic sequence $\\{a_n\\}$, $a_1 = 2$ and $a_3 = 6$. (I) Find the general term $a_n$. (II) Find "
        "the sum of the first $10$ terms.",
        "a_n = 2n, 110",
        False,
        {"multi_part"},
    ),
    (
        "A bag holds 3 red and 2 blue balls. Two are drawn without replacement.\n(a) What is the probability that both "
        "are red?\n(b) What is the probability that they have different colours?",
        "\\frac{3}{10}, \\frac{3}{5}",
        False,
        {"multi_part"},
    ),
    ("Part 1: Solve $2x + 3 = 11$. Part 2: Solve $x^2 = 49$ for $x > 0$.", "4; 7", False, {"multi_part"}),
    # not multi-part
    ("Find all real $x$ such that (1) $x > 0$ and (2) $x^2 = 9$.", "3", False, set()),
    ("Compute $f(a) + f(b)$ where $f(x) = x^2$, $a = 2$ and $b = 3$.", "13", False, set()),
    ("Find the ordered pair $(a, b)$ such that $a + b = 5$ and $a - b = 1$.", "(3, 2)", False, set()),
    # needs a figure
    (
        "In the figure below, $ABCD$ is a rectangle and $E$ is the midpoint of $CD$. Find the area of triangle $ABE$.",
        "12",
        False,
        {"needs_figure"},
    ),
    ("The table below shows the scores of five students. What is the median score?", "82", False, {"needs_figure"}),
    (
        "As shown in the diagram, two circles of radius $3$ are tangent. Find the length of the common tangent "
        "segment.",
        "6",
        False,
        {"needs_figure"},
    ),
    (
        "The bar chart shows the number of books read by each student. How many books were read in total?",
        "37",
        False,
        {"needs_figure"},
    ),
    # figure present, or no figure needed
    (
        "The graph of $y = f(x)$ is shown below.\n\n[asy]\ndraw((-3,0)--(3,0));\ndraw((0,-3)--(0,3));\n[/asy]\n\nHow "
        "many solutions does $f(x) = 1$ have?",
        "2",
        False,
        set(),
    ),
    (
        "The table below gives the scores.\n\n\\begin{tabular}{c|c}\nName & Score \\\\\\hline\nAna & 90 \\\\\nBo & 80"
        "\n\\end{tabular}\n\nWhat is the mean score?",
        "85",
        False,
        set(),
    ),
    (
        "The table shows the prices.\n\n| item | price |\n|---|---|\n| pen | 2 |\n| book | 9 |\n\nWhat do a pen and a "
        "book cost together?",
        "11",
        False,
        set(),
    ),
    ("Find the $y$-intercept of the graph of $y = 3x + 7$.", "7", False, set()),
    # yes / no
    ("Is there an integer $n$ such that $n^2 + 1$ is divisible by $3$?", "No", False, {"yes_no"}),
    ("Does there exist a triangle with side lengths $2$, $3$ and $6$?", "\\text{No}", False, {"yes_no"}),
    ("Determine whether $\\sqrt{2} + \\sqrt{3}$ is rational.", None, False, {"yes_no", "no_answer"}),
    ("Is $2^{31} - 1$ a prime number? Answer yes or no.", "Yes", False, {"yes_no"}),
    # not yes / no
    (
        "Is it possible to choose $k$ numbers from $1$ to $100$ with no two summing to $101$? Find the largest such "
        "$k$.",
        "50",
        False,
        set(),
    ),
    # no closed-form answer
    (
        "Describe the set of points equidistant from two fixed points $A$ and $B$.",
        "The perpendicular bisector of the segment AB.",
        False,
        {"no_answer"},
    ),
    ("Find the remainder when $2^{100}$ is divided by $7$.", None, False, {"no_answer"}),
    # closed forms in words
    ("Is $7$ odd or even?", "\\text{odd}", False, set()),
    ("On which day of the week does the 100th day of a year that starts on Monday fall?", "Tuesday", False, set()),
    # code
    (
        "Write a Python function `two_sum(nums, target)` that returns the indices of the two numbers that add up to "
        "target.\n\nExample 1:\nInput: nums = [2,7,11,15], target = 9\nOutput: [0,1]",
        None,
        True,
        {"code"},
    ),
    (
        "You are given an array of $n$ integers. Find the maximum sum of a contiguous subarray.\n\n-----Input-----\n\n"
        "The first line contains $n$ ($1 \\le n \\le 10^5$). The second line contains $n$ integers.\n\n-----Output-----"
        "\n\nPrint one integer.\n\n-----Examples-----\nInput\n3\n1 -2 3\n\nOutput\n3",
        None,
        True,
        {"code"},
    ),
    (
        "Implement a function that checks whether a string is a palindrome.\n\n```python\ndef is_palindrome(s: str) "
        "-> bool:\n```",
        None,
        False,
        {"code"},
    ),
    ("Read two integers from standard input and print their sum.", None, False, {"code"}),
]


LABELS = Path(__file__).resolve().parents[1] / "data" / "problem_tags_labels.jsonl"


def labelled_real(shared_data: Path) -> list[tuple[str, str, str | None, set[str], str]]:
    """The hand-labelled sample of real problems: (key, problem, gold, tags, batch). The labels file holds only
    keys ("math_test:<unique_id>", "gsm8k_test:line<N>") and tags; the text is read from the shared data.

    How it was labelled: 754 problems in three batches (300 random MATH/GSM8K plus keyword-selected MATH train
    problems, 204 keyword-enriched for the rare tags, 250 held out: labelled after the rules were written), each
    read and tagged by an annotator who saw the tag definitions in r1data/ops/tags.py's docstring but not the
    rules."""
    rows: dict[str, tuple[str, str | None]] = {}
    for name in ("math_train", "math_test", "gsm8k_train", "gsm8k_test"):
        with open(shared_data / f"{name}.jsonl", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                d = json.loads(line)
                if name.startswith("gsm8k"):
                    rows[f"{name}:line{n}"] = (d["question"], d["answer"].rpartition("####")[2].strip())
                else:
                    rows[f"{name}:{d['unique_id']}"] = (d["problem"], last_boxed(d["solution"]))
    out = []
    for line in LABELS.read_text().splitlines():
        d = json.loads(line)
        problem, gold = rows[d["key"]]
        out.append((d["key"], problem, gold, set(d["tags"]), d["batch"]))
    return out
