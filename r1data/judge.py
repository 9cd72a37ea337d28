"""The one judge: math verification that cannot hang, shared by verify, filter, rejection sampling
and GRPO rewards.

math-verify's timeout is `signal.alarm`: it fails off the main thread, cannot interrupt C-level
big-integer work, and `str()` of a parsed expression can hang outside any timeout. So every check
runs in a worker process (pebble's ProcessPool) with
- a hard per-item timeout: a late item's worker is killed and replaced, the item is `timeout`;
- an address-space limit (RLIMIT_AS) per worker: a runaway allocation fails in the worker only;
- recycling: a worker is replaced after `max_tasks` items, so caches and leaks cannot grow forever.
Workers are started with `spawn` (a fresh interpreter that imports only math-verify), return plain
strings, and cache parsed gold answers, so the k samples of a problem parse its gold once per worker.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from r1data.errors import R1DataError
from r1data.ops import mathcheck
from r1data.ops.completions import final_answer_text, gold_text

DEFAULT_TIMEOUT = 5.0
DEFAULT_MEMORY_MB = 4096


@dataclass(frozen=True)
class Verdict:
    """Outcome of one (gold, completion) check."""

    status: str  # one of mathcheck.STATUSES
    pred_answer: str | None = None
    seconds: float | None = None  # time in the worker; None when it was killed or never ran

    @property
    def correct(self) -> bool | None:
        """True / False, or None when it cannot be judged (gold unparseable, timeout, crash).
        An unparseable prediction is wrong: the model gave no answer the verifier can read."""
        if self.status == mathcheck.CORRECT:
            return True
        if self.status in (mathcheck.INCORRECT, mathcheck.PRED_UNPARSEABLE):
            return False
        return None

    @property
    def score(self) -> float | None:
        c = self.correct
        return None if c is None else float(c)


def _limit_memory(memory_mb: int) -> None:
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _check(gold: str, pred: str) -> tuple[str, str | None, float]:
    start = time.perf_counter()
    try:
        status, answer = mathcheck.check(gold, pred)
    except (MemoryError, RecursionError):
        status, answer = mathcheck.CRASH, None
    return status, answer, time.perf_counter() - start


class Judge:
    """A pool of verification workers. Use as a context manager, or call `close()`.

    `verify` may be called from any thread; items are independent, so one that hangs or crashes
    affects only itself, and the pool stays usable.
    """

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int = DEFAULT_MEMORY_MB,
        max_tasks: int = 2000,
        think_prefilled: bool = False,
    ) -> None:
        from pebble import ProcessPool

        # One more worker than cores: while a worker waits on its pipe or the main process collects
        # results, the extra one keeps every core busy (5,000 MATH pairs on 2 cores: x1.72 with 2
        # workers, x1.83 with 3; benchmarks/bench_verify.py).
        self.workers = max(1, workers or (os.cpu_count() or 1) + 1)
        self.timeout = timeout
        self.think_prefilled = think_prefilled
        self._pool = ProcessPool(
            max_workers=self.workers,
            max_tasks=max_tasks,
            initializer=_limit_memory,
            initargs=(memory_mb,),
            context=multiprocessing.get_context("spawn"),
        )

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.stop()
        self._pool.join()

    def verify(self, golds: Sequence[Any], completions: Sequence[Any]) -> list:
        """Judge completions[i] against golds[i]. A gold that is a code TestSuite (a code problem's tests)
        goes to the code judge, which runs the program in the sandbox (pass/fail: it stops at the first
        failing test); every other gold is a math answer. The verdicts keep the input order."""
        if len(golds) != len(completions):
            raise ValueError(f"{len(golds)} gold answers for {len(completions)} completions")
        from r1data.ops.code import TestSuite

        code_at = [i for i, g in enumerate(golds) if isinstance(g, TestSuite)]
        if code_at:
            from r1data.codejudge import code_judge_for

            judge = code_judge_for(self.timeout, self.think_prefilled)
            code_verdicts = judge.verify([golds[i] for i in code_at], [completions[i] for i in code_at], True)
            taken = set(code_at)
            rest = [i for i in range(len(golds)) if i not in taken]
            math_verdicts = self.verify([golds[i] for i in rest], [completions[i] for i in rest]) if rest else []
            out: list = [None] * len(golds)
            for i, v in zip(code_at, code_verdicts, strict=True):
                out[i] = v
            for i, v in zip(rest, math_verdicts, strict=True):
                out[i] = v
            return out
        pairs = [
            (gold_text(g), final_answer_text(c, self.think_prefilled)) for g, c in zip(golds, completions, strict=True)
        ]
        return self.verify_prepared(pairs)

    def verify_prepared(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
        """Judge (gold text, answer text) pairs already prepared by ops/completions.py."""
        try:
            futures = [
                None if not gold else self._pool.schedule(_check, (gold, pred), timeout=self.timeout)
                for gold, pred in pairs
            ]
        except RuntimeError as exc:
            raise R1DataError(
                f"the verification workers could not start ({exc}). They are fresh Python processes: "
                "run r1data from a script file or the command line, not from standard input."
            ) from exc
        out = []
        for future in futures:
            if future is None:
                out.append(Verdict(mathcheck.GOLD_UNPARSEABLE))
                continue
            try:
                out.append(Verdict(*future.result()))
            except FutureTimeout:
                out.append(Verdict(mathcheck.TIMEOUT))
            except Exception:  # the worker died (ProcessExpired: killed by the OS, out of memory, ...)
                out.append(Verdict(mathcheck.CRASH))
        return out


_shared: Judge | None = None
_shared_lock = threading.Lock()


def shared_judge() -> Judge:
    """One process-wide judge for reward functions (TRL calls them many times per step)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Judge()
        return _shared


def configure_shared_judge(**kwargs: Any) -> Judge:
    """Replace the process-wide judge (workers, timeout, memory_mb, think_prefilled)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
        _shared = Judge(**kwargs)
        return _shared
