"""DAPO's dynamic sampling (Yu et al. 2025, sec. 3.2) on TRL's GRPOTrainer, which lacks it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from trl import GRPOTrainer
from trl.trainer.utils import nanstd

from r1data.errors import ConfigError
from r1data.ops.completions import completion_text


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
