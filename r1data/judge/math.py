"""Math answers: math-verify in a bounded pool of worker processes that cannot hang.

math-verify's timeout is `signal.alarm`: it fails off the main thread, cannot interrupt C-level
big-integer work, and `str()` of a parsed expression can hang outside any timeout. So every check
runs in a worker process (pebble's ProcessPool) with
- a hard per-item timeout: a late item's worker is killed and replaced, the item is `timeout`;
- an address-space limit (RLIMIT_AS) per worker: a runaway allocation fails in the worker only;
- recycling: a worker is replaced after `max_tasks` items, so caches and leaks cannot grow forever.
Workers are forked from a fork server, a fresh interpreter that imported math-verify once (never a fork of
r1data itself), so a worker starts in milliseconds, also when one is replaced. They return plain strings and cache
parsed gold answers; the k samples of a problem travel in one batch, so its gold is parsed once.
math-verify's own signal timeouts are off inside the workers: a timed-out parse returns [] and would be
indistinguishable from an unparseable answer. Only plain values leave a worker: the answer text reported is
the string math-verify matched, never a printed sympy object.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import resource
import signal
import threading
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


def warm_up() -> None:
    """math-verify imported, and one answer parsed and checked (its lazy imports and compiled patterns are ready).
    Warming the parser on more shapes in the fork server delays every worker's start by more than it saves them
    (3,180 long-CoT rows on 2 cores: 3.1 s with twelve shapes, 2.9 s with one)."""
    check("\\boxed{\\frac{1}{2}}", "\\boxed{0.5}")


def _start_worker(memory_mb: int, environ: dict[str, str]) -> None:
    """A worker's start: the environment of the pool's owner (the fork server has the one it was started with), its
    memory limit, then math-verify imported and warmed up, so that no item's timeout pays for the imports (on a busy
    machine they take seconds, and every replaced worker would pay again). Forked from the warm fork server, a worker
    finds that done."""
    if environ != os.environ:
        os.environ.clear()
        os.environ.update(environ)
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warm_up()


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


def _ready() -> None:
    """The first task of a pool started ahead of its work."""


def _run_batch(task: Any, items: list[tuple[str, str]]) -> list[tuple[tuple, float]]:
    """Each pair's result and the seconds it took, start to end (the pool's clock, not the task's own)."""
    out = []
    for gold, pred in items:
        start = time.perf_counter()
        out.append((task(gold, pred), time.perf_counter() - start))
    return out


# ---------------------------------------------------------------------------------------------------------------
# The pool

BATCH = 8


def _batches(pairs: Sequence[tuple[str, str]], at: list[int]) -> list[list[int]]:
    """The pairs at `at` in batches of up to BATCH, a gold's pairs together, the costliest batch (by length) first."""
    by_gold: dict[str, list[int]] = {}
    for i in at:
        by_gold.setdefault(pairs[i][0], []).append(i)
    batches: list[list[int]] = []
    for group in by_gold.values():
        if batches and len(batches[-1]) + len(group) <= BATCH:
            batches[-1].extend(group)
        else:
            batches.extend(group[k : k + BATCH] for k in range(0, len(group), BATCH))
    return sorted(batches, key=lambda b: -sum(len(str(pairs[i][0])) + len(str(pairs[i][1])) for i in b))


class _QuietProcess(multiprocessing.context.ForkServerProcess):
    """A worker that never sees Ctrl-C: the terminal sends SIGINT to the whole foreground group, and a worker still
    starting up printed a KeyboardInterrupt traceback beside r1data's one line. SIGINT is blocked in the thread that
    starts the worker (and, the first time, the fork server): the blocked mask is inherited through fork and exec.
    r1data stops its workers itself."""

    def start(self) -> None:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _QuietContext(multiprocessing.context.ForkServerContext):
    """Workers forked from one fork server that imported math-verify once (r1data/judge/warm.py): a worker starts in
    milliseconds instead of importing sympy again, and a replaced one (recycled, or killed at its timeout) costs
    nothing. The server is a fresh interpreter (never a fork of r1data), started when the first row needs it."""

    Process = _QuietProcess

    def __init__(self) -> None:
        super().__init__()
        self.set_forkserver_preload(["r1data.judge.warm"])

    def start_server(self) -> None:
        """The fork server started now (a fork and exec, milliseconds); it imports and warms up on its own."""
        from multiprocessing import forkserver

        from r1data.lifetime import quiet_resource_tracker

        # The resource tracker first (its leak notices kept off the terminal): starting it unblocks SIGINT in this
        # thread, and the server started after would see Ctrl-C while it imports.
        quiet_resource_tracker()
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            forkserver.ensure_running()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


