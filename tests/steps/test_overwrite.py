"""--overwrite replaces only r1data's own outputs, and no output is written over or inside its input (issue 23:
`r1data dedup mydata/in.jsonl -o mydata --overwrite` deleted the input and everything beside it)."""

from __future__ import annotations

import json

import pytest

from r1data.errors import OutputError
from r1data.steps import IOConfig, run_step
from r1data.steps.dedup import Config as DedupConfig


@pytest.fixture
def folder(tmp_path):
    data = tmp_path / "mydata"
    data.mkdir()
    (data / "in.jsonl").write_text(
        "".join(json.dumps({"problem": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(5))
    )
    (data / "notes.txt").write_text("mine")
    return data


def _dedup(inputs, out, overwrite=True):
    return run_step("dedup", inputs, out, DedupConfig(), IOConfig(overwrite=overwrite))


def test_the_folder_holding_the_input_is_refused(folder):
    with pytest.raises(OutputError, match="holds the input"):
        _dedup([folder / "in.jsonl"], folder)
    assert sorted(p.name for p in folder.iterdir()) == ["in.jsonl", "notes.txt"]


def test_a_folder_r1data_did_not_write_is_not_replaced(folder, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("keep")
    with pytest.raises(OutputError, match="not an r1data output"):
        _dedup([folder / "in.jsonl"], other)
    assert (other / "keep.txt").read_text() == "keep"


def test_an_output_inside_the_input_folder_is_refused(folder):
    with pytest.raises(OutputError, match="inside the input folder"):
        _dedup([folder], folder / "out", overwrite=False)


def test_r1datas_own_output_is_replaced(folder, tmp_path):
    out = tmp_path / "out"
    _dedup([folder / "in.jsonl"], out, overwrite=False)
    assert _dedup([folder / "in.jsonl"], out).manifest["rows_out"] == 5


def test_an_unfinished_runs_work_folder_is_not_read_as_data(folder, tmp_path):
    """Before: `dedup` read a killed rejection-sample run's chunks as if they were an output."""
    from r1data.errors import InputError
    from r1data.publish import work_dir

    work = work_dir(tmp_path / "rs")
    work.mkdir(parents=True)
    (work / "state.json").write_text("{}")
    (work / "chunk-00000.parquet").write_bytes((folder / "in.jsonl").read_bytes())
    for given in (work, tmp_path / "chunks"):
        if given != work:
            given.mkdir()
            (given / "state.json").write_text("{}")
            (given / "chunk-00000.parquet").write_bytes(b"")
        with pytest.raises(InputError, match="not data"):
            _dedup([given], tmp_path / "out", overwrite=False)


@pytest.mark.parametrize("step", ["filter", "export"])
def test_a_template_with_literal_braces_is_refused_when_the_config_is_built(step):
    """Before: "Put the final answer within \\boxed{}." passed the checks, then an IndexError after the model loaded."""
    from r1data.errors import ConfigError
    from r1data.steps.export import Config as ExportConfig
    from r1data.steps.filter import Config as FilterConfig

    template = "{problem}\nPut the final answer within \\boxed{}."
    with pytest.raises(ConfigError, match="must be doubled"):
        FilterConfig(pass_rate="0:1", user_template=template) if step == "filter" else ExportConfig(
            to="verl", user_template=template
        )
    fixed = template.replace("{}", "{{}}")
    assert (
        FilterConfig(pass_rate="0:1", user_template=fixed)
        if step == "filter"
        else ExportConfig(to="verl", user_template=fixed)
    ).user_template == fixed


def test_a_ray_address_where_nothing_answers_fails_in_one_line_at_once(folder, tmp_path):
    """Before: --ray-address pointing at nothing hung 824 s and printed 61 lines of Ray logs."""
    import socket

    from r1data.errors import R1DataError
    from r1data.steps.verify import Config as VerifyConfig

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(R1DataError, match="nothing answers there"):
        run_step(
            "verify",
            [folder / "in.jsonl"],
            tmp_path / "v",
            VerifyConfig(),
            IOConfig(executor="ray", ray_address=f"127.0.0.1:{port}"),
        )
    assert not (tmp_path / "v").exists()
