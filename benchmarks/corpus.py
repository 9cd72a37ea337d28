"""Real problems from ../shared/data plus planted edits with known ground truth.

Used by bench_dedup.py (and the defaults study in its --grid mode). Edits mirror what dedup must
catch: one word replaced, one number changed, a word inserted or deleted, spacing and LaTeX spacing
changed. Each planted row records the index of the original it was made from.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

DATA = Path(os.environ.get("R1DATA_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
EDITS = ("word_swap", "renumber", "insert_word", "delete_word", "latex_spacing")
_FILLERS = ("the", "exactly", "then", "now", "also", "total", "given", "all")


def real_problems(limit: int | None = None) -> list[str]:
    """Unique problem texts from MATH train/test and GSM8K train/test (raises if the data is absent)."""
    return [text for text, _ in real_problems_with_answers(limit)]


def real_problems_with_answers(limit: int | None = None) -> list[tuple[str, str | None]]:
    """(problem, gold answer) from MATH (the last \\boxed{}) and GSM8K (after ####), unique by text."""
    from r1data.ops.answers import extract_answer

    if not DATA.is_dir():
        raise SystemExit(f"real data not found at {DATA}; set R1DATA_SHARED_DATA")
    seen, out = set(), []
    for name in ("math_train", "gsm8k_train", "math_test", "gsm8k_test"):
        for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text = row.get("problem") or row["question"]
            if text not in seen:
                seen.add(text)
                out.append((text, extract_answer(row.get("solution") or row.get("answer"))))
    return out[:limit] if limit else out


def edit(text: str, kind: str, rng: random.Random) -> str | None:
    words = text.split(" ")
    if kind == "word_swap":
        idx = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 3]
        if not idx:
            return None
        i = rng.choice(idx)
        words[i] = rng.choice(("several", "some", "certain", "many", "these"))
        return " ".join(words)
    if kind == "renumber":
        nums = list(re.finditer(r"\d+", text))
        if not nums:
            return None
        m = rng.choice(nums)
        new = str(int(m.group()) + rng.randint(1, 9))
        return text[: m.start()] + new + text[m.end() :]
    if kind == "insert_word":
        i = rng.randrange(len(words) + 1)
        return " ".join(words[:i] + [rng.choice(_FILLERS)] + words[i:])
    if kind == "delete_word":
        if len(words) < 6:
            return None
        del words[rng.randrange(len(words))]
        return " ".join(words)
    if kind == "latex_spacing":
        out = text.replace("(", "\\left( ").replace(")", " \\right)").replace("+", " + ").replace("\\frac", "\\dfrac")
        return out.replace("  ", " ") + " " if out != text else "  " + text.replace(" ", "  ")
    raise ValueError(kind)


def planted_corpus(n_original: int = 15_000, n_planted: int = 5_000, seed: int = 0) -> tuple[list[str], list[int]]:
    """Texts (originals, then planted edits) and, per text, the index of its original (-1 for originals)."""
    rng = random.Random(seed)
    originals = real_problems(n_original)
    texts, origin = list(originals), [-1] * len(originals)
    while len(texts) < len(originals) + n_planted:
        i = rng.randrange(len(originals))
        new = edit(originals[i], rng.choice(EDITS), rng)
        if new and new != originals[i]:
            texts.append(new)
            origin.append(i)
    return texts, origin


def score(origin: list[int], removed: dict[int, int]) -> dict:
    """Recall and precision of removals given {removed index: kept index}.

    A removal that involves a planted copy is right when it joins the copy with its own original
    (or another copy of it); precision is measured over those. Removals joining two originals are
    counted apart (`original_pairs`): real data holds near-duplicates of its own (MATH repeats
    problems with small changes), and no ground truth says whether each such pair is one.
    Recall: planted copies that ended in their original's cluster.
    """

    def root(i: int) -> int:
        return origin[i] if origin[i] >= 0 else i

    involving = [(r, k) for r, k in removed.items() if origin[r] >= 0 or origin[k] >= 0]
    right = sum(1 for r, k in involving if root(r) == root(k))
    planted = [i for i, o in enumerate(origin) if o >= 0]
    found = sum(
        1
        for i in planted
        if (i in removed and root(removed[i]) == origin[i]) or (origin[i] in removed and removed[origin[i]] == i)
    )
    return {
        "recall": found / len(planted),
        "precision": right / len(involving) if involving else 1.0,
        "original_pairs": len(removed) - len(involving),
    }


REPHRASINGS = Path(__file__).resolve().parent / "data" / "rephrasings"


def rephrasings(benchmark: str) -> list[dict]:
    """Model-written rephrasings of real benchmark problems, without answers: {"item": line of the benchmark file,
    "style", "text"} (benchmarks/data/rephrasings/README.md says how they were made)."""
    path = REPHRASINGS / f"{benchmark}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load(name: str) -> list[dict]:
    """The rows of a shared data file (../shared/data/NAME.jsonl)."""
    if not (DATA / f"{name}.jsonl").is_file():
        raise SystemExit(f"real data not found at {DATA}; set R1DATA_SHARED_DATA")
    return [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]


class CachedEmbed:
    """An embedder's `encode` that embeds each distinct text once per run, so several methods and sets compared in
    one benchmark pay for the model once; `rows`/`seconds` count the texts the model really embedded."""

    def __init__(self, embedder) -> None:
        self.embedder, self.cache = embedder, {}

    def __call__(self, texts: list[str]):
        import numpy as np

        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            for text, vec in zip(todo, self.embedder.encode(todo), strict=True):
                self.cache[text] = vec
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.embedder.dim), np.float32)

    @property
    def rate(self) -> float:
        return self.embedder.rows / self.embedder.seconds if self.embedder.seconds else float("nan")