class MathPool:
    """Worker processes for math checks; started on the first check, stopped by `close()`."""

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int = DEFAULT_MEMORY_MB,
        max_tasks: int = 2000,
        task: Any = None,
    ) -> None:
        # One more worker than cores: while a worker waits on its pipe or the main process collects
        # results, the extra one keeps every core busy (5,000 MATH pairs on 2 cores: x1.72 with 2
        # workers, x1.83 with 3; benchmarks/bench_verify.py).
        self.workers = max(1, workers or (os.cpu_count() or 1) + 1)
        self.timeout, self.memory_mb, self.max_tasks = timeout, memory_mb, max_tasks
        self.task = task or _check  # what a worker runs per pair (a module-level function)
        self._pool = None
        self._starting: threading.Thread | None = None

    def prestart(self) -> None:
        """Start the workers in the background while the caller goes on preparing rows; `verify` waits for them."""
        if self._pool is None and self._starting is None:
            _QuietContext().start_server()
            self._starting = threading.Thread(target=self._start, name="r1data-judge-start", daemon=True)
            self._starting.start()

    def _start(self) -> None:
        with contextlib.suppress(RuntimeError):  # `verify` schedules again and says why in one line
            self._started().schedule(_ready)  # pebble starts its workers with the first task

    def _started(self):  # noqa: ANN202 - a pebble pool
        if (starting := self._starting) is not None and starting is not threading.current_thread():
            starting.join()
            self._starting = None
        if self._pool is None:
            from pebble import ProcessPool

            (context := _QuietContext()).start_server()

            self._pool = ProcessPool(
                max_workers=self.workers,
                max_tasks=self.max_tasks,
                initializer=_start_worker,
                initargs=(self.memory_mb, dict(os.environ)),
                context=context,
            )
        return self._pool

    def close(self) -> None:
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def verify(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
        """Judge (gold text, answer text) pairs prepared by ops/completions.py; the verdicts keep the order.

        Pairs travel in batches of up to BATCH that share golds where they can (a worker parses each gold once and
        pays one round trip per batch), the costliest first. Batching never changes a verdict: a batch that fails
        (its budget of `timeout` per pair spent, its worker dead) is judged again pair by pair, each alone with its own
        clock; a pair that took longer than `timeout` inside a batch is a timeout, retried like any other."""
        if not pairs:
            return []
        out: list[Verdict | None] = [None if gold else Verdict(GOLD_UNPARSEABLE) for gold, _ in pairs]
        batches = _batches(pairs, [i for i, v in enumerate(out) if v is None])
        try:
            pool = self._started()
            futures = [
                pool.schedule(_run_batch, (self.task, [pairs[i] for i in batch]), timeout=self.timeout * len(batch))
                for batch in batches
            ]
        except RuntimeError as exc:
            raise R1DataError(
                f"the verification workers could not start ({exc}). They are fresh Python processes: "
                "run r1data from a script file or the command line, not from standard input."
            ) from exc
        report = progress.current()
        alone: list[int] = []
        for batch, future in zip(batches, futures, strict=True):
            try:
                results = future.result()
            except Exception:  # noqa: BLE001 - a timeout, a dead worker, a task that raised: each pair alone
                alone.extend(batch)
                continue
            for i, (result, took) in zip(batch, results, strict=True):
                # Past its budget it is a timeout, as it would have been alone: retried below like any other.
                out[i] = Verdict(TIMEOUT) if took > self.timeout else Verdict(*result)
            report.count(judged=len(batch))
        single = [pool.schedule(self.task, pairs[i], timeout=self.timeout) for i in alone]
        for i, future in zip(alone, single, strict=True):
            out[i] = self._outcome(future)
        if alone:
            report.count(judged=len(alone))
        # A timeout is tried once more, alone in its worker and with a longer budget, before it is a verdict: a
        # busy machine must not decide what is correct. The verdict says it needed the retry.
        late = [i for i, v in enumerate(out) if v.status == TIMEOUT]
        if late:
            budget = self.timeout * RETRY_FACTOR
            again = [pool.schedule(self.task, pairs[i], timeout=budget) for i in late]
            for i, future in zip(late, again, strict=True):
                v = self._outcome(future)
                out[i] = replace(
                    v,
                    retried=True,
                    detail=v.detail
                    or (
                        f"timed out after {self.timeout:g}s, then after {budget:g}s"
                        if v.status == TIMEOUT
                        else f"timed out after {self.timeout:g}s; retried with {budget:g}s"
                    ),
                )
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
