"""The training settings: defaults < recipe < flags, every setting with its help, and every check that can be
made before a model loads (each names the setting and the fix)."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1data.config import load_recipe
from r1data.errors import ConfigError

TASKS = ("sft", "grpo")
LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo")
SCALE_REWARDS = ("group", "batch", "none")
RECIPE_ONLY_KEYS = ("task",)  # recipe keys that describe the file, not a setting
# Settings a resumed run may change: how long it trains and what it logs, not what it learns from.
RESUME_SAFE = {
    "max_steps",
    "num_train_epochs",
    "save_steps",
    "save_total_limit",
    "logging_steps",
    "report_to",
    "log_completions",
    "save_completions",
    "resume",
    "allow_unisolated_code",
}


def _h(text: str) -> dict:
    return {"help": text}


@dataclass
class TrainConfig:
    """Settings both trainers share. Field names follow TRL's, so recipes read like TRL configs."""

    model: str | None = field(
        default=None, metadata=_h("Local model folder or .gguf file; none: built-in SmolLM2-135M.")
    )
    seed: int = field(default=42, metadata=_h("Seed for data order, sampling and initialisation."))
    learning_rate: float = field(default=1e-5, metadata=_h("Peak learning rate."))
    lr_scheduler_type: str = field(default="cosine", metadata=_h("linear, cosine, constant, constant_with_warmup..."))
    warmup_ratio: float = field(default=0.0, metadata=_h("Share of steps spent warming up."))
    weight_decay: float = field(default=0.0, metadata=_h("AdamW weight decay."))
    max_grad_norm: float = field(default=1.0, metadata=_h("Gradient clipping."))
    per_device_train_batch_size: int = field(default=8, metadata=_h("Rows per device per step (GRPO: completions)."))
    gradient_accumulation_steps: int = field(default=1, metadata=_h("Steps accumulated per optimizer update."))
    num_train_epochs: float = field(default=1.0, metadata=_h("Epochs (ignored when max_steps > 0)."))
    max_steps: int = field(default=-1, metadata=_h("Optimizer steps; -1: run num_train_epochs."))
    bf16: bool | None = field(default=None, metadata=_h("bfloat16 training; none: on when a GPU supports it."))
    gradient_checkpointing: bool = field(default=False, metadata=_h("Trade compute for memory (long CoT on GPU)."))
    lora: bool = field(default=False, metadata=_h("Train a LoRA adapter (peft) instead of all weights."))
    lora_r: int = field(default=16, metadata=_h("LoRA rank."))
    lora_alpha: int = field(default=32, metadata=_h("LoRA alpha."))
    lora_dropout: float = field(default=0.05, metadata=_h("LoRA dropout."))
    lora_target_modules: list[str] = field(default_factory=lambda: ["all-linear"], metadata=_h("LoRA target modules."))
    save_steps: int = field(default=500, metadata=_h("Write a checkpoint every N steps."))
    save_total_limit: int | None = field(default=None, metadata=_h("Keep only the newest N checkpoints."))
    logging_steps: int = field(default=10, metadata=_h("Log metrics every N steps."))
    report_to: list[str] | None = field(
        default=None, metadata=_h("tensorboard, trackio, wandb or none; none given: tensorboard when installed.")
    )
    resume: bool = field(default=True, metadata=_h("Continue from the newest checkpoint in the output folder."))
    think_prefilled: bool = field(
        default=False, metadata=_h("The chat template opens <think> itself (R1-Distill models).")
    )

    def __post_init__(self) -> None:
        check_config(self)


@dataclass
class SFTTrainConfig(TrainConfig):
    """Distillation: supervised fine-tuning on accepted traces (the `messages` of rejection-sample)."""

    learning_rate: float = field(default=2e-5, metadata=_h("Peak learning rate."))
    max_length: int = field(default=4096, metadata=_h("Tokens per example; longer ones are truncated (counted)."))
    packing: bool = field(default=False, metadata=_h("Pack several examples into one sequence."))
    messages_field: str = field(default="messages", metadata=_h("Column with the chat messages."))


