"""`r1data train sft|grpo`: the curated shards train a model, judged by the rewards that curated them.

This module holds the settings (defaults < recipe < flags), reads r1data output folders into training
rows, and checks everything that can be checked before a model is loaded. The TRL side (trainers,
DAPO dynamic sampling, callbacks) is in `r1data.engines.trl_trainer`, imported only when training runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from r1data import schema
from r1data.config import as_dict, load_recipe
from r1data.errors import ConfigError, InputError, OutputError
from r1data.manifest import new_manifest

TASKS = ("sft", "grpo")
LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo")
SCALE_REWARDS = ("group", "batch", "none")
RECIPE_ONLY_KEYS = ("task",)  # recipe keys that describe the file, not a setting
# Settings a resumed run may change: how long it trains and what it logs, not what it learns from.
RESUME_SAFE = {"max_steps", "num_train_epochs", "save_steps", "save_total_limit", "logging_steps", "report_to",
               "log_completions", "save_completions", "resume"}  # fmt: skip


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
    loss_type: str = field(default="dapo", metadata=_h("grpo, dr_grpo, dapo or bnpo."))
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


CONFIGS: dict[str, type[TrainConfig]] = {"sft": SFTTrainConfig, "grpo": GRPOTrainConfig}


def load_train_config(task: str, recipe: str | Path | None, overrides: dict[str, Any] | None) -> TrainConfig:
    if task not in CONFIGS:
        raise ConfigError(f"unknown training task '{task}'; choose sft or grpo")
    if recipe is not None:
        from r1data.config import read_yaml

        declared = read_yaml(recipe).get("task")
        if declared is not None and declared != task:
            raise ConfigError(f"{recipe}: is a '{declared}' recipe; run it with `r1data train {declared}`")
    cfg = load_recipe(CONFIGS[task], recipe, overrides, ignore=RECIPE_ONLY_KEYS)
    check_config(cfg)
    return cfg


def _check_choice(value: str, choices: tuple, name: str) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)} (got '{value}')")


def check_config(cfg: TrainConfig, num_processes: int = 1) -> None:
    """Settings that cannot work together, named with the fix, before anything is loaded."""
    positive = ["per_device_train_batch_size", "gradient_accumulation_steps", "save_steps", "logging_steps"]
    for name in positive:
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be at least 1 (got {getattr(cfg, name)})")
    if cfg.learning_rate <= 0:
        raise ConfigError(f"learning_rate must be positive (got {cfg.learning_rate})")
    if cfg.max_steps == 0 or (cfg.max_steps < 0 and cfg.num_train_epochs <= 0):
        raise ConfigError("nothing to train: set max_steps > 0 or num_train_epochs > 0")
    if not isinstance(cfg, GRPOTrainConfig):
        return
    from r1data.ops.rewards import REWARDS

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
    if cfg.dynamic_sampling_max_rounds < 1:
        raise ConfigError("dynamic_sampling_max_rounds must be at least 1")
    if cfg.epsilon_high is not None and cfg.epsilon_high < cfg.epsilon:
        raise ConfigError(f"epsilon_high ({cfg.epsilon_high}) must not be below epsilon ({cfg.epsilon})")


# ---------------------------------------------------------------------------------------------------------------
# Data


@dataclass
class TrainData:
    rows: list[dict]
    sources: list[dict]
    fingerprint: str
    dropped: dict[str, int]


def _read(data: list[str | Path]) -> tuple[pl.DataFrame, list[dict], str]:
    from r1data.io import read_inputs

    result = read_inputs(data)
    if result.records.height == 0:
        raise InputError(f"{', '.join(map(str, data))}: no rows to train on")
    return result.records, result.sources, result.fingerprint


def sft_rows(data: list[str | Path], cfg: SFTTrainConfig) -> TrainData:
    """Conversational prompt/completion rows from accepted traces: the loss covers the assistant's turn only."""
    df, sources, fp = _read(data)
    col = cfg.messages_field
    if col not in df.columns:
        raise InputError(
            f"{', '.join(map(str, data))}: no '{col}' column to train on (columns: {', '.join(df.columns)}). "
            "SFT reads the output of `r1data rejection-sample`; set messages_field for another column."
        )
    rows, dropped = [], {}
    for i, (rid, msgs) in enumerate(zip(df.get_column(schema.ID).to_list(), df.get_column(col).to_list(), strict=True)):
        if not msgs or not isinstance(msgs, list) or msgs[-1].get("role") != "assistant":
            raise InputError(
                f"row {i} (id {rid}): '{col}' must be a list of chat messages ending with the assistant's reply"
            )
        if not (msgs[-1].get("content") or "").strip():
            dropped["empty_reply"] = dropped.get("empty_reply", 0) + 1
            continue
        prompt = [{"role": m["role"], "content": m["content"]} for m in msgs[:-1]]
        rows.append(
            {"id": rid, "prompt": prompt, "completion": [{"role": "assistant", "content": msgs[-1]["content"]}]}
        )
    if not rows:
        raise InputError(f"{', '.join(map(str, data))}: every row has an empty assistant reply")
    return TrainData(rows, sources, fp, dropped)


