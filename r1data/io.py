"""Read any supported input into one polars table of schema records.

Inputs: JSONL, JSON, CSV, Parquet (a file, a glob or a directory), a `datasets.save_to_disk`
directory, or an r1data output directory (its `data/` shards). Rows that cannot be read are either
an error naming file and line, or (with `on_error="skip"`) quarantined for the audit.
"""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl
import xxhash

from r1data import schema
from r1data.errors import EmptyInputError, InputError, R1DataError
from r1data.manifest import MANIFEST, is_complete
from r1data.ops.normalize import normalize_series

OnError = Literal["fail", "skip"]
FILE_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
MALFORMED = "malformed_input"
EMPTY_PROBLEM = "empty_problem"
RAW = "raw_line"


@dataclass
class InputSource:
    """One readable thing: a file, an HF dataset directory, or an r1data output directory."""

    path: Path
    format: str
    name: str  # default `source` for its rows

    def describe(self) -> dict:
        return {"path": str(self.path), "format": self.format}


@dataclass
class ReadResult:
    records: pl.DataFrame
    quarantined: pl.DataFrame  # unreadable lines and rows with no problem, with drop_reason
    sources: list[dict] = field(default_factory=list)
    fingerprint: str = ""
    normalized: pl.Series | None = None  # normalised problems, row-aligned with records (computed once)
    repeated_ids: int = 0  # rows whose given id an earlier row already has (legal: rows are keyed by position)

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.repeated_ids:
            out.append(
                f"{self.repeated_ids} rows repeat an id of an earlier row (e.g. ids 0..n in each merged file); "
                "r1data keys rows by their position, and ids are kept as given"
            )
        return out

    @property
    def rows_in(self) -> int:
        return self.records.height + self.quarantined.height


def is_r1data_dir(path: Path) -> bool:
    return (path / MANIFEST).is_file() and (path / "data").is_dir()


def _dir_sources(path: Path) -> list[InputSource]:
    if is_r1data_dir(path):
        if not is_complete(path, allow_failures=True):
            raise InputError(f"{path}: this r1data output is incomplete (its step did not finish). Rerun that step.")
        return [InputSource(path, "r1data", path.name)]
    if (path / "dataset_dict.json").is_file():
        splits = json.loads((path / "dataset_dict.json").read_text()).get("splits", [])
        raise InputError(
            f"{path}: a DatasetDict with splits {', '.join(splits)}. Pass one split's folder, e.g. {path / splits[0]}"
            if splits
            else f"{path}: a DatasetDict. Pass one split's folder."
        )
    if (path / "state.json").is_file() and (path / "dataset_info.json").is_file():
        return [InputSource(path, "hf_disk", path.name)]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FILE_FORMATS)
    if not files:
        raise InputError(
            f"{path}: directory holds no input files ({', '.join(sorted(FILE_FORMATS))}), "
            "no r1data output and no saved dataset"
        )
    return [_file_source(p) for p in files]


def _file_source(path: Path) -> InputSource:
    fmt = FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported file type '{path.suffix}'. Use one of: {', '.join(sorted(FILE_FORMATS))}"
        )
    return InputSource(path, fmt, path.name[: -len(path.suffix)])


def resolve_inputs(specs: list[str | Path]) -> list[InputSource]:
    """Expand files, globs and directories into sources, in the order given (files sorted within a glob)."""
    sources: list[InputSource] = []
    for spec in specs:
        text = str(spec)
        if any(ch in text for ch in "*?["):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise InputError(f"{text}: the pattern matches no file")
            paths = [Path(m) for m in matches]
        else:
            paths = [Path(text)]
        for p in paths:
            if p.is_dir():
                sources.extend(_dir_sources(p))
            elif p.is_file():
                sources.append(_file_source(p))
            else:
                raise InputError(f"{p}: no such file or directory")
    return sources


def _bad_line(path: Path, lineno: int, raw: bytes, why: str, on_error: OnError) -> dict:
    if on_error == "fail":
        raise InputError(
            f"{path}, line {lineno}: {why}. Fix the line, or pass --on-error skip to quarantine bad lines in removed/"
        )
    return {
        schema.DROP_REASON: MALFORMED,
        "input_file": str(path),
        "input_line": lineno,
        "error": why,
        RAW: raw[:10_000].decode("utf-8", errors="replace"),
    }


def _frame(rows: list[dict], path: Path) -> pl.DataFrame:
    try:
        return pl.from_dicts(rows, infer_schema_length=None)
    except Exception:
        # Mixed types in one column (a number here, a string there; a code problem's tests as a list here
        # and a mapping there): that column keeps every value as JSON text, the others keep their types.
        cols = list(dict.fromkeys(k for r in rows for k in r))
        series = []
        for c in cols:
            values = [r.get(c) for r in rows]
            try:
                series.append(pl.Series(c, values, strict=True))
            except Exception:
                text = [None if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values]
                series.append(pl.Series(c, text, dtype=pl.String))
        try:
            return pl.DataFrame(series)
        except Exception as exc:  # pragma: no cover - defensive
            raise InputError(f"{path}: rows cannot form one table ({exc})") from exc


