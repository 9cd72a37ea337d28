"""Steps: each a module with a Config and `run(inputs, out, cfg, io, *, engine=None) -> StepResult` (see base)."""

from r1data.steps.base import STEPS, IOConfig, StepDef, StepResult, get_step, run_step

__all__ = ["STEPS", "IOConfig", "StepDef", "StepResult", "get_step", "run_step"]
