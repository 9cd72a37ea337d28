"""Every input format and layout, and every kind of bad input."""

import json

import polars as pl
import pytest

from r1data import schema
from r1data.errors import EmptyInputError, InputError, SchemaError
from r1data.io import MALFORMED, read_inputs

ROWS = [
    {"problem": "What is $1+1$?", "solution": "It is $\\boxed{2}$.", "level": "Level 1"},
    {"problem": "What is $2+2$?", "solution": "So $\\boxed{4}$.", "level": "Level 2"},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def check(df: pl.DataFrame) -> None:
    assert df.columns[:5] == list(schema.CORE_COLUMNS)
    assert df.get_column("answer").to_list() == ["2", "4"]
    assert df.get_column("level").to_list() == ["Level 1", "Level 2"]  # unknown columns carried through


def test_jsonl_json_csv_parquet_read_alike(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", ROWS)
    (tmp_path / "b.json").write_text(json.dumps(ROWS))
    (tmp_path / "c.json").write_text(json.dumps({"data": ROWS}))
    pl.DataFrame(ROWS).write_csv(tmp_path / "d.csv")
    pl.DataFrame(ROWS).write_parquet(tmp_path / "e.parquet")
    for name in ("a.jsonl", "b.json", "c.json", "d.csv", "e.parquet"):
        r = read_inputs([tmp_path / name])
        check(r.records)
        assert r.records.get_column("source").unique().to_list() == [name.split(".")[0]]


def test_glob_directory_and_multiple_inputs(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", ROWS)
    write_jsonl(tmp_path / "b.jsonl", ROWS[:1])
    assert read_inputs([str(tmp_path / "*.jsonl")]).records.height == 3
    assert read_inputs([tmp_path]).records.height == 3
    r = read_inputs([tmp_path / "b.jsonl", tmp_path / "a.jsonl"])
    assert r.records.get_column("source").to_list() == ["b", "a", "a"]  # inputs keep the order given
    with pytest.raises(InputError, match="matches no file"):
        read_inputs([str(tmp_path / "*.csv")])


def test_hf_save_to_disk_directory(tmp_path):
    import datasets

    datasets.Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "ds"))
    check(read_inputs([tmp_path / "ds"]).records)
    datasets.DatasetDict({"train": datasets.Dataset.from_list(ROWS)}).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(InputError, match="splits train"):
        read_inputs([tmp_path / "dd"])
    check(read_inputs([tmp_path / "dd" / "train"]).records)


def test_layouts_are_recognised(tmp_path):
    gsm = write_jsonl(tmp_path / "gsm.jsonl", [{"question": "Q?", "answer": "3 + 4 = 7\n#### 7"}])
    r = read_inputs([gsm]).records.row(0, named=True)
    assert (r["problem"], r["answer"], r["solution"]) == ("Q?", "7", "3 + 4 = 7\n#### 7")
    m500 = write_jsonl(
        tmp_path / "m500.jsonl",
        [{"problem": "P", "solution": "\\boxed{5}", "answer": "5", "unique_id": "test/x/1.json"}],
    )
    r = read_inputs([m500]).records.row(0, named=True)
    assert (r["id"], r["answer"]) == ("test/x/1.json", "5")
    numina = write_jsonl(
        tmp_path / "n.jsonl", [{"problem": "P", "solution": "s \\boxed{9}", "answer": "9", "source": "olympiads"}]
    )
    assert read_inputs([numina]).records.row(0, named=True)["source"] == "olympiads"


def test_field_flags_map_columns_and_keep_displaced_ones(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"q": "Q?", "gold": "5", "problem": "not this", "key": "k1"}])
    fields = schema.FieldMap(problem="q", answer="gold", id="key")
    r = read_inputs([path], fields).records.row(0, named=True)
    assert (r["id"], r["problem"], r["answer"], r["problem_input"]) == ("k1", "Q?", "5", "not this")
    with pytest.raises(SchemaError, match="--answer-field 'nope' is not a column"):
        read_inputs([path], schema.FieldMap(answer="nope"))


def test_ids_are_stable_hashes_and_unique(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"problem": "Same"}, {"problem": " same "}, {"problem": "Other"}])
    ids = read_inputs([path]).records.get_column("id").to_list()
    assert ids[1] == ids[0] + "-1" and len(set(ids)) == 3
    assert read_inputs([path]).records.get_column("id").to_list() == ids


