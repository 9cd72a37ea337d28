"""The public datasets' layouts and trace formats, each from a hand-written sample (tests/samples.py): recognised
without flags, through stats, verify, dedup, export and train sft."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from r1data.io import read_inputs
from r1data.ops.traces import split
from tests.conftest import run
from tests.samples import SAMPLES, bespoke, think, write_samples

# layout -> the gold answers it carries and r1data's verdicts of its traces (per row; lists for generations)
EXPECTED = {
    "sharegpt": ([None, None], None),
    "openthoughts-metadata": (["42", None], [True, True]),  # the code row: its program passes its test_cases
    "openr1-math": (["6"], [[True, False]]),
    "am-distilled": (["6", "9"], [True, False]),
    "s1k": (["12"], [True]),
    "limo": (["10"], [True]),
    "deepmath": (["32"], [[True, True, False]]),
    "openmathreasoning": (["7"], [True]),
    "numina": (["10"], [True]),
    "verl": (["17"], None),
    "trl-messages": ([None], None),
    "trl-prompt-completion": ([None], None),
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    return write_samples(tmp_path_factory.mktemp("layouts"))


@pytest.mark.parametrize("layout", list(SAMPLES))
def test_each_layout_is_recognised_and_mapped(samples, layout):
    read = read_inputs([samples[layout]])
    assert read.sources[0]["layout"] == layout
    assert read.records.get_column("answer").to_list() == EXPECTED[layout][0]
    assert read.records.get_column("problem").str.len_chars().min() > 5
    traces = [c for c in ("completion", "generations") if c in read.records.columns]
    if layout != "verl":  # every layout but RL prompts carries a trace, found under one name
        assert traces and read.records.get_column(traces[0]).null_count() == 0, layout


def test_verify_finds_trace_and_gold_without_flags_in_every_layout_with_a_gold(samples, tmp_path):
    for layout, (_, verdicts) in EXPECTED.items():
        if verdicts is None:
            continue
        out = tmp_path / layout
        r = run("verify", samples[layout], "-o", out, "--checks", "accuracy", "-q")
        assert r.exit_code == 0, (layout, r.stderr)
        correct = pl.read_parquet(out / "data" / "*.parquet").get_column("correct").to_list()
        assert correct == verdicts, layout
    m = json.loads((tmp_path / "openr1-math" / "manifest.json").read_text())
    assert m["inputs"][0]["layout"] == "openr1-math"
    # OpenR1 ships its own verdicts: r1data agrees with correctness_math_verify and is_reasoning_complete.
    assert m["stats"]["dataset_verdicts"]["correctness_math_verify"] == {"compared": 2, "agree": 2, "agreement": 1.0}
    assert m["stats"]["dataset_verdicts"]["is_reasoning_complete"]["agree"] == 2


def test_stats_reads_bespoke_think_length_and_truncation(samples):
    r = run("stats", samples["sharegpt"], "--json", "-q")
    assert r.exit_code == 0, r.stderr
    block = next(iter(json.loads(r.stdout)["datasets"].values()))["all"]
    assert block["truncated_share"] == 0.5  # one of the two never closes its thought
    assert block["think_tokens"]["max"] >= 7  # the thought, not 0 as before
    assert block["answer_tokens"]["median"] > 0


def test_trace_formats_split_alike_everywhere():
    parts = split(bespoke("reason", "\\boxed{1}"))
    assert (parts.thought.strip(), parts.answer.strip(), parts.closed, parts.truncated) == (
        "reason",
        "\\boxed{1}",
        True,
        False,
    )
    assert split(bespoke("reason", None)).truncated
    assert split("<|begin_of_thought|>r<|end_of_thought|><|begin_of_solution|>cut").truncated
    assert split(think("r", "a")) == ("\nr\n", "\n\na", True, False)
    assert split("reasoning only then\n</think>\n\nanswer")[:3] == ("reasoning only then\n", "\n\nanswer", True)
    assert split("<think>never ends").truncated and not split("plain answer").truncated
    assert split("<think>r</think> <answer>5</answer>").answer == " <answer>5</answer>"
    assert split(bespoke("r", "a"), fmt="none").answer.startswith("<|begin_of_thought|>")  # forced: no split
    from r1data.judge.rewards import get_reward

    assert get_reward("format")([bespoke("r", "a"), bespoke("r", None), think("r", "a")]) == [1.0, 0.0, 1.0]


def test_dedup_and_export_round_trip_through_every_target(samples, tmp_path):
    inputs = [samples[k] for k in ("openr1-math", "s1k", "limo", "deepmath", "verl", "am-distilled")]
    assert run("dedup", *inputs, "-o", tmp_path / "d", "-q").exit_code == 0
    before = read_inputs([tmp_path / "d"]).records
    for target in ("verl", "openrlhf", "sharegpt", "messages"):
        out = tmp_path / target
        r = run("export", tmp_path / "d", "--to", target, "-o", out, "-q")
        assert r.exit_code == 0, r.stderr
        back = read_inputs([out])
        assert (
            back.sources[0]["layout"]
            == {"verl": "verl", "openrlhf": "openrlhf", "sharegpt": "sharegpt", "messages": "trl-messages"}[target]
        )
        problems = before.get_column("problem").to_list()
        if target in ("verl", "openrlhf"):
            assert back.records.get_column("problem").to_list() == problems
            assert back.records.get_column("answer").to_list() == before.get_column("answer").to_list()
        else:  # SFT layouts: the rows with a trace (the verl sample has none: it is in removed/, no_completion)
            sources = before.get_column("source").to_list()
            assert back.records.get_column("problem").to_list() == [
                p for p, s in zip(problems, sources, strict=True) if s != "openai/gsm8k"
            ]
            assert back.records.get_column("completion").null_count() == 0
            removed = pl.read_parquet(out / "removed" / "*.parquet")
            assert removed.get_column("drop_reason").to_list() == ["no_completion"]
    verl = pl.read_parquet(tmp_path / "verl" / "data" / "*.parquet").row(0, named=True)
    assert verl["reward_model"] == {"style": "rule", "ground_truth": before.get_column("answer")[0]}
    assert verl["prompt"][0]["role"] == "user" and verl["ability"] == "math" and verl["extra_info"]["index"] == 0


def test_compressed_files_bom_surrogates_and_skipped_files(tmp_path):
    rows = [{"problem": "What is 1+1?", "answer": "2"}, {"problem": "What is 2+2?", "answer": "4"}]
    text = "".join(json.dumps(r) + "\n" for r in rows).encode()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(text))
    import pyarrow as pa

    (tmp_path / "b.jsonl.zst").write_bytes(pa.Codec("zstd").compress(b"\xef\xbb\xbf" + text, asbytes=True))
    (tmp_path / "c.json.gz").write_bytes(gzip.compress(json.dumps(rows).encode()))
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(b"\xef\xbb\xbfproblem,answer\nWhat is 3+3?,6\n"))
    (tmp_path / "notes.txt").write_text("not data")
    read = read_inputs([tmp_path])
    assert read.records.height == 7 and read.records.get_column("answer").to_list()[-1] == "6"
    assert any("notes.txt" in w for w in read.warnings)  # named, never skipped in silence
    assert {s["compression"] for s in read.sources if "compression" in s} == {"gzip", "zstd"}
    bad = tmp_path / "sur" / "s.jsonl"
    bad.parent.mkdir()
    bad.write_bytes(b'{"problem": "x \\udcff y", "answer": "1"}\n{"problem": "fine", "answer": "2"}\n')
    read = read_inputs([bad])
    assert read.records.get_column("problem").to_list()[0] == "x \ufffd y"
    assert read.sources[0]["surrogates_replaced"] == 1 and any("surrogate" in w for w in read.warnings)
    read = read_inputs([bad], on_error="skip")
    assert read.records.height == 1 and read.quarantined.get_column("input_line").to_list() == [1]


def test_chat_columns_are_never_read_as_text(tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({"query": [{"role": "user", "content": "hi"}], "x": 1}) + "\n")
    r = run("stats", path)
    assert r.exit_code == 1 and "holds" in r.stderr and "--layout" in r.stderr and "Traceback" not in r.stderr


def test_sft_trains_from_any_chat_layout(samples, tmp_path, tiny_model):
    pytest.importorskip("trl")
    from r1data.train.config import SFTTrainConfig
    from r1data.train.data import sft_rows, template_facts

    for layout in ("sharegpt", "am-distilled", "trl-prompt-completion", "s1k", "numina", "openr1-math"):
        rows = sft_rows([samples[layout]], SFTTrainConfig()).rows
        assert rows and rows[0]["completion"][0]["role"] == "assistant", layout
    share = sft_rows([samples["sharegpt"]], SFTTrainConfig()).rows
    assert share[0]["prompt"][0] == {"role": "system", "content": SAMPLES["sharegpt"][0][0]["system"]}
    assert "<|begin_of_thought|>" in share[0]["completion"][0]["content"]
    facts = template_facts(str(tiny_model), share)
    assert facts["keeps_reasoning"] is True and "warning" not in facts
    out = tmp_path / "sft"
    r = run(
        "train",
        "sft",
        "--data",
        samples["sharegpt"],
        "--data",
        samples["am-distilled"],
        "-o",
        out,
        "--model",
        tiny_model,
        "--max-steps",
        "1",
        "--per-device-train-batch-size",
        "2",
        "--max-length",
        "64",
        "--report-to",
        "none",
    )
    assert r.exit_code == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["rows_used"] == 4 and m["lengths"]["template"]["keeps_reasoning"] is True


def test_a_template_that_drops_the_reasoning_is_named(tiny_model, tmp_path):
    pytest.importorskip("transformers")
    import shutil

    from r1data.train.data import template_facts

    stripped = tmp_path / "model"
    shutil.copytree(tiny_model, stripped)
    config = json.loads((stripped / "tokenizer_config.json").read_text())
    config["chat_template"] = (
        "{% for m in messages %}{% set c = m['content'] %}{% if '</think>' in c %}"
        "{% set c = c.split('</think>')[-1] %}{% endif %}{{ m['role'] }}: {{ c }}\n"
        "{% endfor %}{% if add_generation_prompt %}assistant: <think>\n{% endif %}"
    )
    (stripped / "tokenizer_config.json").write_text(json.dumps(config))
    (stripped / "chat_template.jinja").unlink(missing_ok=True)
    rows = [
        {
            "prompt": [{"role": "user", "content": "q"}],
            "completion": [{"role": "assistant", "content": think("r", "a")}],
        }
    ]
    facts = template_facts(str(stripped), rows)
    assert facts["keeps_reasoning"] is False and facts["prefills_think"] is True
    assert "drops the reasoning" in facts["warning"]


def test_stats_and_dedup_take_every_layout_at_once(samples, tmp_path):
    r = run("stats", *samples.values(), "--json", "-q")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)["datasets"]
    assert len(report) == len(SAMPLES)
    assert all(d["all"]["completions"] >= 1 for d in report.values() if d["field"])
    assert [name for name, d in report.items() if not d["field"]] == ["verl.parquet"]  # RL data: no traces
    r = run("dedup", *samples.values(), "-o", tmp_path / "d", "--json", "-q")
    assert r.exit_code == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["rows_in"] == sum(len(rows) for rows, _ in SAMPLES.values())
    assert {i["layout"] for i in m["inputs"]} == set(SAMPLES)