def grpo_rows(data: list[str | Path], cfg: GRPOTrainConfig) -> TrainData:
    """Chat prompts plus every column the rewards read (the gold stays under `answer`, as TRL passes it)."""
    from r1data.ops.rewards import NEEDS_GOLD, NEEDS_TESTS
    from r1data.prompts import PromptTemplate

    df, sources, fp = _read(data)
    template = PromptTemplate.build(cfg.prompt, cfg.system, cfg.user_template)
    needs_gold = sorted(set(cfg.reward_funcs) & NEEDS_GOLD)
    needs_tests = sorted(set(cfg.reward_funcs) & NEEDS_TESTS)
    dropped: dict[str, int] = {}
    has_tests = schema.TESTS in df.columns and df.get_column(schema.TESTS).null_count() < df.height
    if needs_tests and not has_tests:
        raise InputError(
            f"{', '.join(map(str, data))}: reward {', '.join(needs_tests)} needs test cases, and the data has none "
            f"(columns: {', '.join(df.columns)}). Pass --tests-field when curating, or name the column `tests`."
        )
    if needs_gold and has_tests:  # code rows are judged by their tests, math rows by their answers
        gold = df.get_column(schema.ANSWER) if schema.ANSWER in df.columns else pl.Series([None] * df.height)
        missing = gold.is_null() & df.get_column(schema.TESTS).is_null()
        if missing.any():
            dropped["no_gold_answer"] = int(missing.sum())
            df = df.filter(~missing)
    elif needs_gold:
        if schema.ANSWER not in df.columns or df.get_column(schema.ANSWER).null_count() == df.height:
            raise InputError(
                f"{', '.join(map(str, data))}: reward {', '.join(needs_gold)} needs gold answers, and the data has "
                f"none (columns: {', '.join(df.columns)}). Pass --answer-field when curating, or train on a "
                "folder whose rows have `answer`."
            )
        missing = df.get_column(schema.ANSWER).is_null() | (df.get_column(schema.ANSWER).cast(pl.Utf8) == "")
        if missing.any():
            dropped["no_gold_answer"] = int(missing.sum())
            df = df.filter(~missing)
    keep = [c for c in df.columns if not c.startswith("_") and c not in ("prompt", "completion", "messages")]
    rows = []
    for r in df.select(keep).iter_rows(named=True):
        r["prompt"] = template.messages(r[schema.PROBLEM])
        rows.append(r)
    return TrainData(rows, sources, fp, dropped)


