"""What each step records beside its shards, so every output says how it was made; and the one test of
whether an output is complete."""

from __future__ import annotations

import contextlib
import json
import platform
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import r1data

RUNNING = "running"
COMPLETE = "complete"
COMPLETE_WITH_FAILURES = "complete_with_failures"  # finished, but some rows failed (server errors): rerun retries
MANIFEST = "manifest.json"

# Packages whose versions change results; recorded when installed.
TRACKED_PACKAGES = (
    "polars",
    "pyarrow",
    "numpy",
    "xxhash",
    "datasketch",
    "datasets",
    "math-verify",
    "latex2sympy2_extended",
    "sympy",
    "vllm",
    "torch",
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "ray",
)


def versions() -> dict[str, str]:
    out = {"r1data": r1data.__version__, "python": platform.python_version()}
    for pkg in TRACKED_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


# The command line of the step being run, as `run_step` was given it (the CLI's own, a pipeline step's, or one
# written from the configs for a library call): never the process's, which is `r1data run RECIPE` for every step of a
# pipeline run in one process.
_STEP_ARGV: ContextVar[list[str] | None] = ContextVar("r1data_step_argv", default=None)


@contextlib.contextmanager
def step_command_line(argv: list[str]) -> Iterator[None]:
    """Manifests written inside the block record `argv` as their command line."""
    token = _STEP_ARGV.set([str(a) for a in argv])
    try:
        yield
    finally:
        _STEP_ARGV.reset(token)


def new_manifest(command: str, config: dict, inputs: list[dict], fingerprint: str) -> dict:
    argv = _STEP_ARGV.get()
    return {
        "r1data_version": r1data.__version__,
        "command": command,
        "argv": argv if argv is not None else sys.argv[1:],
        "config": config,
        "versions": versions(),
        "inputs": inputs,
        "input_fingerprint": fingerprint,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": RUNNING,
    }


def read_manifest(folder: str | Path) -> dict | None:
    """The manifest of an output folder, or None when there is none or it cannot be read (a damaged file is
    the same as no output: never trusted)."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(folder: str | Path, allow_failures: bool = False) -> bool:
    """Is this an output whose step finished? `complete_with_failures` counts only with allow_failures: its rows
    are all accounted for and can be read, but `r1data run` reruns the step to retry the failed ones."""
    m = read_manifest(folder)
    if m is None:
        return False
    ok = {COMPLETE, COMPLETE_WITH_FAILURES} if allow_failures else {COMPLETE}
    return m.get("status") in ok


def dataset_card(manifest: dict) -> str:
    """A short README.md: what the step did, its counts, and how to load the shards."""
    drops = manifest.get("drops", {})
    drop_lines = "\n".join(f"| {reason} | {n} |" for reason, n in sorted(drops.items())) or "| (none) | 0 |"
    inputs = "\n".join(f"- `{i['path']}` ({i['format']}, {i.get('rows', '?')} rows)" for i in manifest["inputs"])
    warnings = "".join(f"\n> {w}\n" for w in manifest.get("warnings", []))
    return f"""---
configs:
- config_name: default
  data_files: data/*.parquet
---
# r1data output: {manifest["command"]}

Made by r1data {manifest["r1data_version"]} with `r1data {" ".join(manifest["argv"])}`.

Rows in: {manifest["rows_in"]} · rows out: {manifest["rows_out"]} · removed: {manifest["rows_removed"]} \
· {manifest["seconds"]:.1f} s
{warnings}
| drop reason | rows |
| --- | --- |
{drop_lines}

Inputs (fingerprint `{manifest["input_fingerprint"]}`):
{inputs}

Every removed row is in `removed/` with its `drop_reason`. The resolved configuration and package
versions are in `manifest.json`.

```python
import polars as pl
df = pl.read_parquet("data/*.parquet")
# or: datasets.load_dataset("parquet", data_dir="data")
```
"""