@dataclass
class GRPOTrainConfig(TrainConfig):
    """RL with verifiable rewards on problems with gold answers (e.g. the kept pass-rate band)."""

    learning_rate: float = field(default=1e-6, metadata=_h("Peak learning rate."))
    lr_scheduler_type: str = field(default="constant", metadata=_h("linear, cosine, constant, ..."))
    num_generations: int = field(default=8, metadata=_h("Completions per prompt (the group)."))
    max_completion_length: int = field(default=1024, metadata=_h("Tokens per completion."))
    temperature: float = field(default=1.0, metadata=_h("Sampling temperature."))
    top_p: float = field(default=1.0, metadata=_h("Nucleus sampling."))
    beta: float = field(default=0.0, metadata=_h("KL coefficient; 0 loads no reference model."))
    epsilon: float = field(default=0.2, metadata=_h("Lower clip range."))
    epsilon_high: float | None = field(default=None, metadata=_h("Upper clip range (DAPO clip-higher: 0.28)."))
    loss_type: str = field(
        default="dapo",
        metadata=_h(
            "grpo, dr_grpo, dapo, bnpo, or any other the installed TRL offers (TRL 1.16 adds cispo, sapo, luspo, "
            "vespo); checked against it."
        ),
    )
    scale_rewards: str = field(default="group", metadata=_h("group, batch or none (Dr. GRPO)."))
    mask_truncated_completions: bool = field(default=False, metadata=_h("Leave cut-off completions out of the loss."))
    num_iterations: int = field(default=1, metadata=_h("Updates per generated batch (GRPO's mu)."))
    steps_per_generation: int | None = field(
        default=None, metadata=_h("Optimizer steps served by one generation batch; none: gradient_accumulation_steps.")
    )
    reward_funcs: list[str] = field(
        default_factory=lambda: ["accuracy", "format"], metadata=_h("Shared reward functions by name.")
    )
    reward_weights: list[float] | None = field(default=None, metadata=_h("One weight per reward; none: all 1."))
    reward_options: dict = field(
        default_factory=dict, metadata=_h("Options per reward, e.g. {overlong: {max_tokens: 1024}}.")
    )
    reward_model: str | None = field(default=None, metadata=_h("Local reward-model folder scored beside the rewards."))
    reward_model_weight: float = field(default=1.0, metadata=_h("Weight of the reward model."))
    dynamic_sampling: bool = field(
        default=False, metadata=_h("DAPO: drop groups whose rewards are all equal and refill the batch.")
    )
    dynamic_sampling_max_rounds: int = field(
        default=4, metadata=_h("Generation rounds per batch at most; then zero-advantage groups fill the rest.")
    )
    prompt: str = field(default="boxed", metadata=_h("Built-in prompt: boxed, r1-zero or code."))
    system: str | None = field(default=None, metadata=_h("System message (replaces the built-in prompt's)."))
    user_template: str | None = field(default=None, metadata=_h("User message with {problem}."))
    use_vllm: bool = field(default=False, metadata=_h("Generate with vLLM (GPU)."))
    vllm_mode: str = field(default="colocate", metadata=_h("colocate (same GPUs) or server (trl vllm-serve)."))
    vllm_gpu_memory_utilization: float = field(default=0.3, metadata=_h("colocate: GPU memory share for vLLM."))
    vllm_server_base_url: str | None = field(default=None, metadata=_h("server: e.g. http://10.0.0.2:8000."))
    log_completions: bool = field(default=False, metadata=_h("Print sample completions at each log step."))
    save_completions: bool = field(
        default=False, metadata=_h("Append every scored completion and its rewards to OUT/completions.jsonl.")
    )
    allow_unisolated_code: bool = field(
        default=False,
        metadata=_h(
            "Run code rewards even where the sandbox cannot isolate programs (no root or namespaces): "
            "the policy could learn to read the expected outputs. Off: such a run is refused."
        ),
    )


CONFIGS: dict[str, type[TrainConfig]] = {"sft": SFTTrainConfig, "grpo": GRPOTrainConfig}

# ---------------------------------------------------------------------------------------------------------------
# Every setting of the installed TRL

TRL_RESERVED = ("output_dir",)  # r1data sets it: the run's work folder under -o


