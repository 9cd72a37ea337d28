"""The embedding model (r1data/embed.py) for real: the built-in all-MiniLM-L6-v2 from its wheel, offline, and the
semantic steps on problems written here (`decontaminate --semantic`, `dedup --semantic`)."""

from __future__ import annotations

import json
import os
import socket
import sys

import numpy as np
import polars as pl
import pytest

from r1data.embed import DEFAULT_EMBED_MODEL, kind_of, load_embedder
from r1data.errors import InputError, MissingExtraError
from tests.conftest import run

pytest.importorskip("sentence_transformers", reason="needs r1data[embed]")

# A benchmark problem and what a training set might hold near it (written for these tests).
ITEM = "A farmer has 17 sheep and buys 8 more sheep every week for 5 weeks. How many sheep does the farmer have then?"
REPHRASED = (
    "Over five weeks a rancher adds 8 animals per week to a flock that started with 17 sheep. What is the size of "
    "the flock at the end?"
)
SIBLING = (
    "A farmer has 23 sheep and buys 6 more sheep every week for 4 weeks. How many sheep does the farmer have then?"
)
OTHER_ITEMS = [
    "A train leaves the station at 3 pm traveling at 60 miles per hour. How far has it traveled by 7 pm?",
    "What is the sum of all positive divisors of 36?",
]
UNRELATED = "Maria bakes 24 cookies and gives away a third of them. How many cookies are left?"


@pytest.fixture(scope="module", autouse=True)
def environment():
    """Loading a model switches the hub off in os.environ (for good, in a command); the tests after these see the
    environment they had."""
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)


@pytest.fixture(scope="module")
def embedder():
    return load_embedder()


