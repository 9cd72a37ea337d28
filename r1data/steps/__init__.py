"""Steps: each a module with a Config and `run(inputs, out, cfg, io, *, engine=None) -> StepResult` (see base).
The registry (`registry.STEPS`) imports nothing, so the CLI reads it at start-up; the rest loads on first use."""

from typing import Any

from r1data.steps.registry import STEPS

__all__ = ["STEPS", "IOConfig", "StepDef", "StepResult", "get_step", "run_step"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from r1data.steps import base

        return getattr(base, name)
    raise AttributeError(f"module 'r1data.steps' has no attribute {name!r}")
