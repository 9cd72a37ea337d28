"""`r1data filter --pass-rate LO:HI`: keep problems a model solves sometimes, but not always."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from r1data.cli import common as c


@c.handle_errors
@c.with_io_options
def filter_command(
    inputs: c.Inputs,
    output: c.Output,
    pass_rate: Annotated[
        str,
        typer.Option("--pass-rate", help="Keep LO < pass rate < HI, strictly at both ends (as open-r1), e.g. 0.1:0.9."),
    ],
    samples: Annotated[int, typer.Option(help="Samples per problem (k); with --adaptive, the most it may take.")] = 8,
    adaptive: Annotated[
        bool,
        typer.Option(
            "--adaptive", help="Sample a problem only until its keep/drop decision under k samples is settled."
        ),
    ] = False,
    confidence: Annotated[float, typer.Option(help="--adaptive: how certain the early decision must be.")] = 0.9,
    model: c.Model = None,
    engine: c.EngineOpt = None,
    prompt: c.Prompt = "boxed",
    system: c.System = None,
    user_template: c.UserTemplate = None,
    temperature: c.Temperature = 0.7,
    top_p: c.TopP = 0.95,
    max_tokens: c.MaxTokens = 1024,
    seed: c.Seed = 0,
    keep_generations: Annotated[bool, typer.Option("--keep-generations", help="Store the sampled texts.")] = False,
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
    """Sample k completions per problem, judge each with the shared judge, and keep the problems whose
    pass rate is strictly between LO and HI. Problems whose gold answer cannot be parsed are dropped
    with their own reason, never counted as hard. Work is saved per chunk: rerun the same command to
    resume after a crash; rows that failed (server errors) are retried."""
    from r1data.engines import Sampling
    from r1data.errors import ConfigError
    from r1data.generate import FilterConfig, filter_step
    from r1data.ops.pass_rate import AdaptiveParams, Band
    from r1data.prompts import PromptTemplate
    from r1data.steps import JudgeOptions

    try:
        band = Band.parse(pass_rate)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    cfg = FilterConfig(
        band=band, samples=samples, adaptive=adaptive,
        adaptive_params=AdaptiveParams(k=samples, initial=min(4, samples), step=1, confidence=confidence),
        sampling=Sampling(temperature, top_p, max_tokens, seed),
        prompt=PromptTemplate.build(prompt, system, user_template),
        keep_generations=keep_generations, chunk_rows=chunk_rows,
    )  # fmt: skip
    options = c.engine_options(engine, tensor_parallel_size, gpu_memory_utilization, max_model_len, base_url,
                               api_key_env, concurrency, request_timeout, retries)  # fmt: skip
    with c.progress("Sampling...", quiet):
        m = filter_step(inputs, output, cfg, engine, model, options, JudgeOptions(timeout=timeout), io, restart)
    if json_out:
        sys.stdout.write(json.dumps(m, indent=2, default=str) + "\n")
    extra = [("samples drawn", m["stats"]["samples_drawn"]), ("failed (rerun to retry)", m["rows_failed"])]
    c.summary(m | {"output": str(output)}, "r1data filter", extra, quiet, False)
