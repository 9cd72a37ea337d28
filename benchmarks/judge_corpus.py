"""The real labelled judge corpus: model completions from evaluation outputs committed in public repositories, each
labelled correct or incorrect against its gold (tests/data/real/judge_labels.jsonl; rules in
tests/data/real/judge_label_rules.md).

The completions are not committed here (fetched public data stays out of the repository): they are JSONL files under
$R1DATA_REAL_FILES/judge (or ../shared/real/judge), one object per completion with id, repo, commit, path, row,
model, family, style, problem, gold, completion and recorded_verdict. The labels name each completion by id.

    python benchmarks/judge_corpus.py build --mirrors DIR --out DIR  # read every labelled completion from its repo
    python benchmarks/judge_corpus.py grade             # every grader's verdict per completion -> DIR/grades.jsonl
    python benchmarks/judge_corpus.py disputes OUT.jsonl  # the completions the graders disagree on, blind: no verdicts
    python benchmarks/judge_corpus.py labels READ.jsonl   # unanimous verdicts + careful readings -> the labels file

A completion every grader calls the same is labelled that (unanimous); every other one is labelled by reading it
(helpers who see the problem, the gold and the completion, never a grader's verdict).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "real" / "judge_labels.jsonl"
GRADERS = ("r1data", "r1data_lenient", "math_verify", "recorded")


def corpus_dir() -> Path:
    for candidate in (os.environ.get("R1DATA_REAL_FILES"), ROOT.parent / "shared" / "real"):
        if candidate and (Path(candidate) / "judge").is_dir():
            return Path(candidate) / "judge"
    sys.exit("the judge corpus is not here: put its JSONL files under $R1DATA_REAL_FILES/judge or ../shared/real/judge")


def load() -> list[dict]:
    rows, seen = [], set()
    for path in sorted(p for p in corpus_dir().glob("*.jsonl") if not p.name.startswith((".", "read_"))):
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                if row["id"] in seen:
                    raise SystemExit(f"{path}: id {row['id']} appears twice")
                seen.add(row["id"])
                rows.append(row)
    return rows


def grade(rows: list[dict], workers: int | None = None) -> list[dict]:
    """Per completion: each grader's verdict as True (correct), False, or None (cannot judge)."""
    from math_verify import parse, verify

    from r1data.judge import Judge
    from r1data.ops.completions import final_answer_text, gold_text

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    golds, completions = [r["gold"] for r in rows], [r["completion"] for r in rows]
    problems = [r["problem"] for r in rows]
    out = [{"id": r["id"], "recorded": r.get("recorded_verdict")} for r in rows]
    for name, lenient in (("r1data", False), ("r1data_lenient", True)):
        with Judge(workers=workers, lenient=lenient) as judge:
            for o, v in zip(out, judge.verify(golds, completions, problems=problems), strict=True):
                o[name] = v.correct
                o[f"{name}_status"] = v.status
    for o, r in zip(out, rows, strict=True):
        try:
            o["math_verify"] = bool(verify(parse(gold_text(r["gold"])), parse(final_answer_text(r["completion"]))))
        except Exception:  # noqa: BLE001 - math-verify's own failure is its verdict here
            o["math_verify"] = None
    return out


def disagree(g: dict) -> bool:
    said = {g[k] for k in GRADERS if g.get(k) is not None}
    return len(said) > 1 or not said


# --- rebuilding the corpus from git copies of its repositories -------------------------------------------------

LETTERS = "ABCDEFGHIJKLMNOP"


def _with_options(question: str, options: list[str]) -> str:
    return question.rstrip() + "\n\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))


def _as_list(value) -> list:
    import ast

    return value if isinstance(value, list) else ast.literal_eval(value)


def _zeroeval(item: dict, sample) -> tuple[str, str, str, None]:
    """yuchenlin/ZeroEval result_dirs: the model's raw output (a JSON object with reasoning and answer)."""
    completion = _as_list(item["output"])[0]
    if "choices" in item:  # mmlu-redux: the gold is the letter of the correct choice
        choices = _as_list(item["choices"])
        gold = LETTERS[choices.index(item["correct_answer"])]
        return _with_options(item["question"], choices), gold, completion, None
    if "problem" in item:  # math-l5
        return item["problem"], item["answer"], completion, None
    return item["question"], item["answer"].lstrip("# ").strip(), completion, None  # gsm: "# 92"


def _orz_eval(item: dict, sample) -> tuple[str, str, str, bool]:
    """Open-Reasoner-Zero evals/*_responses.json: the R1-Zero prompt ends in "Assistant: <think>"."""
    prompt = item["prompt"]
    problem = prompt.split("User:", 1)[-1].rsplit("Assistant:", 1)[0].strip() if "User:" in prompt else prompt
    return problem, item["expected"], item["raw_response"], str(item["is_match"]) == "True"


def _prm800k(item: dict, sample) -> tuple[str, str, str, bool]:
    rm = item["rm_eval"]
    return rm["question"], rm["gt_answer"], rm["response"], str(rm["iscorrect"]) == "True"


GSM_SAMPLES = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")


