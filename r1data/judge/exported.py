"""r1data's judge behind the reward interfaces of the RL stacks data is exported to, so a model is trained against
the verdicts that curated its data. `r1data export` writes a small `reward.py` beside the data that builds a
`Scorer` with the reading the curation used (judge/inputs.py) and exposes:

- verl: `compute_score(data_source, solution_str, ground_truth, extra_info=None)` -> {"score", "judge_error", ...}
- OpenRLHF: `reward_func(queries, prompts, labels)` -> {"rewards", "scores", "extra_logs"}
- TRL: `accuracy(completions, **columns)` -> list of 1.0 / 0.0 / None (TRL leaves None out)

A timeout or a crash of the judge is never a silent 0: it is counted (`judge_error` in verl's extra info, OpenRLHF's
extra_logs, None for TRL), and a run of completions that all fail to be judged stops training with one line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from r1data.errors import R1DataError
from r1data.judge.inputs import Reading, golds_from_columns, judge_completions
from r1data.judge.verdict import CRASH, JUDGE_ERROR, TIMEOUT

ERRORS = (TIMEOUT, CRASH, JUDGE_ERROR)
STOP_AFTER = 64  # consecutive judge errors (a batch's worth) before the run is stopped


class JudgeFailing(R1DataError, RuntimeError):
    """Every completion of a batch failed to be judged: training on it would learn from noise."""


class Scorer:
    """One judge, built lazily (the reward module is imported in every worker), with the curation's reading."""

    def __init__(self, reading: dict | Reading | None = None, timeout: float | None = None) -> None:
        self.reading = reading if isinstance(reading, Reading) else Reading.from_dict(reading)
        self.timeout = timeout
        self.errors = 0  # judge errors so far
        self.judged = 0
        self._failing = 0  # consecutive errors
        self._judge: Any = None

    @property
    def judge(self) -> Any:
        if self._judge is None:
            from r1data.judge import Judge

            kwargs = {"timeout": self.timeout} if self.timeout else {}
            self._judge = Judge(lenient=self.reading.lenient, **kwargs)
        return self._judge

    def verdicts(
        self,
        completions: Sequence[str],
        truths: Sequence[Any],
        problems: Sequence[str | None] | None = None,
        tests: Sequence[Any] | None = None,
    ) -> list:
        """Verdicts of completions against their ground truths (a list of acceptable answers is one gold)."""
        n = len(completions)
        columns = {
            "answer": [t[0] if isinstance(t, list | tuple) and t else t for t in truths],
            "answers": [list(t) if isinstance(t, list | tuple) else None for t in truths],
        }
        if tests is None:  # a code row's ground truth is its tests (JSON, as export writes them)
            tests = [t if _is_tests(t) else None for t in truths]
        if any(t is not None for t in tests):
            columns["tests"] = tests
        golds = golds_from_columns(n, columns)
        out = judge_completions(self.judge, golds, list(completions), self.reading, problems=problems)
        self._count(out)
        return out

    def _count(self, verdicts: list) -> None:
        failed = [v for v in verdicts if v.status in ERRORS]
        self.judged += len(verdicts)
        self.errors += len(failed)
        if failed:
            print(
                f"r1data reward: {len(failed)} of {len(verdicts)} completion(s) could not be judged "
                f"({failed[0].status}: {failed[0].detail or 'no detail'}); {self.errors} so far",
                file=sys.stderr,
            )
        self._failing = self._failing + len(failed) if len(failed) == len(verdicts) else 0
        if verdicts and len(failed) == len(verdicts) and (len(verdicts) > 1 or self._failing >= STOP_AFTER):
            raise JudgeFailing(
                f"r1data reward: the last {self._failing} completion(s) all failed to be judged "
                f"({failed[0].status}); stopping rather than training on rewards of 0"
            )

    # --- verl ------------------------------------------------------------------------------------------------------
    def verl(self, solution_str: str, ground_truth: Any, extra_info: dict | None = None) -> dict:
        problem = None
        if isinstance(extra_info, dict):
            problem = extra_info.get("question") or extra_info.get("problem")
        v = self.verdicts([solution_str], [_truth(ground_truth)], [problem])[0]
        error = v.status in ERRORS
        return {
            "score": float(v.score or 0.0),
            "acc": float(bool(v.correct)),
            "judge_error": float(error),
            "unjudgeable": float(v.score is None and not error),
        }

    # --- OpenRLHF --------------------------------------------------------------------------------------------------
    def openrlhf(self, queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any]) -> dict:
        responses = [q[len(p) :] if q.startswith(p) else q for q, p in zip(queries, prompts, strict=True)]
        verdicts = self.verdicts(responses, [_truth(x) for x in labels], list(prompts))
        rewards = [float(v.score or 0.0) for v in verdicts]
        logs = {
            "judge_errors": float(sum(v.status in ERRORS for v in verdicts)),
            "unjudgeable": float(sum(v.score is None and v.status not in ERRORS for v in verdicts)),
        }
        try:
            import torch

            return {
                "rewards": torch.tensor(rewards),
                "scores": torch.tensor(rewards),
                "extra_logs": {k: torch.tensor(v) for k, v in logs.items()},
            }
        except ImportError:
            return {"rewards": rewards, "scores": rewards, "extra_logs": logs}

    # --- TRL -------------------------------------------------------------------------------------------------------
    def trl(
        self,
        completions: Sequence[Any],
        answer: Sequence[Any],
        problem: Sequence[str] | None = None,
        prompts: Sequence[Any] | None = None,
        tests: Sequence[Any] | None = None,
    ) -> list:
        from r1data.judge.inputs import problems_from_columns
        from r1data.ops.completions import completion_text

        n = len(completions)
        texts = [completion_text(c) for c in completions]
        problems = problems_from_columns(n, {"problem": problem, "prompts": prompts})
        verdicts = self.verdicts(texts, list(answer), problems, None if tests is None else list(tests))
        return [v.score for v in verdicts]


