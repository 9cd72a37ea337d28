"""What the generation steps (filter, rejection-sample) share: the engine and sampling settings, declared once,
and the judge's settings, which verify shares too."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import xxhash

from r1data.config import check, setting
from r1data.judge.inputs import Reading
from r1data.judge.math import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT


@dataclass(kw_only=True)
class JudgeConfig:
    """How the judge runs: worker processes, the limit per verification, memory per worker."""

    HELP_PANEL: ClassVar[str] = "Judge"  # where --help lists these settings

    timeout: float = setting(
        DEFAULT_TIMEOUT, "Judge: seconds per verification (per test, for code) before it is killed (timeout)."
    )
    workers: int | None = setting(None, "Judge: verification processes [default: CPU count + 1].", resume_safe=True)
    memory_mb: int = setting(DEFAULT_MEMORY_MB, "Judge: address-space limit per verification process (MiB).")
    lenient: bool = setting(
        False,
        "Judge: count a match as correct even without a final answer (no box, answer phrase or concluding "
        "sentence) or when the completion was cut off [default: strict, as curation should be].",
    )
    think_prefilled: bool = setting(
        False, "Completions start inside <think> (the chat template opened it, as R1-Distill's)."
    )

    def __post_init__(self) -> None:
        check(self.timeout > 0, "timeout", f"must be positive (got {self.timeout})")
        check(self.workers is None or self.workers >= 1, "workers", f"must be at least 1 (got {self.workers})")
        check(self.memory_mb >= 0, "memory_mb", f"must be 0 (no limit) or more (got {self.memory_mb})")

    def judge_settings(self) -> dict:
        return {"workers": self.workers, "timeout": self.timeout, "memory_mb": self.memory_mb, "lenient": self.lenient}

    def reading(self, think_format: str = "auto") -> Reading:
        """What the verdicts depend on besides the row (judge/inputs.py): the same in every step that judges."""
        return Reading(think_prefilled=self.think_prefilled, think_format=think_format, lenient=self.lenient)


ENGINE_KINDS = ("vllm", "openai", "transformers")
PROMPT_TOKENS = 1024  # what a prompt is allowed when the KV cache is sized from --max-tokens
# The settings each engine takes (GenerationConfig's fields): another engine's setting is refused, never ignored.
ENGINE_OPTIONS = {
    "vllm": ("tensor_parallel_size", "gpu_memory_utilization", "max_model_len", "cpu_threads_bind", "kv_cache_gb"),
    "openai": ("base_url", "api_key_env", "concurrency", "request_timeout", "retries"),
    "transformers": (),
}


@dataclass(kw_only=True)
class GenerationConfig(JudgeConfig):
    """A model behind one of the engines, the prompt, and how it samples."""

    HELP_PANEL: ClassVar[str] = "Model and sampling"

    model: str | None = setting(
        None, "Local model folder or .gguf file (openai: the served model's name) [default: built-in SmolLM2-135M]."
    )
    engine: str | None = setting(None, "vllm, openai or transformers [default: vllm when installed].")
    prompt: str = setting("boxed", "Built-in prompt: boxed, r1-zero or code.")
    system: str | None = setting(None, "System message (replaces the built-in prompt's).")
    user_template: str | None = setting(None, "User message with {problem}.")
    temperature: float = setting(0.7, "Sampling temperature.")
    top_p: float = setting(0.95, "Nucleus sampling.")
    max_tokens: int = setting(1024, "Tokens per sample.")
    seed: int = setting(0, "Seed of the samples (each row's seed derives from it, its id and the round).")
    chunk_rows: int = setting(256, "Problems per persisted chunk (the unit of resume).")
    tensor_parallel_size: int = setting(1, "vllm: GPUs per model.")
    gpu_memory_utilization: float | None = setting(
        None, "vllm: memory share (on CPU: of RAM) [default: 0.9, CPU 0.2].", resume_safe=True
    )
    max_model_len: int | None = setting(None, "vllm: context length.")
    cpu_threads_bind: str = setting(
        "auto",
        "vllm on CPU: the cores its threads are bound to: auto (every core this process may use, as under taskset), "
        "nobind (the OS schedules them: best when other jobs share the machine), or a list such as 0-3.",
        resume_safe=True,
    )
    kv_cache_gb: float | None = setting(
        None,
        "vllm on CPU: KV cache in GiB [default: sized from the model, --max-tokens and --max-model-len].",
        resume_safe=True,
    )
    base_url: str | None = setting(None, "openai: e.g. http://127.0.0.1:8000/v1.")
    api_key_env: str = setting("OPENAI_API_KEY", "openai: variable holding the API key.", resume_safe=True)
    concurrency: int = setting(8, "openai: requests in flight.", resume_safe=True)
    request_timeout: float = setting(600.0, "openai: seconds per request.", resume_safe=True)
    retries: int = setting(4, "openai: retries on 408/409/425/429/5xx and connection errors.", resume_safe=True)
    replicas: int | None = setting(
        None,
        "--executor ray: engine replicas, each loading its own model (a GPU each "
        "where the cluster has GPUs) [default: the cluster's GPUs, else 1].",
        resume_safe=True,
    )
    restart: bool = setting(
        False,
        "Discard an unfinished run of other settings (or another input), and replace OUT once the new run is complete.",
        resume_safe=True,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        from r1data.prompts import BUILTIN, template_error

        check(
            self.engine is None or self.engine in ENGINE_KINDS,
            "engine",
            f"must be one of {', '.join(ENGINE_KINDS)} (got '{self.engine}')",
        )
        check(self.prompt in BUILTIN, "prompt", f"must be one of {', '.join(BUILTIN)} (got '{self.prompt}')")
        check(
            self.user_template is None or "{problem}" in self.user_template, "user_template", "must contain {problem}"
        )
        why = template_error(self.user_template) if self.user_template else None
        check(why is None, "user_template", why or "")  # now, not after the model has loaded
        check(self.temperature >= 0, "temperature", f"must be 0 or more (got {self.temperature})")
        check(0 < self.top_p <= 1, "top_p", f"must be in (0, 1] (got {self.top_p})")
        check(self.max_tokens >= 1, "max_tokens", f"must be at least 1 (got {self.max_tokens})")
        check(self.chunk_rows >= 1, "chunk_rows", f"must be at least 1 (got {self.chunk_rows})")
        check(self.tensor_parallel_size >= 1, "tensor_parallel_size", "must be at least 1")
        check(
            re.fullmatch(r"auto|nobind|\d+(-\d+)?(,\d+(-\d+)?)*", self.cpu_threads_bind) is not None,
            "cpu_threads_bind",
            f"must be auto, nobind or a list of cores such as 0-3 or 0,2,4 (got '{self.cpu_threads_bind}')",
        )
        check(
            self.kv_cache_gb is None or self.kv_cache_gb > 0, "kv_cache_gb", f"must be above 0 (got {self.kv_cache_gb})"
        )
        check(self.concurrency >= 1, "concurrency", f"must be at least 1 (got {self.concurrency})")
        check(self.retries >= 0, "retries", f"must be 0 or more (got {self.retries})")
        check(self.replicas is None or self.replicas >= 1, "replicas", f"must be at least 1 (got {self.replicas})")
        self._check_engine_options()
        check(
            self.engine != "openai" or bool(self.base_url),
            "base_url",
            "--engine openai needs the server's address, e.g. --base-url http://127.0.0.1:8000/v1",
        )

    @property
    def sampling(self) -> Any:
        from r1data.engines import Sampling

        return Sampling(self.temperature, self.top_p, self.max_tokens, self.seed)

    @property
    def template(self) -> Any:
        from r1data.prompts import PromptTemplate

        return PromptTemplate.build(self.prompt, self.system, self.user_template)

    @property
    def engine_kind(self) -> str:
        """The engine that will run: --engine, else vllm where it is installed, else transformers."""
        if self.engine is not None:
            return self.engine
        import importlib.util

        return "vllm" if importlib.util.find_spec("vllm") is not None else "transformers"

    def _check_engine_options(self) -> None:
        """A setting of another engine than the one that runs is an error: it would be silently ignored."""
        kind = self.engine_kind
        if kind not in ENGINE_OPTIONS:
            return
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for other, names in ENGINE_OPTIONS.items():
            for name in names:
                if other != kind and getattr(self, name) != defaults[name]:
                    check(
                        False,
                        name,
                        f"is an option of --engine {other}; the engine here is {kind}, which does not "
                        f"use it: drop the option, or pass --engine {other}",
                    )

    def engine_options(self) -> dict:
        """The options of the chosen engine only (vllm also hears how long a sequence gets, to size its KV cache)."""
        options = {name: getattr(self, name) for name in ENGINE_OPTIONS.get(self.engine_kind, ())}
        if self.engine_kind == "vllm":
            options["sequence_tokens"] = self.max_model_len or self.max_tokens + PROMPT_TOKENS
        return options

    def engine_key(self) -> tuple:
        """Two configs with the same key can share one loaded engine (the demo's filter and rejection-sample)."""
        return (self.engine, self.model, self.seed, tuple(sorted(self.engine_options().items())))

    def load_engine(self) -> Any:
        """The engine, loaded now; the progress line counts the seconds it takes (vLLM: a minute or two on CPU)."""
        from r1data import progress
        from r1data.engines import load_engine

        report = progress.current()
        was = report.stage_name
        report.stage(f"loading the model ({self.engine_kind})", timed=True)
        try:
            return load_engine(self.engine, self.model, seed=self.seed, **self.engine_options())
        finally:
            report.stage(was)

    def chunked(self, command: str, work: Callable[..., Any], think_format: str = "auto", **extra: Any) -> Any:
        """The chunked run of a generation step: `work(rows, engine, judge, cfg, reading)` per chunk, with these
        settings."""
        from r1data.steps.chunked import ChunkedStep

        reading = self.reading(think_format)
        return ChunkedStep(
            command=command,
            chunk_rows=self.chunk_rows,
            load_engine=self.load_engine,
            work=lambda rows, engine, judge: work(rows, engine, judge, self, reading),
            judge=self.judge_settings(),
            restart=self.restart,
            replicas=self.replicas,
            **extra,
        )


def sample_seed(seed: int, row_id: str, round_: int) -> int:
    """The seed of one row's samples in one round: a rerun of a chunk asks the engine for the same samples."""
    return xxhash.xxh32_intdigest(f"{seed}:{row_id}:{round_}".encode()) & 0x7FFFFFFF


def generate(engine: Any, requests: list, sampling: Any) -> list:
    """engine.generate, with what it produced counted in the live progress (samples, tokens from the engine's own
    counts, failed requests)."""
    from r1data import progress
    from r1data.engines import Failure

    outputs = engine.generate(requests, sampling) if requests else []
    gens = [g for out in outputs if isinstance(out, list) for g in out]
    counts = {"samples": len(gens), "failed requests": sum(isinstance(o, Failure) or o is None for o in outputs)}
    tokens = [g.tokens for g in gens if g.tokens is not None]
    if tokens:
        counts["tokens"] = sum(tokens)
    progress.current().count(**counts)
    return outputs
