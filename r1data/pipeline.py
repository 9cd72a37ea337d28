"""`r1data run RECIPE`: a pipeline recipe (dedup -> decontaminate -> filter -> rejection-sample -> train)
executed step by step, each step reading the one before it.

A pipeline recipe:

    input: [demo/raw/gsm8k_style.jsonl, demo/raw/math_style.jsonl]   # the first step's inputs
    output: out/pipeline                                             # step i writes OUTPUT/NN-<step>
    steps:
      - dedup: {}
      - decontaminate: {against: [demo/raw/benchmark.jsonl]}
      - filter: {pass_rate: "0.1:0.9", samples: 8}
      - rejection-sample: {samples: 4}
      - train: {task: sft, recipe: recipes/smollm2-135m/sft/cpu.yaml, max_steps: 20}

Step options are the step's settings by name (its Config's fields and the input/output settings, exactly the
command's options: `pass_rate` is `--pass-rate`); `inputs: [...]` makes a step read other files instead of
the step before; `train` takes `task`, `recipe` and any training setting. Every step's command line is built
and checked before the first step starts. Every step runs through the library (`run_step`), never through the CLI:
by default in its own spawned child process (so an engine's memory is returned between steps); `in_process` runs
them in this process and lets consecutive generation steps with the same engine settings share one loaded model
(the demo does). Each step's manifest records the step's own command line. Each step's command is
recorded in OUTPUT/pipeline.json. A rerun skips a step whose output is complete and whose command is unchanged;
a step that stopped half-way resumes (filter and rejection-sample from their chunks, train from its newest
checkpoint); a step `complete_with_failures` runs again to retry its failed rows; once a step runs, every later
step runs again (replacing its output once the new one is complete), since its input changed.
"""

from __future__ import annotations

import difflib
import json
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1data import progress, publish
from r1data.config import build_config, read_yaml, settings_of
from r1data.errors import ConfigError, R1DataError
from r1data.lifetime import quiet_resource_tracker
from r1data.manifest import is_complete, read_manifest
from r1data.steps.base import STEPS

STEP_NAMES = (*(n for n in STEPS if not n.startswith("train-")), "train")  # train-sft/-grpo: `train: {task: ...}`
STATE_FILE = "pipeline.json"
PIPELINE_KEYS = ("input", "output", "steps", "description")


@dataclass
class Step:
    index: int
    name: str
    options: dict[str, Any]
    out: Path
    inputs: list[str] = field(default_factory=list)
    argv: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.index + 1:02d}-{self.name}"

    @property
    def registry_name(self) -> str:
        return f"train-{self.options['task']}" if self.name == "train" else self.name


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
        return json.dumps(value)  # YAML flow syntax: read back by the settings parsers
    return str(value)


def _settings(name: str) -> dict[str, Any]:
    """The settings a step takes: its Config's fields and the input/output settings."""
    from r1data.steps.base import IOConfig, get_step

    fields = {f.name: f for f in settings_of(get_step(name).config)}
    return fields | {f.name: f for f in settings_of(IOConfig)}


def _train_argv(step: Step, where: str) -> list[str]:
    from r1data.config import parse_flags
    from r1data.train import CONFIGS, config_class, load_train_config

    opts = dict(step.options)
    task = opts.pop("task", None)
    if task not in CONFIGS:
        raise ConfigError(f"{where}: set task: sft or task: grpo")
    recipe = opts.pop("recipe", None)
    argv = ["train", task, *(a for i in step.inputs for a in ("--data", i)), "-o", str(step.out)]
    if recipe is not None:
        argv += ["--recipe", str(recipe)]
    flags = []
    for key, value in opts.items():
        flags += [_flag(key), _value(value)]
    load_train_config(task, recipe, parse_flags(flags, config_class(task), where=where))  # checked now, not later
    return argv + flags


def _step_argv(step: Step) -> list[str]:
    """The step's command line, each option checked against the step's settings."""
    from r1data.steps.base import IOConfig, get_step

    where = f"step {step.index + 1} ({step.name})"
    if step.name == "train":
        return _train_argv(step, where)
    known = _settings(step.name)
    for key in step.options:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{where}: '{key}' is not a setting of r1data {step.name}.{hint}")
    cfg_names = {f.name for f in settings_of(get_step(step.name).config)}
    try:  # the values are checked now, not when the step's turn comes
        build_config(get_step(step.name).config, {k: v for k, v in step.options.items() if k in cfg_names}, where)
        build_config(IOConfig, {k: v for k, v in step.options.items() if k not in cfg_names}, where)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    argv = [step.name, *step.inputs, "-o", str(step.out)]
    for key, value in step.options.items():
        flag = _flag(key)
        if isinstance(value, bool):
            argv.append(flag if value else f"--no-{flag[2:]}")
        elif isinstance(value, list):
            for v in value:
                argv += [flag, str(v)]
        elif value is None:
            continue  # every optional setting defaults to none
        else:
            argv += [flag, _value(value)]
    return argv


