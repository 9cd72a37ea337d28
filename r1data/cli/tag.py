"""`r1data tag`: add problem_tags; drop rows with the tags named in --drop."""

from __future__ import annotations

from typing import Any

from r1data.cli import common as c


def summarize(result: Any, cfg: Any, shown: dict) -> None:
    stats = result.manifest["stats"]
    extra = [(f"tagged {name}", n) for name, n in stats["tagged"].items() if n]
    extra += [(f"dropped tag:{name}", n) for name, n in stats["dropped"].items()]
    c.summary(result.manifest, "r1data tag", extra, shown["quiet"], shown["json_out"])


EXAMPLES = ["r1data tag clean -o tagged", "r1data tag clean -o tagged --drop proof,multiple_choice"]

tag_command = c.step_command("tag", summarize, examples=EXAMPLES)
