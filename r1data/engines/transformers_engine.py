"""Plain `generate` from transformers: for machines without vLLM and for tiny models."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from r1data.engines.base import Generation, Request, Sampling
from r1data.progress import CallProgress


class TransformersEngine:
    name = "transformers"

    def __init__(self, model: str, dtype: str = "auto", seed: int = 0) -> None:
        self.model = model
        self.seed = seed  # each request carries its own seed (set before its generate); this is the run's
        self.tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=True)
        self.lm = AutoModelForCausalLM.from_pretrained(model, local_files_only=True, dtype=dtype)
        self.lm.eval()

    @torch.inference_mode()
    def generate(self, requests: list[Request], sampling: Sampling) -> list[list[Generation]]:
        live = CallProgress(sum(r.n for r in requests))
        try:
            return self._generate(requests, sampling, live)
        finally:
            live.close()

    def _generate(self, requests: list[Request], sampling: Sampling, live: CallProgress) -> list[list[Generation]]:
        out = []
        eos = self.tokenizer.eos_token_id
        for r in requests:
            ids = self.tokenizer.apply_chat_template(r.messages, add_generation_prompt=True, return_tensors="pt")
            if not isinstance(ids, torch.Tensor):  # newer tokenizers return a BatchEncoding
                ids = ids["input_ids"]
            torch.manual_seed(r.seed)
            gen = self.lm.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                do_sample=sampling.temperature > 0,
                temperature=sampling.temperature if sampling.temperature > 0 else None,
                top_p=sampling.top_p,
                max_new_tokens=sampling.max_tokens,
                num_return_sequences=r.n,
                pad_token_id=eos if eos is not None else 0,
            )
            samples = []
            for seq in gen[:, ids.shape[1] :]:
                tokens = seq.tolist()
                ended = eos is not None and eos in tokens
                if ended:
                    tokens = tokens[: tokens.index(eos)]
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                samples.append(Generation(text, "stop" if ended else "length", len(tokens)))
            out.append(samples)
            live.finished(len(samples), sum(g.tokens or 0 for g in samples))
        return out

    def close(self) -> None:
        del self.lm
