"""The TRL adapter: TRL's SFTTrainer and GRPOTrainer (with DAPO dynamic sampling), set up from r1data's
settings, with r1data's rewards.

Imported only when training runs (it imports torch, transformers and trl). Everything that can be checked
without them is checked in `r1data.train.config` and `r1data.train.data` first.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from accelerate import PartialState
from transformers import TrainerCallback
from transformers.trainer_utils import get_last_checkpoint
from trl import GRPOConfig, SFTConfig, SFTTrainer

from r1data import publish
from r1data.errors import ConfigError
from r1data.judge.rewards import REWARDS, get_reward
from r1data.train.dynamic_sampling import R1GRPOTrainer

# r1data's GRPO settings that TRL's GRPOConfig takes under the same name, unchanged.
GRPO_SAME_NAME = (
    "use_vllm",
    "num_generations",
    "max_completion_length",
    "temperature",
    "top_p",
    "beta",
    "epsilon",
    "epsilon_high",
    "loss_type",
    "scale_rewards",
    "mask_truncated_completions",
    "num_iterations",
    "steps_per_generation",
    "log_completions",
)


def check_device(cfg: Any) -> None:
    """Settings this machine cannot run, before anything is written."""
    if getattr(cfg, "use_vllm", False) and not torch.cuda.is_available():
        raise ConfigError("use_vllm needs a GPU and this machine has none; set use_vllm: false")


def num_processes() -> int:
    return PartialState().num_processes


def is_main() -> bool:
    return PartialState().is_main_process


def wait_for_everyone() -> None:
    PartialState().wait_for_everyone()


def write_manifest(out: Path, manifest: dict) -> None:
    if is_main():
        publish.write_json(out / "manifest.json", manifest)


def reward_functions(cfg: Any, judge: Any = None, think_format: str = "auto") -> list:
    """The shared rewards by name, options bound, each named as in the recipe (TRL logs by __name__). What each
    takes comes from its RewardSpec: think handling (as the curation steps read traces: `think_format`), and a
    length limit that defaults to max_completion_length."""
    fns = []
    for name in cfg.reward_funcs:
        spec = REWARDS[name]
        options = dict(cfg.reward_options.get(name) or {})
        if "think_prefilled" in spec.options:
            options.setdefault("think_prefilled", cfg.think_prefilled)
        if "think_format" in spec.options:
            options.setdefault("think_format", think_format)
        if spec.length_limit:
            options.setdefault("max_tokens", cfg.max_completion_length)
        if "cache_tokens" in spec.options:
            options.setdefault("cache_tokens", max(1, min(512, options["max_tokens"] // 4)))
        try:
            fns.append(get_reward(name, judge, **options))
        except ValueError as exc:
            raise ConfigError(f"reward_options: {exc}") from None
    return fns


def _report_to(cfg: Any) -> list[str]:
    if cfg.report_to is not None:
        for target in cfg.report_to:
            module = {"tensorboard": "tensorboard", "trackio": "trackio", "wandb": "wandb"}.get(target)
            if module and importlib.util.find_spec(module) is None:
                raise ConfigError(f"report_to {target}: the package '{module}' is not installed (pip install {module})")
        return list(cfg.report_to)
    return ["tensorboard"] if importlib.util.find_spec("tensorboard") else ["none"]


def _common_args(cfg: Any, out: Path) -> dict:
    bf16 = cfg.bf16 if cfg.bf16 is not None else bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return {
        "output_dir": str(out),
        "seed": cfg.seed,
        "learning_rate": cfg.learning_rate,
        "lr_scheduler_type": cfg.lr_scheduler_type,
        "warmup_steps": cfg.warmup_ratio,  # transformers 5: a float below 1 is a share of the steps
        "weight_decay": cfg.weight_decay,
        "max_grad_norm": cfg.max_grad_norm,
        "per_device_train_batch_size": cfg.per_device_train_batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "num_train_epochs": cfg.num_train_epochs,
        "max_steps": cfg.max_steps,
        "bf16": bf16,
        "gradient_checkpointing": cfg.gradient_checkpointing,
        "save_strategy": "steps",
        "save_steps": cfg.save_steps,
        "save_total_limit": cfg.save_total_limit,
        "logging_steps": cfg.logging_steps,
        "logging_first_step": True,
        "report_to": _report_to(cfg),
        "model_init_kwargs": {"dtype": torch.bfloat16 if bf16 else torch.float32},
    }


def _trl_args(cls: Any, mapped: dict, cfg: Any) -> Any:
    """TRL's config from r1data's mapped settings plus every TRL field the recipe set (those win: the user asked);
    TRL's own checks of them become one line naming the TRL version."""
    import trl

    from r1data.train.config import trl_settings

    try:
        return cls(**{**mapped, **trl_settings(cfg)})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"TRL {trl.__version__} refused the settings: {exc}") from None


def _peft(cfg: Any) -> Any:
    if not cfg.lora:
        return None
    from peft import LoraConfig

    targets = cfg.lora_target_modules
    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=targets[0] if targets == ["all-linear"] else targets,
        task_type="CAUSAL_LM",
    )


