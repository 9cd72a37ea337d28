"""Read any supported input into one polars table of schema records.

Inputs: JSONL, JSON, CSV, Parquet (a file, a glob or a directory; JSONL, JSON and CSV also compressed as
.gz, .zst or .bz2), a `datasets.save_to_disk` directory, or an r1data output directory (its `data/` shards).
Each table's layout is recognised from its columns (r1data/layouts.py) and mapped onto the schema. Rows that
cannot be read are either an error naming file and line, or (with `on_error="skip"`) quarantined for the
audit. A UTF-8 byte-order mark is skipped; a lone surrogate escape (`"\\udcff"`) becomes U+FFFD (counted),
or with `on_error="skip"` quarantines its row. A file in a folder that r1data cannot read is named in a warning.
"""

from __future__ import annotations

import codecs
import dataclasses
import glob
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
import xxhash

from r1data import schema
from r1data.errors import EmptyInputError, InputError, R1DataError
from r1data.manifest import MANIFEST, is_complete
from r1data.ops.normalize import normalize_series

OnError = Literal["fail", "skip"]
FILE_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2"}
BOM = b"\xef\xbb\xbf"
MALFORMED = "malformed_input"
EMPTY_PROBLEM = "empty_problem"
RAW = "raw_line"
JSON_KEY = "json_key"


@dataclass
class InputSource:
    """One readable thing: a file, an HF dataset directory, or an r1data output directory."""

    path: Path
    format: str
    name: str  # default `source` for its rows
    compression: str | None = None
    note: str | None = None  # a warning about it (files of its folder that r1data skipped)

    def describe(self) -> dict:
        out = {"path": str(self.path), "format": self.format}
        return out | ({"compression": self.compression} if self.compression else {})


@dataclass
class ReadResult:
    records: pl.DataFrame
    quarantined: pl.DataFrame  # unreadable lines and rows with no problem, with drop_reason
    sources: list[dict] = field(default_factory=list)
    fingerprint: str = ""
    normalized: pl.Series | None = None  # normalised problems, row-aligned with records (computed once)
    repeated_ids: int = 0  # rows whose given id an earlier row already has (legal: rows are keyed by position)
    notes: list[str] = field(default_factory=list)  # files skipped, surrogates replaced
    readings: list = field(default_factory=list)  # layouts.Reading per input: how each was read

    @property
    def warnings(self) -> list[str]:
        out = list(self.notes)
        if self.repeated_ids:
            out.append(
                f"{self.repeated_ids} rows repeat an id of an earlier row (e.g. ids 0..n in each merged file); "
                "r1data keys rows by their position, and ids are kept as given"
            )
        return out

    counted_rows: int | None = None  # rows read, where the records are not held (a step that streams its rows)

    @property
    def rows_in(self) -> int:
        if self.counted_rows is not None:
            return self.counted_rows
        return self.records.height + self.quarantined.height


def is_r1data_dir(path: Path) -> bool:
    return (path / MANIFEST).is_file() and (path / "data").is_dir()


def _unfinished(path: Path) -> str | None:
    """Why a folder is r1data's unfinished work rather than data (a chunked step's chunks, a staging or replaced
    output left beside OUT), or None."""
    for part in (path.absolute(), *path.absolute().parents):
        if re.search(r"\.r1data-(?:work|partial|old|scratch)", part.name):
            return f"{part} is r1data's working folder for an output that was not finished or was replaced"
    if (path / "state.json").is_file() and any(path.glob("chunk-*.parquet")):
        return "it holds the chunks of an r1data step that did not finish"
    if (path / MANIFEST).is_file() and not (path / "data").is_dir():
        try:
            ours = "r1data_version" in json.loads((path / MANIFEST).read_text())
        except (OSError, ValueError, TypeError):
            ours = False
        if ours:
            return "it holds an r1data manifest but no data/ (an output that was never published)"
    return None


