import polars as pl

from r1data.io import read_inputs
from r1data.ops.decontaminate import Benchmark, DecontamParams, decontaminate
from tests.conftest import records

BENCH = Benchmark(
    "bench",
    [
        "A train leaves the station at noon travelling at sixty miles per hour towards the coast. When does it arrive?",
        "What is 2+2?",
    ],
    ["b/0", "b/1"],
)


def test_copied_and_embedded_benchmark_problems_are_removed_with_their_item():
    df = records(
        problem=[
            "Clean problem about counting sheep in a large field near the river bank.",
            "Consider this. " + BENCH.problems[0],
            "what is 2 + 2 ?",
        ]
    )
    r = decontaminate(df, [BENCH])
    assert r.kept.get_column("id").to_list() == ["0"]
    removed = r.removed.sort("id")
    assert removed.get_column("contaminated_item").to_list() == ["b/0", "b/1"]
    assert removed.get_column("contaminated_benchmark").to_list() == ["bench", "bench"]
    assert removed.get_column("overlap").to_list() == [1.0, 1.0]
    assert removed.get_column("matched_text")[0].startswith("a train leaves")
    assert r.stats["rows_matched"] == {"bench": 2}


def test_min_overlap_zero_flags_any_shared_ngram():
    partial = "A train leaves the station at noon travelling at a steady pace; find its fuel use instead."
    df = records(problem=[partial])
    assert decontaminate(df, [BENCH]).removed.height == 0
    assert decontaminate(df, [BENCH], DecontamParams(min_overlap=0)).removed.height == 1


def test_digits_exact_catches_renumbered_copies():
    df = records(problem=["What is 3+5?"])
    assert decontaminate(df, [BENCH]).removed.height == 0
    r = decontaminate(df, [BENCH], DecontamParams(digits_exact=True))
    assert r.removed.get_column("contamination_match").to_list() == ["digits_exact"]


def test_math500_inside_math_test_is_found(shared_data):
    """MATH-500 is a subset of MATH test: all 500 must be flagged, each against itself, and few others."""
    rows = read_inputs([shared_data / "math_test.jsonl"]).records
    bench = read_inputs([shared_data / "math500_test.jsonl"]).records
    b = Benchmark("math500", bench.get_column("problem").to_list(), bench.get_column("id").to_list())
    r = decontaminate(rows, [b])
    ids500 = set(bench.get_column("id").to_list())
    removed = r.removed
    assert ids500 <= set(removed.get_column("id").to_list())
    own = removed.filter(pl.col("id").is_in(list(ids500)))
    assert (own.get_column("id") == own.get_column("contaminated_item")).all()
    others = removed.height - 500
    assert others <= 60, others  # 44 measured: near-copies and templated variants of MATH-500 items
    # open-r1's rule (any shared 8-gram) flags far more; Light-R1's 32-grams far fewer.
    assert decontaminate(rows, [b], DecontamParams(min_overlap=0)).removed.height > removed.height
