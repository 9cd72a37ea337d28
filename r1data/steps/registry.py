"""The registry of steps: step name -> the module that holds its Config and run() (":variant" for the train
steps). Adding a step is one module plus one line here; the CLI, recipes, pipelines and the Python API all find
steps here. No imports: the CLI reads it at start-up to know its commands."""

STEPS: dict[str, str] = {
    "dedup": "r1data.steps.dedup",
    "decontaminate": "r1data.steps.decontaminate",
    "tag": "r1data.steps.tag",
    "verify": "r1data.steps.verify",
    "stats": "r1data.steps.stats",
    "filter": "r1data.steps.filter",
    "rejection-sample": "r1data.steps.rejection_sample",
    "export": "r1data.steps.export",
    "train-sft": "r1data.train.run:sft",
    "train-grpo": "r1data.train.run:grpo",
}


def step_commands() -> dict[str, tuple[str, str]]:
    """Each one-shot or chunked step's command: `r1data NAME` in r1data/cli/NAME.py as NAME_command (the train
    steps are `r1data train sft|grpo`, in r1data/cli/train.py)."""
    return {
        name: (f"r1data.cli.{name.replace('-', '_')}", f"{name.replace('-', '_')}_command")
        for name in STEPS
        if not name.startswith("train-")
    }
