"""Built-in demo data: generated problems with known answers, in the common layouts, with plants.

`generate(out, seed)` writes
- `gsm8k_style.jsonl`  word problems as {question, answer: worked solution ending in `#### N`}
- `math_style.jsonl`   algebra/arithmetic as {problem, solution with \\boxed{}, level, type}
- `numina_style.parquet` a mix as {problem, solution, answer, source}
- `benchmark.jsonl`    a held-out benchmark in MATH-500's layout {problem, solution, answer, unique_id}
- `code.jsonl`         small programming problems with tests in four layouts (stdin/stdout pairs, APPS
                       inputs/outputs, call-based with fn_name, MBPP asserts) and a reference solution
- `arithmetic.jsonl`   easy sums and differences {problem, answer}: GRPO on CPU learns from these in minutes
- `generation.jsonl`   what the demo's generation steps take: sums and differences the built-in SmolLM2-135M solves
                       sometimes, mixed with a few word and algebra problems it never solves {id, problem, answer}
- `planted.json`       ground truth: every planted exact duplicate, near duplicate and benchmark copy

Each template draws its parameters from the seeded RNG unless given, so a "renumbered" plant is the
same problem with one parameter redrawn, and its answer is still right.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from fractions import Fraction
from math import gcd
from pathlib import Path

import polars as pl

from r1data.ops.dedup import number_changes
from r1data.ops.normalize import mask_digits, normalize_text

NAMES = (
    "Maria",
    "James",
    "Aisha",
    "Tom",
    "Priya",
    "Lucas",
    "Mei",
    "Omar",
    "Sofia",
    "Daniel",
    "Chloe",
    "Ravi",
    "Elena",
    "Kwame",
    "Hannah",
    "Diego",
    "Yuki",
    "Noah",
    "Fatima",
    "Leo",
    "Grace",
    "Mateo",
    "Ingrid",
    "Sam",
)
ITEMS = ("pencils", "stickers", "marbles", "cookies", "apples", "books", "cards", "shells", "stamps", "beads")
JOBS = ("tutoring", "babysitting", "walking dogs", "washing cars", "mowing lawns", "delivering papers")
VEHICLES = ("train", "bus", "car", "truck", "ferry", "cyclist")
THINGS = ("jacket", "bicycle", "lamp", "backpack", "guitar", "printer", "tent", "watch")
GROUPS = (("friend", "friends"), ("classmate", "classmates"), ("cousin", "cousins"), ("teammate", "teammates"))

OPENERS = (
    "",
    "{name} is getting ready for the school fair.",
    "It is a busy Saturday for {name}.",
    "{name} keeps careful notes about money and time.",
    "During the summer holidays, {name} plans ahead.",
    "{name}'s family is organising a weekend trip.",
    "At the community centre, {name} helps out every week.",
    "{name} likes to check every calculation twice.",
    "Last month {name} started a small project.",
    "The teacher asks the class to work out the following.",
    "{name} is writing a budget for the month.",
)
ASK = (
    "How many {unit} {verb}?",
    "Find how many {unit} {verb}.",
    "Determine how many {unit} {verb}.",
    "Calculate how many {unit} {verb}.",
)
MATH_ASK = ("What is {x}?", "Find {x}.", "Compute {x}.", "Determine {x}.", "What is the value of {x}?")

Problem = tuple[str, str, str, dict]  # text, worked solution, answer, parameters
Template = Callable[..., Problem]


def _draw(p: dict, rng: random.Random, key: str, draw: Callable[[], object]) -> object:
    if key not in p:
        p[key] = draw()
    return p[key]


def _opener(p: dict, rng: random.Random, name: str) -> str:
    text = _draw(p, rng, "opener", lambda: rng.choice(OPENERS)).format(name=name)
    return text + " " if text else ""


def _ask(p: dict, rng: random.Random, unit: str, verb: str) -> str:
    return _draw(p, rng, "ask", lambda: rng.choice(ASK)).format(unit=unit, verb=verb)


def _math_ask(p: dict, rng: random.Random, x: str) -> str:
    return _draw(p, rng, "mask", lambda: rng.choice(MATH_ASK)).format(x=x)


# --- word problems (GSM8K layout) -------------------------------------------------------------


def packs(rng: random.Random, **p: object) -> Problem:
    name = _draw(p, rng, "name", lambda: rng.choice(NAMES))
    item = _draw(p, rng, "item", lambda: rng.choice(ITEMS))
    a = _draw(p, rng, "a", lambda: rng.randint(2, 12))
    b = _draw(p, rng, "b", lambda: rng.randint(5, 30))
    c = _draw(p, rng, "c", lambda: rng.randint(1, a * b - 1))
    text = (
        f"{_opener(p, rng, name)}{name} buys {a} packs of {item}. Each pack holds {b} {item}. {name} gives away "
        f"{c} {item} to friends. {_ask(p, rng, item, f'{name} has left')}"
    )
    sol = (
        f"{name} buys {a} * {b} = {a * b} {item}.\n"
        f"After giving away {c}, {name} has {a * b} - {c} = {a * b - c} {item}."
    )
    return text, sol, str(a * b - c), p


def wages(rng: random.Random, **p: object) -> Problem:
    name = _draw(p, rng, "name", lambda: rng.choice(NAMES))
    job = _draw(p, rng, "job", lambda: rng.choice(JOBS))
    a = _draw(p, rng, "a", lambda: rng.randint(8, 25))
    b = _draw(p, rng, "b", lambda: rng.randint(3, 20))
    c = _draw(p, rng, "c", lambda: rng.randint(2, 10))
    text = (
        f"{_opener(p, rng, name)}{name} earns ${a} an hour {job}. Last week {name} worked {b} hours on weekdays "
        f"and {c} hours on the weekend. {_ask(p, rng, 'dollars', f'{name} earned last week')}"
    )
    sol = f"{name} worked {b} + {c} = {b + c} hours.\nThat pays {b + c} * {a} = ${(b + c) * a}."
    return text, sol, str((b + c) * a), p


def travel(rng: random.Random, **p: object) -> Problem:
    v = _draw(p, rng, "vehicle", lambda: rng.choice(VEHICLES))
    a = _draw(p, rng, "a", lambda: rng.randint(10, 80))
    b = _draw(p, rng, "b", lambda: rng.randint(1, 6))
    c = _draw(p, rng, "c", lambda: rng.randint(10, 80))
    d = _draw(p, rng, "d", lambda: rng.randint(1, 6))
    who = _draw(p, rng, "who", lambda: rng.choice(NAMES))
    text = (
        f"{_opener(p, rng, who)}A {v} travels at {a} miles per hour for {b} hours, then at {c} miles per hour "
        f"for {d} hours. {_ask(p, rng, 'miles', f'the {v} covers in total')}"
    )
    sol = (
        f"First part: {a} * {b} = {a * b} miles.\nSecond part: {c} * {d} = {c * d} miles.\n"
        f"Total: {a * b + c * d} miles."
    )
    return text, sol, str(a * b + c * d), p


def sharing(rng: random.Random, **p: object) -> Problem:
    name = _draw(p, rng, "name", lambda: rng.choice(NAMES))
    item = _draw(p, rng, "item", lambda: rng.choice(ITEMS))
    one, many = _draw(p, rng, "group", lambda: rng.choice(GROUPS))
    k = _draw(p, rng, "k", lambda: rng.randint(2, 12))
    q = _draw(p, rng, "q", lambda: rng.randint(2, 25))
    text = (
        f"{_opener(p, rng, name)}{name} has {k * q} {item} and shares them equally among {k} {many}. "
        f"{_ask(p, rng, item, f'each {one} gets')}"
    )
    sol = f"Each {one} gets {k * q} / {k} = {q} {item}."
    return text, sol, str(q), p


def discount(rng: random.Random, **p: object) -> Problem:
    thing = _draw(p, rng, "thing", lambda: rng.choice(THINGS))
    pct = _draw(p, rng, "pct", lambda: rng.choice((10, 20, 25, 30, 40, 50)))
    base = _draw(p, rng, "base", lambda: 20 * rng.randint(2, 30))
    off = base * pct // 100
    who = _draw(p, rng, "who", lambda: rng.choice(NAMES))
    text = (
        f"{_opener(p, rng, who)}A {thing} that {who} wants costs ${base}. It is on sale for {pct}% off. "
        f"{_ask(p, rng, 'dollars', f'{who} pays for the {thing} on sale')}"
    )
    sol = f"The discount is {pct}% of {base} = {off} dollars.\nThe sale price is {base} - {off} = {base - off} dollars."
    return text, sol, str(base - off), p


def ages(rng: random.Random, **p: object) -> Problem:
    n1 = _draw(p, rng, "n1", lambda: rng.choice(NAMES))
    n2 = _draw(p, rng, "n2", lambda: rng.choice([n for n in NAMES if n != n1]))
    a = _draw(p, rng, "a", lambda: rng.randint(5, 40))
    b = _draw(p, rng, "b", lambda: rng.randint(1, 15))
    c = _draw(p, rng, "c", lambda: rng.randint(1, 10))
    text = (
        f"{_opener(p, rng, n1)}{n1} is {a} years old. {n2} is {b} years older than {n1}. "
        f"{_ask(p, rng, 'years', f'their ages will add up to in {c} years')}"
    )
    total = (a + c) + (a + b + c)
    sol = f"{n2} is {a} + {b} = {a + b} now.\nIn {c} years they will be {a + c} and {a + b + c}, a sum of {total}."
    return text, sol, str(total), p


def savings(rng: random.Random, **p: object) -> Problem:
    name = _draw(p, rng, "name", lambda: rng.choice(NAMES))
    thing = _draw(p, rng, "thing", lambda: rng.choice(THINGS))
    a = _draw(p, rng, "a", lambda: rng.randint(5, 40))
    b = _draw(p, rng, "b", lambda: rng.randint(3, 20))
    c = _draw(p, rng, "c", lambda: rng.randint(1, a * b - 1))
    text = (
        f"{_opener(p, rng, name)}{name} saves ${a} every week. After {b} weeks, {name} spends ${c} on a {thing}. "
        f"{_ask(p, rng, 'dollars', f'{name} has left')}"
    )
    sol = f"{name} saves {a} * {b} = ${a * b}.\nAfter spending {c}, {name} has {a * b} - {c} = ${a * b - c}."
    return text, sol, str(a * b - c), p


# --- algebra and arithmetic (MATH layout) -----------------------------------------------------


def linear(rng: random.Random, **p: object) -> Problem:
    a = _draw(p, rng, "a", lambda: rng.randint(2, 12))
    x = _draw(p, rng, "x", lambda: rng.randint(-15, 20))
    b = _draw(p, rng, "b", lambda: rng.randint(-30, 30))
    text = f"Solve for $x$: ${a}x {'+' if b >= 0 else '-'} {abs(b)} = {a * x + b}$."
    sol = f"Subtracting ${b}$ from both sides gives ${a}x = {a * x}$. Dividing by ${a}$, $x = \\boxed{{{x}}}$."
    return text, sol, str(x), p


def system(rng: random.Random, **p: object) -> Problem:
    x = _draw(p, rng, "x", lambda: rng.randint(1, 40))
    y = _draw(p, rng, "y", lambda: rng.randint(1, 40))
    text = f"If $x + y = {x + y}$ and $x - y = {x - y}$. {_math_ask(p, rng, '$x$')}"
    sol = f"Adding the equations gives $2x = {2 * x}$, so $x = \\boxed{{{x}}}$."
    return text, sol, str(x), p


def roots(rng: random.Random, **p: object) -> Problem:
    r = _draw(p, rng, "r", lambda: rng.randint(-9, 12))
    s = _draw(p, rng, "s", lambda: rng.randint(-9, 12))
    which = _draw(p, rng, "which", lambda: rng.choice(("sum", "product")))
    b, c = -(r + s), r * s
    poly = f"x^2 {'+' if b >= 0 else '-'} {abs(b)}x {'+' if c >= 0 else '-'} {abs(c)}"
    ans = r + s if which == "sum" else r * s
    text = f"Consider the equation ${poly} = 0$. {_math_ask(p, rng, f'the {which} of its roots')}"
    sol = (
        f"By Vieta's formulas the sum of the roots is ${r + s}$ and the product is ${r * s}$. "
        f"The {which} is $\\boxed{{{ans}}}$."
    )
    return text, sol, str(ans), p


def fractions(rng: random.Random, **p: object) -> Problem:
    a = _draw(p, rng, "a", lambda: rng.randint(1, 9))
    b = _draw(p, rng, "b", lambda: rng.randint(2, 12))
    c = _draw(p, rng, "c", lambda: rng.randint(1, 9))
    d = _draw(p, rng, "d", lambda: rng.randint(2, 12))
    total = Fraction(a, b) + Fraction(c, d)
    ans = str(total.numerator) if total.denominator == 1 else f"\\frac{{{total.numerator}}}{{{total.denominator}}}"
    text = (
        f"Compute $\\frac{{{a}}}{{{b}}} + \\frac{{{c}}}{{{d}}}$. "
        "Express your answer as a common fraction in lowest terms."
    )
    sol = (
        f"With the common denominator ${b * d}$: $\\frac{{{a * d}}}{{{b * d}}} + \\frac{{{c * b}}}{{{b * d}}} = "
        f"\\frac{{{a * d + c * b}}}{{{b * d}}} = \\boxed{{{ans}}}$."
    )
    return text, sol, ans, p


def evaluate(rng: random.Random, **p: object) -> Problem:
    a = _draw(p, rng, "a", lambda: rng.randint(1, 9))
    b = _draw(p, rng, "b", lambda: rng.randint(-10, 10))
    x = _draw(p, rng, "x", lambda: rng.randint(-6, 6))
    val = a * x * x + b
    text = f"Let $f(x) = {a}x^2 {'+' if b >= 0 else '-'} {abs(b)}$. {_math_ask(p, rng, f'$f({x})$')}"
    sign = "+" if b >= 0 else "-"
    sol = f"$f({x}) = {a}\\cdot({x})^2 {sign} {abs(b)} = {a * x * x} {sign} {abs(b)} = \\boxed{{{val}}}$."
    return text, sol, str(val), p


def divisors(rng: random.Random, **p: object) -> Problem:
    g = _draw(p, rng, "g", lambda: rng.randint(2, 30))
    m = _draw(p, rng, "m", lambda: rng.randint(2, 20))
    n = _draw(p, rng, "n", lambda: rng.choice([k for k in range(2, 21) if gcd(k, m) == 1]))
    text = _math_ask(p, rng, f"the greatest common divisor of ${g * m}$ and ${g * n}$")
    sol = (
        f"${g * m} = {g}\\cdot {m}$ and ${g * n} = {g}\\cdot {n}$ with ${m}$ and ${n}$ coprime, "
        f"so the answer is $\\boxed{{{g}}}$."
    )
    return text, sol, str(g), p


def remainder(rng: random.Random, **p: object) -> Problem:
    m = _draw(p, rng, "m", lambda: rng.randint(3, 19))
    n = _draw(p, rng, "n", lambda: rng.randint(100, 9999))
    text = _math_ask(p, rng, f"the remainder when ${n}$ is divided by ${m}$")
    sol = f"${n} = {m}\\cdot {n // m} + {n % m}$, so the remainder is $\\boxed{{{n % m}}}$."
    return text, sol, str(n % m), p


def powers(rng: random.Random, **p: object) -> Problem:
    base = _draw(p, rng, "base", lambda: rng.choice((2, 3, 5)))
    a = _draw(p, rng, "a", lambda: rng.randint(1, 6))
    b = _draw(p, rng, "b", lambda: rng.randint(1, 6))
    text = f"Evaluate $\\left({base}^{{{a}}}\\right)\\left({base}^{{{b}}}\\right)$."
    sol = f"${base}^{{{a}}}\\cdot {base}^{{{b}}} = {base}^{{{a + b}}} = \\boxed{{{base ** (a + b)}}}$."
    return text, sol, str(base ** (a + b)), p


# --- benchmark-only templates: a benchmark is written apart from the training sets ---------------


def fence(rng: random.Random, **p: object) -> Problem:
    name = _draw(p, rng, "name", lambda: rng.choice(NAMES))
    length = _draw(p, rng, "l", lambda: rng.randint(5, 60))
    width = _draw(p, rng, "w", lambda: rng.randint(3, 40))
    cost = _draw(p, rng, "cost", lambda: rng.randint(2, 15))
    per = 2 * (length + width)
    text = (
        f"{name} fences a rectangular garden {length} meters long and {width} meters wide. Fencing costs "
        f"${cost} per meter. What is the total cost of the fence in dollars?"
    )
    return (
        text,
        f"The perimeter is 2({length}+{width}) = {per} m, costing {per} * {cost} = ${per * cost}.",
        str(per * cost),
        p,
    )


def average(rng: random.Random, **p: object) -> Problem:
    name = _draw(p, rng, "name", lambda: rng.choice(NAMES))
    scores = _draw(p, rng, "scores", lambda: [rng.randint(60, 100) for _ in range(4)])
    target = _draw(
        p, rng, "target", lambda: rng.randint(max(70, (sum(scores) + 40) // 5 + 1), (sum(scores) + 100) // 5)
    )
    need = 5 * target - sum(scores)
    text = (
        f"On four quizzes {name} scored {', '.join(map(str, scores))}. Which score on the fifth quiz "
        f"brings the mean of all five to exactly {target}?"
    )
    return text, f"Five quizzes must total {5 * target}; {5 * target} - {sum(scores)} = {need}.", str(need), p


def consecutive(rng: random.Random, **p: object) -> Problem:
    n = _draw(p, rng, "n", lambda: rng.randint(-50, 300))
    text = f"Three consecutive integers add up to ${3 * n + 3}$. Which is the largest of the three?"
    return (
        text,
        f"With middle term $m$, $3m = {3 * n + 3}$, so $m = {n + 1}$ and the largest is $\\boxed{{{n + 2}}}$.",
        str(n + 2),
        p,
    )


def sequence(rng: random.Random, **p: object) -> Problem:
    a = _draw(p, rng, "a", lambda: rng.randint(-20, 40))
    d = _draw(p, rng, "d", lambda: rng.randint(-9, 12))
    k = _draw(p, rng, "k", lambda: rng.randint(5, 60))
    text = (
        f"An arithmetic progression starts at ${a}$ and each term exceeds the previous one by ${d}$. "
        f"Give term number ${k}$."
    )
    return (
        text,
        f"Term $k$ is $a + (k-1)d = {a} + {k - 1}\\cdot {d} = \\boxed{{{a + (k - 1) * d}}}$.",
        str(a + (k - 1) * d),
        p,
    )


def triangle(rng: random.Random, **p: object) -> Problem:
    b = _draw(p, rng, "b", lambda: 2 * rng.randint(1, 40))
    h = _draw(p, rng, "h", lambda: rng.randint(1, 50))
    text = (
        f"Triangle $ABC$ has side $BC = {b}$ and the altitude from $A$ to $BC$ has length ${h}$. "
        "Find the area of $ABC$."
    )
    return text, f"The area is $\\frac{{1}}{{2}}\\cdot {b}\\cdot {h} = \\boxed{{{b * h // 2}}}$.", str(b * h // 2), p


BENCHMARK_TEMPLATES: tuple[Template, ...] = (fence, average, consecutive, sequence, triangle)
WORD_TEMPLATES: tuple[Template, ...] = (packs, wages, travel, sharing, discount, ages, savings)
MATH_TEMPLATES: tuple[Template, ...] = (linear, system, roots, fractions, evaluate, divisors, remainder, powers)
MATH_TYPE = {
    linear: "Algebra",
    system: "Algebra",
    roots: "Algebra",
    fractions: "Prealgebra",
    evaluate: "Algebra",
    divisors: "Number Theory",
    remainder: "Number Theory",
    powers: "Prealgebra",
}

# One-word rewordings (word, replacement) for reworded near-duplicates.
REWORDINGS = (
    ("buys", "purchases"),
    ("gives away", "hands out"),
    ("travels", "moves"),
    ("earns", "makes"),
    ("shares them", "splits them"),
    ("costs", "is priced at"),
    ("saves", "puts aside"),
    ("Solve for", "Find"),
    ("Compute", "Calculate"),
    ("Evaluate", "Compute"),
    ("What is", "Find"),
    ("what is", "find"),
    ("How many", "Exactly how many"),
)


def reword(text: str) -> str | None:
    for old, new in REWORDINGS:
        if old in text:
            return text.replace(old, new, 1)
    return None


def respace(text: str) -> str:
    """Same problem after LaTeX/spacing edits that normalisation undoes."""
    out = text.replace("\\frac", "\\dfrac").replace("$", " $ ").replace(". ", ".  ")
    return out.replace("+", " + ").replace("(", "\\left(").replace(")", "\\right)") if out == text else out


class _Pool:
    """Distinct problems: no two share a normalised text, or differ only in one number (that would be
    a renumbered near duplicate, which only the plants may be)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.by_shape: dict[str, list[str]] = {}

    def admits(self, text: str) -> bool:
        norm = normalize_text(text)
        siblings = self.by_shape.get(mask_digits(norm), [])
        return norm not in self.seen and all(number_changes(norm, other) > 1 for other in siblings)

    def add(self, text: str) -> None:
        norm = normalize_text(text)
        self.seen.add(norm)
        self.by_shape.setdefault(mask_digits(norm), []).append(norm)

    def take(self, rng: random.Random, templates: tuple[Template, ...]) -> tuple[Template, Problem]:
        for _ in range(1000):
            tpl = rng.choice(templates)
            prob = tpl(rng)
            if self.admits(prob[0]):
                self.add(prob[0])
                return tpl, prob
        raise RuntimeError("template space exhausted; lower the row counts")  # pragma: no cover


