"""What each step records beside its shards, so every output says how it was made."""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib import metadata

import r1data

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
)


def versions() -> dict[str, str]:
    out = {"r1data": r1data.__version__, "python": platform.python_version()}
    for pkg in TRACKED_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def new_manifest(command: str, config: dict, inputs: list[dict], fingerprint: str) -> dict:
    return {
        "r1data_version": r1data.__version__,
        "command": command,
        "argv": sys.argv[1:],
        "config": config,
        "versions": versions(),
        "inputs": inputs,
        "input_fingerprint": fingerprint,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "running",
    }


def dataset_card(manifest: dict) -> str:
    """A short README.md: what the step did, its counts, and how to load the shards."""
    drops = manifest.get("drops", {})
    drop_lines = "\n".join(f"| {reason} | {n} |" for reason, n in sorted(drops.items())) or "| (none) | 0 |"
    inputs = "\n".join(f"- `{i['path']}` ({i['format']}, {i.get('rows', '?')} rows)" for i in manifest["inputs"])
    return f"""---
configs:
- config_name: default
  data_files: data/*.parquet
---
# r1data output: {manifest["command"]}

Made by r1data {manifest["r1data_version"]} with `r1data {" ".join(manifest["argv"])}`.

Rows in: {manifest["rows_in"]} · rows out: {manifest["rows_out"]} · removed: {manifest["rows_removed"]} \
· {manifest["seconds"]:.1f} s

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