def _trl_class(task: str) -> Any:
    """TRL's config class for a task, or None when TRL is not installed."""
    try:
        import trl
    except ImportError:
        return None
    return {"sft": trl.SFTConfig, "grpo": trl.GRPOConfig}[task]


def _choices(f: dataclasses.Field) -> tuple | None:
    """The values a TRL field accepts, from its metadata, else from a "Supported values are ..." sentence of its
    help (trusted only when it names the default)."""
    if f.metadata.get("choices"):
        return tuple(f.metadata["choices"])
    m = re.search(
        r"(?:Supported|Possible|Valid|Allowed) values are\b(.*?)(?:\.\s|\.$|$)", f.metadata.get("help") or "", re.DOTALL
    )
    if not m:
        return None
    values = tuple(re.findall(r"[`'\"]([\w\-]+)[`'\"]", m.group(1)))
    return values if f.default in values else None


@functools.cache
def trl_choices(task: str) -> dict[str, tuple]:
    """The accepted values of TRL's settings that have a fixed set, by name ({} without TRL)."""
    cls = _trl_class(task)
    if cls is None:
        return {}
    return {f.name: c for f in dataclasses.fields(cls) if f.init and (c := _choices(f))}


@functools.cache
def config_class(task: str) -> type[TrainConfig]:
    """The settings of a task: r1data's own (with r1data's defaults) plus every other field of the installed TRL's
    SFTConfig/GRPOConfig, with TRL's types, defaults and help, so a recipe may use anything TRL offers and a new
    TRL release needs no change here. Without TRL, r1data's own."""
    if task not in CONFIGS:
        raise ConfigError(f"unknown training task '{task}'; choose sft or grpo")
    base, trl_cls = CONFIGS[task], _trl_class(task)
    if trl_cls is None:
        return base
    import trl

    hints = typing.get_type_hints(trl_cls)
    own = {f.name for f in dataclasses.fields(base)}
    extra = []
    for f in dataclasses.fields(trl_cls):
        if not f.init or f.name in own or f.name in TRL_RESERVED or f.name.startswith("_"):
            continue
        text = " ".join((f.metadata.get("help") or "").split())
        meta = {"help": f"TRL: {text}", "trl": True}
        if f.default_factory is not dataclasses.MISSING:
            extra.append((f.name, hints[f.name], field(default_factory=f.default_factory, metadata=meta)))
        else:
            extra.append((f.name, hints[f.name], field(default=f.default, metadata=meta)))
    cls = dataclasses.make_dataclass(base.__name__, extra, bases=(base,))
    cls.__module__, cls.__doc__, cls.__qualname__ = base.__module__, base.__doc__, base.__qualname__
    cls.TRL_ORIGIN = f"TRL {trl.__version__}'s {trl_cls.__name__}"  # type: ignore[attr-defined]
    cls.SETTINGS_ORIGIN = f"r1data's and the fields of {cls.TRL_ORIGIN}"  # type: ignore[attr-defined]
    return cls


def trl_settings(cfg: TrainConfig) -> dict[str, Any]:
    """The TRL fields a config sets to something other than TRL's default (what the adapter passes on)."""
    out = {}
    for f in dataclasses.fields(cfg):
        if f.metadata.get("trl"):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            value = getattr(cfg, f.name)
            if value != default:
                out[f.name] = value
    return out


def load_train_config(task: str, recipe: str | Path | None, overrides: dict[str, Any] | None) -> TrainConfig:
    if task not in CONFIGS:
        raise ConfigError(f"unknown training task '{task}'; choose sft or grpo")
    if recipe is not None:
        from r1data.config import read_yaml

        declared = read_yaml(recipe).get("task")
        if declared is not None and declared != task:
            raise ConfigError(f"{recipe}: is a '{declared}' recipe; run it with `r1data train {declared}`")
    cfg = load_recipe(config_class(task), recipe, overrides, ignore=RECIPE_ONLY_KEYS)
    # The batch checks need the number of processes: WORLD_SIZE under accelerate/torchrun, else one.
    check_config(cfg, int(os.environ.get("WORLD_SIZE", "1") or 1))
    return cfg