def _dir_sources(path: Path) -> list[InputSource]:
    if (why := _unfinished(path)) is not None:
        raise InputError(
            f"{path}: not data: {why}. Finish that run (rerun its step with the same -o) and read "
            "its output folder instead."
        )
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
    found = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    files = [p for p in found if _format_of(p) is not None]
    if not files:
        raise InputError(
            f"{path}: directory holds no input files ({', '.join(sorted(FILE_FORMATS))}, also .gz/.zst/.bz2), "
            "no r1data output and no saved dataset"
        )
    sources = [_file_source(p) for p in files]
    skipped = [p for p in found if _format_of(p) is None]
    if skipped:
        names = ", ".join(str(p.relative_to(path)) for p in skipped[:10]) + (" ..." if len(skipped) > 10 else "")
        sources[0].note = f"{path}: skipped {len(skipped)} file(s) r1data does not read: {names}"
    return sources


def _format_of(path: Path) -> tuple[str, str | None] | None:
    """(format, compression) from the file's name, e.g. data.jsonl.gz -> (jsonl, gzip); None if not readable."""
    name = path.name.lower()
    compression = None
    for suffix, codec in COMPRESSIONS.items():
        if name.endswith(suffix):
            compression, name = codec, name[: -len(suffix)]
            break
    fmt = FILE_FORMATS.get(Path(name).suffix)
    if fmt is None or (fmt == "parquet" and compression):
        return None
    return fmt, compression


def _file_source(path: Path) -> InputSource:
    found = _format_of(path)
    if found is None:
        raise InputError(
            f"{path}: unsupported file type. Use one of: {', '.join(sorted(FILE_FORMATS))} "
            "(JSONL, JSON and CSV also as .gz, .zst or .bz2)"
        )
    fmt, compression = found
    stem = path.name
    while Path(stem).suffix.lower() in {*FILE_FORMATS, *COMPRESSIONS}:
        stem = stem[: -len(Path(stem).suffix)]
    return InputSource(path, fmt, stem, compression)


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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogates(obj: Any) -> tuple[Any, int]:
    """obj with every lone surrogate (a JSON "\\udcff" escape: not text) replaced by U+FFFD, and how many."""
    if isinstance(obj, str):
        fixed, n = _SURROGATE.subn("\ufffd", obj)
        return fixed, n
    if isinstance(obj, list):
        pairs = [_surrogates(v) for v in obj]
        return [v for v, _ in pairs], sum(n for _, n in pairs)
    if isinstance(obj, dict):
        pairs = {k: _surrogates(v) for k, v in obj.items()}
        return {k: v for k, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    return obj, 0


@dataclass
class _Read:
    """One table read from a file: its rows, the lines set aside, and the lone surrogates replaced."""

    frame: pl.DataFrame
    bad: list[dict] = field(default_factory=list)
    surrogates: int = 0
    note: str | None = None  # how the file's shape was read (a keyed object, lists of turns)


def raw_bytes(src: InputSource) -> bytes:
    """The file's bytes, decompressed, without a UTF-8 byte-order mark."""
    try:
        data = _decompressed(src) if src.compression else src.path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"{src.path}: cannot read it ({exc}). Check the file (a {src.compression or 'plain'} "
            f"{src.format} file is expected from its name)."
        ) from None
    return data[len(BOM) :] if data.startswith(BOM) else data


# A compressed file is read in pieces and refused once it expands past this many times its own size (and past
# 1 GiB): real JSONL compresses 4-20 times; a decompression bomb, thousands.
MAX_EXPANSION = 200
_MIN_LIMIT = 1 << 30


def _decompressed(src: InputSource, piece: int = 1 << 24) -> bytes:
    return b"".join(_chunks(src, piece))


