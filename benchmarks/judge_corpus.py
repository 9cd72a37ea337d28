"""The real labelled judge corpus: model completions from evaluation outputs committed in public repositories, each
labelled correct or incorrect against its gold (tests/data/real/judge_labels.jsonl; rules in
tests/data/real/judge_label_rules.md).

The completions are not committed here (fetched public data stays out of the repository): they are JSONL files under
$R1DATA_REAL_FILES/judge (or ../shared/real/judge), one object per completion with id, repo, commit, path, row,
model, family, style, problem, gold, completion and recorded_verdict. The labels name each completion by id.

    python benchmarks/judge_corpus.py grade             # every grader's verdict per completion -> DIR/grades.jsonl
    python benchmarks/judge_corpus.py disputes OUT.jsonl  # the completions the graders disagree on, blind: no verdicts
    python benchmarks/judge_corpus.py labels READ.jsonl   # unanimous verdicts + careful readings -> the labels file

A completion every grader calls the same is labelled that (unanimous); every other one is labelled by reading it
(helpers who see the problem, the gold and the completion, never a grader's verdict).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grade")
    g.add_argument("--out", type=Path, default=Path("grades.jsonl"))
    d = sub.add_parser("disputes")
    d.add_argument("out", type=Path)
    d.add_argument("--grades", type=Path, default=Path("grades.jsonl"))
    lab = sub.add_parser("labels")
    lab.add_argument("read", type=Path, nargs="+", help="JSONL of {id, label: correct|incorrect|unjudgeable, why}")
    lab.add_argument("--grades", type=Path, default=Path("grades.jsonl"))
    args = ap.parse_args()
    if args.cmd == "grade":
        rows = load()
        graded = grade(rows)
        args.out.write_text("".join(json.dumps(x) + "\n" for x in graded))
        print(f"{len(graded)} completions graded -> {args.out}; {sum(map(disagree, graded))} disputed")
        return
    grades = {x["id"]: x for x in map(json.loads, args.grades.read_text().splitlines())}
    rows = {r["id"]: r for r in load()}
    if args.cmd == "disputes":
        blind = [{"id": i, "problem": rows[i]["problem"], "gold": rows[i]["gold"], "completion": rows[i]["completion"]}
                 for i, x in grades.items() if disagree(x)]  # fmt: skip
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
