"""--help that helps: the step's own options first, then panels (the model, an engine, the judge, input/output,
display), readable value names, one default each, and two examples that parse."""

from __future__ import annotations

import re
import shlex

import pytest
import typer

from r1data.cli import app
from r1data.steps.registry import step_commands
from tests.conftest import run

COMMANDS = sorted(step_commands())


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_panels_readable_types_one_default_and_examples(name):
    text = run(name, "--help").stdout
    sections = re.findall(r"^(\S[^\n]*):$", text, re.MULTILINE)
    assert sections[:2] == ["Arguments", "Options"] or sections[0] == "Arguments", sections
    assert sections[-3:] == ["Input/output", "Display", "Examples"], sections
    assert not re.search(r"<(list|int|float|str|bool|path)", text)  # no Python types
    assert "Usage: r1data " + name + " [OPTIONS] INPUT..." in text
    entries = re.split(r"\n  (?=-)", text)
    assert all(e.count("[default:") <= 1 for e in entries), [e for e in entries if e.count("[default:") > 1]
    examples = text.split("Examples:\n", 1)[1].strip().splitlines()
    assert len(examples) == 2 and all(e.strip().startswith(f"r1data {name} ") for e in examples)


@pytest.mark.parametrize("name", COMMANDS)
def test_each_example_parses(name):
    """An example that names an option the command does not have fails here, not in a user's shell."""
    command = typer.main.get_command(app).commands[name]
    for example in command.epilog.splitlines():
        args = shlex.split(example)[2:]
        with command.make_context(name, args) as ctx:
            assert ctx.params["inputs"]


def test_generation_settings_are_grouped_by_what_they_set():
    text = run("filter", "--help").stdout
    panels = {title: body for title, body in re.findall(r"^(\S[^\n]*):\n((?:  .*\n|\n)*)", text, re.MULTILINE)}
    assert "--max-tokens" in panels["Model and sampling"] and "--cpu-threads-bind" in panels["vllm engine"]
    assert "--base-url" in panels["openai engine"] and "--timeout" in panels["Judge"]
    assert "--problem-field" in panels["Input/output"] and "--json" in panels["Display"]
    assert "--pass-rate" in panels["Options"]
