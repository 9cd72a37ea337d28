"""One verdict everywhere: the same completion, read the same way, gets the same judgement in `verify`, `filter`
(a scripted engine returns it), `rejection-sample`, the GRPO reward functions `train grpo` builds, and the reward
functions `export` writes for verl, OpenRLHF and TRL (imported in a clean process).

Before judge/inputs.py, filter and rejection-sample dropped --think-format (and filter --think-prefilled), the GRPO
rewards dropped both and the problem text (multiple choice scored 0.0), and no exported reward used r1data's judge.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from r1data.judge.inputs import Reading
from r1data.steps import IOConfig, run_step
from r1data.steps.filter import Config as FilterConfig
from r1data.steps.rejection_sample import Config as RSConfig
from r1data.steps.verify import Config as VerifyConfig
from tests.fakes import ScriptedEngine

MC = "Which number is prime?\nA. 4\nB. 6\nC. 7\nD. 9"
TESTS = json.dumps({"inputs": ["1 2\n", "5 7\n"], "outputs": ["3\n", "12\n"]})  # a code row's gold is its tests
PRODUCT_TESTS = json.dumps({"inputs": ["1 2\n", "5 7\n"], "outputs": ["2\n", "35\n"]})


def _gold(gold: str) -> dict:
    return {"tests": gold} if gold.startswith("{") else {"answer": gold}


# (id, problem, gold, completion): every trace format and answer style the steps meet
CASES = [
    ("boxed", "What is 2 + 3?", "5", "<think>2 + 3 = 5.</think>\nThe answer is $\\boxed{5}$."),
    ("boxed-wrong", "What is 2 + 4?", "6", "<think>2 + 4 = 7.</think>\nThe answer is $\\boxed{7}$."),
    ("words", "What is 3 + 3?", "6", "<think>3 + 3 = 6.</think>\nSo the total is 6."),
    ("answer-tags", "What is 4 + 4?", "8", "<think>4 + 4 = 8.</think>\n<answer>8</answer>"),
    (
        "bespoke",
        "What is 5 + 5?",
        "10",
        "<|begin_of_thought|>\nIs it \\boxed{11}? No: 10.\n<|end_of_thought|>\n"
        "<|begin_of_solution|>\nThe answer is \\boxed{10}\n<|end_of_solution|>",
    ),
    (
        "prefilled",
        "What is 6 + 6?",
        "12",
        "6 + 6 = 12, so \\boxed{12}? Let me check.\n</think>\nThe answer is $\\boxed{12}$.",
    ),
    ("mc", MC, "C", "<think>7 has no divisors but 1 and itself.</think>\nThe answer is (C) 7."),
    ("mc-value", MC, "C", "<think>Only 7 is prime.</think>\nThe answer is $\\boxed{7}$."),
    ("cut-off", "What is 7 + 7?", "14", "<think>7 + 7 = 14, so the answer is"),
    ("no-think", "What is 8 + 8?", "16", "8 + 8 = 16. The answer is $\\boxed{16}$."),
    (
        "code",
        "Read two integers and print their sum.",
        TESTS,
        "<think>Sum them.</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```",
    ),
    (
        "code-wrong",
        "Read two integers and print their product.",
        PRODUCT_TESTS,
        "<think>Sum them.</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```",
    ),
]
READINGS = {
    "default": Reading(),
    "think": Reading(think_format="think"),
    "bespoke": Reading(think_format="bespoke"),
    "prefilled": Reading(think_prefilled=True),
}


def _input(tmp: Path, with_completion: bool) -> Path:
    rows = [{"id": i, "problem": p} | _gold(g) | ({"completion": c} if with_completion else {}) for i, p, g, c in CASES]
    path = tmp / ("judged.jsonl" if with_completion else "problems.jsonl")
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _engine() -> ScriptedEngine:
    by_problem = {p: c for _, p, _, c in CASES}

    def script(message: str, n: int, seed: int) -> list[str]:  # the prompt template adds an instruction after it
        return [next(c for p, c in by_problem.items() if message.startswith(p))] * n

    return ScriptedEngine(script)


def _all_rows(folder: Path) -> pl.DataFrame:
    frames = [pl.read_parquet(f) for sub in ("data", "removed") for f in sorted((folder / sub).glob("*.parquet"))]
    return pl.concat(frames, how="diagonal_relaxed")


def _io(reading: Reading) -> IOConfig:
    return IOConfig(think_format=reading.think_format)


def by_verify(tmp: Path, reading: Reading) -> dict[str, bool | None]:
    cfg = VerifyConfig(checks=["accuracy"], think_prefilled=reading.think_prefilled)
    run_step("verify", [_input(tmp, True)], tmp / "verify", cfg, _io(reading))
    return dict(_all_rows(tmp / "verify").select("id", "correct").iter_rows())


def by_filter(tmp: Path, reading: Reading) -> dict[str, bool | None]:
    cfg = FilterConfig(pass_rate="0:1", samples=1, think_prefilled=reading.think_prefilled)
    run_step("filter", [_input(tmp, False)], tmp / "filter", cfg, _io(reading), engine=_engine())
    rates = dict(_all_rows(tmp / "filter").select("id", "pass_rate").iter_rows())
    return {k: None if v is None else v == 1.0 for k, v in rates.items()}


def by_rejection_sample(tmp: Path, reading: Reading) -> dict[str, bool | None]:
    cfg = RSConfig(samples=1, keep=1, language=None, think_prefilled=reading.think_prefilled, max_repetition=1.0)
    run_step("rejection-sample", [_input(tmp, False)], tmp / "rs", cfg, _io(reading), engine=_engine())
    rows = _all_rows(tmp / "rs")
    reasons = dict(
        rows.select("id", pl.col("drop_reason") if "drop_reason" in rows.columns else pl.lit(None)).iter_rows()
    )
    # a kept row, or one whose correct candidate a quality filter dropped, was judged correct
    return {
        k: None if r in ("gold_unparseable", "unjudged") else r != "no_correct_candidate" for k, r in reasons.items()
    }


def by_grpo_rewards(reading: Reading) -> dict[str, bool | None]:
    from r1data.judge import Judge
    from r1data.train.config import GRPOTrainConfig
    from r1data.train.trl import reward_functions

    cfg = GRPOTrainConfig(reward_funcs=["accuracy"], think_prefilled=reading.think_prefilled)
    with Judge(lenient=reading.lenient) as judge:
        accuracy = reward_functions(cfg, judge, reading.think_format)[0]
        # as TRL calls it: the completions as chat messages, the dataset's columns as keyword arguments
        scores = accuracy(
            [[{"role": "assistant", "content": c}] for *_, c in CASES],
            answer=[_gold(g).get("answer") for _, _, g, _ in CASES],
            tests=[_gold(g).get("tests") for _, _, g, _ in CASES],
            problem=[p for _, p, _, _ in CASES],
            prompts=[[{"role": "user", "content": p}] for _, p, _, _ in CASES],
        )
    return {i: None if s is None else s == 1.0 for (i, *_), s in zip(CASES, scores, strict=True)}


def by_exported(tmp: Path, reading: Reading, to: str) -> dict[str, bool | None]:
    """Export the cases, then score them with the written reward.py in a fresh interpreter, as the trainer would."""
    from r1data.steps.export import Config as ExportConfig

    out = tmp / f"export-{to}"
    run_step("export", [_input(tmp, True)], out, ExportConfig(to=to), _io(reading))
    text = (out / "reward.py").read_text()
    assert "from r1data.judge.exported import Scorer" in text
    (out / "reward.py").write_text(
        text.replace(repr(Reading(think_format=reading.think_format).to_dict()), repr(reading.to_dict()))
    )  # the reading the curation recorded
    cases = [{"id": i, "problem": p, "gold": g, "completion": c, **_gold(g)} for i, p, g, c in CASES]
    script = f"""
