"""Training settings come from the installed TRL: every GRPOConfig/SFTConfig field is a setting, values are checked
against that TRL, and what a recipe sets reaches TRL's config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from r1data.errors import ConfigError
from r1data.train.config import TRL_RESERVED, config_class, load_train_config, trl_settings

trl = pytest.importorskip("trl", reason="needs the train extra")
RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@pytest.mark.parametrize("task,trl_cls", [("grpo", "GRPOConfig"), ("sft", "SFTConfig")])
def test_every_trl_field_is_a_setting(task, trl_cls):
    fields = {f.name for f in dataclasses.fields(config_class(task))}
    theirs = {f.name for f in dataclasses.fields(getattr(trl, trl_cls)) if f.init and not f.name.startswith("_")}
    assert theirs - set(TRL_RESERVED) <= fields
    # including the ones r1data never wrote by hand
    if task == "grpo":
        assert {
            "importance_sampling_level",
            "top_entropy_quantile",
            "delta",
            "off_policy_mask_threshold",
            "vllm_importance_sampling_correction",
            "sapo_temperature_neg",
        } <= fields


def test_trl_settings_are_typed_checked_and_passed_on():
    cfg = load_train_config(
        "grpo",
        None,
        {"loss_type": "cispo", "importance_sampling_level": "sequence", "top_entropy_quantile": "0.2", "delta": "1.5"},
    )
    assert cfg.top_entropy_quantile == 0.2 and cfg.delta == 1.5  # text from a flag, TRL's types
    assert trl_settings(cfg) == {"importance_sampling_level": "sequence", "top_entropy_quantile": 0.2, "delta": 1.5}
    from r1data.train.trl import _trl_args

    args = _trl_args(trl.GRPOConfig, {"output_dir": "unused", "report_to": [], "use_cpu": True}, cfg)
    assert args.importance_sampling_level == "sequence" and args.top_entropy_quantile == 0.2


def test_a_value_the_installed_trl_lacks_names_the_version():
    with pytest.raises(ConfigError, match=rf"loss_type must be one of .*vespo.* TRL {trl.__version__} \(got 'gspo'\)"):
        load_train_config("grpo", None, {"loss_type": "gspo"})
    with pytest.raises(ConfigError, match="truncation_mode must be one of"):
        load_train_config("sft", None, {"truncation_mode": "middle"})


def test_an_unknown_setting_is_refused_with_a_suggestion_and_the_trl_version():
    with pytest.raises(
        ConfigError,
        match=rf"unknown setting 'importance_sampling_lvl' .*TRL {trl.__version__}.*"
        r"Did you mean 'importance_sampling_level'",
    ):
        load_train_config("grpo", None, {"importance_sampling_lvl": "sequence"})


def test_the_gspo_recipe_loads():
    cfg = load_train_config("grpo", RECIPES / "qwen2.5-math-1.5b" / "grpo" / "gspo-r1-zero.yaml", None)
    assert cfg.importance_sampling_level == "sequence" and cfg.loss_type == "grpo" and cfg.epsilon == 3.0e-4
    assert cfg.steps_per_generation == 8 and cfg.prompt == "r1-zero"
