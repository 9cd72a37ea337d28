"""`r1data rejection-sample`: verified, filtered chain-of-thought traces, ready for SFT."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from r1data.cli import common as c


@c.handle_errors
@c.with_io_options
def rejection_sample_command(
    inputs: c.Inputs,
    output: c.Output,
    samples: Annotated[int, typer.Option(help="Candidates per problem (N).")] = 8,
    keep: Annotated[int, typer.Option(help="Accepted candidates kept per problem, at most (K).")] = 1,
    select: Annotated[str, typer.Option(help="shortest: the K shortest accepted; distinct: the first K distinct.")] = (
        "shortest"
    ),
    require_think: Annotated[
        bool, typer.Option("--require-think", help="Drop candidates without <think>…</think>.")
    ] = False,
    think_prefilled: Annotated[
        bool, typer.Option("--think-prefilled", help="Completions start inside <think>.")
    ] = False,
    language: Annotated[str | None, typer.Option(help="Target language of the chain of thought (none: off).")] = "en",
    min_language: Annotated[float, typer.Option(help="Least share of target-language words in the thought.")] = 0.95,
    max_repetition: Annotated[float, typer.Option(help="Most share of repeated word 3-grams.")] = 0.2,
    model: c.Model = None,
    engine: c.EngineOpt = None,
    prompt: c.Prompt = "boxed",
    system: c.System = None,
    user_template: c.UserTemplate = None,
    temperature: c.Temperature = 0.7,
    top_p: c.TopP = 0.95,
    max_tokens: c.MaxTokens = 4096,
    seed: c.Seed = 0,
    chunk_rows: c.ChunkRows = 256,
    tensor_parallel_size: c.TensorParallel = 1,
    gpu_memory_utilization: c.GpuMemory = None,
    max_model_len: c.MaxModelLen = None,
    base_url: c.BaseUrl = None,
    api_key_env: c.ApiKeyEnv = "OPENAI_API_KEY",
    concurrency: c.Concurrency = 8,
    request_timeout: c.RequestTimeout = 600.0,
    retries: c.Retries = 4,
    restart: c.Restart = False,
    timeout: c.JudgeTimeout = 5.0,
    io: c.IOOptions = None,  # the input/output options, added by with_io_options
    quiet: c.Quiet = False,
    json_out: c.JsonOut = False,
) -> None:
    """Sample N candidates per problem (or judge the `generations` a `filter --keep-generations` run
    stored), keep the correct ones that pass DeepSeek-R1's quality filters (not truncated, one
    language, not repetitive, optionally a think block), and write up to K per problem as SFT rows:
    `messages`, `prompt`, `completion`, with provenance and every check's score. Problems with no
    accepted candidate go to removed/ with the reason."""
    from r1data.engines import Sampling
    from r1data.generate import RejectionConfig, rejection_sample_step
    from r1data.prompts import PromptTemplate
    from r1data.steps import JudgeOptions

    cfg = RejectionConfig(
        samples=samples, keep=keep, select=select, require_think=require_think, think_prefilled=think_prefilled,
        language=None if language in (None, "none") else language, min_language=min_language,
        max_repetition=max_repetition, sampling=Sampling(temperature, top_p, max_tokens, seed),
        prompt=PromptTemplate.build(prompt, system, user_template), chunk_rows=chunk_rows,
    )  # fmt: skip
    options = c.engine_options(engine, tensor_parallel_size, gpu_memory_utilization, max_model_len, base_url,
                               api_key_env, concurrency, request_timeout, retries)  # fmt: skip
    judge = JudgeOptions(timeout=timeout, think_prefilled=think_prefilled)
    with c.progress("Rejection sampling...", quiet):
        m = rejection_sample_step(inputs, output, cfg, engine, model, options, judge, io, restart)
    if json_out:
        sys.stdout.write(json.dumps(m, indent=2, default=str) + "\n")
    extra = [("problems with accepted traces", m["inputs_kept"]), ("failed (rerun to retry)", m["rows_failed"])]
    c.summary(m | {"output": str(output)}, "r1data rejection-sample", extra, quiet, False)
