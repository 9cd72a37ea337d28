"""Hand-written rows in the published layouts of the public reasoning datasets: column names, types and nesting
as their cards document them (r1data/layouts.py cites them), with values written for these tests. Each sample
holds a trace that reaches its gold answer and one that does not (or is cut off)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

SKY_T1 = (
    "Your role as an assistant involves thoroughly exploring questions through a systematic long thinking "
    "process before providing the final precise and accurate solutions."
)


def bespoke(thought: str, solution: str | None) -> str:
    """A Bespoke-Stratos / OpenThoughts trace; solution None: cut off inside the thought."""
    head = f"<|begin_of_thought|>\n\n{thought}\n\n"
    if solution is None:
        return head
    return f"{head}<|end_of_thought|>\n\n<|begin_of_solution|>\n\n{solution}\n\n<|end_of_solution|>"


def think(thought: str, answer: str) -> str:
    return f"<think>\n{thought}\n</think>\n\n{answer}"


# layout -> (rows, file name); each row's expectations: (problem, gold, r1data's verdict of its trace(s))
SAMPLES: dict[str, tuple[list[dict], str]] = {
    "sharegpt": (
        [
            {
                "system": SKY_T1,
                "conversations": [
                    {"from": "user", "value": "Return your final response within \\boxed{}. What is 2 + 3?"},
                    {
                        "from": "assistant",
                        "value": bespoke("Two plus three.\n\nThat is five.", "The sum is \\boxed{5}."),
                    },
                ],
            },
            {
                "system": SKY_T1,
                "conversations": [
                    {"from": "user", "value": "Return your final response within \\boxed{}. What is 4 + 4?"},
                    {"from": "assistant", "value": bespoke("Four and four, so eight, or maybe", None)},
                ],
            },
        ],
        "openthoughts_114k.jsonl",
    ),
    "openthoughts-metadata": (
        [
            {
                "problem": "What is 6 times 7?",
                "deepseek_reasoning": "Six sevens are forty-two.",
                "deepseek_solution": "The product is \\boxed{42}.",
                "ground_truth_solution": "$6 \\cdot 7 = \\boxed{42}$",
                "domain": "math",
                "source": "numina_math",
                "test_cases": None,
                "starter_code": None,
            },
            {
                "problem": "Print the sum of two integers read from one line.",
                "deepseek_reasoning": "Read, split, add.",
                "deepseek_solution": "```python\na, b = map(int, input().split())\nprint(a + b)\n```",
                "ground_truth_solution": None,
                "domain": "code",
                "source": "apps",
                "test_cases": json.dumps({"inputs": ["1 2\n"], "outputs": ["3\n"]}),
                "starter_code": "",
            },
        ],
        "openthoughts_metadata.jsonl",
    ),
    "openr1-math": (
        [
            {
                "problem": "Compute 10 - 4.",
                "solution": "$10 - 4 = 6$, so the answer is $\\boxed{6}$.",
                "answer": "6",
                "problem_type": "Algebra",
                "question_type": "math-word-problem",
                "source": "olympiads",
                "uuid": "0c4f7a1e-0000-4000-8000-000000000001",
                "is_reasoning_complete": [True, True],
                "generations": [
                    think("Ten take four.", "$\\boxed{6}$"),
                    think("Ten minus four is five.", "$\\boxed{5}$"),
                ],
                "correctness_math_verify": [True, False],
                "correctness_llama": None,
                "finish_reasons": ["stop", "stop"],
                "correctness_count": 1,
                "messages": [
                    {"role": "user", "content": "Compute 10 - 4."},
                    {"role": "assistant", "content": think("Ten take four.", "$\\boxed{6}$")},
                ],
            },
        ],
        "openr1_math.parquet",
    ),
    "am-distilled": (
        [
            {
                "messages": [
                    {
                        "role": "user",
                        "content": "How many sides does a hexagon have?",
                        "info": {"source": "natural_reasoning", "reference_answer": "6", "test_case": None},
                    },
                    {
                        "role": "assistant",
                        "content": "<think>Hex means six.</think> <answer>A hexagon has \\boxed{6} sides.</answer>",
                        "info": {
                            "think_content": "Hex means six.",
                            "answer_content": "A hexagon has \\boxed{6} sides.",
                        },
                    },
                ]
            },
            {
                "messages": [
                    {
                        "role": "user",
                        "content": "What is 3 squared?",
                        "info": {"source": "natural_reasoning", "reference_answer": "9", "test_case": None},
                    },
                    {
                        "role": "assistant",
                        "content": "<think>Three times three.</think> <answer>\\boxed{6}</answer>",
                        "info": {"think_content": "Three times three.", "answer_content": "\\boxed{6}"},
                    },
                ]
            },
        ],
        "am_0.5M.jsonl",
    ),
    "s1k": (
        [
            {
                "solution": "The answer is $\\boxed{12}$.",
                "question": "What is 3 times 4?",
                "cot_type": "math",
                "source_type": "qq8933/AIME_1983_2024",
                "metadata": "{'Year': 2024}",
                "cot": None,
                "thinking_trajectories": ["Three fours make twelve."],
                "attempt": "So the product is $\\boxed{12}$.",
            },
        ],
        "s1k.parquet",
    ),
    "limo": (
        [
            {
                "question": "What is 9 + 1?",
                "solution": "Nine and one more is ten.\n\nThe answer is $\\boxed{10}$.",
                "answer": "10",
            },
        ],
        "limo.jsonl",
    ),
    "deepmath": (
        [
            {
                "question": "Evaluate 2^5.",
                "final_answer": "32",
                "difficulty": 5.0,
                "topic": "Mathematics -> Algebra",
                "r1_solution_1": "Two to the fifth is thirty-two.\n</think>\n\n$\\boxed{32}$",
                "r1_solution_2": "Doubling five times gives 32.\n</think>\n\n$\\boxed{32}$",
                "r1_solution_3": "Maybe sixteen.\n</think>\n\n$\\boxed{16}$",
            },
        ],
        "deepmath.parquet",
    ),
    "openmathreasoning": (
        [
            {
                "expected_answer": "7",
                "problem_type": "has_answer_extracted",
                "problem_source": "aops_c4_high_school_math",
                "generation_model": "DeepSeek-R1",
                "pass_rate_72b_tir": "0.5",
                "problem": "What is 14 divided by 2?",
                "generated_solution": think("Half of fourteen is seven.", "The answer is $\\boxed{7}$."),
                "inference_mode": "cot",
            },
        ],
        "openmathreasoning.jsonl",
    ),
    "numina": (
        [
            {
                "source": "synthetic_math",
                "problem": "What is 5 + 5?",
                "solution": "Adding, $5 + 5 = \\boxed{10}$.",
                "messages": [
                    {"content": "What is 5 + 5?", "role": "user"},
                    {"content": "Adding, $5 + 5 = \\boxed{10}$.", "role": "assistant"},
                ],
            },
        ],
        "numina_cot.jsonl",
    ),
    "verl": (
        [
            {
                "data_source": "openai/gsm8k",
                "prompt": [
                    {
                        "role": "user",
                        "content": 'What is 8 + 9? Let\'s think step by step and output the final answer after "####".',
                    }
                ],
                "ability": "math",
                "reward_model": {"style": "rule", "ground_truth": "17"},
                "extra_info": {
                    "split": "train",
                    "index": 0,
                    "answer": "8 + 9 = 17 #### 17",
                    "question": "What is 8 + 9?",
                },
            },
        ],
        "verl.parquet",
    ),
    "trl-messages": (
        [
            {
                "messages": [
                    {"role": "user", "content": "What is 1 + 1?"},
                    {"role": "assistant", "content": think("One and one.", "\\boxed{2}")},
                ]
            },
        ],
        "messages.jsonl",
    ),
    "trl-prompt-completion": (
        [
            {
                "prompt": [{"role": "user", "content": "What is 2 + 2?"}],
                "completion": [{"role": "assistant", "content": think("Two twos.", "\\boxed{4}")}],
            },
        ],
        "prompt_completion.jsonl",
    ),
}


def write_samples(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for layout, (rows, name) in SAMPLES.items():
        path = folder / name
        if name.endswith(".parquet"):
            pl.DataFrame(rows).write_parquet(path)
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths[layout] = path
    return paths
