"""`r1data train sft|grpo`: TRL's trainers on r1data folders, settings from a recipe and flags."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from r1data.cli import common as c

SETTINGS_HELP = (
    "Any setting of the recipe can be given as a flag after the options above: --learning-rate 1e-6, "
    "--reward-funcs accuracy,format, --no-lora. Precedence: defaults < recipe < flags; an unknown setting is "
    "an error. Multi-GPU: accelerate launch --config_file recipes/accelerate/zero2.yaml -m r1data train ..."
)
EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}

train_app = typer.Typer(
    name="train",
    help="Train on curated shards with TRL: sft (distillation on accepted traces) or grpo (RL with the shared "
    "rewards). Settings: `r1data train settings sft|grpo` lists them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Data = Annotated[
    list[Path],
    typer.Option("--data", "-d", help="r1data output folder(s) (or Parquet/JSONL files) to train on."),
]
Recipe = Annotated[Path | None, typer.Option("--recipe", "-r", help="YAML recipe (see recipes/).")]
Out = Annotated[Path, typer.Option("--output", "-o", help="Folder for checkpoints, logs, the model and manifest.")]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Delete OUTPUT's earlier run (checkpoints included) and start over.")
]


def _train(
    task: str,
    ctx: typer.Context,
    data: list[Path],
    recipe: Path | None,
    output: Path,
    overwrite: bool,
    quiet: bool,
    json_out: bool,
    verbose: bool = False,
) -> None:
    from r1data.config import parse_flags
    from r1data.steps import IOConfig
    from r1data.train import config_class, load_train_config, run

    overrides = parse_flags(list(ctx.args), config_class(task), where=f"r1data train {task}")
    cfg = load_train_config(task, recipe, overrides)
    with c.stdout_for_json(json_out):
        with c.progress(f"r1data train {task}", quiet, verbose):
            manifest = run(data, output, cfg, IOConfig(overwrite=overwrite), quiet=quiet).manifest
        if json_out:
            c.emit_json(manifest)
    if not quiet:
        last = manifest.get("last_log", {})
        c.console.print(
            f"Trained {manifest['global_step']} steps on {manifest['rows_used']:,} rows in {manifest['seconds']:.0f} s"
            f"{'; last loss ' + format(last['loss'], '.4g') if 'loss' in last else ''}. "
            f"Model: {manifest['model_dir']}  (manifest, log.jsonl and checkpoints in {output})"
        )
        for warning in manifest.get("warnings", []):
            c.console.print(f"[yellow]Warning:[/] {warning}", soft_wrap=True)


def _command(task: str, doc: str):  # noqa: ANN202 - a Typer command
    """One command per task: the same options, its own help text."""

    @c.handle_errors
    def command(
        ctx: typer.Context,
        data: Data,
        output: Out,
        recipe: Recipe = None,
        overwrite: Overwrite = False,
        quiet: c.Quiet = False,
        verbose: c.Verbose = False,
        json_out: c.JsonOut = False,
    ) -> None:
        _train(task, ctx, data, recipe, output, overwrite, quiet, json_out, verbose)

    command.__doc__ = doc
    command.__name__ = f"{task}_command"
    return train_app.command(task, context_settings=EXTRA_ARGS, epilog=SETTINGS_HELP)(command)


sft_command = _command(
    "sft",
    """Supervised fine-tuning on the `messages` of rejection-sample (R1-Distill style): the loss covers the
    assistant's reply only. Resumes from the newest checkpoint in OUTPUT when rerun with the same settings.""",
)
grpo_command = _command(
    "grpo",
    """GRPO on problems with gold answers or tests (R1-Zero style), rewarded by the shared reward functions
    (accuracy, format, code, ...), optionally with DAPO dynamic sampling. Resumes from the newest checkpoint.""",
)


def _settings_text(cls: type, settings_help: Any) -> str:
    """r1data's settings, then the installed TRL's (the first sentence of each one's help)."""
    import dataclasses
    import re

    own = [f for f in dataclasses.fields(cls) if not f.metadata.get("trl")]
    trl_fields = [f for f in dataclasses.fields(cls) if f.metadata.get("trl")]
    text = "# r1data's settings (r1data's defaults)\n" + "\n".join(settings_help(cls).splitlines()[: len(own)])
    if trl_fields:
        text += f"\n\n# Every other field of {getattr(cls, 'TRL_ORIGIN', 'TRL')} (TRL's defaults)\n"
        for f in trl_fields:
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            first = re.split(r"(?<=[.!?])\s", f.metadata["help"].removeprefix("TRL: "), maxsplit=1)[0][:200]
            text += f"--{f.name.replace('_', '-')} ({default!r}): {first}\n"
    return text.rstrip()


@train_app.command("settings")
@c.handle_errors
def settings_command(
    task: Annotated[str, typer.Argument(help="sft or grpo.")],
    recipe: Recipe = None,
) -> None:
    """Print every setting with its default, or with a recipe, the resolved values (stdout, YAML)."""
    from r1data.config import as_dict, settings_help
    from r1data.train import CONFIGS, config_class, load_train_config

    if recipe is None:
        if task not in CONFIGS:
            raise c.R1DataError(f"unknown training task '{task}'; choose sft or grpo")
        sys.stdout.write(_settings_text(config_class(task), settings_help) + "\n")
        return
    import yaml

    sys.stdout.write(yaml.safe_dump(as_dict(load_train_config(task, recipe, None)), sort_keys=False))
