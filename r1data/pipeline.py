"""`r1data run RECIPE`: a pipeline recipe (dedup -> decontaminate -> filter -> rejection-sample -> train)
executed step by step, each step reading the one before it.

A pipeline recipe:

    input: [demo/raw/gsm8k_style.jsonl, demo/raw/math_style.jsonl]   # the first step's inputs
    output: out/pipeline                                             # step i writes OUTPUT/NN-<step>
    steps:
      - dedup: {}
      - decontaminate: {benchmark: [demo/raw/benchmark.jsonl]}
      - filter: {pass_rate: "0.1:0.9", samples: 8}
      - rejection-sample: {samples: 4}
      - train: {task: sft, recipe: recipes/smollm2-135m/sft/cpu.yaml, max_steps: 20}

Step options are the command's own options (`pass_rate` is `--pass-rate`); `train` takes `task`,
`recipe` and any training setting. Every step runs as its own `r1data` process (so an engine's memory
is returned between steps) and records its exact command in OUTPUT/pipeline.json. A rerun skips a
step whose output is complete and whose command is unchanged; a step that stopped half-way resumes
(filter and rejection-sample from their chunks, train from its newest checkpoint); once a step runs,
every later step runs again from scratch, since its input changed.
"""

from __future__ import annotations

import difflib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1data.config import read_yaml
from r1data.errors import ConfigError, R1DataError

STEPS = ("dedup", "decontaminate", "filter", "rejection-sample", "verify", "train")
STATE_FILE = "pipeline.json"


@dataclass
class Step:
    index: int
    name: str
    options: dict[str, Any]
    out: Path
    argv: list[str] = field(default_factory=list)


@dataclass
class Pipeline:
    recipe: Path
    inputs: list[str]
    output: Path
    steps: list[Step]


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _value(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value)  # YAML flow syntax: read back by the train settings parser
    return str(value)


def _option_names(command: str) -> dict[str, tuple[bool, str | None]]:
    """The command's long options: name -> (is a true/false switch, its --no- form), from the CLI itself."""
    import typer.main

    from r1data.cli import app

    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    names: dict[str, tuple[bool, str | None]] = {}
    for param in cmd.params:
        negative = next((o for o in getattr(param, "secondary_opts", []) if o.startswith("--")), None)
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                names[opt] = (bool(getattr(param, "is_flag", False)), negative)
    return names


def _step_argv(step: Step, inputs: list[str]) -> list[str]:
    opts = dict(step.options)
    where = f"step {step.index + 1} ({step.name})"
    if step.name == "train":
        from r1data.config import parse_flags
        from r1data.train import CONFIGS, load_train_config

        task = opts.pop("task", None)
        if task not in CONFIGS:
            raise ConfigError(f"{where}: set task: sft or task: grpo")
        recipe = opts.pop("recipe", None)
        argv = ["train", task, *(a for i in inputs for a in ("--data", i)), "-o", str(step.out)]
        if recipe is not None:
            argv += ["--recipe", str(recipe)]
        flags = []
        for key, value in opts.items():
            flags += [_flag(key), _value(value)]
        load_train_config(task, recipe, parse_flags(flags, CONFIGS[task], where=where))  # checked now, not later
        return argv + flags
    known = _option_names(step.name)
    argv = [step.name, *inputs, "-o", str(step.out)]
    for key, value in opts.items():
        flag = _flag(key)
        if flag not in known or flag in ("--output", "--help"):
            close = difflib.get_close_matches(flag, list(known), n=1)
            hint = f" Did you mean '{close[0][2:].replace('-', '_')}'?" if close else ""
            raise ConfigError(f"{where}: '{key}' is not an option of r1data {step.name}.{hint}")
        is_switch, negative = known[flag]
        if is_switch:
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: '{key}' is a switch; write true or false")
            if value or negative:
                argv.append(flag if value else negative)
        elif isinstance(value, list):
            for v in value:
                argv += [flag, str(v)]
        else:
            argv += [flag, _value(value)]
    return argv


