"""One step contract: every registered step has a Config and run(); its command's options are exactly the Config's
fields plus the input/output settings; recipes and the Python API reach every step by name."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from r1data.config import settings_of
from r1data.errors import ConfigError
from r1data.steps import STEPS, IOConfig, get_step

COMMANDS = {name for name in STEPS if not name.startswith("train-")}  # each registered step's own command
DISPLAY = {
    "quiet",
    "verbose",
    "json_out",
    "show_clusters",
    "show_siblings",
    "plot",
}  # how a command prints, not what the step does


def test_every_step_has_a_config_and_run_with_the_contract():
    for name in STEPS:
        step = get_step(name)
        assert dataclasses.is_dataclass(step.config), name
        params = inspect.signature(step.run).parameters
        assert (
            list(params)[:4] == ["inputs", "out", "cfg", "io"]
            and params["engine"].kind is inspect.Parameter.KEYWORD_ONLY
        )
        for f in settings_of(step.config):
            assert f.metadata.get("help"), f"{name}.{f.name} has no help"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_options_equal_the_config_fields(name):
    import typer.main

    from r1data.cli import app

    command = typer.main.get_command(app).commands[name]
    options = {p.name for p in command.params} - {"inputs", "output"}
    fields = {f.name for f in settings_of(get_step(name).config)} | {f.name for f in settings_of(IOConfig)}
    assert options - DISPLAY == fields


def test_bad_settings_name_the_setting_and_the_fix():
    from r1data.steps.dedup import Config as Dedup
    from r1data.steps.filter import Config as Filter

    with pytest.raises(ConfigError, match=r"threshold \(--threshold\): must be in \(0, 1\] \(got 2\)"):
        Dedup(threshold=2)
    with pytest.raises(ConfigError, match=r"pass_rate \(--pass-rate\): .*LO:HI"):
        Filter(pass_rate="lots")
    with pytest.raises(ConfigError, match=r"base_url .*--engine openai needs"):
        Filter(pass_rate="0:1", engine="openai")
    with pytest.raises(ConfigError, match=r"on_error \(--on-error\): must be fail or skip"):
        IOConfig(on_error="ignore")


def test_the_pipeline_docstring_example_is_a_valid_recipe(tmp_path, monkeypatch):
    import r1data.pipeline as pipeline

    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the example names recipes/ relative to the repository
    example = re.search(r"A pipeline recipe:\n\n(.*?)\n\n", pipeline.__doc__, re.DOTALL).group(1)
    recipe = tmp_path / "p.yaml"
    recipe.write_text(inspect.cleandoc(example))
    pipe = pipeline.load_pipeline(recipe)
    assert [s.name for s in pipe.steps] == ["dedup", "decontaminate", "filter", "rejection-sample", "train"]
    assert pipe.steps[1].argv[:2] == ["decontaminate", "out/pipeline/01-dedup"]