def _chunks(src: InputSource, piece: int = 1 << 24) -> Iterator[bytes]:
    """The file's bytes a piece at a time, decompressed (refused past `MAX_EXPANSION` times the compressed size)."""
    import pyarrow as pa

    if not src.compression:
        with open(src.path, "rb") as f:
            while chunk := f.read(piece):
                yield chunk
        return
    limit = max(_MIN_LIMIT, MAX_EXPANSION * src.path.stat().st_size)
    total = 0
    with pa.input_stream(str(src.path), compression=src.compression) as f:
        while chunk := f.read(piece):
            total += len(chunk)
            if total > limit:
                raise InputError(
                    f"{src.path}: expands past {limit / 2**30:.1f} GiB, over {MAX_EXPANSION} times its compressed "
                    f"size: not read (a decompression bomb would fill the memory). If the data is real, decompress it "
                    f"yourself (e.g. gunzip -k) and pass the plain file."
                )
            yield chunk


def _line_pieces(src: InputSource, size: int) -> Iterator[tuple[bytes, int]]:
    """The file's bytes (decompressed, no byte-order mark) in pieces of about `size` bytes that end at a line's end,
    each with the file's line number of its first line."""
    held, line, first = b"", 1, True
    try:
        for chunk in _chunks(src, min(size, 1 << 24)):
            if first:
                chunk, first = (chunk[len(BOM) :] if chunk.startswith(BOM) else chunk), False
            held += chunk
            if len(held) < size:
                continue
            cut = held.rfind(b"\n") + 1
            if cut == 0:
                continue  # one line longer than a piece: read on
            piece, held = held[:cut], held[cut:]
            yield piece, line
            line += piece.count(b"\n")
    except OSError as exc:
        raise InputError(
            f"{src.path}: cannot read it ({exc}). Check the file (a {src.compression or 'plain'} "
            f"{src.format} file is expected from its name)."
        ) from None
    if held or line == 1:
        yield held, line


# Nesting deeper than any real row (chats, tests, tool calls nest under 20 levels): such a line is refused with its
# number, or quarantined with --on-error skip, before a parser builds it (a 2 KB line nested 1,000 deep took
# gigabytes in the table reader).
MAX_NESTING = 100


_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}\n"))
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_LONG_RUN = re.compile(rb"[^\n]{%d,}" % (MAX_NESTING + 1))


def _maybe_too_deep(raw: bytes) -> bool:
    """Whether some line may nest deeper than MAX_NESTING. Only the brackets are kept, braces as brackets (at C
    speed); a line with more than MAX_NESTING of them has its innermost pairs removed, one level per pass. Brackets
    inside strings count too, so a yes is checked again, exactly, line by line."""
    brackets = raw.translate(_AS_SQUARE, delete=_NOT_BRACKETS)
    for run in _LONG_RUN.finditer(brackets):
        line = run.group(0)
        for _ in range(MAX_NESTING):
            shorter = line.replace(b"[]", b"")
            if shorter == line:
                break
            line = shorter
        else:
            if b"[]" in line:
                return True
    return False


