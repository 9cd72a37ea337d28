"""TRL's SFTTrainer and GRPOTrainer, set up from r1data's settings, with DAPO dynamic sampling added.

Imported only by `r1data train` (it imports torch, transformers and trl). Everything that can be
checked without them is checked in `r1data.train` first.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import torch
from accelerate import PartialState
from transformers import TrainerCallback
from transformers.trainer_utils import get_last_checkpoint
from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer
from trl.trainer.utils import nanstd

from r1data.errors import ConfigError
from r1data.ops.completions import completion_text
from r1data.ops.rewards import get_reward

GOLD_REWARDS_WITH_THINK = ("accuracy", "format", "cosine", "length")
LENGTH_REWARDS = ("overlong", "cosine")
# r1data's GRPO settings that TRL's GRPOConfig takes under the same name, unchanged.
GRPO_SAME_NAME = (
    "use_vllm", "num_generations", "max_completion_length", "temperature", "top_p", "beta", "epsilon",
    "epsilon_high", "loss_type", "scale_rewards", "mask_truncated_completions", "num_iterations",
    "steps_per_generation", "log_completions",
)  # fmt: skip


def check_device(cfg: Any) -> None:
    """Settings this machine cannot run, before anything is written."""
    if getattr(cfg, "use_vllm", False) and not torch.cuda.is_available():
        raise ConfigError("use_vllm needs a GPU and this machine has none; set use_vllm: false")


def num_processes() -> int:
    return PartialState().num_processes


def is_main() -> bool:
    return PartialState().is_main_process


def write_manifest(out: Path, manifest: dict) -> None:
    if not is_main():
        return
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    os.replace(tmp, out / "manifest.json")


def reward_functions(cfg: Any) -> list:
    """The shared rewards by name, options bound, each named as in the recipe (TRL logs by __name__)."""
    fns = []
    for name in cfg.reward_funcs:
        options = dict(cfg.reward_options.get(name) or {})
        if name in GOLD_REWARDS_WITH_THINK:
            options.setdefault("think_prefilled", cfg.think_prefilled)
        if name in LENGTH_REWARDS:
            options.setdefault("max_tokens", cfg.max_completion_length)
        if name == "overlong":
            options.setdefault("cache_tokens", max(1, min(512, options["max_tokens"] // 4)))
        base = get_reward(name, **options)

        def fn(completions: list, _base: Any = base, **columns: Any) -> list[float | None]:
            return _base(completions, **columns)

        fn.__name__ = fn.__qualname__ = name
        fns.append(fn)
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


class R1GRPOTrainer(GRPOTrainer):
    """GRPOTrainer plus DAPO's dynamic sampling (Yu et al. 2025, sec. 3.2).

    A group whose completions all get the same reward (all right or all wrong) has zero advantage and
    teaches nothing, yet it fills the batch. With dynamic sampling on, such groups are dropped after
    scoring and the batch is refilled with groups of fresh prompts, generating again until the batch
    holds only informative groups or `max_rounds` generation rounds were spent; whatever is still
    missing is then filled with zero-advantage groups (logged as `dynamic_sampling/filled_zero_std`).
    Cost: each extra round is one more generation pass over a full batch of prompts."""

    def __init__(
        self,
        *args: Any,
        dynamic_sampling: bool = False,
        max_rounds: int = 4,
        completions_path: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.completions_path = completions_path
        self.dynamic_sampling = dynamic_sampling
        self.max_rounds = max_rounds
        self._gathered_rewards: torch.Tensor | None = None
        self._refill_order: list[int] = []
        self._refill_generator = torch.Generator().manual_seed(
            self.args.seed + 7919 * (1 + self.accelerator.process_index)
        )

    def _calculate_rewards(self, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any) -> Any:
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._gathered_rewards = rewards
        if self.completions_path is not None and self.accelerator.is_main_process:
            self._save_completions(inputs, completions, rewards[: len(completions)])
        return rewards

    def _save_completions(self, inputs: list[dict], completions: list, rewards: torch.Tensor) -> None:
        """The audit trail: what the model wrote and what each reward said (rank 0's share of the batch)."""
        names = self.reward_func_names
        with self.completions_path.open("a") as f:
            for row, completion, scores in zip(inputs, completions, rewards.tolist(), strict=True):
                record = {
                    "step": self.state.global_step,
                    "id": row.get("id"),
                    "answer": row.get("answer"),
                    "completion": completion_text(completion),
                    "rewards": {n: (None if math.isnan(v) else v) for n, v in zip(names, scores, strict=True)},
                }
                f.write(json.dumps(record, default=str) + "\n")

    def _informative_rows(self, n_local: int) -> torch.Tensor:
        """Per local row: does its group's total reward vary? (The same sum TRL's advantages use.)"""
        r = self._gathered_rewards
        total = (r * self.reward_weights.to(r.device).unsqueeze(0)).nansum(dim=1)
        total[torch.isnan(r).all(dim=1)] = torch.nan
        std = nanstd(total.view(-1, self.num_generations), dim=1)
        informative = ~(torch.isnan(std) | torch.isclose(std, torch.zeros_like(std)))
        rows = informative.repeat_interleave(self.num_generations)
        start = self.accelerator.process_index * n_local
        return rows[start : start + n_local].cpu()

    def _refill(self, n_rows: int) -> list[dict]:
        rows = []
        for _ in range(n_rows // self.num_generations):
            if not self._refill_order:
                self._refill_order = torch.randperm(len(self.train_dataset), generator=self._refill_generator).tolist()
            row = self.train_dataset[self._refill_order.pop()]
            rows.extend(dict(row) for _ in range(self.num_generations))
        return rows

    def _generate_and_score_completions(self, inputs: list[dict]) -> dict:
        if not (self.dynamic_sampling and self.model.training):
            return super()._generate_and_score_completions(inputs)
        want = len(inputs)
        parts: list[tuple[dict, torch.Tensor]] = []
        batch, have, rounds = inputs, 0, 0
        while True:
            rounds += 1
            out = super()._generate_and_score_completions(batch)
            keep = self._informative_rows(want)
            parts.append((out, keep))
            have += int(keep.sum())
            done = torch.tensor([have >= want or rounds >= self.max_rounds], device=self.accelerator.device)
            if bool(self.accelerator.gather(done).all()):
                break
            batch = self._refill(want)
        merged, filled = _merge_rows(parts, want, self._tokenizer.pad_token_id)
        mask = merged["completion_mask"] * merged["tool_mask"] if merged.get("tool_mask") is not None else None
        mask = merged["completion_mask"] if mask is None else mask
        merged["num_items_in_batch"] = self.accelerator.gather(mask.sum()).sum()
        metrics = self._metrics["train"]
        metrics["dynamic_sampling/rounds"].append(float(rounds))
        metrics["dynamic_sampling/informative_share"].append(have / (rounds * want))
        metrics["dynamic_sampling/filled_zero_std"].append(filled / want)
        return merged


LEFT_PADDED = ("prompt_ids", "prompt_mask")


def _merge_rows(parts: list[tuple[dict, torch.Tensor]], want: int, pad_id: int) -> tuple[dict, int]:
    """The first `want` informative rows across rounds (whole groups), then zero-advantage rows if short."""
    picks: list[tuple[int, int]] = [
        (p, i) for p, (_, keep) in enumerate(parts) for i in keep.nonzero().flatten().tolist()
    ]
    picks = picks[:want]
    filled = want - len(picks)
    if filled:
        spare = [(p, i) for p in reversed(range(len(parts))) for i in (~parts[p][1]).nonzero().flatten().tolist()]
        picks += spare[:filled]
    merged: dict[str, Any] = {}
    for key, first in parts[0][0].items():
        if key == "num_items_in_batch" or first is None:
            merged[key] = first
            continue
        if not isinstance(first, torch.Tensor) or first.ndim == 0 or first.shape[0] != want:
            raise ConfigError(
                f"dynamic_sampling: cannot merge the batch field '{key}' (text-only training is supported)"
            )
        rows = [parts[p][0][key][i] for p, i in picks]
        if first.ndim == 1:
            merged[key] = torch.stack(rows)
            continue
        width = max(r.shape[0] for r in rows)
        value = pad_id if key.endswith("_ids") else 0
        side = "left" if key in LEFT_PADDED else "right"
        padded = []
        for r in rows:
            extra = r.new_full((width - r.shape[0], *r.shape[1:]), value)
            padded.append(torch.cat([extra, r]) if side == "left" else torch.cat([r, extra]))
        merged[key] = torch.stack(padded)
    return merged, filled


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


def run(task: str, rows: list[dict], out: Path, cfg: Any, model_path: str, manifest: dict, quiet: bool = False) -> dict:
    """Train; returns what the manifest adds: steps, checkpoints, metrics, TRL's resolved arguments."""
    from datasets import Dataset

    dataset = Dataset.from_list(rows)
    common = _common_args(cfg, out)
    if quiet:
        common["disable_tqdm"] = True
    callbacks = [JsonlLog(out / "log.jsonl")]
    if task == "sft":
        args = SFTConfig(**common, max_length=cfg.max_length, packing=cfg.packing)
        trainer: Any = SFTTrainer(
            model=model_path, args=args, train_dataset=dataset, peft_config=_peft(cfg), callbacks=callbacks
        )
    else:
        funcs: list[Any] = reward_functions(cfg)
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
        args = GRPOConfig(**common, **vllm, **same, reward_weights=weights)
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
        "resumed_from": checkpoint,
        "checkpoints": sorted(p.name for p in out.glob("checkpoint-*")),
        "model_dir": str(model_dir),
        "adapter": bool(cfg.lora),
        "train_metrics": _json_safe(result.metrics),
        "last_log": _json_safe(next((h for h in reversed(history) if "loss" in h), {})),
    }
