"""r1data dedup against datasketch on the same corpus, in one process.

Corpus: ~15,000 real problems from ../shared/data plus 5,000 planted edits (benchmarks/corpus.py).

Prints
1. signature throughput (word 5-grams, 128 permutations, the configuration the issue quotes):
   datasketch `MinHash.update` per shingle, `MinHash.bulk`, and r1data with 1 and 2 workers;
2. recall and precision on the planted pairs with r1data's defaults (and the baseline's, at 0.6);
3. the whole `r1data dedup` command (read, dedup, write) against the baseline loop alone
   (per-shingle MinHash + MinHashLSH insert and query), and the command's peak memory;
2b. answer-aware near-dup on real problems with their gold answers: precision judged by the answers, planted
   recall and the command's time, with and without the answer rule;
4. memory for one million short problems: projected from 20k and 100k runs, or measured with --million;
5. scale (--scale; alone, it takes minutes): one million short problems with 15% planted duplicates through the
   whole command, out of core (the default, `--memory-gb` at its default) against the in-memory path
   (`--in-memory`, the path before out-of-core) in the same run: seconds, problems/s, peak RSS (the process tree,
   sampled), each stage's seconds (the manifest's `stage_seconds`), the ratios, and whether the kept ids are
   identical; the same on the heavy-duplicate corpus of section 4 (each problem has ~66 near copies); a templated
   corpus of 10,000 rows; with --ten-million also ten million short problems, out of core (the rows streamed: read,
   then read again to write).

6. semantic (--semantic, alone): dedup --semantic on the real problems with their gold answers plus 400 rephrasings
   written by a model (each with its original's answer): rows removed by meaning per threshold, precision judged by
   the gold answers, the rephrasings found, and rows embedded per second.

Usage: python benchmarks/bench_dedup.py [--baseline-docs 2000] [--grid] [--million] [--scale [--ten-million]]
       python benchmarks/bench_dedup.py --semantic [--embed-model PATH] [--pairs-out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import EDITS, edit, planted_corpus, score  # noqa: E402

from r1data.ops.dedup import DedupParams, compute_signatures, dedup  # noqa: E402
from r1data.ops.minhash import ShingleSpec  # noqa: E402
from r1data.ops.normalize import TOKEN_PATTERN, normalize_series  # noqa: E402

TOKEN = re.compile(TOKEN_PATTERN)


def shingles(text: str, n: int) -> list[bytes]:
    toks = TOKEN.findall(text)
    return [" ".join(toks[i : i + n]).encode() for i in range(max(len(toks) - n + 1, 1))]


def per_shingle(texts: list[str], n: int, num_perm: int) -> list:
    from datasketch import MinHash

    out = []
    for t in texts:
        m = MinHash(num_perm=num_perm)
        for s in shingles(t, n):
            m.update(s)
        out.append(m)
    return out


def bulk(texts: list[str], n: int, num_perm: int) -> list:
    from datasketch import MinHash

    return MinHash.bulk([shingles(t, n) for t in texts], num_perm=num_perm)


def rate(fn, texts: list[str]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(texts)
    return len(texts) / (time.perf_counter() - t), out


def baseline_dedup(texts: list[str], n: int, num_perm: int, threshold: float) -> dict[int, int]:
    """The loop people write with datasketch: per-shingle MinHash, then query-and-insert into MinHashLSH."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    removed = {}
    for i, m in enumerate(per_shingle(texts, n, num_perm)):
        hits = [int(k) for k in lsh.query(m)]
        if hits:
            removed[i] = min(hits)
        else:
            lsh.insert(str(i), m)
    return removed


def run_command(
    texts: list[str], workdir: Path, name: str, answers: list | None = None, flags: tuple[str, ...] = ()
) -> tuple[float, float, dict]:
    """The whole CLI in a fresh process: seconds, peak RSS in MiB, manifest."""
    src = workdir / f"{name}.jsonl"
    ids = {"id": [str(i) for i in range(len(texts))]}
    pl.DataFrame(ids | {"problem": texts} | ({"answer": answers} if answers else {})).write_ndjson(src)
    seconds, rss_mib, manifest, _ = run_file(src, workdir, name, flags)
    return seconds, rss_mib, manifest