def _gsm_examples(item: dict, sample) -> tuple[str, str, str, bool]:
    solution = item[GSM_SAMPLES[sample]]
    gold = item["ground_truth"].rsplit("A:", 1)[-1].strip()
    return item["question"], gold, solution["solution"], bool(solution["is_correct"])


def _xtuner(item: dict, sample) -> tuple[str, str, str, bool]:
    prompt = item["prompt"].split("<|im_start|>user\n", 1)[-1].split("<|im_end|>", 1)[0]
    return prompt, item["label"], item["response"], float(item["reward"]) > 0


def _tora(item: dict, sample) -> tuple[str, str, str, bool]:
    pred = _as_list(item["pred"])[0]
    try:
        recorded = abs(float(str(pred).replace(",", "")) - float(str(item["gt"]).replace(",", ""))) < 1e-4
    except ValueError:
        recorded = str(pred).strip() == str(item["gt"]).strip()
    return item["question"], item["gt"], _as_list(item["code"])[0], recorded


def _mmlu_pro(item: dict, sample) -> tuple[str, str, str, bool]:
    completion = item.get("generated_text") or item.get("model_outputs") or item.get("response") or ""
    problem = _with_options(item["question"], _as_list(item["options"]))
    return problem, item["answer"], completion, item.get("pred") == item["answer"]


def _bbh(item: dict, sample) -> tuple[str, str, str, None]:
    """BIG-Bench-Hard code-davinci-002 CoT outputs: the input is the few-shot prompt; its last "Q:" is the question."""
    question = item["input"].rsplit("Q:", 1)[-1].rsplit("A: Let's think step by step.", 1)[0].strip()
    target = item["target"].strip()
    letter = re.fullmatch(r"\(([A-R])\)", target)
    return question, letter.group(1) if letter else target, item["prediction"], None


def _seer(text: str, golds: dict[str, str]) -> tuple[str, str, str, None]:
    """SeerAttention completions.json: prompt and completion in one string, DeepSeek-R1 chat template."""
    head, completion = text.split("<｜Assistant｜>", 1)
    problem = head.split("<｜User｜>", 1)[-1].strip()
    return problem, golds[" ".join(problem.split())], completion, None


def _git_show(git: Path, commit: str, path: str) -> bytes:
    return subprocess.run(["git", "-C", str(git), "show", f"{commit}:{path}"], capture_output=True, check=True).stdout


def _items(git: Path, commit: str, path: str) -> list:
    data = _git_show(git, commit, path)
    if path.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return json.loads(z.read(next(n for n in z.namelist() if n.endswith(".json"))))
    text = data.decode("utf-8")
    if path.endswith(".jsonl"):  # one object per line, or pretty-printed objects one after another
        decoder, items, i = json.JSONDecoder(), [], 0
        while True:
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                return items
            item, i = decoder.raw_decode(text, i)
            items.append(item)
    loaded = json.loads(text)
    return loaded["outputs"] if isinstance(loaded, dict) and "outputs" in loaded else loaded


def _extractor(repo: str, path: str):
    if repo == "yuchenlin/ZeroEval":
        return _zeroeval
    if repo == "KevinH48264/Open-Reasoner-Zero":
        return _prm800k if "prm800k" in path else _orz_eval
    if repo == "openai/grade-school-math":
        return _gsm_examples
    if repo == "InternLM/xtuner":
        return _xtuner
    if repo == "microsoft/ToRA":
        return _tora
    if repo == "TIGER-AI-Lab/MMLU-Pro":
        return _mmlu_pro
    if repo == "suzgunmirac/BIG-Bench-Hard":
        return _bbh
    if repo == "microsoft/SeerAttention":
        return _seer
    raise SystemExit(f"{LABELS}: no reader for {repo}; add one to benchmarks/judge_corpus.py")


# Real R1-Zero-style traces for the speed benchmark (bench_verify.py (b)): every MATH-500 and AIME 2024 response of
# six Open-Reasoner-Zero 7B evaluation runs, 3,180 in all. Not labelled: only timed.
_ORZ_RUNS = (
    "v1293_eval_responses",
    "v1441_eval_responses",
    "v1441_eval_responses_t_0",
    "v1441_eval_responses_t_1",
    "v1442_eval_responses_t_0",
    "v1442_eval_responses_t_1",
)
_ORZ = ("KevinH48264/Open-Reasoner-Zero", "c8f99bcdc97bb8f21873ad3e07bfc2db4b7b6b90")
LONG = [(*_ORZ, f"evals/{run}/{task}_responses.json") for run in _ORZ_RUNS for task in ("math500", "aime2024")]


