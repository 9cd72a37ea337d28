"""`r1data train sft|grpo` as a step: read, check, train, publish OUT; resumable from checkpoints.

A run trains in `.OUT.r1data-work/` (checkpoints, TensorBoard logs, log.jsonl, a manifest marked running) and
is published by one swap when it ends, so OUT is always the old complete run or the new one: `--overwrite`
replaces OUT only then. Rerunning the same command resumes from the newest checkpoint of the unfinished run
or, when OUT is complete (say max_steps was raised), of OUT's own (linked, so OUT stays as it is).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from r1data import progress, publish, schema
from r1data.config import as_dict
from r1data.errors import ConfigError, OutputError
from r1data.manifest import COMPLETE, new_manifest, read_manifest
from r1data.steps.base import IOConfig, Output, StepDef, StepResult
from r1data.train.config import RESUME_SAFE, SFTTrainConfig, TrainConfig, check_config, config_class
from r1data.train.data import check_context, grpo_rows, prefill_fix, sft_rows, template_facts

KIND = "train"


def step_def(task: str) -> StepDef:
    doc = (config_class(task).__doc__ or "").strip()
    return StepDef(f"train-{task}", config_class(task), run, KIND, doc)


def _changed(config: dict, previous: dict) -> list[str]:
    return sorted(k for k in set(config) | set(previous) if config.get(k) != previous.get(k) and k not in RESUME_SAFE)


def _prepare(out: Path, work: Path, config: dict, overwrite: bool) -> dict | None:
    """Choose where training continues; returns the earlier run's manifest when it resumes one."""
    unfinished = read_manifest(work) if work.exists() else None
    if work.exists():
        if unfinished is not None and not _changed(config, unfinished.get("config", {})):
            return unfinished
        if not overwrite and unfinished is not None:
            raise OutputError(
                f"{out}: an unfinished training run with other settings "
                f"({', '.join(_changed(config, unfinished.get('config', {})))} differ) waits in {work}. Rerun it "
                "with its settings to finish it, or pass --overwrite to start over."
            )
        shutil.rmtree(work, ignore_errors=True)  # damaged, or discarded with --overwrite: start again
    if not out.exists() or overwrite:
        return None
    previous = read_manifest(out)
    if previous is None:
        raise OutputError(f"{out}: exists and is not an r1data training folder. Choose another -o or --overwrite.")
    changed = _changed(config, previous.get("config", {}))
    if changed:
        raise OutputError(
            f"{out}: holds a training run with other settings ({', '.join(changed)} differ). "
            "Rerun with the same settings to resume, or pass --overwrite to replace it once the new run is complete."
        )
    publish.link_tree(out, work)  # continue from OUT's checkpoints; OUT stays as it is until the swap
    return previous


def refuse_unisolated_code(cfg: TrainConfig) -> None:
    """GRPO rewarded by running the policy's programs, on a machine that cannot isolate them, invites reward
    hacking: refused unless the user says otherwise."""
    from r1data.judge.rewards import REWARDS

    code = [n for n in getattr(cfg, "reward_funcs", []) if REWARDS[n].needs_tests]
    if not code or getattr(cfg, "allow_unisolated_code", False):
        return
    from r1data.judge.sandbox import is_isolated, unisolated_warning

    if not is_isolated():
        raise ConfigError(
            f"reward {', '.join(code)} runs the policy's programs, and here {unisolated_warning()}. GRPO would learn "
            "to exploit that. Run as root on Linux, or pass --allow-unisolated-code to accept the risk."
        )


def _is_main() -> bool:
    return os.environ.get("RANK", "0") == "0"