def test_the_builtin_model_loads_offline(tmp_path, monkeypatch):
    """Unpacked from its wheel into a fresh cache and loaded with every network call refused."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"the embedding model reached for the network: {args[:2]}")

    monkeypatch.setenv("R1DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    from r1data import embed

    embed._sentence_transformers.cache_clear()  # load it again, from the new cache
    model = load_embedder()
    vecs = model.encode([ITEM, REPHRASED, UNRELATED])
    assert (tmp_path / "cache" / "embed").is_dir() and model.name == DEFAULT_EMBED_MODEL
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2  # the rephrasing is near, the unrelated problem far
    facts = model.facts()
    assert facts["rows_embedded"] == 3 and facts["rows_per_second"] > 0 and facts["kind"] == "sentence-transformers"


def test_a_model2vec_folder_loads(tmp_path, embedder):
    """A static model2vec folder (made here from MiniLM's own token embeddings and tokenizer) is told apart from a
    sentence-transformers folder and embeds."""
    from model2vec import StaticModel
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    from r1data.embed import builtin_folder

    folder = builtin_folder()
    weights = load_file(str(folder / "model.safetensors"))
    table = next(v for k, v in weights.items() if k.endswith("word_embeddings.weight"))
    StaticModel(table.astype(np.float32), Tokenizer.from_file(str(folder / "tokenizer.json"))).save_pretrained(
        str(tmp_path / "m2v")
    )
    assert kind_of(tmp_path / "m2v") == "model2vec" and kind_of(folder) == "sentence-transformers"
    static = load_embedder(str(tmp_path / "m2v"))
    vecs = static.encode([ITEM, REPHRASED, *OTHER_ITEMS])
    assert static.kind == "model2vec" and vecs.shape == (4, table.shape[1])
    assert int(np.argmax(vecs[[0, 2, 3]] @ vecs[1])) == 0  # the rephrasing's nearest item is its own


def test_bad_model_folders_and_a_missing_extra_are_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="no such folder"):
        load_embedder(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not an embedding model folder"):
        load_embedder(str(tmp_path / "empty"))
    from r1data import embed

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if r1data[embed] were not installed
    embed._sentence_transformers.cache_clear()
    with pytest.raises(MissingExtraError, match=r"r1data\[embed\]"):
        load_embedder()
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"problem": ITEM}) + "\n")
    r = run("decontaminate", bench, "-o", tmp_path / "out", "--against", bench, "--semantic")
    assert r.exit_code == 1 and "sentence-transformers" in r.stderr and "r1data[embed]" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()
    embed._sentence_transformers.cache_clear()


def test_semantic_options_need_semantic(tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"problem": ITEM}) + "\n")
    r = run("decontaminate", bench, "-o", tmp_path / "o", "--against", bench, "--embed-model", tmp_path)
    assert r.exit_code != 0 and "--semantic" in r.stderr
    r = run("dedup", bench, "-o", tmp_path / "d", "--semantic-threshold", "0.7")
    assert r.exit_code != 0 and "--semantic" in r.stderr


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_decontaminate_semantic_catches_a_rephrasing_and_not_a_sibling(tmp_path, embedder):
    bench = write(
        tmp_path / "bench.jsonl",
        [
            {"id": "b0", "problem": ITEM, "answer": "57"},
            {"id": "b1", "problem": OTHER_ITEMS[0], "answer": "240"},
            {"id": "b2", "problem": OTHER_ITEMS[1], "answer": "91"},
        ],
    )
    train = write(
        tmp_path / "train.jsonl",
        [
            {"id": "leak", "problem": REPHRASED},  # no answer: found by meaning and quantities
            {"id": "sibling-answer", "problem": SIBLING, "answer": "47"},  # close, another gold answer
            {"id": "sibling-numbers", "problem": SIBLING},  # close, other numbers, no answer
            {"id": "unrelated", "problem": UNRELATED, "answer": "16"},
        ],
    )
    plain = run("decontaminate", train, "-o", tmp_path / "plain", "--against", bench)
    assert plain.exit_code == 0 and "removed" not in plain.stderr.split("kept")[0].lower()
    r = run("decontaminate", train, "-o", tmp_path / "out", "--against", f"toy={bench}", "--semantic")
    assert r.exit_code == 0, r.stderr
    removed = pl.read_parquet(tmp_path / "out" / "removed" / "*.parquet")
    assert removed.get_column("id").to_list() == ["leak"]
    row = removed.row(0, named=True)
    assert (row["contaminated_benchmark"], row["contaminated_item"], row["contamination_match"]) == (
        "toy",
        "b0",
        "semantic",
    )
    assert 0.6 < row["overlap"] < 1 and "cosine" in row["matched_text"] and "quantities 3 of" in row["matched_text"]
    kept = pl.read_parquet(tmp_path / "out" / "data" / "*.parquet").get_column("id").to_list()
    assert sorted(kept) == ["sibling-answer", "sibling-numbers", "unrelated"]
    stats = json.loads((tmp_path / "out" / "manifest.json").read_text())["stats"]
    assert stats["matched_by"] == {"semantic": 1} and stats["semantic"]["siblings_kept"] >= 1
    assert stats["semantic"]["embedding"]["model"] == DEFAULT_EMBED_MODEL
    assert stats["semantic"]["embedding"]["rows_embedded"] == 3 + 4
    assert "problems embedded" in r.stderr or "embedding" in r.stderr


def test_dedup_semantic_merges_the_same_problem_with_the_same_answer_only(tmp_path, embedder):
    rows = [
        {"id": "first", "problem": ITEM, "answer": "57"},
        # the same problem, other words, the same numbers and answer
        {"id": "again", "problem": REPHRASED.replace("five", "5"), "answer": "57"},
        {  # numbers in words, the same quantities: the same problem
            "id": "in-words",
            "problem": "A flock begins with 17 sheep, and for five weeks the shepherd buys eight a week. How many now?",
            "answer": "57",
        },
        {  # other quantities (six weeks), the same answer given: kept apart
            "id": "six-weeks",
            "problem": "For six weeks, a shepherd whose flock began at 17 adds 8 sheep a week. How big is the flock?",
            "answer": "57",
        },
        {"id": "sibling", "problem": SIBLING, "answer": "47"},
        # the same problem again, without an answer: never merged by meaning
        {
            "id": "no-answer",
            "problem": "Starting from 17 sheep, a herder buys 8 more each week. After 5 weeks, how large is the herd?",
        },
        {"id": "unrelated", "problem": UNRELATED, "answer": "16"},
    ]
    src = write(tmp_path / "rows.jsonl", rows)
    r = run("dedup", src, "-o", tmp_path / "minhash")
    assert r.exit_code == 0
    assert pl.read_parquet(tmp_path / "minhash" / "data" / "*.parquet").height == len(rows)  # MinHash: none
    r = run("dedup", src, "-o", tmp_path / "out", "--semantic", "--semantic-threshold", "0.75")
    assert r.exit_code == 0, r.stderr
    removed = pl.read_parquet(tmp_path / "out" / "removed" / "*.parquet")
    assert removed.select("id", "drop_reason", "duplicate_of").rows() == [
        ("again", "semantic_duplicate", "first"),
        ("in-words", "semantic_duplicate", "first"),
    ]
    assert ((removed.get_column("similarity") >= 0.75) & (removed.get_column("similarity") < 1)).all()
    stats = json.loads((tmp_path / "out" / "manifest.json").read_text())["stats"]
    assert stats["semantic_duplicates"] == 2 and stats["semantic_rows_without_answer"] == 1
    assert stats["semantic_pairs_numbers_differ"] >= 1
    assert stats["embedding"]["rows_embedded"] == len(rows) - 1  # the row without an answer is not embedded