def _is_tests(value: Any) -> bool:
    """A ground truth that is a code problem's tests: JSON an r1data test reader turns into test cases."""
    if not isinstance(value, str) or value.lstrip()[:1] not in ("{", "["):
        return False
    from r1data.ops.code import suites_for

    suite = suites_for([value])[0]
    return suite is not None and bool(suite.cases)


def _truth(value: Any) -> Any:
    """A ground truth as an exporter wrote it: a string, a list (numpy arrays from parquet), or JSON of one."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        import json

        try:
            loaded = json.loads(value)
        except ValueError:
            return value
        if isinstance(loaded, list) and all(isinstance(x, str | int | float) for x in loaded):
            return [str(x) for x in loaded]
    return value


TEMPLATES = {
    "verl": '''
def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """verl's custom reward: r1data's verdict (score 1.0 / 0.0) with judge_error and unjudgeable flags."""
    return _scorer.verl(solution_str, ground_truth, extra_info)
''',
    "openrlhf": '''
def reward_func(queries, prompts, labels, **kwargs):
    """OpenRLHF's custom reward function (--remote_rm_url reward.py): r1data's verdicts."""
    return _scorer.openrlhf(queries, prompts, labels)
''',
    "trl": '''
def accuracy(completions, answer, problem=None, prompts=None, tests=None, **kwargs):
    """A TRL reward function (GRPOTrainer(reward_funcs=[accuracy])): 1.0 / 0.0, None when it cannot judge."""
    return _scorer.trl(completions, answer, problem, prompts, tests)
''',
}


def reward_module(target: str, reading: Reading) -> str:
    """The text of the `reward.py` that `r1data export --to TARGET` writes beside the data."""
    return (
        f'"""r1data\'s judge as {target}\'s reward function, written by `r1data export --to {target}`: the same\n'
        'verdicts as the curation steps (judge/exported.py). Needs r1data installed where the reward runs."""\n\n'
        "from r1data.judge.exported import Scorer\n\n"
        f"READING = {reading.to_dict()!r}  # how the curation read the traces\n"
        "_scorer = Scorer(READING)\n" + TEMPLATES[target]
    )


USAGE = {
    "verl": "custom_reward_function.path={path} custom_reward_function.name=compute_score",
    "openrlhf": "--remote_rm_url {path}",
    "trl": "from reward import accuracy; GRPOTrainer(..., reward_funcs=[accuracy])  (or r1data train grpo)",
}
