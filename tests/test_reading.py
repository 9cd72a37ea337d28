"""Reading files as people really have them (issue 20): one test per finding, each on a minimal file whose
structure mirrors a real public file (tests/data/real/manifest.json names the file each one mirrors; the values
here are written for these tests). The real files themselves are checked by tests/test_real_files.py."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from r1data.io import read_inputs
from tests.conftest import run

CHATML = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{q}\nPlease reason step by "
    "step, and put your final answer within \\boxed{{}}.<|im_end|>\n<|im_start|>assistant\n"
)


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def parquet(path: Path, rows: list[dict]) -> Path:
    pl.from_dicts(rows, infer_schema_length=None).write_parquet(path)
    return path


def shards(out: Path, sub: str = "data") -> pl.DataFrame:
    return pl.read_parquet(out / sub / "*.parquet")


# 1. A gold stored as a list of acceptable answers (DeepScaleR's test JSON) -----------------------------------


@pytest.fixture
def list_golds(tmp_path) -> Path:
    rows = [
        {
            "problem": "Estimate the wavelength in Angstroms.",
            "answer": ["9.6\n"],
            "solution": "So $\\lambda=\\boxed{9.6}$ Angstroms.",
        },
        {
            "problem": "Give a point on both lines.",
            "answer": ["(1,2)", "(2,1)"],
            "solution": "One such point is $\\boxed{(2,1)}$.",
        },
    ]
    path = tmp_path / "minerva.json"
    path.write_text(json.dumps(rows, indent=2))
    return path


def test_list_golds_are_every_acceptable_answer_in_verify_and_export(list_golds, tmp_path):
    read = read_inputs([list_golds])
    assert read.records.get_column("answer").to_list() == ["9.6", "(1,2)"]
    assert read.records.get_column("answers").to_list() == [None, ["(1,2)", "(2,1)"]]
    assert "list golds: every item is an acceptable answer" in read.readings[0].adjustments
    r = run("verify", list_golds, "-o", tmp_path / "v", "--checks", "accuracy", "-q")
    assert r.exit_code == 0, r.stderr
    assert shards(tmp_path / "v").get_column("correct").to_list() == [True, True]  # the reference solutions
    r = run("export", list_golds, "--to", "verl", "-o", tmp_path / "x", "-q")
    assert r.exit_code == 0, r.stderr
    truths = [row["reward_model"]["ground_truth"] for row in shards(tmp_path / "x").to_dicts()]
    assert truths == [["9.6"], ["(1,2)", "(2,1)"]]


# 2. A chat template rendered into the user turn (SimpleRL-Zoo, Logic-RL) -------------------------------------


@pytest.fixture
def templated(tmp_path) -> Path:
    rows = [
        {
            "data_source": "simplelr",
            "prompt": [{"role": "user", "content": CHATML.format(q="What is 2 + 3?")}],
            "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": "5"},
            "extra_info": {"index": 0, "question": "What is 2 + 3?"},
        },
        {
            "data_source": "simplelr",
            "prompt": [{"role": "user", "content": CHATML.format(q="What is 4 + 4?")}],
            "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": "8"},
            "extra_info": {"index": 1, "question": None},
        },
    ]
    return parquet(tmp_path / "simplerl.parquet", rows)


def test_a_template_in_the_prompt_never_becomes_the_problem_nor_is_applied_twice(templated, tmp_path):
    read = read_inputs([templated])
    problems = read.records.get_column("problem").to_list()
    assert problems[0] == "What is 2 + 3?"  # the dataset's own clean field
    assert problems[1].startswith("What is 4 + 4?\nPlease reason") and "<|im_" not in problems[1]  # template removed
    said = read.readings[0].adjustments
    assert said["problem from extra_info.question (the prompt holds a chat template)"] == 1
    assert said["chatml chat template removed from the problem"] == 1
    r = run("export", templated, "--to", "verl", "-o", tmp_path / "x", "-q")
    assert r.exit_code == 0, r.stderr
    for row in shards(tmp_path / "x").to_dicts():
        assert "<|im_start|>" not in json.dumps(row["prompt"])


# 3. A structured gold and another ability (Logic-RL) ---------------------------------------------------------


@pytest.fixture
def logic(tmp_path) -> Path:
    quiz = "Two inhabitants, Ann and Bo. Ann says Bo is a knave. Who is a knight?"
    rows = [
        {
            "quiz": quiz,
            "solution": [True, False],
            "data_source": "kk_logic",
            "prompt": [{"role": "user", "content": CHATML.format(q=quiz)}],
            "ability": "logic",
            "reward_model": {
                "style": "rule",
                "ground_truth": {
                    "solution_text_format": "(1) Ann is a knight\n(2) Bo is a knave",
                    "statements": "(('lying', 1),)",
                },
            },
            "extra_info": {"index": 0, "split": "test"},
            "response": "<think>Ann tells the truth.</think> (1) Ann is a knight (2) Bo is a knave",
        }
    ]
    return parquet(tmp_path / "kk.parquet", rows)


def test_a_structured_gold_is_not_judgeable_kept_whole_and_keeps_its_ability(logic, tmp_path):
    read = read_inputs([logic])
    assert read.records.get_column("problem").to_list()[0].startswith("Two inhabitants")  # `quiz`, not the template
    assert read.records.get_column("gold_kind").to_list() == ["structured"]
    r = run("verify", logic, "-o", tmp_path / "v", "--checks", "accuracy")
    assert r.exit_code == 0, r.stderr
    out = shards(tmp_path / "v")
    assert out.get_column("verify_status").to_list() == ["not_judgeable"]  # never pred_unparseable
    assert out.get_column("correct").to_list() == [None]
    assert "not_judgeable" in r.stderr
    r = run("export", logic, "--to", "verl", "-o", tmp_path / "x", "-q")
    assert r.exit_code == 0, r.stderr
    row = shards(tmp_path / "x").row(0, named=True)
    assert row["ability"] == "logic"
    assert row["reward_model"]["ground_truth"]["solution_text_format"].startswith("(1) Ann is a knight")


def test_a_list_of_booleans_is_never_read_as_a_completion(logic, tmp_path):
    frame = pl.read_parquet(logic).drop("response")
    path = parquet(tmp_path / "no_response.parquet", frame.to_dicts())
    r = run("verify", path, "-o", tmp_path / "v", "-q")
    assert r.exit_code == 1
    assert "no completion or solution column" in r.stderr and "Traceback" not in r.stderr


# 4. A float gold (DeepScaleR's AMC JSON: 142.0) --------------------------------------------------------------


def test_a_whole_float_gold_is_the_integer_it_stands_for_and_says_so(tmp_path):
    path = tmp_path / "amc.json"
    path.write_text(json.dumps([{"problem": "Find m + n.", "answer": 142.0}, {"problem": "Find k.", "answer": 2.5}]))
    read = read_inputs([path])
    assert read.records.get_column("answer").to_list() == ["142", "2.5"]
    assert read.readings[0].adjustments["whole-number float golds written as integers (142.0 -> 142)"] == 1
    r = run("export", path, "--to", "verl", "-o", tmp_path / "x")
    assert r.exit_code == 0, r.stderr
    assert [row["reward_model"]["ground_truth"] for row in shards(tmp_path / "x").to_dicts()] == ["142", "2.5"]
    assert "142.0 -> 142" in r.stderr  # the reading, on the terminal


# 5. verl back to verl keeps what verl's agent loop reads -----------------------------------------------------


def test_verl_to_verl_keeps_system_turn_agent_name_and_extra_info(tmp_path):
    question = "Janet has 3 apples and buys 4 more. How many now?"
    rows = [
        {
            "data_source": "openai/gsm8k",
            "agent_name": "tool_agent",
            "prompt": [
                {"role": "system", "content": "You are a math expert. Use the calc tool."},
                {"role": "user", "content": question + " Let's think step by step."},
            ],
            "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": "7"},
            "extra_info": {
                "index": 0,
                "split": "test",
                "question": question,
                "answer": "3 + 4 = 7 #### 7",
                "need_tools_kwargs": True,
                "tools_kwargs": {"calc_reward": {"create_kwargs": {"ground_truth": "7"}}},
                "interaction_kwargs": {"name": "gsm8k", "query": question, "ground_truth": "7"},
            },
        }
    ]
    path = parquet(tmp_path / "gsm8k_tool.parquet", rows)
    r = run("export", path, "--to", "verl", "-o", tmp_path / "x", "-q")
    assert r.exit_code == 0, r.stderr
    row = shards(tmp_path / "x").row(0, named=True)
    assert [t["role"] for t in row["prompt"]] == ["system", "user"]
    assert row["prompt"][1]["content"].endswith("Let's think step by step.")  # the prompt as the file had it
    assert row["agent_name"] == "tool_agent"
    extra = row["extra_info"]
    assert extra["tools_kwargs"]["calc_reward"]["create_kwargs"]["ground_truth"] == "7"
    assert extra["interaction_kwargs"]["name"] == "gsm8k"
    assert (extra["question"], extra["answer"], extra["index"]) == (question, "3 + 4 = 7 #### 7", 0)


# 6. Multi-turn ShareGPT with tool calls (LLaMA-Factory's glaive_toolcall) ------------------------------------


@pytest.fixture
def toolcalls(tmp_path) -> Path:
    conv = [
        {"from": "human", "value": "Find me a recipe with chicken."},
        {"from": "function_call", "value": '{"name": "search_recipes", "arguments": {"ingredients": ["chicken"]}}'},
        {"from": "observation", "value": '{"recipes": ["Chicken stir fry"]}'},
        {"from": "gpt", "value": "Try a chicken stir fry."},
        {"from": "human", "value": "Thanks! And a dessert?"},
        {"from": "gpt", "value": "A fruit salad is quick."},
    ]
    path = tmp_path / "glaive.json"
    path.write_text(json.dumps([{"conversations": conv, "tools": "[]", "system": "You can call tools."}]))
    return path


def test_multi_turn_tool_chats_keep_every_turn_through_export(toolcalls, tmp_path):
    r = run("export", toolcalls, "--to", "messages", "-o", tmp_path / "m", "-q")
    assert r.exit_code == 0, r.stderr
    turns = shards(tmp_path / "m").row(0, named=True)["messages"]
    assert [t["role"] for t in turns] == ["system", "user", "function_call", "tool", "assistant", "user", "assistant"]
    r = run("export", toolcalls, "--to", "sharegpt", "-o", tmp_path / "s", "-q")
    assert r.exit_code == 0, r.stderr
    row = shards(tmp_path / "s").row(0, named=True)
    assert [t["from"] for t in row["conversations"]] == ["human", "function_call", "observation", "gpt", "human", "gpt"]
    assert row["system"] == "You can call tools." and row["tools"] == "[]"


def test_an_unknown_role_names_the_layout_the_column_and_the_role(tmp_path):
    path = tmp_path / "odd.json"
    turns = [{"from": "narrator", "value": "Once"}, {"from": "gpt", "value": "x"}]
    path.write_text(json.dumps([{"conversations": turns}]))
    r = run("stats", path, "-q")
    assert r.exit_code == 1
    assert "layout sharegpt" in r.stderr and "'conversations'" in r.stderr and "'narrator'" in r.stderr


# 7. Typed content parts (LLaMA-Factory v1, OpenAI) -----------------------------------------------------------


def test_typed_parts_are_text_and_a_reasoning_part_is_the_trace(tmp_path):
    messages = [
        {"role": "system", "content": [{"type": "text", "value": "You reason, then answer."}]},
        {"role": "user", "content": [{"type": "text", "value": "What is 6 times 7?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "value": "Six sevens are forty-two."},
                {"type": "text", "value": "The answer is $\\boxed{42}$."},
            ],
        },
    ]
    path = jsonl(tmp_path / "typed.jsonl", [{"messages": messages, "answer": "42"}])
    read = read_inputs([path])
    row = read.records.row(0, named=True)
    assert row["problem"] == "What is 6 times 7?"
    assert row["completion"] == "<think>\nSix sevens are forty-two.\n</think>\n\nThe answer is $\\boxed{42}$."
    r = run("verify", path, "-o", tmp_path / "v", "--checks", "accuracy", "-q")
    assert r.exit_code == 0, r.stderr
    assert shards(tmp_path / "v").get_column("correct").to_list() == [True]


# 8. s1K-1.1 with gemini_* and deepseek_* traces --------------------------------------------------------------


def test_s1k_11_reads_the_chosen_traces_never_the_reference_solution(tmp_path):
    rows = [
        {
            "question": "What is 3 + 9?",
            "solution": "Adding gives 12.",
            "answer": "12",
            "gemini_thinking_trajectory": "Gemini adds.",
            "gemini_attempt": "\\boxed{12}",
            "deepseek_thinking_trajectory": "DeepSeek adds.",
            "deepseek_attempt": "\\boxed{12}",
        }
    ]
    path = parquet(tmp_path / "s1k11.parquet", rows)
    deepseek = read_inputs([path]).records.row(0, named=True)
    assert "DeepSeek adds." in deepseek["completion"] and deepseek["answer"] == "12"
    gemini = read_inputs([path], trace_source="gemini").records.row(0, named=True)
    assert "Gemini adds." in gemini["completion"]
    gemini_only = parquet(tmp_path / "gemini.parquet", [{k: v for k, v in rows[0].items() if "deepseek" not in k}])
    assert "Gemini adds." in read_inputs([gemini_only]).records.row(0, named=True)["completion"]


# 9. HuatuoGPT-o1 and a multiple-choice set with its options apart --------------------------------------------


def test_huatuo_o1_and_mcq_with_options(tmp_path):
    huatuo = jsonl(
        tmp_path / "medical_o1.jsonl",
        [
            {
                "Question": "A patient has a fever. What next?",
                "Complex_CoT": "Consider infection first.",
                "Response": "Order a blood culture.",
            }
        ],
    )
    read = read_inputs([huatuo])
    assert read.sources[0]["layout"] == "huatuo-o1"
    row = read.records.row(0, named=True)
    assert row["problem"] == "A patient has a fever. What next?"
    assert row["completion"].startswith("<think>\nConsider infection first.\n</think>")
    r = run("export", huatuo, "--to", "sharegpt", "-o", tmp_path / "s", "-q")
    assert r.exit_code == 0 and shards(tmp_path / "s").height == 1, r.stderr
    mcq = jsonl(
        tmp_path / "medqa.jsonl",
        [
            {
                "question": "Which vitamin prevents scurvy?",
                "options": {"A": "Vitamin A", "B": "Vitamin C", "C": "Vitamin D"},
                "answer_idx": "B",
                "answer": "Vitamin C",
            }
        ],
    )
    row = read_inputs([mcq]).records.row(0, named=True)
    assert row["problem"] == "Which vitamin prevents scurvy?\nA. Vitamin A\nB. Vitamin C\nC. Vitamin D"
    assert row["answer"] == "B"


# 10. ORZ, generation results keyed by problem, several responses per problem ---------------------------------


def test_orz_both_shapes(tmp_path):
    evals = tmp_path / "aime.json"
    evals.write_text(
        json.dumps([{"prompt": [{"from": "user", "value": "Find the remainder of 7 by 4."}], "final_answer": "3"}])
    )
    train = tmp_path / "orz_math.json"
    train.write_text(
        json.dumps(
            [
                [
                    {"from": "human", "value": "Diameter AB has a 2-digit length. Find it."},
                    {"from": "assistant", "ground_truth": {"value": "65"}},
                ]
            ]
        )
    )
    for path, problem, gold in (
        (evals, "Find the remainder of 7 by 4.", "3"),
        (train, "Diameter AB has a 2-digit length. Find it.", "65"),
    ):
        read = read_inputs([path])
        assert read.sources[0]["layout"] == "orz"
        assert read.records.select("problem", "answer").row(0) == (problem, gold)


def test_a_dict_keyed_by_problem_with_keyed_responses_is_one_row_per_response(tmp_path):
    results = {
        "What is 1 + 1?": {
            "problem": "What is 1 + 1?",
            "answer": "2",
            "responses": {
                "0.7": {"content": "It is \\boxed{2}.", "correctness": True},
                "1.0": {"content": "It is \\boxed{3}.", "correctness": False},
            },
        },
        "What is 2 + 2?": {
            "problem": "What is 2 + 2?",
            "answer": "4",
            "responses": {"0.7": {"content": "It is \\boxed{4}.", "correctness": True}},
        },
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    read = read_inputs([path])
    assert read.sources[0]["layout"] == "responses"
    rec = read.records
    assert rec.select("problem", "response_key", "answer").rows() == [
        ("What is 1 + 1?", "0.7", "2"),
        ("What is 1 + 1?", "1.0", "2"),
        ("What is 2 + 2?", "0.7", "4"),
    ]
    r = run("verify", path, "-o", tmp_path / "v", "--checks", "accuracy", "--json", "-q")
    assert r.exit_code == 0, r.stderr
    assert shards(tmp_path / "v").get_column("correct").to_list() == [True, False, True]
    assert json.loads(r.stdout)["stats"]["dataset_verdicts"]["correctness"]["agreement"] == 1.0
    multi = jsonl(
        tmp_path / "multi.jsonl",
        [
            {
                "question": "What is 5 - 2?",
                "correct_answer": "3",
                "responses": {"greedy,512": {"text": "\\boxed{3}"}, "sample,1024": {"text": "\\boxed{4}"}},
            }
        ],
    )
    rec = read_inputs([multi]).records
    assert rec.select("response_key", "completion", "answer").rows() == [
        ("greedy,512", "\\boxed{3}", "3"),
        ("sample,1024", "\\boxed{4}", "3"),
    ]


def test_responses_in_one_column_per_method_and_an_a_line_final_answer(tmp_path):
    # OpenAI's grade-school-math example solutions: one struct column per method, each ending on "A: N"
    row = {
        "question": "Ann has 2 cats and gets 3 more. How many cats?",
        "ground_truth": "Ann has 2 + 3 = <<2+3=5>>5 cats.\nA: 5",
        "small_model": {"is_correct": False, "solution": "She has 2 * 3 = <<2*3=6>>6 cats.\nA: 6"},
        "large_model": {"is_correct": True, "solution": "She has 2 + 3 = <<2+3=5>>5 cats.\nA: 5"},
    }
    path = jsonl(tmp_path / "example_model_solutions.jsonl", [row])
    read = read_inputs([path])
    assert read.records.select("response_key", "answer").rows() == [("small_model", "5"), ("large_model", "5")]
    r = run("verify", path, "-o", tmp_path / "v", "--checks", "accuracy", "--json", "-q")
    assert r.exit_code == 0, r.stderr
    assert shards(tmp_path / "v").get_column("verify_status").to_list() == ["incorrect", "correct"]
    assert json.loads(r.stdout)["stats"]["dataset_verdicts"]["correctness"]["agreement"] == 1.0


# 11. Tests kept elsewhere (LiveCodeBench's {fname, md5}) -----------------------------------------------------


def test_a_pointer_to_tests_is_flagged_and_never_used_as_tests(tmp_path):
    path = jsonl(
        tmp_path / "lcb.jsonl",
        [
            {
                "question_id": "abc365_b",
                "prompt": "Read N and print it.",
                "tests": {"fname": "559.json", "md5": "ec602b89c01ec3f6"},
            }
        ],
    )
    read = read_inputs([path])
    assert "tests" not in read.records.columns and "tests_pointer" in read.records.columns
    assert any("pointers to tests kept elsewhere" in a for a in read.readings[0].adjustments)
    r = run("export", path, "--to", "verl", "-o", tmp_path / "x", "-q")
    assert r.exit_code == 0, r.stderr
    assert shards(tmp_path / "x", "removed").get_column("drop_reason").to_list() == ["no_gold_answer"]


# 12. Easy and hard versions of one contest problem -----------------------------------------------------------


def test_code_dedup_keeps_versions_with_different_tests_apart(tmp_path):
    statement = (
        "You are given an array of n integers. Find the number of pairs i < j such that a_i + a_j is "
        "even. Print the answer modulo 998244353. Input: the first line holds n, the second the array. "
    )
    easy = {"input_output": json.dumps({"inputs": ["2\n1 3\n"], "outputs": ["1\n"]})}
    hard = {"input_output": json.dumps({"inputs": ["3\n1 3 5\n"], "outputs": ["3\n"]})}
    rows = [
        {"problem": statement + "Constraints: n <= 1000.", **easy},
        {"problem": statement + "Constraints: n <= 200000.", **hard},
        {"problem": statement + "Constraints: n <= 1000!", **easy},
    ]  # a true copy of the easy version
    path = jsonl(tmp_path / "code.jsonl", rows)
    r = run("dedup", path, "-o", tmp_path / "d", "-q")
    assert r.exit_code == 0, r.stderr
    kept = shards(tmp_path / "d").get_column("problem").to_list()
    assert kept == [rows[0]["problem"], rows[1]["problem"]]


# 13. Whether a gold parses never depends on the prediction ---------------------------------------------------


def test_a_gold_math_verify_reads_only_as_text_is_judged_the_same_way_for_every_prediction(tmp_path):
    rows = [
        {"problem": "Simplify.", "answer": "\\sin^2t", "completion": f"So the answer is $\\boxed{{{p}}}$."}
        for p in ("\\sin^2 t", "\\sin^2 x", "\\cos^2 t")
    ]
    path = jsonl(tmp_path / "sin.jsonl", rows)
    r = run("verify", path, "-o", tmp_path / "v", "--checks", "accuracy", "--json", "-q")
    assert r.exit_code == 0, r.stderr
    out = shards(tmp_path / "v")
    assert out.get_column("verify_status").to_list() == ["correct", "incorrect", "incorrect"]
    assert json.loads(r.stdout)["stats"]["accuracy"] == pytest.approx(1 / 3)


# 14. Messages that say what is wrong --------------------------------------------------------------------------


def test_a_file_of_problems_only_is_told_its_solution_column_is_empty(tmp_path):
    path = jsonl(tmp_path / "problems.jsonl", [{"problem": "What is 1 + 1?", "answer": "2"}])
    r = run("verify", path, "-o", tmp_path / "v", "-q")
    assert r.exit_code == 1
    assert "'solution' is empty in every row" in r.stderr


def test_a_file_with_no_gold_at_all_is_told_so_not_that_golds_do_not_parse(tmp_path):
    path = jsonl(tmp_path / "nogold.jsonl", [{"problem": "What is 1 + 1?", "completion": "\\boxed{2}"}])
    r = run("verify", path, "-o", tmp_path / "v", "--checks", "accuracy")
    assert r.exit_code == 0, r.stderr
    assert shards(tmp_path / "v").get_column("verify_status").to_list() == ["no_gold"]
    assert "no gold answer" in r.stderr and "--answer-field" in r.stderr
    assert "cannot be parsed" not in r.stderr


def test_layout_checks_the_whole_mapping_and_suggests_the_one_that_fits(tmp_path):
    rlhf = jsonl(tmp_path / "rlhf.jsonl", [{"input": "What is 2 + 2?", "label": "4", "datasource": "t"}])
    read = read_inputs([rlhf], layout="openrlhf")  # was always refused
    assert read.records.select("problem", "answer").row(0) == ("What is 2 + 2?", "4")
    math = jsonl(tmp_path / "math.jsonl", [{"problem": "What is 2 + 2?", "solution": "\\boxed{4}"}])
    r = run("stats", math, "--layout", "limo", "-q")
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert "--layout limo needs column(s) question" in r.stderr and "fit --layout math" in r.stderr


# 15. Plausible files that are not the layout their columns suggest ------------------------------------------


def test_detection_false_positives(tmp_path):
    cases = {  # file -> (its rows, the problem and gold a careful reader takes)
        "reward_model_named.jsonl": (
            [{"prompt": "What is 3 + 3?", "answer": "6", "reward_model": "Skywork-RM-8B"}],
            ("What is 3 + 3?", "6"),
        ),
        "reasoning_no_gt.jsonl": (
            [
                {
                    "problem": "What is 5 + 5?",
                    "deepseek_reasoning": "Five and five.",
                    "deepseek_solution": "\\boxed{10}",
                    "answer": "10",
                }
            ],
            ("What is 5 + 5?", "10"),
        ),
        "alpaca_label.jsonl": (
            [{"instruction": "Compute 2 + 7.", "input": "", "output": "9", "label": "9"}],
            ("Compute 2 + 7.", "9"),
        ),
        "s1k_answer.jsonl": (
            [
                {
                    "question": "What is 4 * 4?",
                    "solution": "Four fours: $\\boxed{16}$, i.e. 16.",
                    "answer": "16",
                    "thinking_trajectories": ["Multiply."],
                    "attempt": "\\boxed{16}",
                }
            ],
            ("What is 4 * 4?", "16"),
        ),
        "worked_answer.jsonl": (
            [
                {
                    "problem": "Tom has 3 pens and buys 2 more. How many?",
                    "answer": "Tom starts with 3 pens. He buys 2 more, so he has 3 + 2 = 5.\n"
                    "The answer is $\\boxed{5}$.",
                }
            ],
            ("Tom has 3 pens and buys 2 more. How many?", "5"),
        ),
        "prompt_beside_question.jsonl": (
            [
                {
                    "question": "What is 9 - 4?",
                    "prompt": "Solve carefully: What is 9 - 4?",
                    "completion": "\\boxed{5}",
                    "answer": "5",
                }
            ],
            ("What is 9 - 4?", "5"),
        ),
    }
    for name, (rows, expected) in cases.items():
        read = read_inputs([jsonl(tmp_path / name, rows)])
        assert read.records.select("problem", "answer").row(0) == expected, (name, read.readings[0].line())


def test_every_step_prints_and_records_its_reading(templated, tmp_path):
    r = run("dedup", templated, "-o", tmp_path / "s")
    assert r.exit_code == 0, r.stderr
    assert "Reading " in r.stderr and "layout verl" in r.stderr and "problem <- extra_info.question" in r.stderr
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    reading = manifest["inputs"][0]["reading"]
    assert reading["layout"] == "verl" and reading["roles"]["gold"].startswith("reward_model.ground_truth")
    assert reading["samples"]["problem"][0] == "What is 2 + 3?"


def test_inspect_shows_layout_roles_samples_and_adjustments(templated, list_golds):
    r = run("inspect", templated, list_golds, "--json")
    assert r.exit_code == 0, r.stderr
    first, second = json.loads(r.stdout)
    assert (first["layout"], first["why"]) == ("verl", "columns prompt, reward_model")
    assert first["samples"]["problem"] == [
        "What is 2 + 3?",
        "What is 4 + 4?\\nPlease reason step by step, and put your final answer within \\boxed{}.",
    ]
    assert second["samples"]["gold (all)"] == ['["(1,2)", "(2,1)"]']
    r = run("inspect", templated)
    assert r.exit_code == 0 and "chatml chat template removed" in r.stderr
    assert "prompt[last user]" in r.stderr  # where the second row's problem came from, shown as written


def test_a_chat_column_mixing_role_content_and_from_value_turns_keeps_both(tmp_path):
    """Before: the from/value rows of a mixed column read as role None and the whole file was refused."""
    rows = [
        {
            "id": "a",
            "messages": [{"role": "user", "content": "What is 1+1?"}, {"role": "assistant", "content": "\\\\boxed{2}"}],
            "answer": "2",
        },
        {
            "id": "b",
            "messages": [{"from": "human", "value": "What is 2+2?"}, {"from": "gpt", "value": "\\\\boxed{4}"}],
            "answer": "4",
        },
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    records = read_inputs([path]).records
    assert records.get_column("problem").to_list() == ["What is 1+1?", "What is 2+2?"]
