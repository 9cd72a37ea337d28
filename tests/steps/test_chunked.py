"""The chunked steps' logic with a scripted engine (no torch, no model): accounting by row position, resume,
retries of failed rows, damaged work redone, and OUT never touched before the new output is complete."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from r1data.errors import EmptyInputError, InputError, OutputError
from r1data.publish import work_dir
from r1data.steps import IOConfig, run_step
from r1data.steps.filter import Config as FilterConfig
from r1data.steps.rejection_sample import Config as RSConfig
from tests.fakes import ScriptedEngine, answers

RIGHT, WRONG = "<think>ok</think> \\boxed{5}", "<think>hm</think> \\boxed{7}"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def merged(tmp_path) -> list[Path]:
    """Two files whose ids are both 0..3, as when merging sources: legal, and common."""
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": i, "problem": f"A{i}: 2+3?", "answer": "5"} for i in range(4)])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": i, "problem": f"B{i}: 1+4?", "answer": "5"} for i in range(4)])
    return [a, b]


def everything(out: Path) -> pl.DataFrame:
    parts = [pl.read_parquet(out / sub / "*.parquet") for sub in ("data", "removed") if (out / sub).is_dir()]
    return pl.concat(parts, how="diagonal_relaxed")


def test_repeated_ids_across_inputs_are_accounted_by_position(merged, tmp_path):
    out = tmp_path / "f"
    engine = ScriptedEngine(answers(RIGHT, WRONG))
    cfg = FilterConfig(pass_rate="0:1", samples=2, chunk_rows=3)
    result = run_step("filter", merged, out, cfg, IOConfig(), engine=engine)
    m = result.manifest
    assert m["status"] == "complete" and m["rows_in"] == 8 and m["rows_out"] == 8
    assert m["repeated_ids"] == 4 and "repeat an id" in m["warnings"][0]
    rows = everything(out)
    assert sorted(rows.get_column("problem").to_list()) == sorted(
        [f"A{i}: 2+3?" for i in range(4)] + [f"B{i}: 1+4?" for i in range(4)]
    )
    assert sorted(rows.get_column("id").to_list()) == ["0", "0", "1", "1", "2", "2", "3", "3"]  # kept as given
    assert "_row" not in rows.columns and (rows.get_column("pass_rate") == 0.5).all()

    rs = tmp_path / "rs"
    result = run_step(
        "rejection-sample",
        merged,
        rs,
        RSConfig(samples=2, keep=2, chunk_rows=3, language=None),
        IOConfig(),
        engine=ScriptedEngine(answers(RIGHT, RIGHT + " ")),
    )
    assert result.manifest["inputs_kept"] == 8 and result.manifest["rows_out"] == 16


def test_transient_failures_carry_their_cause_and_a_rerun_retries_only_them(tmp_path, merged):
    out = tmp_path / "f"
    flaky = ScriptedEngine(lambda msg, n, seed: None if msg.startswith("B") else [RIGHT, WRONG][:n])
    cfg = FilterConfig(pass_rate="0:1", samples=2, chunk_rows=3)
    m = run_step("filter", merged, out, cfg, IOConfig(), engine=flaky).manifest
    assert m["status"] == "complete_with_failures" and m["rows_failed"] == 4
    failed = pl.read_parquet(out / "removed" / "*.parquet").filter(pl.col("drop_reason") == "engine_error")
    assert failed.height == 4 and failed.get_column("engine_error_detail").str.contains("HTTP 503").all()

    healed = ScriptedEngine(answers(RIGHT, WRONG))
    m = run_step("filter", merged, out, cfg, IOConfig(), engine=healed).manifest
    assert m["status"] == "complete" and m["rows_failed"] == 0 and m["rows_out"] == 8
    assert {r.messages[-1]["content"][0] for r in healed.requests} == {"B"}  # only the failed rows were asked again


def test_overwrite_or_restart_never_removes_the_old_output_before_the_new_one_is_complete(tmp_path, merged):
    out = tmp_path / "f"
    cfg = FilterConfig(pass_rate="0:1", samples=2)
    run_step("filter", merged, out, cfg, IOConfig(), engine=ScriptedEngine(answers(RIGHT, WRONG)))
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": oops}\n')
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    for inputs, cfg_, io in (
        ([bad], cfg, IOConfig(overwrite=True)),
        ([empty], cfg, IOConfig(overwrite=True)),
        ([bad], FilterConfig(pass_rate="0:1", samples=3, restart=True), IOConfig()),
    ):
        with pytest.raises((InputError, EmptyInputError)):
            run_step("filter", inputs, out, cfg_, io, engine=ScriptedEngine(answers(RIGHT)))
        after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        assert after == before  # byte for byte: data/, removed/, chunks/, manifest
    # A changed configuration is refused without --restart, and OUT is still whole.
    with pytest.raises(OutputError, match="different configuration.*--restart"):
        run_step(
            "filter",
            merged,
            out,
            FilterConfig(pass_rate="0:1", samples=3),
            IOConfig(),
            engine=ScriptedEngine(answers(RIGHT)),
        )
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_damaged_chunk_file_or_state_is_redone_not_fatal(tmp_path, merged, monkeypatch):
    from r1data.steps import chunked

    out = tmp_path / "f"
    cfg = FilterConfig(pass_rate="0:1", samples=2, chunk_rows=2)
    engine = ScriptedEngine(answers(RIGHT, WRONG))
    # Stop after two chunks, as a crash would.
    real = chunked.ChunkStore.write
    calls = []

    def crash_after_two(self, index, rows):  # noqa: ANN001
        real(self, index, rows)
        calls.append(index)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(chunked.ChunkStore, "write", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        run_step("filter", merged, out, cfg, IOConfig(), engine=engine)
    monkeypatch.setattr(chunked.ChunkStore, "write", real)
    work = work_dir(out)
    (work / "chunk-00000.parquet").write_bytes(b"")  # a 0-byte chunk file
    m = run_step("filter", merged, out, cfg, IOConfig(), engine=engine).manifest
    assert m["status"] == "complete" and m["rows_out"] == 8 and m["chunks"]["processed_this_run"] == 3
    assert any("chunk 0 was damaged" in w for w in m["warnings"])

    # An empty state.json: every chunk is redone.
    monkeypatch.setattr(chunked.ChunkStore, "write", crash_after_two)
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        run_step("filter", merged, tmp_path / "g", cfg, IOConfig(), engine=engine)
    monkeypatch.setattr(chunked.ChunkStore, "write", real)
    (work_dir(tmp_path / "g") / "state.json").write_text("")
    m = run_step("filter", merged, tmp_path / "g", cfg, IOConfig(), engine=engine).manifest
    assert m["status"] == "complete" and m["rows_out"] == 8 and m["chunks"]["processed_this_run"] == 4
    assert everything(tmp_path / "g").height == 8


def test_an_unfinished_run_of_other_settings_is_refused_not_deleted(tmp_path, merged, monkeypatch):
    from r1data.steps import chunked

    out = tmp_path / "f"

    def interrupted(self, index, rows):  # noqa: ANN001
        raise KeyboardInterrupt

    real = chunked.ChunkStore.write
    monkeypatch.setattr(chunked.ChunkStore, "write", lambda self, i, rows: (real(self, i, rows), interrupted(0, 0, 0)))
    with pytest.raises(KeyboardInterrupt):
        run_step(
            "filter",
            merged,
            out,
            FilterConfig(pass_rate="0:1", samples=2, chunk_rows=2),
            IOConfig(),
            engine=ScriptedEngine(answers(RIGHT)),
        )
    monkeypatch.setattr(chunked.ChunkStore, "write", real)
    with pytest.raises(OutputError, match="unfinished run with other settings"):
        run_step(
            "filter",
            merged,
            out,
            FilterConfig(pass_rate="0:1", samples=3, chunk_rows=2),
            IOConfig(),
            engine=ScriptedEngine(answers(RIGHT)),
        )
    assert (work_dir(out) / "chunk-00000.parquet").is_file()  # still there
    m = run_step(
        "filter",
        merged,
        out,
        FilterConfig(pass_rate="0:1", samples=3, chunk_rows=2, restart=True),
        IOConfig(),
        engine=ScriptedEngine(answers(RIGHT)),
    ).manifest
    assert m["status"] == "complete" and m["rows_in"] == 8


def test_rejection_sample_judges_stored_generations_with_r1_filters(tmp_path):
    """No engine and no torch: the stored `generations` of filter --keep-generations are judged."""
    good_long = "<think>Two and three make five, so the sum is five.</think> The answer is $\\boxed{5}$."
    good_short = "<think>2+3=5.</think> $\\boxed{5}$"
    rows = [
        {
            "id": "a",
            "problem": "2+3?",
            "answer": "5",
            "generations": [
                good_long,
                good_short,
                good_short,  # a duplicate of the short one
                "<think>Two and three is 5 and the answer is",
                "<think>二加三等于五 所以</think> \\boxed{5}",
                "<think>hm</think> \\boxed{6}",
                "<think>" + "go on and on " * 30 + "</think> \\boxed{5}",
            ],
        },
        {"id": "b", "problem": "1+1?", "answer": "2", "generations": ["<think>hm</think> \\boxed{3}"]},
        {
            "id": "c",
            "problem": "1+2?",
            "answer": "3",
            "generations": ["<think>一加二等于三 so three</think> \\boxed{3}"],
        },
        {"id": "d", "problem": "x?", "answer": "\\text{oops", "generations": [good_short]},
    ]
    src = write_jsonl(tmp_path / "gens.jsonl", rows)
    from tests.conftest import run

    out = tmp_path / "rs"
    r = run("rejection-sample", src, "-o", out, "--keep", "2", "--select", "distinct", "--require-think")
    assert r.exit_code == 0, r.stderr
    kept = pl.read_parquet(out / "data" / "*.parquet")
    assert kept.get_column("id").to_list() == ["a", "a"]
    assert kept.get_column("completion").to_list() == [good_long, good_short]  # distinct, in sampled order
    assert kept.get_column("candidate_index").to_list() == [0, 1]
    msgs = kept.get_column("messages")[0].to_list()
    assert msgs[-1] == {"role": "assistant", "content": good_long} and msgs[-2]["role"] == "user"
    assert kept.get_column("prompt")[0] == msgs[-2]["content"] and "2+3?" in msgs[-2]["content"]
    removed = {row["id"]: row for row in pl.read_parquet(out / "removed" / "*.parquet").iter_rows(named=True)}
    assert removed["b"]["drop_reason"] == "no_correct_candidate"
    assert removed["c"]["drop_reason"] == "no_candidate_passed_quality_filters"
    assert json.loads(removed["c"]["rejected_by"]) == {"language_mixed": 1}
    assert removed["d"]["drop_reason"] == "gold_suspect"  # "\\text{oops": a box that never closes
    m = json.loads((out / "manifest.json").read_text())
    assert m["rows_in"] == 4 and m["inputs_kept"] == 1 and m["rows_out"] == 2 and m["rows_removed"] == 3

    shortest = tmp_path / "short"
    assert run("rejection-sample", src, "-o", shortest, "--keep", "1").exit_code == 0
    assert pl.read_parquet(shortest / "data" / "*.parquet").get_column("completion").to_list() == [good_short]