def _renumber(rng: random.Random, tpl: Template, prob: Problem, pool: _Pool) -> Problem | None:
    params = dict(prob[3])
    numeric = [k for k, v in params.items() if isinstance(v, int) and not isinstance(v, bool)]
    rng.shuffle(numeric)
    for key in numeric:
        for _ in range(10):
            trial = {k: v for k, v in params.items() if k != key}
            new = tpl(rng, **trial)
            if normalize_text(new[0]) not in pool.seen:
                pool.add(new[0])
                return new
    return None


def _duplicates(texts: list[str]) -> set[int]:
    """Indices that r1data's own dedup (default settings) removes: templates can produce siblings
    that are near duplicates by its definition, and only the plants may be."""
    from r1data.ops.dedup import dedup

    n = len(texts)
    df = pl.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "problem": texts,
            "answer": ["0"] * n,
            "solution": [None] * n,
            "source": ["demo"] * n,
        },
        schema_overrides={"solution": pl.String},
    )
    return {int(i) for i in dedup(df).removed.get_column("id").to_list()}


def _sieve(items: list[tuple[Template, Problem]]) -> list[tuple[Template, Problem]]:
    drop = _duplicates([p[0] for _, p in items])
    return [it for i, it in enumerate(items) if i not in drop]


def _sieve_across(lists: list[list]) -> list[list]:
    flat = [(k, it) for k, lst in enumerate(lists) for it in lst]
    drop = _duplicates([it[1][0] for _, it in flat])
    out: list[list] = [[] for _ in lists]
    for i, (k, it) in enumerate(flat):
        if i not in drop:
            out[k].append(it)
    return out