import json, sys
sys.path.insert(0, {str(out)!r})
import reward
cases = json.loads({json.dumps(json.dumps(cases))})
out = {{}}
if {to!r} == "verl":  # the exported rows as verl reads them: ground truth and extra_info from the parquet
    import glob, pyarrow.parquet as pq
    by_id = {{c["id"]: c for c in cases}}
    for f in sorted(glob.glob({str(out / "data" / "*.parquet")!r})):
        for row in pq.read_table(f).to_pylist():
            c = by_id[row["extra_info"]["id"]]
            r = reward.compute_score(row["data_source"], c["completion"], row["reward_model"]["ground_truth"],
                                     row["extra_info"])
            out[c["id"]] = None if r["unjudgeable"] else r["score"] == 1.0
elif {to!r} == "openrlhf":
    prompts = ["<|user|>" + c["problem"] + "<|assistant|>" for c in cases]
    r = reward.reward_func([p + c["completion"] for p, c in zip(prompts, cases)], prompts, [c["gold"] for c in cases])
    out = {{c["id"]: float(s) == 1.0 for c, s in zip(cases, r["rewards"])}}
else:
    scores = reward.accuracy([[{{"role": "assistant", "content": c["completion"]}}] for c in cases],
                             answer=[c.get("answer") for c in cases], tests=[c.get("tests") for c in cases],
                             problem=[c["problem"] for c in cases])
    out = {{c["id"]: None if s is None else s == 1.0 for c, s in zip(cases, scores)}}
