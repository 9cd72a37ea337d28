"""`r1data tag`: the rules on literal cases, on the hand-labelled real sample, and the step (drop, pipelines)."""

from __future__ import annotations

import json

import polars as pl
import pytest
import yaml

from r1data.ops.tags import TAGS, needs_figure, tag
from tests.conftest import run
from tests.ops.tag_cases import CASES, labelled_real


@pytest.mark.parametrize(
    "problem,gold,has_tests,tags", CASES, ids=[f"{i}-{'+'.join(sorted(c[3])) or 'none'}" for i, c in enumerate(CASES)]
)
def test_literal_cases(problem, gold, has_tests, tags):
    assert set(tag(problem, gold, has_tests)) == tags


def test_an_inline_figure_is_present_not_missing():
    ref = "In the diagram, $AB = 3$ and $BC = 4$. Find $AC$."
    assert needs_figure(ref)
    assert not needs_figure(ref + "\n[asy]draw((0,0)--(3,0)--(3,4)--cycle);[/asy]")
    assert not needs_figure("The numbers shown below continue the pattern.\n$$1, 2, 4, 8$$\nWhat comes next?")
    assert not needs_figure("A movie theater shows 6 movies a day; how many movies are shown in a week?")


def test_show_that_is_a_proof_only_as_an_instruction():
    assert "proof" in tag("Show that $n^2 + n$ is even for every integer $n$.", None)
    assert "proof" not in tag("His report card needs to show that he got 80. What is his grade?", "80")
    assert "proof" not in tag("The records show that the team won 3 games. How many did it lose?", "2")


def test_the_hand_labelled_real_sample(shared_data):
    """754 real MATH and GSM8K problems labelled by hand (tests/ops/tag_cases.py says how): every tag the rules
    give agrees with the labels, and none is missed."""
    real = labelled_real(shared_data)
    wrong = [(key, sorted(want), tag(p, g)) for key, p, g, want, _ in real if set(tag(p, g)) != want]
    assert len(real) == 754
    assert sum(bool(want) for *_, want, _ in real) >= 50  # the labels are not all empty
    assert len(wrong) <= 3, wrong  # 99.6%


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def problems(tmp_path):
    rows = [{"id": f"c{i}", "problem": p, "answer": g} for i, (p, g, has_tests, _) in enumerate(CASES) if not has_tests]
    return write(tmp_path / "problems.jsonl", rows), {f"c{i}": c[3] for i, c in enumerate(CASES) if not c[2]}


def test_tag_adds_problem_tags_and_drops_the_named_ones(tmp_path, problems):
    src, labels = problems
    r = run("tag", src, "-o", tmp_path / "out", "--drop", "proof,needs_figure")
    assert r.exit_code == 0, r.stderr
    kept = pl.read_parquet(tmp_path / "out" / "data" / "*.parquet")
    removed = pl.read_parquet(tmp_path / "out" / "removed" / "*.parquet")
    assert dict(zip(kept["id"], kept["problem_tags"].to_list(), strict=True)) == {
        k: [t for t in TAGS if t in v] for k, v in labels.items() if not v & {"proof", "needs_figure"}
    }
    reasons = dict(zip(removed["id"], removed["drop_reason"], strict=True))
    assert reasons == {
        k: "tag:proof" if "proof" in v else "tag:needs_figure"
        for k, v in labels.items()
        if v & {"proof", "needs_figure"}
    }
    stats = json.loads((tmp_path / "out" / "manifest.json").read_text())["stats"]
    assert stats["dropped"] == {"proof": 5, "needs_figure": 4}
    assert stats["tagged"]["multiple_choice"] == sum("multiple_choice" in v for v in labels.values())


def test_an_unknown_tag_is_refused_with_the_vocabulary(tmp_path, problems):
    r = run("tag", problems[0], "-o", tmp_path / "out", "--drop", "proofs")
    assert r.exit_code == 1 and "unknown tag 'proofs'" in r.stderr and "needs_figure" in r.stderr
    assert not (tmp_path / "out").exists()


def test_tag_in_a_pipeline(tmp_path, problems):
    recipe = {
        "input": [str(problems[0])],
        "output": str(tmp_path / "run"),
        "steps": [{"dedup": {"workers": 1}}, {"tag": {"drop": ["proof", "multiple_choice"]}}],
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(recipe))
    r = run("run", tmp_path / "p.yaml")
    assert r.exit_code == 0, r.stderr
    removed = pl.read_parquet(tmp_path / "run" / "02-tag" / "removed" / "*.parquet")
    assert set(removed["drop_reason"]) == {"tag:proof", "tag:multiple_choice"}