def generate(
    out: str | Path, seed: int = 0, word: int = 1200, math: int = 1000, numina: int = 800, bench: int = 200
) -> dict:
    """Write the demo files into out and return the ground truth (also saved as planted.json)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pool = _Pool()
    spare = 1.25  # drawn in excess, then sieved
    benchmark = [pool.take(rng, BENCHMARK_TEMPLATES) for _ in range(bench)]
    gsm = [pool.take(rng, WORD_TEMPLATES) for _ in range(int(word * spare))]
    mth = [pool.take(rng, MATH_TEMPLATES) for _ in range(int(math * spare))]
    nmn = [pool.take(rng, WORD_TEMPLATES + MATH_TEMPLATES) for _ in range(int(numina * spare))]
    gsm, mth, nmn = (_sieve(lst)[:k] for lst, k in ((gsm, word), (mth, math), (nmn, numina)))
    # The sieve runs per list; a problem must also not duplicate one in another list.
    gsm, mth, nmn = _sieve_across([gsm, mth, nmn])

    def gsm_row(p: Problem) -> dict:
        return {"question": p[0], "answer": f"{p[1]}\n#### {p[2]}"}

    def math_row(tpl: Template, p: Problem) -> dict:
        level = f"Level {1 + len(p[0]) % 5}"
        return {"problem": p[0], "solution": p[1], "level": level, "type": MATH_TYPE.get(tpl, "Prealgebra")}

    def numina_row(p: Problem) -> dict:
        sol = p[1] if "\\boxed" in p[1] else f"{p[1]} The answer is $\\boxed{{{p[2]}}}$."
        return {"problem": p[0], "solution": sol, "answer": p[2], "source": "demo_numina"}

    files = {
        "gsm8k_style.jsonl": [gsm_row(p) for _, p in gsm],
        "math_style.jsonl": [math_row(t, p) for t, p in mth],
        "numina_style.parquet": [numina_row(p) for _, p in nmn],
    }
    text_key = {"gsm8k_style.jsonl": "question", "math_style.jsonl": "problem", "numina_style.parquet": "problem"}
    origin = {"gsm8k_style.jsonl": gsm, "math_style.jsonl": mth, "numina_style.parquet": nmn}
    planted: list[dict] = []

    def plant(kind: str, original: str, copy: str, row: dict, file: str) -> None:
        files[file].append(row)
        planted.append({"kind": kind, "file": file, "original": original, "copy": copy})

    def row_for(file: str, tpl: Template, p: Problem) -> dict:
        return (
            gsm_row(p) if file.startswith("gsm8k") else math_row(tpl, p) if file.startswith("math") else numina_row(p)
        )

    for kind, count in (("exact", 120), ("latex_spacing", 60), ("reworded", 90), ("renumbered", 90)):
        made = 0
        while made < count:
            file = rng.choice(list(origin))
            tpl, p = rng.choice(origin[file])
            target = rng.choice(list(files))  # copies land in any file, as when merging datasets
            if kind == "exact":
                new = (p[0].upper() if rng.random() < 0.3 else p[0]) + rng.choice(("", " ", "  "))
                prob = (new, *p[1:])
            elif kind == "latex_spacing":
                prob = (respace(p[0]), *p[1:])
            elif kind == "reworded":
                new = reword(p[0])
                if new is None:
                    continue
                prob = (new, *p[1:])
            else:
                prob = _renumber(rng, tpl, p, pool)
                if prob is None:
                    continue
            plant(kind, p[0], prob[0], row_for(target, tpl, prob), target)
            made += 1

    # Benchmark problems leaking into the training files: verbatim and lightly reworded.
    for i, (tpl, p) in enumerate(rng.sample(benchmark, 30)):
        target = rng.choice(list(files))
        copy = p if i < 20 else ((reword(p[0]) or p[0]), *p[1:])
        plant("benchmark_copy" if i < 20 else "benchmark_reworded", p[0], copy[0], row_for(target, tpl, copy), target)

    for name, rows in files.items():
        rng.shuffle(rows)
        if name.endswith(".parquet"):
            pl.DataFrame(rows).write_parquet(out / name)
        else:
            with open(out / name, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in rows)
    with open(out / "benchmark.jsonl", "w", encoding="utf-8") as fh:
        for i, (_, p) in enumerate(benchmark):
            fh.write(json.dumps({"problem": p[0], "solution": p[1], "answer": p[2], "unique_id": f"bench/{i}"}) + "\n")
    truth = {
        "seed": seed,
        "files": {k: len(v) for k, v in files.items()},
        "benchmark": len(benchmark),
        "text_field": text_key,
        "planted": planted,
    }
    (out / "planted.json").write_text(json.dumps(truth, indent=1))
    write_arithmetic(out / "arithmetic.jsonl", 512, seed)
    write_generation_slice(out / "generation.jsonl", seed, [p for _, p in gsm[:3] + mth[:3]])
    write_code_problems(out / "code.jsonl", 40, seed)
    return truth


def write_generation_slice(path: str | Path, seed: int, hard: list[Problem], easy: int = 18) -> Path:
    """Sums and differences (another draw than arithmetic.jsonl) with the hard problems spread among them: the
    pass-rate filter then keeps a real band, and rejection sampling finds verified traces."""
    rows = [dict(r, id=f"gen/{r['id']}") for r in arithmetic(easy, seed + 1)]
    step = max(1, len(rows) // max(1, len(hard)))
    for i, p in enumerate(hard):
        rows.insert(min(len(rows), i * (step + 1) + step), {"id": f"gen/hard/{i}", "problem": p[0], "answer": p[2]})
    return _write_jsonl(path, rows)


SPREAD = "input()\nx = list(map(int, input().split()))\nprint(max(x) - min(x))"


def _fence(code: str) -> str:
    return f"```python\n{code}\n```"


def code_problems(n: int, seed: int = 0) -> list[dict]:
    """Programming problems with tests in the common layouts and a reference solution each (fenced, so
    the solution column verifies as a completion)."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:  # stdin/stdout pairs (LiveCodeBench / open-r1 style)
            k = rng.randint(2, 9)
            pairs = [(rng.randint(-50, 50), rng.randint(-50, 50)) for _ in range(3)]
            tests = [{"input": f"{a} {b}\n", "output": f"{a * k + b}\n"} for a, b in pairs]
            rows.append(
                {
                    "id": f"code/{i}",
                    "problem": f"Read two integers a and b from one line of standard input and print {k}*a + b.",
                    "tests": tests,
                    "solution": _fence(f"a, b = map(int, input().split())\nprint({k} * a + b)"),
                }
            )
        elif kind == 1:  # APPS inputs/outputs
            lists = [[rng.randint(-99, 99) for _ in range(rng.randint(1, 6))] for _ in range(3)]
            tests = {
                "inputs": [f"{len(x)}\n{' '.join(map(str, x))}\n" for x in lists],
                "outputs": [f"{max(x) - min(x)}\n" for x in lists],
            }
            rows.append(
                {
                    "id": f"code/{i}",
                    "problem": f"Problem {i}: the first line holds n, the second n integers. "
                    "Print the largest minus the smallest.",
                    "tests": tests,
                    "solution": _fence(SPREAD),
                }
            )
        elif kind == 2:  # call-based with fn_name (APPS / LeetCode style)
            m = rng.randint(2, 7)
            args = [[rng.randint(0, 100)] for _ in range(3)]
            tests = {
                "fn_name": "count_multiples",
                "inputs": args,
                "outputs": [[len(range(0, a[0] + 1, m))] for a in args],
            }
            rows.append(
                {
                    "id": f"code/{i}",
                    "problem": f"Write a function count_multiples(n) that returns how many "
                    f"of 0, 1, ..., n are multiples of {m}.",
                    "tests": tests,
                    "solution": _fence(f"def count_multiples(n):\n    return n // {m} + 1"),
                }
            )
        else:  # MBPP asserts
            c = rng.randint(1, 9)
            vals = [rng.randint(-20, 20) for _ in range(3)]
            tests = [f"assert shift_all({[v] * 2}) == {[v + c] * 2}" for v in vals]
            rows.append(
                {
                    "id": f"code/{i}",
                    "problem": f"Write a function shift_all(xs) that returns a new list with "
                    f"{c} added to every element of xs.",
                    "tests": tests,
                    "solution": _fence(f"def shift_all(xs):\n    return [x + {c} for x in xs]"),
                }
            )
    return rows


def write_code_problems(path: str | Path, n: int, seed: int = 0) -> Path:
    return _write_jsonl(path, code_problems(n, seed))


def arithmetic(n: int, seed: int = 0, high: int = 20) -> list[dict]:
    """Easy problems ("What is 7 + 12?") with gold answers: a small model solves some of them, not all,
    which is the band where GRPO has a signal to learn from."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        a, b = rng.randint(1, high), rng.randint(1, high)
        if rng.random() < 0.5:
            rows.append({"id": f"arith/{i}", "problem": f"What is {a} + {b}?", "answer": str(a + b)})
        else:
            a, b = max(a, b), min(a, b)
            rows.append({"id": f"arith/{i}", "problem": f"What is {a} - {b}?", "answer": str(a - b)})
    return rows


def _write_jsonl(path: str | Path, rows: list[dict]) -> Path:
    path = Path(path)
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def write_arithmetic(path: str | Path, n: int, seed: int = 0) -> Path:
    return _write_jsonl(path, arithmetic(n, seed))


TRAIN_FILES = ("gsm8k_style.jsonl", "math_style.jsonl", "numina_style.parquet")