def load_pipeline(recipe: str | Path, inputs: list[str] | None = None, output: str | Path | None = None) -> Pipeline:
    """Read and check a pipeline recipe: every step's command line is built and checked before any runs."""
    recipe = Path(recipe)
    data = read_yaml(recipe)
    unknown = set(data) - set(PIPELINE_KEYS)
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
        if name not in STEP_NAMES:
            raise ConfigError(f"{recipe}: step {i + 1} '{name}' is not a step; choose from {', '.join(STEP_NAMES)}")
        if options is not None and not isinstance(options, dict):
            raise ConfigError(f"{recipe}: step {i + 1} ({name}): options must be a mapping")
        steps.append(Step(i, name, dict(options or {}), out / f"{i + 1:02d}-{name}"))
    if any(s.name == "train" for s in steps[:-1]):
        raise ConfigError(f"{recipe}: train must be the last step")
    previous = given
    for s in steps:
        own = s.options.pop("inputs", None)
        s.inputs = [str(p) for p in own] if own else previous
        s.argv = _step_argv(s)
        previous = [str(s.out)]
    return Pipeline(recipe, given, out, steps)


def _run_in_child(step: Step, refresh: bool, argv: list[str], quiet: bool) -> tuple[int, str | None]:
    """The step through the library in a spawned child process (a fresh interpreter: nothing of this one is
    inherited, and all the child held is returned when it ends). (exit code, the error it reported, if one)."""
    import multiprocessing

    quiet_resource_tracker()  # the children's shared memory is tracked by this process's tracker: not on the terminal
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(step, refresh, argv, quiet, send), name=f"r1data {step.key}")
    child.start()
    send.close()
    try:
        said = receive.recv() if _wait_for(child, receive) else None
    except EOFError:
        said = None
    child.join()
    receive.close()
    return child.exitcode or 0, said


def _wait_for(child: Any, receive: Any) -> bool:
    """Until the child reports or ends; True when it reported."""
    while child.is_alive():
        if receive.poll(0.2):
            return True
    return receive.poll()


def _die_with_parent() -> None:
    """In the child: once `r1data run` is gone (however it ended, SIGKILL too), the step stops with everything it
    started, publishing nothing, instead of running on unseen with an engine's memory."""
    import multiprocessing
    import os

    from r1data.lifetime import descendants, kill_all

    parent = multiprocessing.parent_process()
    if parent is None:
        return
    parent.join()
    kill_all(descendants(os.getpid()))
    os._exit(137)


def _child(step: Step, refresh: bool, argv: list[str], quiet: bool, send: Any) -> None:
    """In the child: run the step, report an R1DataError's message (the one line the user sees), exit 130 on
    Ctrl-C without a traceback."""
    import threading

    from rich.console import Console

    threading.Thread(target=_die_with_parent, name="r1data-orphan-watch", daemon=True).start()
    code = 0
    try:
        console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())  # in a pipe, whole lines
        with progress.reporting(step.key, quiet=quiet, console=console, grace=2.0, heartbeat=30.0):
            _run_in_process(step, refresh, {}, argv)
    except R1DataError as exc:
        send.send(str(exc))
        code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        send.close()
    if code:
        sys.exit(code)


def _same_input(step: Step, pipe: Pipeline) -> bool:
    """Inputs from outside the pipeline (the first step's, or a step's own `inputs`) are unchanged since the step's
    output was made (the fingerprint its manifest recorded); inputs from earlier steps are covered by their reruns."""
    from r1data.io import fingerprint, resolve_inputs

    inside = {str(s.out) for s in pipe.steps}
    if all(i in inside for i in step.inputs):
        return True
    manifest = read_manifest(step.out) or {}
    try:
        return manifest.get("input_fingerprint") == fingerprint(resolve_inputs(step.inputs))
    except R1DataError:
        return False