def _depth(obj: Any, limit: int = MAX_NESTING) -> int:
    """How deep obj nests (lists and objects), counting no further than limit + 1."""
    deepest, todo = 0, [(obj, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            todo.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def _check_utf8(raw: bytes, piece: int = 1 << 26) -> None:
    """Raise UnicodeDecodeError unless raw is UTF-8, decoding a piece at a time (no second copy of a big file)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    for start in range(0, len(raw), piece):
        decoder.decode(view[start : start + piece], final=False)
    decoder.decode(b"", final=True)


def read_jsonl(raw: bytes, path: Path, on_error: OnError = "fail", first_line: int = 1) -> _Read:
    """One JSON object per line (`first_line`: the file's line number of raw's first line, when raw is a piece)."""
    try:
        _check_utf8(raw)
        if _maybe_too_deep(raw):
            raise ValueError("nested too deeply for the table reader")  # the line-by-line path names the line
        df = pl.read_ndjson(raw, infer_schema_length=None)
        lines = raw.count(b"\n") + (not raw.endswith(b"\n"))  # no blank line: every line is a row
        if df.height == lines or df.height == sum(1 for ln in raw.splitlines() if ln.strip()):
            return _Read(df)
    except Exception:
        pass  # the line-by-line path below finds and names the bad line
    rows, bad, replaced, chats = [], [], 0, 0
    for lineno, line in enumerate(raw.splitlines(), start=first_line):
        if not line.strip():
            continue
        deep = False
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
        except RecursionError:  # deeper than Python's parser goes
            obj, deep = None, True
        if deep or _depth(obj) > MAX_NESTING:
            bad.append(_bad_line(path, lineno, line, f"nested more than {MAX_NESTING} levels deep", on_error))
            continue
        if _is_chat(obj):  # a line that is one chat (a list of role/content turns): one conversation per row
            obj = {"messages": obj}
            chats += 1
        if not isinstance(obj, dict):
            bad.append(_bad_line(path, lineno, line, f"a JSON {type(obj).__name__}, not an object", on_error))
            continue
        obj, n = _surrogates(obj)
        if n and on_error == "skip":
            bad.append(_bad_line(path, lineno, line, f"{n} lone surrogate escape(s) such as \\udcff", on_error))
            continue
        replaced += n
        rows.append(obj)
    note = "each line a list of chat turns: read as one conversation (messages) per row" if chats else None
    return _Read(_frame(rows, path) if rows else pl.DataFrame(), bad, replaced, note)


def _is_chat(obj: Any) -> bool:
    """A list of chat turns (role/content or from/value objects)."""
    return (
        isinstance(obj, list)
        and bool(obj)
        and all(isinstance(t, dict) for t in obj)
        and all(("role" in t or "from" in t) and ("content" in t or "value" in t) for t in obj)
    )


def read_json(raw: bytes, path: Path, on_error: OnError = "fail") -> _Read:
    """A list of objects, a dict holding one such list (e.g. {"data": [...]}), or a dict of columns."""
    deep = False
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: bytes that are not UTF-8 at offset {exc.start}. Re-encode the file as UTF-8."
        ) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
    except RecursionError:  # deeper than Python's parser goes
        obj, deep = None, True
    if deep or _depth(obj) > MAX_NESTING + 2:  # the file's own list and object add two levels
        raise InputError(
            f"{path}: nested more than {MAX_NESTING} levels deep in a row: not read. Fix the file (no "
            "real row nests that deep), or write it as JSONL and pass --on-error skip to set such rows "
            "aside"
        )
    note = None
    if isinstance(obj, dict):
        lists = [v for v in obj.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1 and _is_chat(lists[0]):  # one record holding a chat ({"conversations": [turns]})
            obj = [obj]
            note = "one JSON object holding one chat: read as one row"
        elif len(lists) == 1:
            obj = lists[0]
        elif obj and all(isinstance(v, list) for v in obj.values()) and _id_like(list(obj)):
            # {"sample_0": [generation, ...], ...}: one row per key, its list as the generations
            obj = [{JSON_KEY: k, "generations": v} for k, v in obj.items()]
            note = f"a JSON object keyed by id, each a list: one row per key ({JSON_KEY}), the list as generations"
        elif obj and all(isinstance(v, list) for v in obj.values()):
            obj, n = _surrogates(obj)
            return _Read(pl.DataFrame(obj, strict=False), [], n)
        elif obj and all(isinstance(v, dict) for v in obj.values()):
            # a JSON object keyed by problem (generation results): one row per key, the key kept as `json_key`
            obj = [{JSON_KEY: k, **v} for k, v in obj.items()]
            note = f"a JSON object keyed by problem: one row per key (the key in column {JSON_KEY})"
    if (
        isinstance(obj, list)
        and obj
        and all(isinstance(v, list) and v and all(isinstance(t, dict) for t in v) for v in obj)
    ):
        # each item a list of chat turns (Open-Reasoner-Zero): one conversation per row
        obj = [{"conversations": v} for v in obj]
        note = "each item a list of turns: read as one conversation per row"
    if not isinstance(obj, list):
        keys = f" with keys {', '.join(list(map(str, obj))[:8])}" if isinstance(obj, dict) else ""
        raise InputError(
            f'{path}: expected a list of objects, {{"data": [...]}}, an object of columns or an object keyed by id; '
            f"found a JSON {type(obj).__name__}{keys} (one record, not a table of rows). Pass the file that lists "
            "the rows."
        )
    rows, bad, replaced = [], [], 0
    for i, row in enumerate(obj):
        if not isinstance(row, dict):
            raise InputError(f"{path}: item {i} is a JSON {type(row).__name__}, not an object")
        row, n = _surrogates(row)
        if n and on_error == "skip":
            bad.append(
                _bad_line(path, i + 1, json.dumps(row).encode(), f"item {i}: {n} lone surrogate escape(s)", on_error)
            )
            continue
        replaced += n
        rows.append(row)
    return _Read(_frame(rows, path) if rows else pl.DataFrame(), bad, replaced, note)


_ID_KEY = re.compile(r"^[A-Za-z_]*[-_/]?\d+$")


def _id_like(keys: list[str]) -> bool:
    """Keys that name rows (sample_0, HumanEval/12, 1873_A...), not columns: all of one prefix and a number."""
    return (
        len(keys) >= 3
        and all(_ID_KEY.match(str(k)) for k in keys)
        and len({re.sub(r"\d+$", "", str(k)) for k in keys}) == 1
    )


def _read_table(src: InputSource, on_error: OnError) -> _Read:
    return next(_tables(src, on_error, None))


def _tables(src: InputSource, on_error: OnError, piece_bytes: int | None) -> Iterator[_Read]:
    """The file's rows as one table, or with `piece_bytes` a piece at a time where the format allows (JSONL by
    lines, Parquet by row slices, an r1data folder by shard; JSON, CSV and saved datasets come whole)."""
    p = src.path
    try:
        if src.format == "jsonl" and piece_bytes:
            for raw, line in _line_pieces(src, piece_bytes):
                yield read_jsonl(raw, p, on_error, line)
            return
        if src.format == "parquet" and piece_bytes:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(p).metadata
            rows = max(1, piece_bytes * meta.num_rows // max(1, meta.serialized_size + _parquet_bytes(meta)))
            for lo in range(0, max(meta.num_rows, 1), rows):
                yield _Read(pl.scan_parquet(p).slice(lo, rows).collect())
            return
        if src.format == "r1data" and piece_bytes:
            for shard in sorted((p / "data").glob("*.parquet")):
                yield _Read(pl.read_parquet(shard))
            return
        if src.format == "jsonl":
            yield read_jsonl(raw_bytes(src), p, on_error)
        elif src.format == "json":
            yield read_json(raw_bytes(src), p, on_error)
        elif src.format == "csv":
            yield _Read(pl.read_csv(raw_bytes(src), infer_schema=False))
        elif src.format == "parquet":
            yield _Read(pl.read_parquet(p))
        elif src.format == "r1data":
            yield _Read(pl.read_parquet(sorted((p / "data").glob("*.parquet"))))
        elif src.format == "hf_disk":
            import datasets  # heavy: only for this input kind

            yield _Read(pl.from_arrow(datasets.load_from_disk(str(p)).with_format("arrow")[:]))
        else:  # pragma: no cover
            raise InputError(f"{p}: unknown format {src.format}")
    except R1DataError:
        raise
    except Exception as exc:
        raise InputError(f"{p}: cannot read as {src.format} ({type(exc).__name__}: {exc})") from exc


def _parquet_bytes(meta: Any) -> int:
    """A Parquet file's rows' size in memory, about: the row groups' uncompressed bytes."""
    return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


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


@dataclass
class Batch:
    """Rows read, a piece of the inputs at a time: schema records (with `_row`, their position among all records
    read, and ids), their normalised problems, and what was set aside (unreadable lines, empty problems)."""

    records: pl.DataFrame
    normalized: pl.Series
    quarantined: pl.DataFrame


class IdMaker:
    """Ids for rows without one: a hash of the normalised problem, and repeats of a text `-1`, `-2`, ... in input
    order across every batch (the state carried is the count per hash)."""

    def __init__(self) -> None:
        self.seen = pl.DataFrame(schema={"h": pl.String, "n": pl.Int64})

    def __call__(self, df: pl.DataFrame, normalized: pl.Series) -> pl.DataFrame:
        missing = df.get_column(schema.ID).is_null()
        if not missing.any():
            return df
        at = np.flatnonzero(missing.to_numpy())
        hashes = pl.Series("h", list(map(schema.hash_id, normalized.gather(at).to_list())), dtype=pl.String)
        local = pl.DataFrame({"h": hashes}).with_columns(pl.int_range(1, pl.len() + 1).over("h").alias("k"))
        nth = local.join(self.seen, on="h", how="left").select(pl.col("k") + pl.col("n").fill_null(0)).to_series()
        self.seen = (
            pl.concat([self.seen, local.group_by("h").agg(pl.len().cast(pl.Int64).alias("n"))])
            .group_by("h")
            .agg(pl.col("n").sum())
        )
        made = pl.select(pl.when(nth <= 1).then(hashes).otherwise(hashes + "-" + (nth - 1).cast(pl.String))).to_series()
        return df.with_columns(df.get_column(schema.ID).scatter(at, made))


class InputReader:
    """The inputs a batch at a time (`piece_bytes` of input each, about; None: a whole file each), mapped onto the
    schema as `read_inputs` maps them, so that a step can hold what it needs of each batch and not the rows. After
    the batches: `sources`, `readings`, `notes`, `repeated_ids`, `rows_in`, and `fingerprint()`. Reading the same
    inputs again gives the same batches (a step that writes its output on a second pass relies on it)."""

    def __init__(
        self,
        specs: list[str | Path],
        fields: schema.FieldMap | None = None,
        on_error: OnError = "fail",
        limit: int | None = None,
        layout: str = "auto",
        trace_source: str = "deepseek",
        piece_bytes: int | None = None,
    ) -> None:
        self.specs, self.fields, self.on_error, self.limit = specs, fields or schema.FieldMap(), on_error, limit
        self.layout, self.trace_source, self.piece_bytes = layout, trace_source, piece_bytes
        self.inputs = resolve_inputs(specs)
        self.sources: list[dict] = []
        self.readings: list = []
        self.notes: list[str] = []
        self.repeated_ids = 0
        self.rows_in = 0
        self.records = 0

    def fingerprint(self) -> str:
        return fingerprint(self.inputs)

    def summary(self) -> ReadResult:
        """What was read, for the manifest, without the rows (after the batches)."""
        return ReadResult(
            pl.DataFrame(),
            pl.DataFrame(),
            self.sources,
            self.fingerprint(),
            None,
            self.repeated_ids,
            self.notes,
            self.readings,
            counted_rows=self.rows_in,
        )

    def __iter__(self) -> Iterator[Batch]:
        from r1data import layouts

        self.sources, self.readings, self.notes, self.repeated_ids, self.rows_in, self.records = [], [], [], 0, 0, 0
        make_ids, given_ids, bad_lines = IdMaker(), [], 0
        for src in self.inputs:
            if self.limit is not None and self.records >= self.limit:
                self.sources.append(src.describe() | {"rows": None, "not_read": f"--limit {self.limit} reached"})
                continue
            info = src.describe() | {"rows": 0}
            if src.note:
                self.notes.append(src.note)
            reading, surrogates, seen = None, 0, 0
            for read in _tables(src, self.on_error, self.piece_bytes):
                if self.limit is not None and self.records >= self.limit:
                    break
                df = read.frame
                info["rows"] += df.height + len(read.bad)
                surrogates += read.surrogates
                records = pl.DataFrame()
                if df.height:
                    forced = self.layout if reading is None or reading.layout not in layouts.NAMES else reading.layout
                    df, piece_reading, mapped = layouts.read_layout(df, forced, str(src.path), self.trace_source)
                    if reading is None:
                        reading = piece_reading
                    elif piece_reading is not reading:
                        reading.adjustments.update(piece_reading.adjustments)
                    if read.note:
                        reading.adjust(read.note, df.height)
                    if mapped and schema.TESTS in df.columns and df.get_column(schema.TESTS).null_count() == df.height:
                        df = df.drop(schema.TESTS)  # no code problem here
                    records = schema.to_records(df, self.fields, src.name, str(src.path), reading)
                    if not seen:
                        reading.sample(records)
                    seen += records.height
                if self.limit is not None:
                    records = records.head(max(0, self.limit - self.records))
                    if records.height == 0 and read.bad == []:
                        continue
                bad_lines += len(read.bad)
                yield self._batch(records, read.bad, make_ids, given_ids)
            if reading is not None:
                reading.rows = seen
                info["layout"] = reading.layout
                info["reading"] = reading.as_dict()
                self.readings.append(reading)
            if surrogates:
                info["surrogates_replaced"] = surrogates
                self.notes.append(
                    f"{src.path}: {surrogates} lone surrogate escape(s) (not text) became U+FFFD; "
                    "--on-error skip quarantines such rows instead"
                )
            self.sources.append(info)
        if self.records == 0 and not bad_lines:
            raise EmptyInputError(f"{', '.join(str(s) for s in self.specs)}: no rows to work on (the input is empty)")
        given = pl.concat(given_ids) if given_ids else pl.Series([], dtype=pl.UInt64)
        self.repeated_ids = given.len() - given.n_unique()

    def _batch(self, records: pl.DataFrame, bad: list[dict], make_ids: IdMaker, given_ids: list) -> Batch:
        quarantined = [pl.DataFrame(bad)] if bad else []
        self.rows_in += len(bad)
        normalized = pl.Series(schema.PROBLEM, [], dtype=pl.String)
        if records.height:
            records = records.with_columns(
                pl.int_range(self.records, self.records + pl.len(), dtype=pl.Int64).alias(schema.ROW)
            )
            self.records += records.height
            self.rows_in += records.height
            given_ids.append(records.get_column(schema.ID).drop_nulls().hash(seed=0))
            normalized = normalize_series(records.get_column(schema.PROBLEM))
            records = make_ids(records, normalized)
            empty = normalized == ""
            if empty.any():
                quarantined.append(records.filter(empty).with_columns(pl.lit(EMPTY_PROBLEM).alias(schema.DROP_REASON)))
                records, normalized = records.filter(~empty), normalized.filter(~empty)
        else:
            records = pl.DataFrame()
        dropped = pl.concat(quarantined, how="diagonal_relaxed") if quarantined else pl.DataFrame()
        return Batch(records, normalized, dropped)


def read_inputs(
    specs: list[str | Path],
    fields: schema.FieldMap | None = None,
    on_error: OnError = "fail",
    limit: int | None = None,
    layout: str = "auto",
    trace_source: str = "deepseek",
) -> ReadResult:
    """Read every input, map it onto the schema (in its layout: recognised, or `layout`), assign ids, and set
    aside rows with no problem text: `InputReader`'s batches, a whole file each, in one table.

    Every row gets `_row`, its position in the input (the key steps account and resume by). `limit` keeps only
    the first rows (a trial run on a slice)."""
    reader = InputReader(specs, fields, on_error, limit, layout, trace_source)
    batches = list(reader)
    records = schema.concat([b.records for b in batches])
    normalized = pl.concat([b.normalized for b in batches if b.records.height]) if records.height else None
    set_aside = [b.quarantined for b in batches if b.quarantined.height]
    quarantined = pl.concat(set_aside, how="diagonal_relaxed") if set_aside else pl.DataFrame()
    return dataclasses.replace(
        reader.summary(), records=records, quarantined=quarantined, normalized=normalized, counted_rows=None
    )
