"""`r1data dedup` streams its rows (issue 25): the inputs are read a piece at a time, only what dedup decides from is
held, and the rows are read again to write the output. The output is the one the in-memory op gives on the whole
table; the reader's batches are the rows `read_inputs` reads; every shard has one schema."""

from __future__ import annotations

import gzip
import json
import random

import polars as pl
import pytest

from r1data.errors import InputError
from r1data.io import InputReader, read_inputs
from r1data.ops.dedup import DedupParams, dedup
from r1data.steps import IOConfig, run_step
from r1data.steps.dedup import Config as DedupConfig

WORDS = ["apple", "river", "triangle", "prime", "train", "speed", "garden", "ratio", "coins", "sister"]


def corpus(rows: int, seed: int = 0) -> list[dict]:
    """Problems with exact copies, one-word edits, rows without an id or an answer, and an empty problem."""
    rng = random.Random(seed)
    out: list[dict] = []
    for i in range(rows):
        if out and rng.random() < 0.15:
            base = dict(rng.choice(out))
            words = base["problem"].split()
            if rng.random() < 0.5:
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            base["problem"] = " ".join(words)
            row = base | {"id": None if rng.random() < 0.3 else f"c{i}"}
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))) + f" {rng.randint(1, 9)}"
            row = {
                "id": None if rng.random() < 0.3 else f"r{i}",
                "problem": text,
                "answer": rng.choice(["1", "2", None]),
            }
        out.append({k: v for k, v in row.items() if v is not None})
    out.insert(rows // 2, {"id": "empty", "problem": "   "})
    return out


def write_jsonl(path, rows, bad_line_at: int | None = None) -> None:
    lines = [json.dumps(r) for r in rows]
    if bad_line_at is not None:
        lines.insert(bad_line_at, '{"problem": "cut off')
    path.write_text("\n".join(lines) + "\n")


def test_the_readers_batches_are_the_rows_read_whole(tmp_path):
    """Pieces of a few KB: ids made across batches (a repeated text gets -1, -2 wherever it falls), a bad line named
    by its line in the file, the layout chosen once, every count equal to reading the file whole."""
    src = tmp_path / "p.jsonl"
    write_jsonl(src, corpus(600), bad_line_at=450)
    whole = read_inputs([src], on_error="skip")
    reader = InputReader([src], on_error="skip", piece_bytes=4096)
    batches = list(reader)
    assert len(batches) > 10
    records = pl.concat([b.records for b in batches], how="diagonal_relaxed")
    assert records.equals(whole.records.select(records.columns))
    assert pl.concat([b.normalized for b in batches]).equals(whole.normalized)
    quarantined = pl.concat([b.quarantined for b in batches if b.quarantined.height], how="diagonal_relaxed")
    assert quarantined.get_column("input_line").drop_nulls().to_list() == [451]
    assert sorted(quarantined.get_column("drop_reason").to_list()) == ["empty_problem", "malformed_input"]
    summary = reader.summary()
    assert summary.rows_in == whole.rows_in == 602
    assert summary.repeated_ids == whole.repeated_ids and summary.fingerprint == whole.fingerprint
    assert [r.as_dict() for r in reader.readings] == [r.as_dict() for r in whole.readings]
    assert any("-1" in i for i in records.get_column("id").to_list())  # repeats of a text, numbered across batches


def test_parquet_and_compressed_inputs_come_in_pieces_too(tmp_path):
    rows = [r for r in corpus(400, seed=1) if r["problem"].strip()]
    pq, gz = tmp_path / "a.parquet", tmp_path / "b.jsonl.gz"
    pl.DataFrame(rows).write_parquet(pq, row_group_size=50)
    gz.write_bytes(gzip.compress(("\n".join(json.dumps(r) for r in rows) + "\n").encode()))
    for src in (pq, gz):
        batches = list(InputReader([src], piece_bytes=2048))
        assert len(batches) > 3, src
        records = pl.concat([b.records for b in batches], how="diagonal_relaxed")
        assert records.equals(read_inputs([src]).records.select(records.columns)), src


@pytest.mark.parametrize("memory_gb", [None, 0.05])
def test_the_streamed_step_writes_what_the_op_decides_on_the_whole_table(tmp_path, monkeypatch, memory_gb):
    """With pieces of 8 KB; at the default budget the batches are kept from the first pass, at 0.05 GB (here, a
    quarter of it is less than the rows) they are read again to write."""
    monkeypatch.setattr("r1data.steps.dedup.PIECE_BYTES", 8192)
    monkeypatch.setattr("r1data.steps.dedup.Config.memory_bytes", lambda self: 64 << 10 if memory_gb else 1 << 30)
    src = tmp_path / "p.jsonl"
    write_jsonl(src, corpus(1500, seed=2))
    result = run_step("dedup", [src], tmp_path / "out", DedupConfig(workers=2), IOConfig())
    read = read_inputs([src])
    op = dedup(read.records, DedupParams(workers=2), read.normalized)
    stats = result.manifest["stats"]
    assert stats["rows_read_twice"] is bool(memory_gb)
    assert stats["near_duplicates"] == op.stats["near_duplicates"] > 0
    assert stats["exact_duplicates"] == op.stats["exact_duplicates"] > 0
    kept = pl.read_parquet(tmp_path / "out" / "data" / "*.parquet")
    assert kept.equals(op.kept.drop("_row"))
    removed = pl.read_parquet(tmp_path / "out" / "removed" / "*.parquet")
    assert removed.filter(pl.col("drop_reason") == "empty_problem").height == 1
    dups = removed.filter(pl.col("drop_reason") != "empty_problem").select(op.removed.drop("_row").columns)
    assert dups.equals(op.removed.drop("_row"))
    assert result.manifest["rows_out"] + result.manifest["rows_removed"] == result.manifest["rows_in"] == 1501
    assert set(stats["stage_seconds"]) >= {"read, normalise, sign", "exact duplicates", "near duplicates", "write"}


def test_every_shard_has_one_schema_when_pieces_differ(tmp_path, monkeypatch):
    """A column missing from the first pieces and a number in one file, text in another: before, each batch's own
    schema would have gone to its shard, and the shards could not be read as one table."""
    monkeypatch.setattr("r1data.steps.dedup.PIECE_BYTES", 2048)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    rows = [r for r in corpus(300, seed=3) if r["problem"].strip()]
    write_jsonl(a, [r | ({"level": i} if i > 200 else {}) for i, r in enumerate(rows)])
    write_jsonl(
        b,
        [
            r | {"id": f"b{i}", "problem": " ".join(reversed(r["problem"].split())), "level": f"L{i}"}
            for i, r in enumerate(rows)
        ],
    )
    result = run_step("dedup", [a, b], tmp_path / "out", DedupConfig(), IOConfig(shard_rows=60))
    shards = [pl.read_parquet(tmp_path / "out" / s["path"]) for s in result.manifest["shards"]]
    assert len(shards) > 3 and len({tuple(s.schema.items()) for s in shards}) == 1
    assert shards[0].schema["level"] == pl.String
    assert pl.read_parquet(tmp_path / "out" / "data" / "*.parquet").height == result.manifest["rows_out"]


def test_inputs_that_change_between_the_two_reads_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("r1data.steps.dedup.PIECE_BYTES", 4096)
    monkeypatch.setattr("r1data.steps.dedup.Config.memory_bytes", lambda self: 64 << 10)
    src = tmp_path / "p.jsonl"
    write_jsonl(src, corpus(400, seed=4))
    from r1data.ops import dedup as ops_dedup

    decide = ops_dedup.decide

    def decide_then_change(*args, **kwargs):
        out = decide(*args, **kwargs)
        write_jsonl(src, corpus(400, seed=5))  # someone writes the input while dedup runs
        return out

    monkeypatch.setattr("r1data.steps.dedup.decide", decide_then_change)
    with pytest.raises(InputError, match="changed while dedup ran"):
        run_step("dedup", [src], tmp_path / "out", DedupConfig(), IOConfig())
    assert not (tmp_path / "out").exists()