def run(
    inputs: list[str | Path],
    out: str | Path,
    cfg: TrainConfig,
    io: IOConfig | None = None,
    *,
    engine: Any = None,
    quiet: bool = False,
) -> StepResult:
    """Read, check, train in the work folder, publish OUT."""
    from r1data.models import resolve_model

    io = io or IOConfig()
    task = "sft" if isinstance(cfg, SFTTrainConfig) else "grpo"
    refuse_unisolated_code(cfg)
    rows = sft_rows(inputs, cfg, io) if task == "sft" else grpo_rows(inputs, cfg, io)  # type: ignore[arg-type]
    config = as_dict(cfg)
    model_path = resolve_model(cfg.model)
    lengths = check_context(rows.rows, cfg, model_path)
    template = {}
    if task == "sft":
        template = template_facts(model_path, rows.rows)
        if template.get("prefills_think"):
            template["leading_think_removed"] = prefill_fix(rows.rows)
    target = Output(out, f"train {task}", io.overwrite, inputs)
    if _is_main():
        target.__enter__()
    try:
        return _train(task, target.path, cfg, config, rows, model_path, lengths | {"template": template}, io, quiet)
    finally:
        if _is_main():
            target.__exit__(None, None, None)


def _train(
    task: str,
    out: Path,
    cfg: TrainConfig,
    config: dict,
    rows: Any,
    model_path: str,
    lengths: dict,
    io: IOConfig,
    quiet: bool,
) -> StepResult:
    """The engines' logs (TRL, transformers, torch, vLLM: from their import on) go to a file beside OUT while
    training runs, and into OUT/logs/engine.log when it is published."""
    log = out.with_name(f".{out.name}.r1data-engine.log")
    with progress.engine_logs(log, progress.current().console) as logged:
        result = _train_logged(task, out, cfg, config, rows, model_path, lengths, io, quiet, logged)
    log.unlink(missing_ok=True)  # published in OUT/logs; kept beside OUT only when training failed
    return result


def _train_logged(
    task: str,
    out: Path,
    cfg: TrainConfig,
    config: dict,
    rows: Any,
    model_path: str,
    lengths: dict,
    io: IOConfig,
    quiet: bool,
    log: Path | None,
) -> StepResult:
    from r1data.train import trl  # heavy: torch, transformers, trl

    trl.check_device(cfg)
    num_processes = trl.num_processes()
    check_config(cfg, num_processes)
    work = publish.work_dir(out)
    old = _prepare(out, work, config, io.overwrite) if trl.is_main() else None
    trl.wait_for_everyone()  # the work folder is ready before any process writes to it
    publish.mkdir(work)
    manifest = new_manifest(f"train {task}", config, rows.sources, rows.fingerprint)
    manifest.update(
        model_path=model_path,
        rows_in=len(rows.rows) + sum(rows.dropped.values()),
        rows_used=len(rows.rows),
        drops=rows.dropped,
        lengths=lengths,
        num_processes=num_processes,
        io=as_dict(io),
    )
    warning = lengths.get("template", {}).get("warning")
    if warning:
        manifest["warnings"] = [warning]
        if not quiet:
            import sys

            sys.stderr.write(f"Warning: {warning}\n")
    if any(r.get(schema.TESTS) for r in rows.rows):  # code rewards run programs: record the isolation
        from r1data.judge.sandbox import isolation

        manifest["sandbox"] = isolation()
    if old is not None:
        manifest["started_at"] = old.get("started_at", manifest["started_at"])
        manifest["runs"] = old.get("runs", 1) + 1
    started = time.perf_counter()
    from r1data.judge import Judge

    with Judge() as judge:
        result = trl.run(
            task, rows.rows, work, cfg, model_path, manifest, quiet=quiet, judge=judge, think_format=io.think_format
        )
    manifest.update(result)
    manifest.update(model_dir=str(out / "model"), seconds=round(time.perf_counter() - started, 2), status=COMPLETE)
    if log is not None and (said := progress.notable(log)):
        manifest["warnings"] = [
            *manifest.get("warnings", []),
            f"the engines logged {len(said)} notable line(s), e.g. '{said[0]}' (OUT/logs/engine.log)",
        ]
    if trl.is_main():
        if log is not None and log.exists():
            publish.mkdir(work / "logs")
            shutil.copyfile(log, work / "logs" / "engine.log")  # the file stays open until training returns
        trl.write_manifest(work, manifest)
        publish.fault_point("train_before_publish")
        publish.swap_in(work, out)
    trl.wait_for_everyone()
    return StepResult(manifest, out)