def grow(texts: list[str], size: int, seed: int = 1) -> list[str]:
    """Short problems by the million: real problems cut to ~40 words, each with a few random edits."""
    rng = random.Random(seed)
    out = []
    while len(out) < size:
        t = " ".join(rng.choice(texts).split(" ")[:40])
        for _ in range(3):
            t = edit(t, rng.choice(EDITS), rng) or t
        out.append(f"{t} ({len(out)})")
    return out


def short_problems(
    texts: list[str], size: int, path: Path, seed: int = 2, near: float = 0.10, exact: float = 0.05
) -> Path:
    """`size` short problems written to `path` (JSONL, id and problem), made in chunks so ten million fit: a fresh
    one joins a 20-word window of one real problem to a 20-word window of another, every number redrawn; a share
    `near` are one-edit copies of a recent row (near duplicates), a share `exact` exact copies."""
    rng = random.Random(seed)
    words = [t.split(" ") for t in texts]
    number = re.compile(r"\d+")
    recent: list[str] = []
    with open(path, "w") as f:
        for lo in range(0, size, 500_000):
            rows = []
            for _ in range(lo, min(size, lo + 500_000)):
                r = rng.random()
                if recent and r < exact:
                    t = rng.choice(recent)
                elif recent and r < exact + near:
                    base = rng.choice(recent)
                    t = edit(base, rng.choice(EDITS), rng) or base + " again"
                else:
                    a, b = rng.choice(words), rng.choice(words)
                    i, j = rng.randrange(max(1, len(a) - 20)), rng.randrange(max(1, len(b) - 20))
                    t = number.sub(lambda _: str(rng.randint(1, 999)), " ".join(a[i : i + 20] + b[j : j + 20]))
                rows.append(t)
                if len(recent) < 100_000:
                    recent.append(t)
                else:
                    recent[rng.randrange(100_000)] = t
            ids = [str(k) for k in range(lo, lo + len(rows))]
            f.write(pl.DataFrame({"id": ids, "problem": rows}).write_ndjson())
    return path


