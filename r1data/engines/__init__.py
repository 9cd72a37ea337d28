"""Generation engines: the only modules that import vllm, transformers or talk HTTP.

Every engine takes a batch of requests (chat messages, how many samples, a seed) and returns, per
request, its generations, or a `Failure` saying why that request failed after its retries (transient: the
row is marked failed, with the detail, and a rerun retries it). A failure no rerun can fix (a wrong key, an
unknown model) raises `EngineError` and stops the run. `load_engine` imports an engine on demand, so
`r1data --help` and the curation steps never pay for them; a missing package names the extra to install.
"""

from __future__ import annotations

from typing import Any

from r1data.engines.base import Engine, Failure, Generation, Request, Sampling
from r1data.errors import ConfigError, MissingExtraError

__all__ = ["ENGINES", "Engine", "Failure", "Generation", "Request", "Sampling", "load_engine"]

ENGINES = ("vllm", "openai", "transformers")


def load_engine(kind: str | None, model: str | None, **options: Any) -> Engine:
    """An engine by name (None: vllm when importable, else transformers)."""
    if kind is None:
        try:
            import vllm  # noqa: F401
        except ImportError:
            kind = "transformers"
        else:
            kind = "vllm"
    if kind == "openai":
        from r1data.engines.openai_engine import OpenAIEngine

        return OpenAIEngine(model, **options)
    if kind not in ENGINES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINES)} (got '{kind}')")
    from r1data.models import resolve_model

    path = resolve_model(model)
    if kind == "vllm":
        try:
            from r1data.engines.vllm_engine import VLLMEngine
        except ImportError as exc:
            raise MissingExtraError("vllm", "vllm", "--engine vllm") from exc
        return VLLMEngine(path, **_accepted(VLLMEngine, kind, path, options))
    try:
        from r1data.engines.transformers_engine import TransformersEngine
    except ImportError as exc:
        raise MissingExtraError("transformers", "train", "--engine transformers") from exc
    return TransformersEngine(path, **_accepted(TransformersEngine, kind, path, options))


def _accepted(cls: type, kind: str, path: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options, when the engine takes every one of them: an option it does not know is refused, not dropped."""
    import inspect

    known = inspect.signature(cls).parameters
    if unknown := sorted(set(options) - set(known)):
        takes = ", ".join(n for n in known if n != "model")
        raise ConfigError(
            f"--engine {kind} does not take {', '.join(unknown)} (it takes {takes}); drop the option "
            "or choose another engine"
        )
    return options