class LazyEngine:
    """An engine loaded on its first request, so a step that needs none (stored generations) loads none."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.engine: Any = None

    @property
    def model(self) -> str | None:
        return getattr(self.engine, "model", None)

    def generate(self, requests: list, sampling: Any) -> list:
        if self.engine is None:
            self.engine = self.cfg.load_engine()
        return self.engine.generate(requests, sampling)

    def facts(self) -> dict:
        facts = getattr(self.engine, "facts", None)
        return facts() if callable(facts) else {}

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None


def _engine_key(step: Step) -> tuple | None:
    """The engine settings of a generation step (steps with equal keys share one loaded model)."""
    if step.name not in ("filter", "rejection-sample"):
        return None
    from r1data.steps.base import get_step

    definition = get_step(step.name)
    names = {f.name for f in settings_of(definition.config)}
    return build_config(definition.config, {k: v for k, v in step.options.items() if k in names}, step.key).engine_key()


def _refresh_flags(step: Step) -> list[str]:
    """What makes a step replace its earlier output (its input, or its own command, changed)."""
    if step.name in ("filter", "rejection-sample"):
        return ["--restart"]
    return ["--overwrite"]


def _run_in_process(step: Step, refresh: bool, engines: dict, argv: list[str]) -> None:
    """The step through the library, in this process; its manifest records `argv`, the step's own command."""
    from r1data import progress

    report = progress.current()
    report.title, report.stage_name, report.counters = f"{step.key}", "", {}  # this step's progress from here
    from r1data.steps.base import IOConfig, get_step, run_step
    from r1data.train import config_class, load_train_config

    if step.name == "train":
        from r1data.config import parse_flags

        opts = dict(step.options)
        task, recipe = opts.pop("task"), opts.pop("recipe", None)
        flags = [a for k, v in opts.items() for a in (_flag(k), _value(v))]
        cfg = load_train_config(task, recipe, parse_flags(flags, config_class(task), where=step.key))
        run_step(step.registry_name, step.inputs, step.out, cfg, IOConfig(overwrite=refresh), argv=argv)
        return
    definition = get_step(step.name)
    cfg_names = {f.name for f in settings_of(definition.config)}
    options = dict(step.options)
    if refresh:
        options["restart" if step.name in ("filter", "rejection-sample") else "overwrite"] = True
    cfg = build_config(definition.config, {k: v for k, v in options.items() if k in cfg_names}, step.key)
    io = build_config(IOConfig, {k: v for k, v in options.items() if k not in cfg_names}, step.key)
    engine = None
    if hasattr(cfg, "engine_key"):
        engine = engines.setdefault(cfg.engine_key(), LazyEngine(cfg))
    run_step(step.name, step.inputs, step.out, cfg, io, engine=engine, argv=argv)


def run_pipeline(
    pipe: Pipeline, echo: Any = print, in_process: bool = False, on_step: Any = None, quiet: bool = False
) -> list[dict]:
    """Run the steps in order; returns what happened to each (ran / resumed / skipped, seconds). `on_step(step,
    manifest)` is called after each step that ran. Each step runs through the library (`run_step`): in this process
    with `in_process`, else in a spawned child process, so that what it held (an engine's memory) goes back when it
    ends. `quiet`: the children show no progress."""
    publish.mkdir(pipe.output)
    state_path = pipe.output / STATE_FILE
    try:
        state = json.loads(state_path.read_text()) if state_path.is_file() else {"steps": {}}
    except ValueError:
        state = {"steps": {}}  # a damaged record: every step is checked against its output again
    report, upstream_ran = [], False
    engines: dict = {}

    def save() -> None:
        publish.write_json(state_path, state)

    try:
        for i, step in enumerate(pipe.steps):
            if in_process:  # a model nobody after this step uses is given back now, not at the end
                needed = {_engine_key(s) for s in pipe.steps[i:]}
                for key in [k for k in engines if k not in needed]:
                    with progress.engine_logs(pipe.output / "logs" / "engine.log", progress.current().console):
                        engines.pop(key).close()
            record = state["steps"].get(step.key)
            same = record is not None and record.get("argv") == step.argv
            if same and not upstream_ran and is_complete(step.out) and _same_input(step, pipe):
                echo(f"[{step.key}] complete with the same command: skipped")
                report.append({"step": step.key, "action": "skipped", "seconds": 0.0})
                continue
            work = publish.work_dir(step.out)
            earlier = work.exists() or step.out.exists()
            refresh = (not same or upstream_ran) and earlier
            action = "resumed" if (earlier and not refresh) else "ran"
            argv = step.argv + (_refresh_flags(step) if refresh else [])
            state["steps"][step.key] = {"argv": step.argv, "status": "running"}
            save()
            echo(f"[{step.key}] r1data {shlex.join(argv)}")
            started = time.perf_counter()
            if in_process:
                try:
                    _run_in_process(step, refresh, engines, argv)
                except R1DataError as exc:
                    state["steps"][step.key]["status"] = "failed"
                    save()
                    raise R1DataError(
                        f"step {step.key} failed: {exc} Fix the cause and run the pipeline again: "
                        "finished steps are skipped and this one resumes."
                    ) from None
            else:
                code, said = _run_in_child(step, refresh, argv, quiet)
                if code != 0:
                    state["steps"][step.key]["status"] = f"failed (exit {code})"
                    save()
                    if code == 130:
                        raise KeyboardInterrupt
                    raise R1DataError(
                        f"step {step.key} failed (exit {code}): {said or 'see above.'} Fix the cause and run the same "
                        "`r1data run` again: finished steps are skipped and this one resumes."
                    )
            seconds = round(time.perf_counter() - started, 1)
            status = "complete" if is_complete(step.out) else "complete_with_failures"
            state["steps"][step.key] = {"argv": step.argv, "status": status, "seconds": seconds}
            save()
            report.append({"step": step.key, "action": action, "seconds": seconds})
            upstream_ran = True
            if on_step is not None:
                on_step(step, read_manifest(step.out) or {})
    finally:
        if engines:
            with progress.engine_logs(pipe.output / "logs" / "engine.log", progress.current().console):
                for engine in engines.values():
                    engine.close()
    return report