def run_file(src: Path, workdir: Path, name: str, flags: tuple[str, ...] = ()) -> tuple[float, float, dict, Path]:
    """`r1data dedup` on a file in a fresh process: seconds, peak RSS in MiB (the process and its children together,
    sampled every 20 ms, or the process's own peak if higher), manifest, OUT."""
    import psutil

    out = workdir / f"{name}-out"
    code = (
        "import resource, sys; from r1data.cli import app; "
        "sys.argv = ['r1data', 'dedup', sys.argv[1], '-o', sys.argv[2], '--overwrite', '-q', '--workers', '2', "
        "*sys.argv[3:]]; "
        "exec('try:\\n app()\\nexcept SystemExit as e:\\n assert not e.code, e.code'); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(src), str(out), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - t
    if proc.returncode:
        raise SystemExit(f"r1data dedup {name} failed:\n{stderr[-3000:]}")
    own = int(stdout.strip().splitlines()[-1]) * 1024
    return seconds, max(peak, own) / 2**20, json.loads((out / "manifest.json").read_text()), out


def stage_line(manifest: dict) -> str:
    stages = manifest["stats"].get("stage_seconds", {})
    return ", ".join(f"{k} {v:.1f} s" for k, v in stages.items())


def kept_ids(out: Path) -> pl.Series:
    return pl.read_parquet(out / "data" / "*.parquet", columns=["id"]).get_column("id")


def scale(texts: list[str], work: Path, ten_million: bool) -> None:
    print("\n# 5. scale: the whole command, out of core (default --memory-gb) vs in memory (--in-memory), 2 workers")
    corpora = [("1M short problems, 15% planted duplicates", short_problems(texts, 1_000_000, work / "short1m.jsonl"))]
    heavy = work / "heavy1m.jsonl"
    pl.DataFrame({"id": [str(i) for i in range(1_000_000)], "problem": grow(texts, 1_000_000)}).write_ndjson(heavy)
    corpora.append(("1M heavy-duplicate problems (~66 near copies each)", heavy))
    for label, src in corpora:
        sec_o, rss_o, man_o, out_o = run_file(src, work, "ooc")
        sec_m, rss_m, man_m, out_m = run_file(src, work, "mem", ("--in-memory",))
        same = kept_ids(out_o).equals(kept_ids(out_m)) and man_o["drops"] == man_m["drops"]
        n = man_o["rows_in"]
        print(f"{label}: kept {man_o['rows_out']:,} of {n:,}; identical kept ids and drop counts: {same}")
        print(
            f"  out of core: {sec_o:6.1f} s ({n / sec_o:,.0f} problems/s; goal 50,000), peak RSS {rss_o:,.0f} MiB "
            f"(children counted; goal 2,048), rows read twice: {man_o['stats'].get('rows_read_twice')}, "
            f"spill {man_o['stats'].get('spill')}"
        )
        print(f"    stages: {stage_line(man_o)}")
        print(f"  in memory:   {sec_m:6.1f} s ({n / sec_m:,.0f} problems/s), peak RSS {rss_m:,.0f} MiB")
        print(f"    stages: {stage_line(man_m)}")
        print(f"  ratios (out of core / in memory): time x{sec_o / sec_m:.2f}, peak RSS x{rss_o / rss_m:.2f}")
    templated(work)
    if ten_million:
        src = short_problems(texts, 10_000_000, work / "short10m.jsonl")
        sec, rss, man, _ = run_file(src, work, "ten")
        print(
            f"10M short problems, 15% planted duplicates, out of core: {sec:.0f} s "
            f"({man['rows_in'] / sec:,.0f} problems/s), peak RSS {rss:,.0f} MiB (children counted; goal 6,144), "
            f"kept {man['rows_out']:,}, rows read twice: {man['stats'].get('rows_read_twice')}, "
            f"spill {man['stats'].get('spill')}"
        )
        print(f"  stages: {stage_line(man)}")


def templated(work: Path, size: int = 10_000) -> None:
    """A templated corpus: one template, other names and one number, each gold answer a different set. Every
    near-duplicate pair passes the number rule and reaches the answer rule; before value keys each distinct answer
    pair was compared on its own (the judge for what text cannot settle): 10 minutes and more for 10,000 rows."""
    import random as _random

    rng = _random.Random(3)
    names = [
        "Zoey",
        "Oliver",
        "Ethan",
        "Mia",
        "Liam",
        "Ava",
        "Noah",
        "Emma",
        "James",
        "Sophia",
        "Lucas",
        "Isabella",
        "Mason",
        "Harper",
        "Logan",
        "Jacob",
    ]
    rows = []
    for i in range(size):
        k = rng.randint(1, 100_000)
        rows.append(
            {
                "id": str(i),
                "problem": f"{rng.choice(names)} looked up row {k} of the table of quadratic polynomials printed in "
                "the appendix of the textbook. Find the set of all real roots of that polynomial, written as a set.",
                "answer": f"\\{{{k}, {k + 1}\\}}",
            }
        )
    src = work / "templated.jsonl"
    pl.DataFrame(rows).write_ndjson(src)
    sec, rss, man, _ = run_file(src, work, "templated")
    stats = man["stats"]
    print(
        f"{size:,} templated problems (set answers): {sec:.1f} s (goal < 10 s), peak RSS {rss:,.0f} MiB; "
        f"{stats['templated_siblings']:,} pairs kept apart by their answers, {stats['answer_pairs_judged']:,} "
        f"answer pairs judged, {stats['answer_pairs_not_judged']:,} past the cap; kept {man['rows_out']:,}"
    )
    # the pairwise path of before, in this process, on a sample of the pairs that reached the answer rule
    from r1data.ops.answers import normalize_answer, plainly_different, value_key

    answers = [normalize_answer(r["answer"]) for r in rows[:2000]]
    pairs = [(answers[i], answers[j]) for i in range(0, 2000, 7) for j in range(i + 1, min(2000, i + 60))]
    t = time.perf_counter()
    for a, b in pairs:
        plainly_different(a, b)
    pairwise = (time.perf_counter() - t) / len(pairs)
    t = time.perf_counter()
    keys = {a: value_key(a) for a in set(answers)}
    keyed = (time.perf_counter() - t) / len(pairs)
    print(
        f"  per answer pair: pairwise {pairwise * 1e6:.1f} us vs value keys {keyed * 1e6:.2f} us amortised "
        f"(x{pairwise / max(keyed, 1e-12):.0f}; {len(keys):,} distinct answers for {len(pairs):,} pairs)"
    )


def grid(texts: list[str], origin: list[int]) -> None:
    df = frame(texts)
    print("\n# defaults study: recall / precision on planted pairs (original_pairs: merges of two real problems)")
    for kind, n, th, rule in [
        ("word", 5, 0.7, None),
        ("word", 5, 0.6, None),
        ("word", 3, 0.7, None),
        ("word", 3, 0.6, None),
        ("word", 3, 0.7, 1),
        ("word", 3, 0.6, 1),
        ("word", 5, 0.6, 1),
        ("char", 5, 0.7, None),
    ]:
        r = dedup(df, DedupParams(ngram=n, ngram_kind=kind, threshold=th, max_number_changes=rule))
        s = score(origin, removed_map(r.removed))
        print(
            f"{kind:4} n={n} threshold={th} number_rule={rule}: recall {s['recall']:.3f} "
            f"precision {s['precision']:.3f} original_pairs {s['original_pairs']}"
        )


def frame(texts: list[str]) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "problem": texts,
            "answer": ["1"] * n,
            "solution": [None] * n,
            "source": ["bench"] * n,
        },
        schema_overrides={"solution": pl.String},
    )


