"""Math answers: math-verify in a bounded pool of worker processes that cannot hang.

math-verify's timeout is `signal.alarm`: it fails off the main thread, cannot interrupt C-level
big-integer work, and `str()` of a parsed expression can hang outside any timeout. So every check
runs in a worker process (pebble's ProcessPool) with
- a hard per-item timeout: a late item's worker is killed and replaced, the item is `timeout`;
- an address-space limit (RLIMIT_AS) per worker: a runaway allocation fails in the worker only;
- recycling: a worker is replaced after `max_tasks` items, so caches and leaks cannot grow forever.
Workers are started with `spawn` (a fresh interpreter that imports only math-verify), return plain
strings, and cache parsed gold answers, so the k samples of a problem parse its gold once per worker.
math-verify's own signal timeouts are off inside the workers: a timed-out parse returns [] and would be
indistinguishable from an unparseable answer. Only plain values leave a worker: the answer text reported is
the string math-verify matched, never a printed sympy object.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import resource
import signal
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any

from r1data import progress
from r1data.errors import R1DataError
from r1data.judge.verdict import (
    CORRECT,
    CRASH,
    GOLD_UNPARSEABLE,
    INCORRECT,
    JUDGE_ERROR,
    PRED_UNPARSEABLE,
    TIMEOUT,
    Verdict,
)

DEFAULT_TIMEOUT = 5.0
RETRY_FACTOR = 2.0  # a timed-out item is tried once more with this many times the budget
DEFAULT_MEMORY_MB = 4096

# ---------------------------------------------------------------------------------------------------------------
# In the worker

_GOLD_CACHE: OrderedDict[str, list] = OrderedDict()
_GOLD_CACHE_SIZE = 4096

# math-verify warns once that its timeout is off: that is intended here.
logging.getLogger("math_verify").setLevel(logging.ERROR)


def _parse(text: str) -> list:
    from math_verify import parse

    return parse(text, parsing_timeout=None)


def parse_gold(gold: str) -> list:
    """Parsed gold, cached: the k samples of one problem share one parse."""
    hit = _GOLD_CACHE.get(gold)
    if hit is None:
        hit = _parse(gold) if gold else []
        _GOLD_CACHE[gold] = hit
        if len(_GOLD_CACHE) > _GOLD_CACHE_SIZE:
            _GOLD_CACHE.popitem(last=False)
    else:
        _GOLD_CACHE.move_to_end(gold)
    return hit


def matched_text(parsed: list) -> str | None:
    """The answer as written (math-verify returns the matched string after the parsed objects)."""
    strings = [p for p in parsed if isinstance(p, str)]
    return strings[-1] if strings else None


def check(gold: str, pred: str) -> tuple[str, str | None]:
    """(status, predicted answer text) for a prepared gold and prediction (see ops/completions.py)."""
    from math_verify import verify

    gold_parsed = parse_gold(gold)
    if not gold_parsed:
        return GOLD_UNPARSEABLE, None
    gold_is_math = any(not isinstance(g, str) for g in gold_parsed)
    pred_parsed = _parse(pred) if pred else []
    if not pred_parsed:
        return PRED_UNPARSEABLE, None
    if not gold_is_math:
        # math-verify reads the gold only as text. Whether it can be judged is decided by the gold alone, never by
        # what it is compared with: text written with math's and words' characters (`\sin^2t`) is compared as
        # text; anything else (`@@oops@@`) cannot be judged.
        if _GARBLED.search(last_boxed_text(gold)):
            return GOLD_UNPARSEABLE, None
        return (CORRECT if _same_text(gold, pred, pred_parsed) else INCORRECT), matched_text(pred_parsed)
    ok = verify(gold_parsed, pred_parsed, timeout_seconds=None)
    return (CORRECT if ok else INCORRECT), matched_text(pred_parsed)


_GARBLED = re.compile(r"[^\w\s\\^{}()\[\],.+\-*/=<>|!'$:;~&%°′″]")


def last_boxed_text(gold: str) -> str:
    from r1data.ops.answers import last_boxed

    return last_boxed(gold) or gold


def _same_text(gold: str, pred: str, pred_parsed: list) -> bool:
    from r1data.ops.answers import last_boxed, normalize_answer

    mine = last_boxed(pred) or matched_text(pred_parsed) or pred
    return normalize_answer(last_boxed(gold) or gold) == normalize_answer(mine)


def _start_worker(memory_mb: int) -> None:
    """A worker's start: its memory limit, then math-verify imported and warmed up, so that no item's timeout pays
    for the imports (on a busy machine they take seconds, and every replaced worker would pay again)."""
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    check("\\boxed{\\frac{1}{2}}", "\\boxed{0.5}")


def _check(gold: str, pred: str) -> tuple[str, str | None, float, str | None]:
    start = time.perf_counter()
    detail = None
    try:
        status, answer = check(gold, pred)
    except MemoryError:
        status, answer, detail = CRASH, None, "MemoryError (the worker's memory limit)"
    except RecursionError:
        status, answer, detail = CRASH, None, "RecursionError (the expression nests too deeply)"
    except Exception as exc:  # a bug in the checker: say which, never call it out-of-memory
        status, answer, detail = JUDGE_ERROR, None, f"{type(exc).__name__}: {str(exc)[:200]}"
    return status, answer, time.perf_counter() - start, detail


# ---------------------------------------------------------------------------------------------------------------
# The pool


class _QuietProcess(multiprocessing.context.SpawnProcess):
    """A spawned worker that never sees Ctrl-C: the terminal sends SIGINT to the whole foreground group, and a worker
    still starting up printed a KeyboardInterrupt traceback beside r1data's one line. SIGINT is blocked in the thread
    that starts the worker, and the blocked mask is inherited through fork and exec; r1data stops its workers itself."""

    def start(self) -> None:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _QuietContext(multiprocessing.context.SpawnContext):
    Process = _QuietProcess


class MathPool:
    """Worker processes for math checks; started on the first check, stopped by `close()`."""

    def __init__(self, workers: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 memory_mb: int = DEFAULT_MEMORY_MB, max_tasks: int = 2000, task: Any = None) -> None:  # fmt: skip
        # One more worker than cores: while a worker waits on its pipe or the main process collects
        # results, the extra one keeps every core busy (5,000 MATH pairs on 2 cores: x1.72 with 2
        # workers, x1.83 with 3; benchmarks/bench_verify.py).
        self.workers = max(1, workers or (os.cpu_count() or 1) + 1)
        self.timeout, self.memory_mb, self.max_tasks = timeout, memory_mb, max_tasks
        self.task = task or _check  # what a worker runs per pair (a module-level function)
        self._pool = None

    def _started(self):  # noqa: ANN202 - a pebble pool
        if self._pool is None:
            from pebble import ProcessPool

            self._pool = ProcessPool(
                max_workers=self.workers,
                max_tasks=self.max_tasks,
                initializer=_start_worker,
                initargs=(self.memory_mb,),
                context=_QuietContext(),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def verify(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
        """Judge (gold text, answer text) pairs prepared by ops/completions.py; the verdicts keep the order."""
        if not pairs:
            return []
        try:
            pool = self._started()
            futures = [
                None if not gold else pool.schedule(self.task, (gold, pred), timeout=self.timeout)
                for gold, pred in pairs
            ]
        except RuntimeError as exc:
            raise R1DataError(
                f"the verification workers could not start ({exc}). They are fresh Python processes: "
                "run r1data from a script file or the command line, not from standard input."
            ) from exc
        out: list[Verdict] = []
        report = progress.current()
        for future in futures:
            out.append(self._outcome(future))
            if len(out) % 64 == 0:  # the live counts, without a call per item
                report.count(judged=64)
        if rest := len(out) % 64:
            report.count(judged=rest)
        # A timeout is tried once more, alone in its worker and with a longer budget, before it is a verdict: a
        # busy machine must not decide what is correct. The verdict says it needed the retry.
        late = [i for i, v in enumerate(out) if v.status == TIMEOUT]
        if late:
            budget = self.timeout * RETRY_FACTOR
            again = [pool.schedule(self.task, pairs[i], timeout=budget) for i in late]
            for i, future in zip(late, again, strict=True):
                v = self._outcome(future)
                out[i] = replace(v, retried=True, detail=v.detail or (f"timed out after {self.timeout:g}s, then "
                                                                     f"after {budget:g}s" if v.status == TIMEOUT
                                                                     else f"timed out after {self.timeout:g}s; "
                                                                     f"retried with {budget:g}s"))  # fmt: skip
            report.count(retried=len(late), timeouts=sum(out[i].status == TIMEOUT for i in late))
        return out

    @staticmethod
    def _outcome(future: Any) -> Verdict:
        if future is None:
            return Verdict(GOLD_UNPARSEABLE)
        try:
            status, answer, seconds, detail = future.result()
            return Verdict(status, answer, seconds, detail)
        except FutureTimeout:
            return Verdict(TIMEOUT)
        except Exception as exc:
            from pebble import ProcessExpired

            if isinstance(exc, ProcessExpired):  # killed by the OS (out of memory) or crashed in C
                return Verdict(CRASH, detail=f"the worker died ({exc})")
            return Verdict(JUDGE_ERROR, detail=f"{type(exc).__name__}: {str(exc)[:200]}")
