import json
import subprocess
import sys

import polars as pl
import pytest

from tests.conftest import run

GOOD = "<think>Two plus three.</think> The answer is $\\boxed{5}$."


@pytest.fixture(scope="module")
def generations(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "gens.jsonl"
    rows = [
        {"problem": "2+3?", "answer": "5", "source": "easy", "generations": [GOOD, "<think>hm</think> \\boxed{6}"]},
        {"problem": "x?", "answer": "@@oops@@", "source": "easy", "generations": [GOOD]},
        {
            "problem": "1/2?",
            "answer": "\\frac12",
            "source": "hard",
            "generations": ["<think>half</think> $\\boxed{0.5}$", "<think>cut off", "\\boxed{2}"],
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_verify_lists_of_generations(generations, tmp_path):
    out = tmp_path / "v"
    r = run("verify", generations, "-o", out, "--checks", "accuracy,format,overlong,repetition", "--workers", "2")
    assert r.exit_code == 0, r.stderr
    assert "rows whose gold answer cannot be parsed" in r.stderr and "oops" in r.stderr
    df = pl.read_parquet(out / "data" / "*.parquet").sort("problem")
    rows = {row["problem"]: row for row in df.iter_rows(named=True)}
    assert rows["2+3?"]["correct"] == [True, False] and rows["2+3?"]["pass_rate"] == 0.5
    assert rows["x?"]["verify_status"] == ["gold_unparseable"] and rows["x?"]["pass_rate"] is None
    assert rows["1/2?"]["verify_status"] == ["correct", "pred_unparseable", "incorrect"]
    assert rows["1/2?"]["reward_format"] == [1.0, 0.0, 0.0]
    assert rows["1/2?"]["judged"] == 3
    m = json.loads((out / "manifest.json").read_text())
    assert m["stats"]["statuses"]["gold_unparseable"] == 1 and m["stats"]["completions"] == 6
    assert m["stats"]["accuracy"] == pytest.approx(2 / 5)


def test_verify_single_completion_column_and_errors(tmp_path):
    path = tmp_path / "one.csv"
    pl.DataFrame({"question": ["2+3?", "1+1?"], "gold": ["5", "2"], "resp": [GOOD, "\\boxed{3}"]}).write_csv(path)
    r = run(
        "verify", path, "-o", tmp_path / "o", "--answer-field", "gold", "--completion-field", "resp", "--json", "-q"
    )
    assert r.exit_code == 0, r.stderr
    df = pl.read_parquet(tmp_path / "o" / "data" / "*.parquet")
    assert df.get_column("correct").to_list() == [True, False]
    assert df.get_column("reward_format").to_list() == [1.0, 0.0]
    assert json.loads(r.stdout)["stats"]["accuracy"] == 0.5
    bad = run("verify", path, "-o", tmp_path / "x", "--answer-field", "gold")
    assert bad.exit_code == 1 and "no completion or solution column" in bad.stderr and "resp" in bad.stderr
    bad = run(
        "verify", path, "-o", tmp_path / "y", "--answer-field", "gold", "--completion-field", "resp", "--checks", "nope"
    )
    assert bad.exit_code == 1 and "unknown nope" in bad.stderr


def test_stats_side_by_side_json_plot_and_tokenizer(generations, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    verified = tmp_path / "v"
    assert run("verify", generations, "-o", verified, "-q").exit_code == 0
    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "two": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    png = tmp_path / "lengths.png"
    r = run("stats", verified, generations, "--json", "--plot", png, "--tokenizer", tmp_path / "tokenizer.json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    v = report["datasets"]["v"]
    assert v["all"]["completions"] == 6 and v["all"]["accuracy"] == pytest.approx(2 / 5)
    assert v["all"]["truncated_share"] == pytest.approx(1 / 6)
    assert v["all"]["pass_rate"]["bins"]["(.25, .5]"] == 2 and v["all"]["pass_rate"]["bins"]["1"] == 0
    assert set(v) >= {"easy", "hard"}  # per source
    assert v["easy"]["think_tokens"]["max"] == 4  # "Two plus three." -> 4 pre-tokens
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "think median" in r.stderr


def test_stats_counts_words_by_default_and_reads_solutions(shared_data):
    r = run("stats", shared_data / "gsm8k_test.jsonl", "--json", "-q")
    assert r.exit_code == 0
    d = json.loads(r.stdout)["datasets"]["gsm8k_test.jsonl"]
    assert d["field"] == "solution" and d["all"]["completions"] == 1319
    assert 80 < d["all"]["answer_tokens"]["mean"] < 130 and d["all"]["think_tokens"]["max"] == 0


def test_verify_reads_the_completion_field_it_is_given_even_a_schema_candidate(tmp_path):
    """`response` is also a name datasets use for worked solutions: named as the completion, it stays one."""
    path = tmp_path / "r.jsonl"
    rows = [
        {"problem": "2+3?", "answer": "5", "response": GOOD},
        {"problem": "1+1?", "answer": "2", "response": "\\boxed{3}"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = run("verify", path, "-o", tmp_path / "o", "--completion-field", "response", "-q")
    assert r.exit_code == 0, r.stderr
    df = pl.read_parquet(tmp_path / "o" / "data" / "*.parquet")
    assert df.get_column("response").to_list() == [GOOD, "\\boxed{3}"] and df.get_column("correct").to_list() == [
        True,
        False,
    ]


def test_ctrl_c_while_the_judge_starts_is_one_line(tmp_path):
    """Before: Ctrl-C in the first seconds of verify printed 1-3 worker tracebacks beside r1data's one line (the
    terminal sends SIGINT to every process of the foreground group, the judge's workers too)."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    from r1data.lifetime import descendants

    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(
            json.dumps(
                {
                    "problem": f"p{i}",
                    "answer": f"\\sqrt{{{i}}}+x",
                    "completion": f"So the answer is $\\boxed{{x + \\sqrt{{{i}}}}}$.",
                }
            )
            + "\n"
            for i in range(2000)
        )
    )
    cmd = [sys.executable, "-m", "r1data", "verify", str(src), "-o", str(tmp_path / "out")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and len(descendants(proc.pid)) < 2:
        time.sleep(0.02)
    assert proc.poll() is None, "verify ended before the judge's workers started"
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130 and "Interrupted" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


def test_a_parquet_column_of_bytes_is_read_as_text(tmp_path):
    """Before: a binary `problem` column holding bytes that are not UTF-8 ended dedup with a polars traceback."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "bytes.parquet"
    pq.write_table(
        pa.table({"problem": pa.array([b"What is 2+2?", b"caf\xe9 au lait?"], pa.binary()), "answer": ["4", "2"]}), src
    )
    r = run("dedup", src, "-o", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "'problem' holds bytes" in r.output and "(1 rows)" in r.output
    problems = pl.read_parquet(tmp_path / "out" / "data" / "*.parquet").get_column("problem").to_list()
    assert problems == ["What is 2+2?", "caf\ufffd au lait?"]


@pytest.mark.parametrize("exc", ["polars", "value", "memory"])
def test_a_library_error_at_the_edge_is_one_line(exc, capsys):
    """Errors libraries raise on an input (polars, pyarrow, ValueError, MemoryError) end in one line, exit 1; a bug
    of any other kind keeps its traceback."""
    import typer

    from r1data.cli.common import handle_errors

    raised = {
        "polars": pl.exceptions.ComputeError("invalid utf8\n\nThis error occurred in ..."),
        "value": ValueError("could not convert string to float: 'x'"),
        "memory": MemoryError(),
    }[exc]

    @handle_errors
    def step() -> None:
        raise raised

    with pytest.raises(typer.Exit) as ended:
        step()
    assert ended.value.exit_code == 1
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert "Error:" in err and "Traceback" not in err and "This error occurred" not in err

    @handle_errors
    def buggy() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        buggy()


def test_an_os_error_without_a_path_names_the_output(tmp_path, capsys):
    """Before: a full disk reported by a library without a file name printed "Error: ?: no space left"."""
    import errno

    import typer

    from r1data.cli.common import handle_errors

    @handle_errors
    def step(output=None) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(typer.Exit):
        step(output=tmp_path / "out")
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert f"{tmp_path / 'out'}" in err.replace("\n", "") and "no space left" in err and "?:" not in err


@pytest.mark.parametrize("signal_exc,code", [("terminated", 143), ("interrupt", 130)])
def test_a_signal_wrapped_by_a_library_is_still_the_signal(signal_exc, code, capsys):
    """Before: SIGTERM inside Ray's wait (C code) came back as a SystemError with the Terminated behind it, and ended
    the run with a traceback (exit 1) instead of 143 and one line."""
    import typer

    from r1data.cli.common import handle_errors
    from r1data.errors import Terminated

    @handle_errors
    def step() -> None:
        try:
            raise Terminated() if signal_exc == "terminated" else KeyboardInterrupt()
        except BaseException:
            raise SystemError("<cyfunction CoreWorker.wait> returned a result with an exception set") from None

    with pytest.raises(typer.Exit) as ended:
        step()
    assert ended.value.exit_code == code
    err = capsys.readouterr().err
    assert ("Terminated (SIGTERM)" if code == 143 else "Interrupted") in err and "Traceback" not in err


JSON_NOISE = """
import os, subprocess, sys
from r1data.cli.common import emit_json, stdout_for_json
with stdout_for_json(True):
    print("a library's notice")
    os.write(1, b"C code's notice\\n")
    subprocess.run([sys.executable, "-c", "print('a child process notice')"])
    emit_json({"rows_out": 3})
print("after the command")
"""


def test_with_json_stdout_holds_only_the_json():
    """Before: Ray's worker-death notice (printed to sys.stdout by Ray's thread) came before the manifest and broke
    --json. Python's prints, C code's writes and child processes all go to stderr while the command runs."""
    done = subprocess.run([sys.executable, "-c", JSON_NOISE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('{\n  "rows_out": 3\n}\n') and done.stdout.endswith("after the command\n")
    for notice in ("a library's notice", "C code's notice", "a child process notice"):
        assert notice in done.stderr and notice not in done.stdout
