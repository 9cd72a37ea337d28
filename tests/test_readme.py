"""The README says what the code does: its demo description is made from the demo's own recipe, so the two cannot
drift apart (before: the README said 16 problems, GRPO and `07-train` while the demo ran 24 problems, SFT and
`08-train`); its install and test commands are the ones CI runs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from r1data.cli.demo import GENERATION_STEPS, demo_command, demo_recipe

ROOT = Path(__file__).resolve().parents[1]
README = " ".join((ROOT / "README.md").read_text().split())  # whitespace as one space: lines may wrap anywhere


def demo_steps_sentence() -> str:
    """What the demo runs, in words, from the recipe r1data/demo/pipeline.yaml and `r1data demo`'s defaults."""
    problems = inspect.signature(inspect.unwrap(demo_command)).parameters["problems"].default
    steps = demo_recipe(Path("demo"), problems, generate=True, train=True)["steps"]
    keys = [f"{i:02d}-{next(iter(step))}" for i, step in enumerate(steps, 1)]
    curation = [k for k in keys if k.split("-", 1)[1] not in (*GENERATION_STEPS, "train")]
    generation = [k for k in keys if k.split("-", 1)[1] in GENERATION_STEPS]
    train = next(step["train"] for step in steps if "train" in step)
    trained = next(k for k in keys if k.endswith("-train"))
    return (
        f"Its steps: {', '.join(curation)}; then, with an engine, {' and '.join(generation)} on {problems} problems "
        f"with the built-in model; then, with TRL, {trained} ({train['task'].upper()}, {train['max_steps']} steps) "
        "on the accepted traces."
    )


def test_the_readme_describes_the_demo_the_recipe_runs():
    sentence = demo_steps_sentence()
    assert README.count(sentence) == 2, sentence  # in the quick start and in "Demo data"


def test_the_readme_installs_and_tests_as_ci_does():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/install.sh" in ci and "python -m pytest -q" in ci
    assert "python3 -m venv .venv && . .venv/bin/activate" in README  # install.sh refuses the system's Python
    assert "bash scripts/install.sh && r1data demo demo" in README and "python -m pytest -q" in README
    assert re.search(r"about [\d.]+ minutes on 2 cores, and [\d.]+ minutes with another CPU-heavy job", README)