def build_long(mirrors: Path, out: Path) -> None:
    from real_corpus import git_dir

    rows = []
    for repo, commit, path in LONG:
        git = git_dir(mirrors, repo)
        if git is None:
            print(f"not here (fetch it into {mirrors}): {repo}")
            return
        for row, item in enumerate(_items(git, commit, path)):
            problem, gold, completion, recorded = _extractor(repo, path)(item, 0)
            rows.append(
                {
                    "repo": repo,
                    "commit": commit,
                    "path": path,
                    "row": row,
                    "problem": problem,
                    "gold": gold,
                    "completion": completion,
                    "recorded_verdict": recorded,
                }
            )
    (out / "long").mkdir(parents=True, exist_ok=True)
    (out / "long" / "orz_traces.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows))
    print(f"{len(rows)} traces -> {out / 'long' / 'orz_traces.jsonl'}")


def build(mirrors: Path, out: Path) -> None:
    """Every labelled completion, read again from its repository at its commit -> OUT/judge/*.jsonl."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from real_corpus import git_dir

    labels = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    files: dict[tuple, list] = {}
    golds: dict[str, str] = {}
    rows: dict[str, list] = {}
    missing = set()
    for lab in labels:
        git = git_dir(mirrors, lab["repo"])
        if git is None:
            missing.add(lab["repo"])
            continue
        key = (lab["repo"], lab["commit"], lab["path"])
        if key not in files:
            files[key] = _items(git, lab["commit"], lab["path"])
        extract = _extractor(lab["repo"], lab["path"])
        item = files[key][lab["row"]]
        if extract is _seer:
            if not golds:  # MATH-500 as the same repository holds it, keyed by problem text
                test = _git_show(git, lab["commit"], "eval/reasoning_tasks/data/math/test.jsonl").decode()
                for line in test.splitlines():
                    if line.strip():
                        x = json.loads(line)
                        golds[" ".join(x["problem"].split())] = x["answer"]
            problem, gold, completion, recorded = _seer(item, golds)
        else:
            problem, gold, completion, recorded = extract(item, lab["sample"])
        src = {k: lab[k] for k in ("id", "repo", "commit", "path", "row", "sample", "model", "family", "style")}
        name = "math_cot" if lab["id"].startswith("mc-") else "mcq_and_words"
        rows.setdefault(name, []).append(
            {**src, "problem": problem, "gold": str(gold), "completion": completion, "recorded_verdict": recorded}
        )
    (out / "judge").mkdir(parents=True, exist_ok=True)
    for name, items in rows.items():
        (out / "judge" / f"{name}.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items))
        print(f"{len(items)} completions -> {out / 'judge' / name}.jsonl")
    if missing:
        print(f"not here (fetch them into {mirrors}): {', '.join(sorted(missing))}")
    build_long(mirrors, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--mirrors", type=Path, required=True, help="git copies of the repositories, as OWNER+NAME/repo")
    b.add_argument("--out", type=Path, required=True, help="the real-files folder (R1DATA_REAL_FILES)")
    g = sub.add_parser("grade")
    g.add_argument("--out", type=Path, default=Path("grades.jsonl"))
    d = sub.add_parser("disputes")
    d.add_argument("out", type=Path)
    d.add_argument("--grades", type=Path, default=Path("grades.jsonl"))
    lab = sub.add_parser("labels")
    lab.add_argument("read", type=Path, nargs="+", help="JSONL of {id, label: correct|incorrect|unjudgeable, why}")
    lab.add_argument("--grades", type=Path, default=Path("grades.jsonl"))
    args = ap.parse_args()
    if args.cmd == "build":
        build(args.mirrors, args.out)
        return
    if args.cmd == "grade":
        rows = load()
        graded = grade(rows)
        args.out.write_text("".join(json.dumps(x) + "\n" for x in graded))
        print(f"{len(graded)} completions graded -> {args.out}; {sum(map(disagree, graded))} disputed")
        return
    grades = {x["id"]: x for x in map(json.loads, args.grades.read_text().splitlines())}
    rows = {r["id"]: r for r in load()}
    if args.cmd == "disputes":
        blind = [
            {"id": i, "problem": rows[i]["problem"], "gold": rows[i]["gold"], "completion": rows[i]["completion"]}
            for i, x in grades.items()
            if disagree(x)
        ]
        args.out.write_text("".join(json.dumps(b) + "\n" for b in blind))
        print(f"{len(blind)} disputed completions -> {args.out} (problem, gold and completion only)")
        return
    read = {}
    for path in args.read:
        for line in path.read_text().splitlines():
            if line.strip():
                x = json.loads(line)
                read[x["id"]] = x
    out, missing = [], []
    for i, x in grades.items():
        if i not in rows:  # a completion the corpus no longer holds
            continue
        r = rows[i]
        src = {k: r.get(k) for k in ("repo", "commit", "path", "row", "sample", "model", "family", "style")}
        if i in read:  # read: every disputed completion, and any other one a reader was given
            out.append({"id": i, **src, "label": read[i]["label"], "how": "read", "why": read[i].get("why", "")})
        elif disagree(x):
            missing.append(i)
        else:
            verdict = next(x[k] for k in GRADERS if x.get(k) is not None)
            out.append({"id": i, **src, "label": "correct" if verdict else "incorrect", "how": "unanimous"})
    if missing:
        raise SystemExit(f"{len(missing)} disputed completions have no reading, e.g. {missing[:5]}")
    LABELS.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in out))
    print(f"{len(out)} labels -> {LABELS}")


if __name__ == "__main__":
    main()