def load_pipeline(recipe: str | Path, inputs: list[str] | None = None, output: str | Path | None = None) -> Pipeline:
    """Read and check a pipeline recipe: every step's command line is built and checked before any runs."""
    recipe = Path(recipe)
    data = read_yaml(recipe)
    unknown = set(data) - {"input", "output", "steps", "description"}
    if unknown:
        raise ConfigError(f"{recipe}: unknown keys {sorted(unknown)}; a pipeline has input, output and steps")
    given = inputs or data.get("input")
    if not given:
        raise ConfigError(f"{recipe}: no input; set `input:` in the recipe or pass --input")
    given = [str(i) for i in (given if isinstance(given, list) else [given])]
    out = Path(output or data.get("output") or "")
    if not str(out) or str(out) == ".":
        raise ConfigError(f"{recipe}: no output folder; set `output:` in the recipe or pass -o")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ConfigError(f"{recipe}: `steps` must be a list such as [{{dedup: {{}}}}, {{decontaminate: ...}}]")
    steps = []
    for i, entry in enumerate(raw_steps):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigError(f"{recipe}: step {i + 1} must be one mapping such as `- dedup: {{}}`")
        ((name, options),) = entry.items()
        if name not in STEPS:
            raise ConfigError(f"{recipe}: step {i + 1} '{name}' is not a step; choose from {', '.join(STEPS)}")
        if options is not None and not isinstance(options, dict):
            raise ConfigError(f"{recipe}: step {i + 1} ({name}): options must be a mapping")
        steps.append(Step(i, name, dict(options or {}), out / f"{i + 1:02d}-{name}"))
    if any(s.name == "train" for s in steps[:-1]):
        raise ConfigError(f"{recipe}: train must be the last step")
    previous = given
    for s in steps:
        s.argv = _step_argv(s, previous)
        previous = [str(s.out)]
    return Pipeline(recipe, given, out, steps)


def _run_streaming(cmd: list[str]) -> tuple[int, list[str]]:
    """Run a step, passing its stderr through as it comes; returns the exit code and the last lines."""
    tail: list[str] = []
    with subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, errors="replace") as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write(line)
            tail = [*tail[-19:], line.rstrip()]
    return proc.returncode, tail


def _complete(out: Path) -> bool:
    manifest = out / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        return str(json.loads(manifest.read_text()).get("status", "")).startswith("complete")
    except json.JSONDecodeError:
        return False


def run_pipeline(pipe: Pipeline, echo: Any = print) -> list[dict]:
    """Run the steps in order; returns what happened to each (ran / skipped, seconds)."""
    pipe.output.mkdir(parents=True, exist_ok=True)
    state_path = pipe.output / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.is_file() else {"steps": {}}
    report, upstream_ran = [], False

    def save() -> None:
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, state_path)

    for step in pipe.steps:
        key = f"{step.index + 1:02d}-{step.name}"
        record = state["steps"].get(key)
        same = record is not None and record.get("argv") == step.argv
        if same and not upstream_ran and _complete(step.out):
            echo(f"[{key}] complete with the same command: skipped")
            report.append({"step": key, "action": "skipped", "seconds": 0.0})
            continue
        if step.out.exists() and (not same or upstream_ran):
            shutil.rmtree(step.out)  # another command, or its input changed: its old output is stale
        action = "resumed" if step.out.exists() else "ran"
        state["steps"][key] = {"argv": step.argv, "status": "running"}
        save()
        echo(f"[{key}] r1data {shlex.join(step.argv)}")
        started = time.perf_counter()
        code, tail = _run_streaming([sys.executable, "-m", "r1data", *step.argv])
        seconds = round(time.perf_counter() - started, 1)
        if code != 0:
            state["steps"][key]["status"] = f"failed (exit {code})"
            save()
            said = next((ln for ln in reversed(tail) if ln.startswith("Error:")), tail[-1] if tail else "")
            raise R1DataError(
                f"step {key} failed (exit {code}): {said.removeprefix('Error:').strip() or 'see above'} "
                "Fix the cause and run the same `r1data run` again: finished steps are skipped and this one resumes."
            )
        state["steps"][key] = {"argv": step.argv, "status": "complete", "seconds": seconds}
        save()
        report.append({"step": key, "action": action, "seconds": seconds})
        upstream_ran = True
    return report