def test_malformed_jsonl_line_is_named_or_quarantined(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"problem": "ok"}\n{"problem": oops}\n[1, 2]\n{"problem": "caf\xe9"}\n{"problem": "fine"}\n')
    with pytest.raises(InputError, match=r"bad\.jsonl, line 2: invalid JSON.*--on-error skip"):
        read_inputs([path])
    r = read_inputs([path], on_error="skip")
    assert r.records.get_column("problem").to_list() == ["ok", "fine"]
    q = r.quarantined
    assert q.get_column("input_line").to_list() == [2, 3, 4]
    assert set(q.get_column("drop_reason")) == {MALFORMED}
    assert "not UTF-8" in q.get_column("error")[2]
    assert r.rows_in == 5


def test_missing_problem_column_lists_columns(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"text": "a", "label": "b"}])
    with pytest.raises(SchemaError, match="no problem column. Columns present: text, label"):
        read_inputs([path])


def test_empty_input(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(EmptyInputError, match="empty"):
        read_inputs([tmp_path / "empty.jsonl"])
    with pytest.raises(InputError, match="no such file"):
        read_inputs([tmp_path / "missing.jsonl"])


def test_empty_problems_and_huge_problems(tmp_path):
    huge = "x " * 500_000  # 1 MB
    path = write_jsonl(
        tmp_path / "x.jsonl", [{"problem": ""}, {"problem": "   "}, {"problem": None}, {"problem": huge}]
    )
    r = read_inputs([path])
    assert r.records.height == 1 and len(r.records.get_column("problem")[0]) == len(huge)
    assert r.quarantined.get_column("drop_reason").to_list() == ["empty_problem"] * 3


def test_mixed_types_in_a_column_become_text(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"problem": "a", "answer": 5}, {"problem": "b", "answer": "x"}])
    assert read_inputs([path]).records.get_column("answer").to_list() == ["5", "x"]


def test_fingerprint_changes_with_content(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", ROWS)
    before = read_inputs([path]).fingerprint
    write_jsonl(path, ROWS[:1])
    assert read_inputs([path]).fingerprint != before


@pytest.mark.parametrize("depth", [150, 5000])
def test_a_row_nested_too_deep_is_named_or_quarantined(tmp_path, depth):
    """Before: the table reader built any nesting (a 2 KB line 1,000 deep took 8 GiB; three such rows segfaulted)."""
    path = tmp_path / "deep.jsonl"
    nested = "[" * depth + "1" + "]" * depth
    path.write_text(
        f'{{"problem": "a", "answer": "1"}}\n{{"problem": "b", "extra": {nested}}}\n'
        f'{{"problem": "c", "answer": "[[1, 2], {{\\"k\\": [3]}}]"}}\n'
    )
    with pytest.raises(InputError, match=r"deep\.jsonl, line 2: nested more than 100 levels deep.*--on-error skip"):
        read_inputs([path])
    r = read_inputs([path], on_error="skip")
    assert r.records.get_column("problem").to_list() == ["a", "c"]
    assert r.quarantined.get_column("input_line").to_list() == [2]


def test_a_json_file_nested_too_deep_is_one_clear_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('[{"problem": "a", "extra": ' + "[" * 3000 + "]" * 3000 + "}]")
    with pytest.raises(InputError, match=r"deep\.json: nested more than 100 levels"):
        read_inputs([path])


def test_a_decompression_bomb_is_refused_with_the_fix(tmp_path, monkeypatch):
    """Before: a 10 MiB .jsonl.gz expanding to 3 GiB was read whole (9.6 GiB in 100 s, no message)."""
    import gzip

    from r1data import io

    monkeypatch.setattr(io, "_MIN_LIMIT", 1 << 20)  # the same rule at a test's scale: 1 MiB, not 1 GiB
    bomb = tmp_path / "bomb.jsonl.gz"
    line = b'{"problem": "' + b"0" * 1000 + b'"}\n'
    bomb.write_bytes(gzip.compress(line * 20_000))  # 20 MB of text in about 60 KB
    with pytest.raises(InputError, match=r"bomb\.jsonl\.gz: expands past .* decompress it yourself"):
        read_inputs([bomb])
    fine = tmp_path / "fine.jsonl.gz"
    fine.write_bytes(gzip.compress(line * 100))
    assert read_inputs([fine]).records.height == 100