def check_context(rows: list[dict], cfg: TrainConfig, model_path: str) -> dict[str, int]:
    """Prompt + completion must fit the model's context. Returns token-length facts for the manifest."""
    from transformers import AutoConfig, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)

    def n_tokens(messages: list[dict], generation_prompt: bool) -> int:
        ids = tok.apply_chat_template(messages, add_generation_prompt=generation_prompt, tokenize=True)
        return len(ids["input_ids"] if hasattr(ids, "keys") else ids)  # transformers 5 returns a BatchEncoding

    mcfg = AutoConfig.from_pretrained(model_path)
    context = getattr(mcfg, "max_position_embeddings", None) or getattr(mcfg, "n_positions", None)
    if isinstance(cfg, GRPOTrainConfig):
        lengths = [n_tokens(r["prompt"], True) for r in rows]
        longest = max(range(len(rows)), key=lengths.__getitem__)
        need = lengths[longest] + cfg.max_completion_length
        if context and need > context:
            raise ConfigError(
                f"row id {rows[longest].get('id')}: its prompt has {lengths[longest]} tokens, and with "
                f"max_completion_length {cfg.max_completion_length} that is {need} tokens, beyond the model's "
                f"context of {context}. Lower max_completion_length to {context - lengths[longest]} or less, or "
                "leave out the longest problems."
            )
        return {"context": context or 0, "longest_prompt_tokens": lengths[longest]}
    assert isinstance(cfg, SFTTrainConfig)
    if context and cfg.max_length > context:
        raise ConfigError(f"max_length {cfg.max_length} is beyond the model's context of {context}; lower it")
    lengths = [n_tokens(r["prompt"] + r["completion"], False) for r in rows]
    return {
        "context": context or 0,
        "longest_example_tokens": max(lengths),
        "examples_truncated": sum(n > cfg.max_length for n in lengths),
    }


# ---------------------------------------------------------------------------------------------------------------
# Output folder


def _check_out(out: Path, config: dict, overwrite: bool) -> dict | None:
    """The manifest of an earlier run in OUT when it may be resumed; refuses a run of other settings."""
    manifest_path = out / "manifest.json"
    if not out.exists():
        return None
    if overwrite:
        import shutil

        shutil.rmtree(out)
        return None
    if not manifest_path.is_file():
        if any(out.iterdir()):
            raise OutputError(f"{out}: exists and is not an r1data training folder. Choose another -o or --overwrite.")
        return None
    old = json.loads(manifest_path.read_text())
    previous = old.get("config", {})
    changed = sorted(
        k for k in set(config) | set(previous) if config.get(k) != previous.get(k) and k not in RESUME_SAFE
    )
    if changed:
        raise OutputError(
            f"{out}: holds a training run with other settings ({', '.join(changed)} differ). "
            "Rerun with the same settings to resume, or pass --overwrite to start over."
        )
    return old


def train(
    task: str,
    data: list[str | Path],
    out: str | Path,
    cfg: TrainConfig,
    overwrite: bool = False,
    quiet: bool = False,
) -> dict:
    """Read, check, train, write OUT/model and OUT/manifest.json; resumable from OUT's checkpoints."""
    from r1data.models import resolve_model

    out = Path(out)
    rows = sft_rows(data, cfg) if task == "sft" else grpo_rows(data, cfg)  # type: ignore[arg-type]
    config = as_dict(cfg)
    model_path = resolve_model(cfg.model)
    lengths = check_context(rows.rows, cfg, model_path)
    old = _check_out(out, config, overwrite)
    from r1data.engines import trl_trainer  # heavy: torch, transformers, trl

    trl_trainer.check_device(cfg)
    num_processes = trl_trainer.num_processes()
    check_config(cfg, num_processes)
    out.mkdir(parents=True, exist_ok=True)
    manifest = new_manifest(f"train {task}", config, rows.sources, rows.fingerprint)
    manifest.update(
        {
            "model_path": model_path,
            "rows_in": len(rows.rows) + sum(rows.dropped.values()),
            "rows_used": len(rows.rows),
            "drops": rows.dropped,
            "lengths": lengths,
            "num_processes": num_processes,
        }
    )
    if any(r.get(schema.TESTS) for r in rows.rows):  # code rewards run programs: record the isolation
        from r1data.sandbox import isolation

        manifest["sandbox"] = isolation()
    if old is not None:
        manifest["started_at"] = old.get("started_at", manifest["started_at"])
        manifest["runs"] = old.get("runs", 1) + 1
    started = time.perf_counter()
    result = trl_trainer.run(task, rows.rows, out, cfg, model_path, manifest, quiet=quiet)
    manifest.update(result)
    manifest["seconds"] = round(time.perf_counter() - started, 2)
    manifest["status"] = "complete"
    trl_trainer.write_manifest(out, manifest)
    return manifest
