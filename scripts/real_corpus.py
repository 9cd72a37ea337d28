"""Rebuild the real-file corpus (tests/data/real/manifest.json) from local git copies of its public repositories.

    python scripts/real_corpus.py --mirrors DIR --out shared/real

DIR holds one git directory per repository, as `OWNER+NAME/repo` (or `OWNER+NAME`, `OWNER/NAME`). Each file is
taken at the manifest's commit and cut as its `slice` says (the first N lines of a JSONL file, the first N items
of a JSON list or keys of a JSON object, the first N rows of a Parquet file, or the whole file), then checked
against the manifest's sha256. Nothing is downloaded: a missing repository is reported and skipped. Then run
`R1DATA_REAL_FILES=shared/real python -m pytest tests/test_real_files.py`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[1] / "tests" / "data" / "real" / "manifest.json"


def git_dir(mirrors: Path, repo: str) -> Path | None:
    owner, name = repo.split("/")
    for candidate in (mirrors / f"{owner}+{name}" / "repo", mirrors / f"{owner}+{name}", mirrors / owner / name):
        if candidate.exists():
            return candidate
    return None


def cut(data: bytes, path: str, rows: int, how: str) -> bytes:
    """The slice of a file's bytes, as the manifest's `slice` describes it."""
    whole = re.match(r"\s*(whole|entire|all |byte)", how, re.IGNORECASE) is not None
    if path.endswith(".jsonl"):
        lines = data.splitlines(keepends=True)
        return data if whole else b"".join(lines[:rows])
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        if "slice(" not in how:  # the file as it is
            return data
        out = io.BytesIO()
        pq.write_table(table.slice(0, rows), out)
        return out.getvalue()
    if whole:
        return data
    obj = json.loads(data)
    part = obj[:rows] if isinstance(obj, list) else {k: obj[k] for k in list(obj)[:rows]}
    return json.dumps(part, ensure_ascii=False, indent=2).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", type=Path, required=True, help="folder of the repositories' git copies")
    parser.add_argument("--out", type=Path, required=True, help="where to write the corpus (R1DATA_REAL_FILES)")
    args = parser.parse_args()
    entries = json.loads(MANIFEST.read_text())["files"]
    counts = {"matched": 0, "differs": 0, "missing": 0}
    for e in entries:
        repo = git_dir(args.mirrors, e["repo"])
        if repo is None:
            print(f"missing  {e['file']}: no copy of {e['repo']} under {args.mirrors}", file=sys.stderr)
            counts["missing"] += 1
            continue
        shown = subprocess.run(
            ["git", "--git-dir", str(repo), "show", f"{e['commit']}:{e['path']}"], capture_output=True, check=False
        )
        if shown.returncode:
            print(f"missing  {e['file']}: {e['repo']} has no {e['path']} at {e['commit'][:12]}", file=sys.stderr)
            counts["missing"] += 1
            continue
        data = cut(shown.stdout, e["path"], e["rows"], e["slice"])
        target = args.out / e["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        same = hashlib.sha256(data).hexdigest() == e["sha256"]
        counts["matched" if same else "differs"] += 1
        print(
            f"{'matched ' if same else 'differs '} {e['file']}"
            + ("" if same else f" (the manifest's slice was cut differently: {e['slice'][:120]})"),
            file=sys.stderr,
        )
    print(json.dumps(counts))
    return 0 if counts["differs"] == 0 and counts["missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