def removed_map(removed: pl.DataFrame) -> dict[int, int]:
    return dict(
        zip(
            removed.get_column("id").cast(pl.Int64).to_list(),
            removed.get_column("duplicate_of").cast(pl.Int64).to_list(),
            strict=True,
        )
    )


def answer_study(work: Path) -> None:
    """Answer-aware dedup on real MATH and GSM8K problems with their gold answers plus 1,000 planted copies (each
    keeps its original's answer): precision judged by gold answers, planted recall, and the whole command's time
    with and without the answer rule (median of 3 each)."""
    from corpus import real_problems_with_answers

    from r1data.ops.answers import normalize_answer, plainly_different

    rng = random.Random(0)
    real = real_problems_with_answers()
    texts, answers, origin = [t for t, _ in real], [a for _, a in real], [-1] * len(real)
    while len(texts) < len(real) + 1_000:
        i = rng.randrange(len(real))
        new = edit(real[i][0], rng.choice(EDITS), rng)
        if new and new != real[i][0]:
            texts.append(new)
            answers.append(real[i][1])
            origin.append(i)
    print(f"\n# 2b. answer-aware near-dup: {len(real):,} real problems with gold answers + 1,000 planted copies")
    for flag in ("--no-answer-aware", "--answer-aware"):
        runs = [run_command(texts, work, "answers", answers, (flag,)) for _ in range(3)]
        seconds, rss, manifest = sorted(runs, key=lambda r: r[0])[1]
        removed = pl.read_parquet(work / "answers-out" / "removed" / "*.parquet")
        pairs = removed_map(removed)
        wrong = undecided = 0
        for r_, k in pairs.items():
            a, b = normalize_answer(answers[r_]), normalize_answer(answers[k])
            if not a or not b:
                continue
            verdict = plainly_different(a, b)
            undecided += verdict is None
            wrong += bool(verdict)  # undecided pairs (no judge here) count as right
        s = score(origin, pairs)
        print(
            f"{flag:18} removed {len(pairs):,}: gold answers differ in {wrong} (precision judged by answers "
            f"{1 - wrong / max(1, len(pairs)):.3f}; {undecided} pairs of answers plain arithmetic cannot compare), "
            f"planted recall {s['recall']:.3f}, kept apart as templated siblings "
            f"{manifest['stats'].get('templated_siblings', 0)}; command {seconds:.2f} s, peak RSS {rss:,.0f} MiB"
        )