def read_jsonl(path: Path, on_error: OnError = "fail") -> tuple[pl.DataFrame, list[dict]]:
    """One JSON object per line. Returns the table and the quarantined lines."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        df = pl.read_ndjson(raw, infer_schema_length=None)
        if df.height == sum(1 for ln in raw.splitlines() if ln.strip()):
            return df, []
    except Exception:
        pass  # the line-by-line path below finds and names the bad line
    rows, bad = [], []
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append(_bad_line(path, lineno, line, f"bytes that are not UTF-8 at column {exc.start + 1}", on_error))
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            bad.append(_bad_line(path, lineno, line, f"invalid JSON ({exc.msg} at column {exc.colno})", on_error))
            continue
        if not isinstance(obj, dict):
            bad.append(_bad_line(path, lineno, line, f"a JSON {type(obj).__name__}, not an object", on_error))
            continue
        rows.append(obj)
    return (_frame(rows, path) if rows else pl.DataFrame()), bad


def read_json(path: Path) -> pl.DataFrame:
    """A list of objects, a dict holding one such list (e.g. {"data": [...]}), or a dict of columns."""
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: bytes that are not UTF-8 at offset {exc.start}. Re-encode the file as UTF-8."
        ) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
    if isinstance(obj, dict):
        lists = [v for v in obj.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            obj = lists[0]
        elif obj and all(isinstance(v, list) for v in obj.values()):
            return pl.DataFrame(obj, strict=False)
    if not isinstance(obj, list):
        raise InputError(
            f'{path}: expected a list of objects (or {{"data": [...]}}); found a JSON {type(obj).__name__}'
        )
    for i, row in enumerate(obj):
        if not isinstance(row, dict):
            raise InputError(f"{path}: item {i} is a JSON {type(row).__name__}, not an object")
    return _frame(obj, path) if obj else pl.DataFrame()


def _read_table(src: InputSource, on_error: OnError) -> tuple[pl.DataFrame, list[dict]]:
    p = src.path
    try:
        if src.format == "jsonl":
            return read_jsonl(p, on_error)
        if src.format == "json":
            return read_json(p), []
        if src.format == "csv":
            return pl.read_csv(p, infer_schema=False), []
        if src.format == "parquet":
            return pl.read_parquet(p), []
        if src.format == "r1data":
            return pl.read_parquet(sorted((p / "data").glob("*.parquet"))), []
        if src.format == "hf_disk":
            import datasets  # heavy: only for this input kind

            return pl.from_arrow(datasets.load_from_disk(str(p)).with_format("arrow")[:]), []
    except R1DataError:
        raise
    except Exception as exc:
        raise InputError(f"{p}: cannot read as {src.format} ({type(exc).__name__}: {exc})") from exc
    raise InputError(f"{p}: unknown format {src.format}")  # pragma: no cover


def fingerprint(sources: list[InputSource]) -> str:
    """xxh3-128 over every input file's name and bytes: equal fingerprints mean equal inputs."""
    h = xxhash.xxh3_128()
    for src in sources:
        files = [src.path] if src.path.is_file() else sorted(f for f in src.path.rglob("*") if f.is_file())
        for f in files:
            h.update(str(f.relative_to(src.path.parent)).encode())
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 24):
                    h.update(chunk)
    return h.hexdigest()


def read_inputs(
    specs: list[str | Path],
    fields: schema.FieldMap | None = None,
    on_error: OnError = "fail",
    limit: int | None = None,
) -> ReadResult:
    """Read every input, map it onto the schema, assign ids, and set aside rows with no problem text.

    Every row gets `_row`, its position in the input (the key steps account and resume by). `limit` keeps only
    the first rows (a trial run on a slice)."""
    fields = fields or schema.FieldMap()
    sources = resolve_inputs(specs)
    tables, bad, described = [], [], []
    for src in sources:
        df, bad_rows = _read_table(src, on_error)
        bad.extend(bad_rows)
        info = src.describe() | {"rows": df.height + len(bad_rows)}
        described.append(info)
        if df.height == 0:
            continue
        tables.append(schema.to_records(df, fields, src.name, str(src.path)))
    records = pl.concat(tables, how="diagonal_relaxed") if tables else pl.DataFrame()
    if limit is not None and records.height > limit:
        records = records.head(limit)
    if records.height == 0 and not bad:
        raise EmptyInputError(f"{', '.join(str(s) for s in specs)}: no rows to work on (the input is empty)")
    normalized = None
    repeated = 0
    if records.height:
        records = records.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(schema.ROW))
        given = records.get_column(schema.ID).drop_nulls()
        repeated = given.len() - given.n_unique()
        normalized = normalize_series(records.get_column(schema.PROBLEM))
        records = schema.assign_ids(records, normalized)
        empty = normalized == ""
        dropped = records.filter(empty).with_columns(pl.lit(EMPTY_PROBLEM).alias(schema.DROP_REASON))
        records, normalized = records.filter(~empty), normalized.filter(~empty)
    else:
        dropped = pl.DataFrame()
    quarantined = (
        pl.concat([d for d in (pl.DataFrame(bad), dropped) if d.height], how="diagonal_relaxed")
        if (bad or dropped.height)
        else pl.DataFrame()
    )
    return ReadResult(records, quarantined, described, fingerprint(sources), normalized, repeated)
