"""Paraphrase decontamination on a small benchmark written for this test, with rephrasings written by hand the way
an LLM rewrites a problem: same quantities, same answer, other words."""

from __future__ import annotations

import polars as pl

from r1data.ops.decontaminate import Benchmark, DecontamParams, decontaminate
from r1data.ops.paraphrase import content_words, find_paraphrases, numbers
from tests.conftest import records

# (benchmark problem, its answer, a rephrasing)
ITEMS = [
    (
        "Nadia bakes 36 muffins and sells them in boxes of 4. She gives 2 boxes to her neighbours. How many boxes "
        "does she sell?",
        "7",
        "Nadia made 36 muffins, which she packs 4 to a box. After giving her neighbours 2 of "
        "the boxes, how many boxes are left for her to sell?",
    ),
    (
        "A farmer has 120 chickens. Each chicken lays 5 eggs a week, and he sells the eggs for $3 a dozen. How much "
        "does he earn in a week?",
        "150",
        "Every week each of a farmer's 120 chickens lays 5 eggs. He charges $3 for "
        "each dozen eggs. What are his weekly earnings?",
    ),
    (
        "Omar runs 3 miles every morning and 5 miles every Sunday evening. How many miles does he run in a week?",
        "26",
        "Each morning Omar goes for a 3-mile run, and on Sunday evenings he adds a 5-mile run. What is his total "
        "mileage over one week?",
    ),
    (
        "A library has 450 books on 9 shelves, the same number on each shelf. It buys 15 more books for each shelf. "
        "How many books are on one shelf now?",
        "65",
        "There are 450 books spread evenly across 9 shelves in a "
        "library. If 15 new books are added to every shelf, how many books does each shelf hold?",
    ),
    (
        "Lena saves $12 a week for 8 weeks and then spends $35 on a jacket. How much money does she have left?",
        "61",
        "For 8 weeks Lena puts away $12 every week. She then buys a jacket for $35. What amount of money remains?",
    ),
    (
        "A train travels at 80 kilometres per hour for 3 hours and then at 60 kilometres per hour for 2 hours. How "
        "far does it travel?",
        "360",
        "Moving at 80 km per hour, a train goes for 3 hours, after which it slows to "
        "60 km per hour for 2 more hours. What distance does the train cover?",
    ),
    (
        "Priya buys 6 notebooks at $2.50 each and 3 pens at $1.20 each. How much does she spend?",
        "18.6",
        "What does Priya pay in total for 6 notebooks costing $2.50 apiece and 3 pens costing $1.20 apiece?",
    ),
    (
        "A garden is 14 metres long and 9 metres wide. Fencing costs $7 per metre. How much does it cost to fence "
        "the whole garden?",
        "322",
        "It costs $7 per metre to put up fencing. How much will it cost to fence all "
        "the way around a garden that measures 14 metres by 9 metres?",
    ),
    (
        "Tickets cost $15 for adults and $8 for children. A family of 2 adults and 3 children goes to the zoo. How "
        "much do they pay?",
        "54",
        "At the zoo, adult tickets are $15 and child tickets are $8. What does a family "
        "with two adults and three children pay?",
    ),
    (
        "Kofi reads 25 pages of his novel each day. The novel has 400 pages and he has already read 150. How many "
        "more days does he need?",
        "10",
        "Kofi's novel is 400 pages long and he has finished 150 pages. Reading 25 "
        "pages a day, how many days will it take him to finish?",
    ),
    (
        "A bakery makes 240 rolls a day and sells 85 percent of them. How many rolls are left over each day?",
        "36",
        "Every day a bakery bakes 240 rolls, and 85% of them are sold. How many rolls go unsold daily?",
    ),
    (
        "Sam has twice as many stamps as Mia, and Mia has 45 stamps. They give away 30 stamps together. How many "
        "stamps do they have now?",
        "105",
        "Mia owns 45 stamps while Sam owns two times as many. After the two of "
        "them give 30 stamps away, how many stamps remain between them?",
    ),
]
CLEAN = [
    "Maria buys 4 packs of stickers with 12 stickers in each pack and gives 9 to friends. How many are left?",
    "A bus travels at 45 miles per hour for 2 hours. How far does it go?",
    "Find the value of x if 3x + 7 = 22.",
    "The sum of two consecutive integers is 41. What is the larger integer?",
    "A rectangle has a perimeter of 30 cm and a length of 9 cm. What is its width?",
    "Tom earns $15 an hour and works 6 hours on Saturday. How much does he earn?",
    "What is the remainder when 2024 is divided by 7?",
    "A jar holds 36 marbles, and a third of them are red. How many marbles are not red?",
    "Compute the number of positive divisors of 360.",
    "Eli walks 3 miles a day for 5 days. How many miles does he walk?",
    "Solve for y: 5y - 12 = 3y + 8.",
    "A class of 28 students splits into teams of 4. How many teams are there?",
    "Jo has 3 times as many apples as Ann, who has 7. How many apples does Jo have?",
    "A shirt costs $40 and is on sale for 25% off. What is the sale price?",
    "How many minutes are there in 3 and a half hours?",
    "The average of 5 numbers is 12. What is their sum?",
]


def bench(with_answers: bool = True) -> Benchmark:
    answers = [a for _, a, _ in ITEMS] if with_answers else None
    return Benchmark("mine", [q for q, _, _ in ITEMS], [f"b{i}" for i in range(len(ITEMS))], answers)


def test_rephrasings_are_caught_and_clean_rows_are_not():
    rephrased = [r for _, _, r in ITEMS]
    df = records(problem=rephrased + CLEAN, answer=[a for _, a, _ in ITEMS] + [None] * len(CLEAN))
    ngram_only = decontaminate(df, [bench()], DecontamParams())
    assert ngram_only.removed.height == 0  # rewording defeats the n-gram test
    r = decontaminate(df, [bench()], DecontamParams(paraphrase=True))
    caught = r.removed.filter(pl.col("contamination_match") == "paraphrase")
    assert caught.height >= 0.7 * len(ITEMS)
    assert set(caught.get_column("id").to_list()) <= {str(i) for i in range(len(ITEMS))}  # no clean row flagged
    rows, items = caught.get_column("id").cast(pl.Int64).to_list(), caught.get_column("contaminated_item").to_list()
    assert all(item == f"b{row}" for row, item in zip(rows, items, strict=True))
    assert caught.get_column("matched_text").str.starts_with("quantities ").all()
    assert r.stats["matched_by"]["paraphrase"] == caught.height


def test_a_different_answer_is_a_different_problem():
    question, answer, rephrasing = ITEMS[0]
    assert find_paraphrases([rephrasing], [question], ["7"], [answer])
    assert not find_paraphrases([rephrasing], [question], ["9"], [answer])  # same words and numbers, other answer
    assert find_paraphrases([rephrasing], [question])  # no answers: words and numbers decide


def test_quantities_are_read_in_words_and_digits():
    assert numbers("Twelve hundred apples, 1,200 pears and twenty-five plums; twice as many") == {
        "1200": 2,
        "25": 1,
        "2": 1,
    }
    assert numbers("It costs $2.50 or 2.5 dollars") == {"2.5": 2}
    assert "\\frac" not in content_words("Find $\\frac{a}{b}$ for the muffins") and "muffin" in content_words("muffins")
    # Items with fewer than two quantities are left to the n-gram test.
    assert not find_paraphrases(["What is the capital of France, really?"], ["Name the capital of France."])