def semantic_study(embed_model: str | None, thresholds: tuple[float, ...], pairs_out: Path | None) -> None:
    """dedup --semantic on the real MATH and GSM8K problems with their gold answers plus the model-written rephrasings
    of GSM8K test and MATH-500 problems (benchmarks/data/rephrasings/), each given its original's gold answer:
    per threshold, the rows removed by meaning, precision judged by gold answers (and by the judge where text cannot
    settle it), the planted rephrasings found, and the embedding throughput. `pairs_out`: the real (not planted) pairs
    merged at the lowest threshold, for labelling by hand."""
    from corpus import CachedEmbed, load, real_problems_with_answers, rephrasings

    from r1data.embed import load_embedder
    from r1data.judge import Judge, answers_equivalent
    from r1data.ops.answers import extract_answer, normalize_answer, plainly_different

    real = real_problems_with_answers()
    texts, answers, origin = [t for t, _ in real], [a for _, a in real], [-1] * len(real)
    where = {t: i for i, t in enumerate(texts)}
    for name, key, gold in (("gsm8k_test", "question", "answer"), ("math500_test", "problem", "answer")):
        rows = load(name)
        for r in rephrasings(name):
            original = rows[r["item"]][key]
            texts.append(r["text"])
            answers.append(extract_answer(rows[r["item"]][gold]) if key == "question" else rows[r["item"]][gold])
            origin.append(where[original])
    planted = sum(o >= 0 for o in origin)
    embedder = load_embedder(embed_model)
    embed = CachedEmbed(embedder)
    print(
        f"\n# semantic dedup: {len(real):,} real problems with gold answers + {planted} model-written rephrasings "
        f"(each with its original's answer); model {embedder.name}"
    )
    df = frame(texts).with_columns(pl.Series("answer", answers, dtype=pl.String))
    minhash = dedup(df, DedupParams())
    print(
        f"MinHash alone (the defaults): removed {minhash.removed.height:,}, of them planted rephrasings "
        f"{sum(origin[int(i)] >= 0 for i in minhash.removed.get_column('id'))}"
    )
    with Judge(workers=2) as judge:
        equivalent = answers_equivalent(judge)
        for threshold in thresholds:
            t = time.perf_counter()
            params = DedupParams(semantic=True, semantic_threshold=threshold)
            result = dedup(df, params, answers_equivalent=equivalent, embed=embed)
            seconds = time.perf_counter() - t
            gone = result.removed.filter(pl.col("drop_reason") == "semantic_duplicate")
            pairs = [(int(a), int(b)) for a, b in gone.select("id", "duplicate_of").iter_rows()]
            differ = 0
            for a, b in pairs:
                verdict = plainly_different(normalize_answer(answers[a] or ""), normalize_answer(answers[b] or ""))
                differ += bool(verdict) or (verdict is None and not equivalent([(answers[a], answers[b])])[0])
            found = sum(origin[a] == b or origin[b] == a for a, b in pairs)
            real_pairs = [(a, b) for a, b in pairs if origin[a] < 0 and origin[b] < 0]
            print(
                f"threshold {threshold}: removed by meaning {len(pairs):,}; gold answers differ in {differ} "
                f"(precision judged by answers {1 - differ / max(1, len(pairs)):.3f}); planted rephrasings found "
                f"{found}/{planted} ({found / planted:.1%}); real pairs merged {len(real_pairs)}; "
                f"{result.stats['semantic_siblings']:,} kept apart (answers differ), "
                f"{result.stats['semantic_pairs_numbers_differ']:,} (numbers differ); op {seconds:.1f} s"
            )
            if pairs_out is not None and threshold == min(thresholds):
                pairs_out.write_text(
                    "".join(json.dumps({"a": texts[a], "b": texts[b]}) + "\n" for a, b in real_pairs), encoding="utf-8"
                )
    print(
        f"throughput: {embedder.rows:,} texts embedded in {embedder.seconds:.1f} s = {embed.rate:.1f} rows/s "
        "(only rows with an answer are embedded)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-docs", type=int, default=2000, help="documents for the slow per-shingle baseline")
    ap.add_argument("--grid", action="store_true", help="also print the defaults study")
    ap.add_argument("--million", action="store_true", help="run the command on 1,000,000 short problems")
    ap.add_argument("--scale", action="store_true", help="only section 5: one million, out of core vs in memory")
    ap.add_argument("--ten-million", action="store_true", help="with --scale: also ten million, out of core")
    ap.add_argument("--semantic", action="store_true", help="only dedup --semantic on real MATH + GSM8K problems")
    ap.add_argument("--embed-model", default=None, help="with --semantic: a local embedding model folder")
    ap.add_argument("--pairs-out", type=Path, default=None, help="with --semantic: write the real merged pairs here")
    args = ap.parse_args()
    if args.semantic:
        semantic_study(args.embed_model, (0.8, 0.85, 0.9), args.pairs_out)
        return
    if args.scale:
        with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parents[1]) as tmp:
            scale(planted_corpus(15_000, 5_000)[0], Path(tmp), args.ten_million)
        return

    texts, origin = planted_corpus(15_000, 5_000)
    norm = normalize_series(pl.Series(texts)).to_list()
    n, perm = 5, 128
    print(
        f"corpus: {len(texts):,} problems ({sum(o >= 0 for o in origin):,} planted edits); "
        f"signatures at word {n}-grams, {perm} permutations"
    )

    sub = norm[: args.baseline_docs]
    r_update, _ = rate(lambda t: per_shingle(t, n, perm), sub)
    r_bulk, _ = rate(lambda t: bulk(t, n, perm), norm[: args.baseline_docs * 5])
    spec = ShingleSpec(ngram=n, num_perm=perm)
    r_one, _ = rate(lambda t: compute_signatures(t, spec, workers=1), norm)
    r_two, _ = rate(lambda t: compute_signatures(t, spec, workers=2), norm)
    print("\n# 1. signatures (docs/s)")
    print(f"datasketch MinHash.update per shingle: {r_update:10,.0f}   (on {len(sub):,} docs)")
    print(
        f"datasketch MinHash.bulk:               {r_bulk:10,.0f}   (on {min(len(norm), args.baseline_docs * 5):,} docs)"
    )
    for label, r in (("1 worker: ", r_one), ("2 workers:", r_two)):
        print(
            f"r1data, {label}                     {r:10,.0f}   x{r / r_update:.0f} per-shingle, x{r / r_bulk:.1f} bulk"
        )

    print("\n# 2. quality on planted pairs")
    t = time.perf_counter()
    r = dedup(frame(texts), DedupParams())
    op_seconds = time.perf_counter() - t
    s = score(origin, removed_map(r.removed))
    print(
        f"r1data defaults (word 3-grams, threshold 0.6, number rule): recall {s['recall']:.3f} "
        f"precision {s['precision']:.3f}  (+{s['original_pairs']} merges of two real problems, "
        f"which the ground truth cannot judge)  op {op_seconds:.2f} s"
    )
    base_sub = list(range(args.baseline_docs))
    b = baseline_dedup([norm[i] for i in base_sub], n, perm, 0.6)
    print(f"datasketch baseline (word 5-grams, 0.6) on the first {len(base_sub):,} docs: {len(b)} removed")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs = [run_command(texts, work, "corpus") for _ in range(3)]
        seconds, rss, manifest = sorted(runs, key=lambda r: r[0])[1]  # the median run
        t = time.perf_counter()
        baseline_dedup(norm[: args.baseline_docs], n, perm, 0.6)
        base_rate = args.baseline_docs / (time.perf_counter() - t)
        base_seconds = len(texts) / base_rate
        print("\n# 3. whole command")
        print(
            f"r1data dedup on {len(texts):,} problems (read + dedup + write, 2 workers; median of 3): {seconds:.2f} s, "
            f"peak RSS {rss:,.0f} MiB, kept {manifest['rows_out']:,}"
        )
        print(
            f"baseline loop alone (per-shingle MinHash + MinHashLSH): {base_seconds:.1f} s "
            f"(measured {base_rate:,.0f} docs/s on {args.baseline_docs:,} docs, scaled to {len(texts):,})"
        )
        print(f"ratio: x{base_seconds / seconds:.1f}")
        answer_study(work)

        print("\n# 4. one million short problems")
        if args.million:
            s1m, rss1m, m1m = run_command(grow(texts, 1_000_000), work, "million")
            print(f"measured: {s1m:.0f} s, peak RSS {rss1m:,.0f} MiB, kept {m1m['rows_out']:,}")
        else:
            points = []
            for size in (20_000, 100_000):
                sec, mem, _ = run_command(grow(texts, size), work, f"grow{size}")
                points.append((size, mem))
                print(
                    f"{size:>9,} short problems: {sec:6.1f} s, peak RSS {mem:,.0f} MiB "
                    f"(baseline loop at its measured rate: {size / base_rate:,.0f} s, x{size / base_rate / sec:.0f})"
                )
            (x1, y1), (x2, y2) = points
            slope = (y2 - y1) / (x2 - x1)
            print(
                f"linear projection for 1,000,000: {y1 + slope * (1_000_000 - x1):,.0f} MiB "
                f"({slope * 1024:.1f} KiB per problem; limit 24 GiB). A floor, not a bound: on this corpus "
                "duplicate pairs grow faster than rows. Run with --million to measure."
            )
    if args.grid:
        grid(texts, origin)
    print(f"\nbenchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