class JsonlLog(TrainerCallback):
    """Every logged metric line, appended to OUT/log.jsonl as training goes (an audit trail that survives a crash)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if logs and state.is_world_process_zero:
            with self.path.open("a") as f:
                f.write(json.dumps({"step": state.global_step, **logs}, default=float) + "\n")


class ProgressLog(TrainerCallback):
    """A compact line per logged step in the live progress (step, each reward, loss, completion length, seconds)
    instead of TRL's raw metric dicts; the full metrics stay in log.jsonl."""

    def __init__(self) -> None:
        from r1data import progress

        self.report = progress.current()
        self.last = time.monotonic()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self.report.start(state.max_steps or None, "steps", stage="training")
            self.report.advance(state.global_step)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self.report.advance(1)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if not logs or not state.is_world_process_zero or "loss" not in logs:
            return
        now = time.monotonic()
        parts = [f"step {state.global_step}/{state.max_steps}"]
        rewards = {k.split("/")[1]: v for k, v in logs.items() if k.startswith("rewards/") and k.endswith("/mean")}
        if "reward" in logs:
            detail = ", ".join(f"{k} {v:.3f}" for k, v in rewards.items())
            parts.append(f"reward {logs['reward']:.3f}" + (f" ({detail})" if detail else ""))
        parts.append(f"loss {logs['loss']:.4g}")
        length = logs.get("completions/mean_length", logs.get("completion_length"))
        if length is not None:
            parts.append(f"length {length:.0f}")
        if "mean_token_accuracy" in logs:
            parts.append(f"token accuracy {logs['mean_token_accuracy']:.3f}")
        parts.append(f"{now - self.last:.1f} s")
        self.last = now
        self.report.line("  " + " · ".join(parts))


def _json_safe(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = str(v)
        try:
            json.dumps(v)
        except TypeError:
            v = str(v)
        out[k] = v
    return out


def run(
    task: str,
    rows: list[dict],
    out: Path,
    cfg: Any,
    model_path: str,
    manifest: dict,
    quiet: bool = False,
    judge: Any = None,
    think_format: str = "auto",
) -> dict:
    """Train in `out` (the run's work folder); returns what the manifest adds: steps, checkpoints, metrics, TRL's
    resolved arguments."""
    from datasets import Dataset

    from r1data import progress

    dataset = Dataset.from_list(rows)
    common = _common_args(cfg, out)
    common["disable_tqdm"] = quiet or not progress.verbose()  # r1data's own lines replace TRL's bars and dicts
    callbacks = [JsonlLog(out / "log.jsonl")]
    if not progress.verbose():
        callbacks.append(ProgressLog())
    if task == "sft":
        args = _trl_args(SFTConfig, {**common, "max_length": cfg.max_length, "packing": cfg.packing}, cfg)
        trainer: Any = SFTTrainer(
            model=model_path, args=args, train_dataset=dataset, peft_config=_peft(cfg), callbacks=callbacks
        )
    else:
        funcs: list[Any] = reward_functions(cfg, judge, think_format)
        weights = list(cfg.reward_weights) if cfg.reward_weights is not None else [1.0] * len(funcs)
        if cfg.reward_model:
            funcs.append(cfg.reward_model)
            weights.append(cfg.reward_model_weight)
        vllm = {}
        if cfg.use_vllm:
            vllm = {"vllm_mode": cfg.vllm_mode, "vllm_gpu_memory_utilization": cfg.vllm_gpu_memory_utilization}
            if cfg.vllm_server_base_url:
                vllm["vllm_server_base_url"] = cfg.vllm_server_base_url
        same = {name: getattr(cfg, name) for name in GRPO_SAME_NAME}
        args = _trl_args(GRPOConfig, {**common, **vllm, **same, "reward_weights": weights}, cfg)
        trainer = R1GRPOTrainer(
            model=model_path,
            reward_funcs=funcs,
            args=args,
            train_dataset=dataset,
            peft_config=_peft(cfg),
            callbacks=callbacks,
            dynamic_sampling=cfg.dynamic_sampling,
            max_rounds=cfg.dynamic_sampling_max_rounds,
            completions_path=out / "completions.jsonl" if cfg.save_completions else None,
        )
    if not progress.verbose():
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
    manifest["trl_args"] = _json_safe(args.to_dict())
    write_manifest(out, manifest)  # status "running": the resolved settings are on disk before the first step
    checkpoint = get_last_checkpoint(str(out)) if cfg.resume and out.is_dir() else None
    with contextlib.redirect_stdout(sys.stderr):  # TRL prints its log lines; stdout is for data (--json)
        result = trainer.train(resume_from_checkpoint=checkpoint)
    model_dir = out / "model"
    trainer.save_model(str(model_dir))
    if is_main():
        trainer.processing_class.save_pretrained(str(model_dir))
    history = trainer.state.log_history
    return {
        "global_step": trainer.state.global_step,
        "resumed_from": checkpoint and Path(checkpoint).name,
        "checkpoints": sorted(p.name for p in out.glob("checkpoint-*")),
        "adapter": bool(cfg.lora),
        "train_metrics": _json_safe(result.metrics),
        "last_log": _json_safe(next((h for h in reversed(history) if "loss" in h), {})),
    }
