"""Recipes: defaults < recipe < flags, unknown keys and wrong types stop the run, every recipe file loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from r1data.config import parse_flags
from r1data.errors import ConfigError
from r1data.pipeline import load_pipeline
from r1data.train.config import GRPOTrainConfig, SFTTrainConfig, check_config, load_train_config
from tests.conftest import run

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_then_recipe_then_flags(tmp_path):
    recipe = write(tmp_path, "task: grpo\nlearning_rate: 3.0e-6\nnum_generations: 4\nreward_funcs: [accuracy]\n")
    flags = parse_flags(
        ["--learning-rate", "1e-5", "--reward-funcs", "accuracy,format", "--no-resume"], GRPOTrainConfig
    )
    cfg = load_train_config("grpo", recipe, flags)
    assert cfg.learning_rate == 1e-5  # flag beats recipe
    assert cfg.num_generations == 4  # recipe beats default
    assert cfg.reward_funcs == ["accuracy", "format"]
    assert cfg.resume is False
    assert cfg.beta == 0.0 and cfg.loss_type == "dapo"  # defaults, recorded in the manifest
    assert load_train_config("grpo", None, None).learning_rate == GRPOTrainConfig().learning_rate


def test_unknown_recipe_key_names_file_key_and_suggestion(tmp_path):
    recipe = write(tmp_path, "task: grpo\nlearning_rat: 1e-6\n")
    with pytest.raises(ConfigError, match=r"r\.yaml: unknown setting 'learning_rat'.*Did you mean 'learning_rate'"):
        load_train_config("grpo", recipe, None)


def test_unknown_flag_and_wrong_type_are_errors():
    with pytest.raises(ConfigError, match="unknown setting 'num_generation'"):
        parse_flags(["--num-generation", "4"], GRPOTrainConfig)
    with pytest.raises(ConfigError, match="'num_generations' must be an integer, got 'four'"):
        load_train_config("grpo", None, {"num_generations": "four"})
    with pytest.raises(ConfigError, match="'bf16' must be true or false or null"):
        load_train_config("sft", None, {"bf16": "maybe"})


def test_recipe_of_the_other_task_is_refused(tmp_path):
    recipe = write(tmp_path, "task: sft\nmax_length: 128\n")
    with pytest.raises(ConfigError, match="is a 'sft' recipe; run it with `r1data train sft`"):
        load_train_config("grpo", recipe, None)


def test_batch_not_divisible_by_num_generations_names_the_fix():
    cfg = GRPOTrainConfig(per_device_train_batch_size=6, num_generations=4)
    with pytest.raises(ConfigError, match=r"6 per device x 1 processes x 1 steps = 6 completions.*multiple of 4"):
        check_config(cfg, num_processes=1)
    check_config(cfg, num_processes=2)  # 12 completions on two devices: divisible
    with pytest.raises(ConfigError, match="dynamic_sampling needs whole groups"):
        check_config(GRPOTrainConfig(per_device_train_batch_size=6, num_generations=4, dynamic_sampling=True), 2)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"reward_funcs": ["acuracy"]}, "unknown reward 'acuracy'"),
        ({"reward_weights": [1.0]}, "reward_weights has 1 values for 2 reward_funcs"),
        ({"loss_type": "ppo"}, "loss_type must be one of grpo, dr_grpo, dapo, bnpo"),
        ({"num_generations": 1, "per_device_train_batch_size": 1}, "num_generations must be at least 2"),
        ({"epsilon_high": 0.1}, r"epsilon_high \(0.1\) must not be below epsilon"),
        ({"reward_options": {"overlong": {"max_tokens": 10}}}, "'overlong' is not in reward_funcs"),
    ],
)
def test_settings_that_cannot_work_are_named(settings, message):
    with pytest.raises(ConfigError, match=message):
        load_train_config("grpo", None, settings)


def test_train_cli_reports_config_errors_without_traceback(tmp_path):
    r = run("train", "grpo", "--data", tmp_path, "-o", tmp_path / "o", "--per-device-train-batch-size", "3")
    assert r.exit_code == 1
    assert "not divisible by num_generations" in r.stderr
    assert "Traceback" not in r.stderr
    r = run("train", "sft", "--data", tmp_path, "-o", tmp_path / "o", "--learning-rat", "1")
    assert r.exit_code == 1 and "Did you mean 'learning_rate'" in r.stderr


def test_every_recipe_file_loads_and_validates():
    train_recipes = pipelines = accelerate = 0
    for path in sorted(RECIPES.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if path.parent.name == "accelerate":
            assert data["distributed_type"] in {"MULTI_GPU", "DEEPSPEED", "FSDP"}, path
            assert data["num_processes"] >= 1
            accelerate += 1
        elif "steps" in data:
            pipe = load_pipeline(path)  # builds and checks every step's command line, train settings included
            assert [s.name for s in pipe.steps][0] == "dedup" and pipe.steps[-1].name == "train", path
            pipelines += 1
        else:
            cfg = load_train_config(data["task"], path, None)
            check_config(cfg)
            assert isinstance(cfg, SFTTrainConfig if data["task"] == "sft" else GRPOTrainConfig)
            train_recipes += 1
    assert train_recipes >= 5 and pipelines >= 2 and accelerate == 4


def test_pipeline_recipe_errors_name_step_and_option(tmp_path):
    recipe = write(tmp_path, "input: [a.jsonl]\noutput: out\nsteps:\n  - dedup: {treshold: 0.7}\n")
    with pytest.raises(ConfigError, match=r"step 1 \(dedup\): 'treshold' is not a setting of r1data dedup.*threshold"):
        load_pipeline(recipe)
    recipe = write(tmp_path, "input: [a.jsonl]\noutput: out\nsteps:\n  - train: {task: grpo, lerning_rate: 1}\n")
    with pytest.raises(ConfigError, match=r"step 1 \(train\): unknown setting 'lerning_rate'"):
        load_pipeline(recipe)
    recipe = write(tmp_path, "input: [a.jsonl]\noutput: out\nsteps:\n  - train: {task: sft}\n  - dedup: {}\n")
    with pytest.raises(ConfigError, match="train must be the last step"):
        load_pipeline(recipe)


@pytest.mark.parametrize(
    "flags,named",
    [
        (["--engine", "transformers", "--tensor-parallel-size", "2"], "tensor_parallel_size"),
        (["--engine", "transformers", "--max-model-len", "4096"], "max_model_len"),
        (["--engine", "vllm", "--base-url", "http://127.0.0.1:8000/v1"], "base_url"),
        (["--engine", "vllm", "--concurrency", "32"], "concurrency"),
        (
            ["--engine", "openai", "--base-url", "http://127.0.0.1:9/v1", "--gpu-memory-utilization", "0.5"],
            "gpu_memory_utilization",
        ),
    ],
)
def test_another_engines_option_is_refused_not_ignored(tmp_path, flags, named):
    """Before: --engine transformers --tensor-parallel-size 2 ran on one device, the option silently dropped."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"problem": "1+1?", "answer": "2"}\n')
    r = run("filter", src, "-o", tmp_path / "out", "--pass-rate", "0.1-0.9", *flags)
    assert r.exit_code == 1 and named in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) <= 3 and not (tmp_path / "out").exists()


def test_an_engine_refuses_options_it_does_not_take():
    from r1data.engines import _accepted
    from r1data.engines.transformers_engine import TransformersEngine
    from r1data.errors import ConfigError

    with pytest.raises(ConfigError, match="does not take tensor_parallel_size"):
        _accepted(TransformersEngine, "transformers", "model", {"seed": 0, "tensor_parallel_size": 2})
