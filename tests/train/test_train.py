"""`r1data train` end to end on a tiny random Llama: real TRL trainers, real rewards, checkpoints, resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.conftest import run

# Minutes of engines, training, clusters or killed processes: the full suite runs them, `-m "not slow"` skips.
pytestmark = pytest.mark.slow

pytest.importorskip("trl", reason="training tests need the train extra")
torch = pytest.importorskip("torch")


@pytest.fixture()
def traces(tmp_path) -> Path:
    """Rows as rejection-sample writes them: problem, answer and the accepted conversation."""
    rows = []
    for i in range(8):
        ans = "5" if i % 2 else "6"
        msgs = [{"role": "user", "content": "the answer is"}, {"role": "assistant", "content": f"the answer is {ans}"}]
        rows.append({"id": f"t{i}", "problem": f"the answer {i}", "answer": ans, "messages": msgs})
    path = tmp_path / "traces.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def problems(tmp_path) -> Path:
    rows = [{"id": f"p{i}", "problem": "the answer is", "answer": "5" if i % 2 else "6"} for i in range(8)]
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def logs(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def weights(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(next(path.glob("*.safetensors"))))


def test_sft_two_steps_checkpoint_reload_and_resume(traces, tmp_path, tiny_model):
    from transformers import AutoModelForCausalLM

    out = tmp_path / "sft"
    args = [
        "train",
        "sft",
        "--data",
        traces,
        "-o",
        out,
        "--model",
        tiny_model,
        "--max-steps",
        "2",
        "--per-device-train-batch-size",
        "4",
        "--learning-rate",
        "1e-2",
        "--save-steps",
        "1",
        "--logging-steps",
        "1",
        "--max-length",
        "32",
    ]
    r = run(*args)
    assert r.exit_code == 0, r.stderr
    losses = [h["loss"] for h in logs(out) if "loss" in h]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    assert (out / "checkpoint-1").is_dir() and (out / "checkpoint-2").is_dir()
    reloaded = AutoModelForCausalLM.from_pretrained(out / "checkpoint-2")
    assert torch.isfinite(reloaded(torch.tensor([[2, 3, 4]])).logits).all()
    before, after = weights(tiny_model), weights(out / "model")
    assert any(not torch.equal(before[k], after[k]) for k in before)  # it trained
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["command"] == "train sft" and m["global_step"] == 2
    assert m["config"]["learning_rate"] == 1e-2 and m["config"]["max_length"] == 32
    assert {"trl", "transformers", "torch", "math-verify"} <= set(m["versions"])
    assert m["trl_args"]["learning_rate"] == 1e-2 and m["rows_used"] == 8
    assert list((out / "runs").iterdir())  # TensorBoard event files by default
    # What the user saw: a compact line per logged step, not TRL's metric dicts (those are in log.jsonl).
    assert "step 1/2 · loss" in r.stderr and "step 2/2 · loss" in r.stderr and "{'loss'" not in r.stderr

    # The same command again resumes from checkpoint-2 (optimizer and scheduler state loaded) ...
    r = run(*args)
    assert r.exit_code == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["resumed_from"].endswith("checkpoint-2") and m["runs"] == 2
    # ... a longer run continues from there ...
    r = run(*args[:-12], "--max-steps", "3", *args[-10:])
    assert r.exit_code == 0, r.stderr
    assert json.loads((out / "manifest.json").read_text())["global_step"] == 3
    # ... and other settings are refused rather than mixed into the same folder.
    r = run(*args[:-2], "--max-length", "16")
    assert r.exit_code == 1 and "max_length" in r.stderr and "--overwrite" in r.stderr


def test_grpo_two_steps_rewards_real_completions(problems, tmp_path, tiny_model):
    from r1data.judge.rewards import format_reward, get_reward

    accuracy = get_reward("accuracy")

    out = tmp_path / "grpo"
    r = run(
        "train",
        "grpo",
        "--data",
        problems,
        "-o",
        out,
        "--model",
        tiny_model,
        "--max-steps",
        "2",
        "--num-generations",
        "4",
        "--per-device-train-batch-size",
        "8",
        "--max-completion-length",
        "6",
        "--reward-funcs",
        "accuracy,format",
        "--reward-weights",
        "1.0,0.5",
        "--user-template",
        "{problem}",
        "--learning-rate",
        "1e-3",
        "--logging-steps",
        "1",
        "--save-steps",
        "2",
        "--save-completions",
        "--report-to",
        "none",
    )
    assert r.exit_code == 0, r.stderr
    history = [h for h in logs(out) if "loss" in h]
    assert len(history) == 2
    assert all(math.isfinite(h["loss"]) and 0 <= h["rewards/accuracy/mean"] <= 1 for h in history)
    # Every scored completion is on disk with its rewards; judging the texts again gives the same scores.
    rows = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert len(rows) == 16 and any(r_["completion"] for r_ in rows)
    texts, golds = [r_["completion"] for r_ in rows], [r_["answer"] for r_ in rows]
    assert accuracy(texts, answer=golds) == [r_["rewards"]["accuracy"] for r_ in rows]
    assert format_reward(texts) == [r_["rewards"]["format"] for r_ in rows]
    assert (out / "checkpoint-2").is_dir() and (out / "model" / "config.json").is_file()
    m = json.loads((out / "manifest.json").read_text())
    assert m["trl_args"]["reward_weights"] == [1.0, 0.5] and m["trl_args"]["loss_type"] == "dapo"
    assert "step 2/2 · reward" in r.stderr and "(accuracy " in r.stderr and "format " in r.stderr
    assert m["config"]["beta"] == 0.0 and m["status"] == "complete"


def test_grpo_dynamic_sampling_refills_with_informative_groups(problems, tmp_path, tiny_model):
    out = tmp_path / "dapo"
    r = run(
        "train",
        "grpo",
        "--data",
        problems,
        "-o",
        out,
        "--model",
        tiny_model,
        "--max-steps",
        "1",
        "--num-generations",
        "4",
        "--per-device-train-batch-size",
        "8",
        "--max-completion-length",
        "6",
        "--reward-funcs",
        "accuracy",
        "--user-template",
        "{problem}",
        "--dynamic-sampling",
        "--dynamic-sampling-max-rounds",
        "3",
        "--logging-steps",
        "1",
        "--report-to",
        "none",
    )
    assert r.exit_code == 0, r.stderr
    (h,) = [h for h in logs(out) if "loss" in h]
    rounds, share, filled = (h[f"dynamic_sampling/{k}"] for k in ("rounds", "informative_share", "filled_zero_std"))
    assert 1 <= rounds <= 3 and 0 <= share <= 1 and 0 <= filled <= 1
    if rounds == 1:  # one round is enough only when every group of it varied
        assert share == 1.0 and filled == 0.0
    if filled > 0:  # zero-advantage groups fill the batch only once the rounds are spent
        assert rounds == 3
    # TRL counts zero-std groups over everything generated; the kept batch has fewer of them.
    assert h["frac_reward_zero_std"] >= 1 - share - 1e-6


def test_merge_keeps_informative_rows_and_pads_each_side():
    from r1data.train.dynamic_sampling import _merge_rows

    def part(prompt_widths: list[int], keep: list[bool], base: int) -> tuple[dict, torch.Tensor]:
        n, w = len(keep), max(prompt_widths)
        return (
            {
                "prompt_ids": torch.full((n, w), base),
                "completion_ids": torch.full((n, 3), base),
                "completion_mask": torch.ones(n, 3, dtype=torch.long),
                "advantages": torch.arange(n, dtype=torch.float) + base,
                "num_items_in_batch": torch.tensor(n * 3),
            },
            torch.tensor(keep),
        )

    a = part([2, 2, 2, 2], [False, False, True, True], 10)
    b = part([4, 4, 4, 4], [True, True, False, False], 20)
    merged, filled = _merge_rows([a, b], 4, pad_id=0)
    assert filled == 0
    assert merged["advantages"].tolist() == [12.0, 13.0, 20.0, 21.0]
    assert merged["prompt_ids"].shape == (4, 4)
    assert merged["prompt_ids"][0].tolist() == [0, 0, 10, 10]  # prompts are left-padded
    merged, filled = _merge_rows([a], 4, pad_id=0)
    assert filled == 2 and merged["advantages"].tolist() == [12.0, 13.0, 10.0, 11.0]


def test_grpo_checks_data_and_context_before_loading(problems, tmp_path, tiny_model):
    no_gold = tmp_path / "nogold.jsonl"
    no_gold.write_text(json.dumps({"problem": "the answer is"}) + "\n")
    r = run("train", "grpo", "--data", no_gold, "-o", tmp_path / "o1", "--model", tiny_model)
    assert r.exit_code == 1 and "reward accuracy needs gold answers" in r.stderr
    r = run(
        "train",
        "grpo",
        "--data",
        problems,
        "-o",
        tmp_path / "o2",
        "--model",
        tiny_model,
        "--max-completion-length",
        "600",
    )
    assert r.exit_code == 1 and "beyond the model's context of 512" in r.stderr
    assert "Lower max_completion_length" in r.stderr
    assert not (tmp_path / "o2").exists()  # nothing written
    r = run("train", "sft", "--data", problems, "-o", tmp_path / "o3", "--model", tiny_model)
    assert r.exit_code == 1 and "nothing to train on: no row has a chat" in r.stderr
    if not torch.cuda.is_available():
        r = run(
            "train",
            "grpo",
            "--data",
            problems,
            "-o",
            tmp_path / "o4",
            "--model",
            tiny_model,
            "--use-vllm",
            "--max-completion-length",
            "8",
        )
        assert r.exit_code == 1 and "use_vllm needs a GPU" in r.stderr
        assert not (tmp_path / "o4").exists()