def _check_choice(value: str, choices: tuple, name: str) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)} (got '{value}')")


def check_config(cfg: TrainConfig, num_processes: int | None = None) -> None:
    """Settings that cannot work together, named with the fix, before anything is loaded (run by every config's
    `__post_init__`; the batch checks that depend on the number of processes run at launch, with it)."""
    positive = ["per_device_train_batch_size", "gradient_accumulation_steps", "save_steps", "logging_steps"]
    for name in positive:
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be at least 1 (got {getattr(cfg, name)})")
    if cfg.learning_rate <= 0:
        raise ConfigError(f"learning_rate must be positive (got {cfg.learning_rate})")
    if cfg.max_steps == 0 or (cfg.max_steps < 0 and cfg.num_train_epochs <= 0):
        raise ConfigError("nothing to train: set max_steps > 0 or num_train_epochs > 0")
    task = "grpo" if isinstance(cfg, GRPOTrainConfig) else "sft"
    for name, choices in trl_choices(task).items():
        value = getattr(cfg, name, None)
        if value is not None and str(value) not in choices:
            import trl

            raise ConfigError(
                f"{name} must be one of {', '.join(map(str, choices))} in the installed TRL "
                f"{trl.__version__} (got '{value}')"
            )
    if not isinstance(cfg, GRPOTrainConfig):
        return
    from r1data.judge.rewards import REWARDS

    if not trl_choices("grpo"):  # no TRL to ask: the values every TRL release since 0.19 takes
        _check_choice(cfg.loss_type, LOSS_TYPES, "loss_type")
    _check_choice(cfg.scale_rewards, SCALE_REWARDS, "scale_rewards")
    _check_choice(cfg.vllm_mode, ("colocate", "server"), "vllm_mode")
    if cfg.num_generations < 2:
        raise ConfigError("num_generations must be at least 2: GRPO compares completions within a group")
    if not cfg.reward_funcs and not cfg.reward_model:
        raise ConfigError("no rewards: set reward_funcs (e.g. [accuracy, format]) or reward_model")
    for name in cfg.reward_funcs:
        if name not in REWARDS:
            raise ConfigError(f"reward_funcs: unknown reward '{name}'; choose from {', '.join(REWARDS)}")
    for name in cfg.reward_options:
        if name not in cfg.reward_funcs:
            raise ConfigError(f"reward_options: '{name}' is not in reward_funcs {cfg.reward_funcs}")
    n_rewards = len(cfg.reward_funcs)
    if cfg.reward_weights is not None and len(cfg.reward_weights) != n_rewards:
        raise ConfigError(
            f"reward_weights has {len(cfg.reward_weights)} values for {n_rewards} reward_funcs "
            f"({', '.join(cfg.reward_funcs)}); give one weight per reward"
        )
    if cfg.dynamic_sampling_max_rounds < 1:
        raise ConfigError("dynamic_sampling_max_rounds must be at least 1")
    if cfg.epsilon_high is not None and cfg.epsilon_high < cfg.epsilon:
        raise ConfigError(f"epsilon_high ({cfg.epsilon_high}) must not be below epsilon ({cfg.epsilon})")
    if num_processes is None:
        return
    steps = cfg.steps_per_generation or cfg.gradient_accumulation_steps
    global_batch = cfg.per_device_train_batch_size * num_processes * steps
    if global_batch % cfg.num_generations:
        raise ConfigError(
            f"the generation batch ({cfg.per_device_train_batch_size} per device x {num_processes} processes x "
            f"{steps} steps = {global_batch} completions) is not divisible by num_generations "
            f"({cfg.num_generations}). Make per_device_train_batch_size a multiple of {cfg.num_generations}, "
            f"or choose num_generations among the divisors of {global_batch}."
        )
    local = cfg.per_device_train_batch_size * steps
    if cfg.dynamic_sampling and local % cfg.num_generations:
        raise ConfigError(
            f"dynamic_sampling needs whole groups on each device: per_device_train_batch_size x steps "
            f"({local}) must be a multiple of num_generations ({cfg.num_generations})"
        )
