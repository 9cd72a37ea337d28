"""`r1data CMD` imports CMD's module alone: start-up is part of every small job (10 rows in under 2 s)."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner


def _imported_after(argv: list[str]) -> set[str]:
    code = (
        "import sys; from r1data.cli import build_app, COMMANDS; "
        f"args = {argv!r}; build_app(args[0] if args and args[0] in COMMANDS else None); "
        "print(' '.join(m for m in sys.modules if m.startswith('r1data.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_a_command_builds_only_its_own_module():
    loaded = _imported_after(["verify", "x.jsonl", "-o", "out"])
    assert "r1data.cli.verify" in loaded
    assert not loaded & {"r1data.cli.dedup", "r1data.cli.decontaminate", "r1data.cli.train", "r1data.cli.run"}


def test_help_and_unknown_commands_build_every_command():
    from r1data.cli import COMMANDS

    loaded = _imported_after(["--help"])
    assert {m for m, _ in COMMANDS.values()} <= loaded
    result = CliRunner().invoke(__import__("r1data.cli", fromlist=["app"]).app, ["verifi"])
    assert result.exit_code != 0 and "verify" in result.output  # click's suggestion needs every name