print(json.dumps(out))
"""
    path = tmp / f"score_{to}.py"
    path.write_text("if __name__ == '__main__':\n" + "\n".join("    " + line for line in script.splitlines()))
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", list(READINGS))
def test_every_step_and_reward_gives_the_same_verdict(tmp_path, name):
    reading = READINGS[name]
    expected = by_verify(tmp_path, reading)
    assert any(expected.values()) and not all(expected.values())  # the table holds both verdicts
    if name == "default":  # each style is really judged, not "cannot judge" everywhere
        assert expected["code"] and expected["mc"] and expected["answer-tags"] and expected["code-wrong"] is False
    table = {
        "filter": by_filter(tmp_path, reading),
        "rejection-sample": by_rejection_sample(tmp_path, reading),
        "train grpo": by_grpo_rewards(reading),
        **{f"export --to {to}": by_exported(tmp_path, reading, to) for to in ("verl", "openrlhf", "messages")},
    }
    differ = {where: {k: (expected[k], v) for k, v in got.items() if v != expected[k]} for where, got in table.items()}
    assert not any(differ.values()), f"verify said otherwise ({name}): {differ}"


def test_the_readings_change_verdicts():
    """The table is a real test: the readings disagree on some completions, so a step that dropped one fails."""
    verdicts = {name: by_grpo_rewards(reading) for name, reading in READINGS.items()}
    assert len({tuple(v.items()) for v in verdicts.values()}) > 1


@pytest.mark.parametrize("column", ["response", "output", "model_response"])
def test_train_sft_reads_the_trace_column_verify_and_export_read(tmp_path, column):
    """Before: `train sft` read only completion/generations/solution and said "nothing to train on"."""
    from r1data.train.config import SFTTrainConfig
    from r1data.train.data import sft_rows

    path = tmp_path / "traces.jsonl"
    path.write_text("".join(json.dumps({"id": i, "problem": p, "answer": g, column: c}) + "\n" for i, p, g, c in CASES))
    data = sft_rows([path], SFTTrainConfig(model="unused"))
    assert [r["completion"][0]["content"] for r in data.rows] == [c for *_, c in CASES]
    assert data.rows[0]["prompt"] == [{"role": "user", "content": CASES[0][1]}]


def test_a_judge_that_fails_is_never_a_silent_zero(tmp_path):
    """Timeouts are counted and reported: TRL gets None, verl a judge_error flag, a batch of nothing else stops."""
    from r1data.judge.exported import JudgeFailing, Scorer
    from r1data.judge.rewards import get_reward
    from r1data.judge.verdict import TIMEOUT, Verdict

    class TimingOut:
        lenient = False

        def verify(self, golds, completions, **kwargs):
            return [Verdict(TIMEOUT, detail="timed out after 5s, then after 10s") for _ in completions]

    accuracy = get_reward("accuracy", TimingOut())
    with pytest.raises(JudgeFailing, match="all 2 completions of the batch failed"):
        accuracy(["\\boxed{5}", "\\boxed{6}"], answer=["5", "6"])
    assert accuracy(["\\boxed{5}"], answer=["5"]) == [None]  # one alone: None, left out of the loss
    scorer = Scorer()
    scorer._judge = TimingOut()
    assert scorer.verl("\\boxed{5}", "5")["judge_error"] == 1.0
    with pytest.raises(JudgeFailing):
        scorer.openrlhf(["q\\boxed{5}", "q\\boxed{6}"], ["q", "q"], ["5", "6"])
