"""How an output reaches disk: one path for every step, so that no output is ever lost, replaced or
half-written.

- Every file is written under a temporary name, fsynced, renamed into place, and its folder fsynced
  (`write_bytes`, `write_json`, `write_parquet`): a crash leaves the old file or the new one.
- A step's output folder is built in a staging folder beside OUT (`.OUT.r1data-partial-PID`) and swapped
  in by one atomic exchange of the two names (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere two renames,
  repaired by the next run): at any moment OUT is the old complete output or the new complete one.
- `--overwrite` removes nothing before the new output is complete: the old OUT leaves only in the swap.
- `OutputLock` (`.OUT.r1data-lock`, holding the pid and host) lets one run write OUT at a time; a lock left
  by a dead process is taken over, and so are its staging folders, which are removed.
- Work that spans a run (a chunked step's chunks, a training run's checkpoints) lives in `.OUT.r1data-work`
  until the publish moves it into the new OUT.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from r1data.errors import OutputError, as_os_error, os_error
from r1data.lifetime import alive

PARTIAL, OLD, WORK, LOCK = "r1data-partial", "r1data-old", "r1data-work", "r1data-lock"
SCRATCH = "r1data-scratch"  # a step's spilled working state beside OUT (out-of-core dedup); never published


def sibling(out: Path, tag: str, suffix: str = "") -> Path:
    """A hidden name beside OUT: `.NAME.TAG[SUFFIX]`."""
    return out.parent / f".{out.name}.{tag}{suffix}"


def work_dir(out: str | Path) -> Path:
    """Where a chunked step keeps its chunks, or training its checkpoints, until the output is published."""
    out = Path(out)
    return sibling(out.absolute(), WORK)


# ---------------------------------------------------------------------------------------------------------------
# Fault injection: a seam for the crash-consistency tests. R1DATA_FAULT=NAME[:N] kills this process with SIGKILL
# the Nth time (default the first) it passes the point NAME. Unset, a point costs one dict lookup.

_fault_counts: dict[str, int] = {}


def fault_point(name: str) -> None:
    spec = os.environ.get("R1DATA_FAULT")
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _fault_counts[name] = _fault_counts.get(name, 0) + 1
    if _fault_counts[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------------------------------------------------------
# Durable writes


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable. Some file systems cannot: then nothing to do."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and folder under root (before the rename that publishes it)."""
    for folder, _, files in os.walk(root):
        for name in files:
            fsync_file(Path(folder) / name)
        fsync_dir(Path(folder))


def cache_staging(target: Path) -> Path:
    """An empty private folder beside the cache folder `target`, to fill before `settle_cache` (two processes may
    fill the same cache entry at once: each stages its own)."""
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def settle_cache(tmp: Path, target: Path) -> Path:
    """The filled staging folder fsynced and renamed into place: a cache entry is whole or absent. When another
    process settled the same entry first, its copy is the same and this one is dropped."""
    fsync_tree(tmp)
    try:
        tmp.rename(target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _replace(tmp: Path, path: Path) -> None:
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_with(path: str | Path, write: Callable[[Path], None], what: str = "writing") -> None:
    """Write `path` atomically: `write(tmp)` fills a temporary file, which is fsynced and renamed over path.
    Any failure (disk full included, however the library reports it) leaves path as it was and becomes one line."""
    path = Path(path)
    tmp = _tmp_name(path)
    try:
        write(tmp)
        _replace(tmp, path)
    except BaseException as exc:
        full = isinstance(exc, Exception) and _disk_full(tmp.parent)  # before the partial file's space comes back
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, Exception) and (os_exc := as_os_error(exc, path)) is not None:
            raise os_error(os_exc, path, what) from None
        if full:  # the library said something else ("Invalid thrift: transport error" when the footer did not fit)
            raise os_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)), path, what) from None
        raise


def _disk_full(folder: Path, below: int = 1 << 20) -> bool:
    """Whether the file system holding folder has less than `below` bytes left for us."""
    try:
        return shutil.disk_usage(folder).free < below
    except OSError:
        return False


def write_bytes(path: str | Path, data: bytes) -> None:
    write_with(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def write_parquet(df: Any, path: str | Path) -> None:
    """A polars frame as one Parquet file (zstd, with statistics), atomically."""
    write_with(path, lambda tmp: df.write_parquet(tmp, compression="zstd", statistics=True))


def mkdir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{path}: exists and is a file, not a folder. Choose another path.") from None
    except OSError as exc:
        raise os_error(exc, path, "creating the folder") from None


# ---------------------------------------------------------------------------------------------------------------
# The lock


class OutputLock:
    """One writer per OUT. The lock file holds {pid, host, command, since}; it is held with flock, which the
    kernel releases when the holder dies, so a lock left by a killed run is taken over without a word."""

    def __init__(self, out: Path, command: str) -> None:
        self.out = Path(out).absolute()
        self.path = sibling(self.out, LOCK)
        self.command = command
        self.fd: int | None = None

    def acquire(self) -> OutputLock:
        mkdir(self.out.parent)
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise os_error(exc, self.out.parent, "creating the lock for the output") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = self._holder(fd)
                os.close(fd)
                if holder.get("host") == socket.gethostname() and not alive(int(holder.get("pid", 0) or 0)):
                    time.sleep(0.05)  # the holder is gone; its kernel lock is on the way out
                    continue
                raise OutputError(
                    f"{self.out}: another r1data run is writing it ({holder.get('command', '?')}, pid "
                    f"{holder.get('pid', '?')} on {holder.get('host', '?')}, since {holder.get('since', '?')}). "
                    "Wait for it to finish, or choose another -o."
                ) from None
            # The file we locked must still be the one at the path (a releasing holder unlinks it).
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": self.command,
                "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            self.fd = fd
            return self
        raise OutputError(f"{self.out}: could not take the output lock {self.path}; remove it if no run is active")

    @staticmethod
    def _holder(fd: int) -> dict:
        try:
            return json.loads(os.pread(fd, 4096, 0) or b"{}")
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


# ---------------------------------------------------------------------------------------------------------------
# Staging and the swap


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux renameat2 RENAME_EXCHANGE, macOS renamex_np RENAME_SWAP).
    False where the system or the file system cannot."""
    if os.environ.get("R1DATA_NO_RENAME_EXCHANGE"):
        return False  # a seam: tests take the two-rename path that other systems fall back to
    libc = ctypes.CDLL(None, use_errno=True)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        at_fdcwd, rename_exchange = -100, 2
        done = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        rename_swap = 2
        done = libc.renamex_np(os.fsencode(a), os.fsencode(b), rename_swap) == 0
    else:
        return False
    if done:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_in(staging: Path, out: Path) -> None:
    """Make the complete folder `staging` become OUT; the old OUT, if any, is removed afterwards."""
    fsync_tree(staging)
    fault_point("before_swap")
    if not out.exists():
        os.rename(staging, out)
        fsync_dir(out.parent)
        return
    if not out.is_dir():
        raise OutputError(f"{out}: exists and is a file, not a folder. Choose another -o.")
    if _exchange(staging, out):
        fsync_dir(out.parent)
        fault_point("after_swap")
        shutil.rmtree(staging, ignore_errors=True)  # the old output, now under the staging name
        return
    old = sibling(out, OLD, f"-{os.getpid()}")
    os.rename(out, old)
    fault_point("between_renames")
    os.rename(staging, out)
    fsync_dir(out.parent)
    shutil.rmtree(old, ignore_errors=True)


def _complete_folder(path: Path) -> bool:
    from r1data.manifest import is_complete

    return is_complete(path, allow_failures=True)


def recover(out: Path) -> list[str]:
    """Under the lock: repair what a killed run left beside OUT. Where two renames were interrupted, OUT is put
    back (the new output if it was complete, else the old one); then stale staging and old folders are removed.
    Returns what was done, for the log."""
    done = []
    parent = out.parent
    if not parent.is_dir():
        return done
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(?:{PARTIAL}|{OLD}|{SCRATCH})-\d+")
    stale = sorted(p for p in parent.iterdir() if pattern.fullmatch(p.name))
    if not out.exists():
        ready = [p for p in stale if PARTIAL in p.name and _complete_folder(p)]
        olds = [p for p in stale if OLD in p.name and _complete_folder(p)]
        pick = (ready or olds or [None])[-1]
        if pick is not None:
            os.rename(pick, out)
            fsync_dir(parent)
            stale.remove(pick)
            done.append(f"restored {out} from {pick.name}")
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
        done.append(f"removed {p.name}, left by a run that was killed")
    return done


@contextlib.contextmanager
def _beside(out: Path, tag: str) -> Iterator[Path]:
    folder = sibling(out, tag, f"-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    mkdir(folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # gone already if it was swapped in


def scratch(out: Path) -> contextlib.AbstractContextManager[Path]:
    """A private folder beside OUT (same disk) for a step's spilled working state; removed on the way out, and by
    `recover` if the run was killed."""
    return _beside(out, SCRATCH)


def staging(out: Path) -> contextlib.AbstractContextManager[Path]:
    """A fresh staging folder beside OUT; removed on the way out if it was not swapped in."""
    return _beside(out, PARTIAL)


def link_tree(src: Path, dst: Path) -> None:
    """dst mirrors src with hard links (files here are written once and never changed in place, so a link is
    as good as a copy); a copy where links are not possible."""
    for folder, _, files in os.walk(src):
        target = dst / Path(folder).relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            s, d = Path(folder) / name, target / name
            try:
                os.link(s, d)
            except OSError:
                shutil.copy2(s, d)


def _literal(path: str | Path) -> Path:
    """The part of an input path before any glob character, absolute."""
    text = str(path)
    cut = min((i for i, ch in enumerate(text) if ch in "*?["), default=len(text))
    literal = text[:cut]
    return Path(literal if cut == len(text) else (literal.rsplit("/", 1)[0] or ".")).absolute()


def check_apart(out: Path, inputs: Sequence[str | Path]) -> None:
    """OUT neither holds an input nor lies inside an input folder: replacing it would delete the input, and the
    next read of that folder would take the output for data."""
    for given in inputs:
        path = _literal(given)
        if path == out or out in path.parents:
            raise OutputError(
                f"{out}: holds the input {given}; writing the output there would replace it. Choose an "
                "-o outside the input's folder."
            )
        if path.is_dir() and path in out.parents:
            raise OutputError(
                f"{out}: lies inside the input folder {given}; the next read of that folder would take "
                "the output for data. Choose an -o outside it."
            )


def check_replaceable(out: Path) -> None:
    """--overwrite replaces only what r1data wrote: an empty folder, or one whose manifest.json r1data wrote."""
    if not out.is_dir() or not any(out.iterdir()):
        return
    manifest = out / "manifest.json"
    try:
        written = json.loads(manifest.read_text())
    except (OSError, ValueError):
        written = None
    if not isinstance(written, dict) or "r1data_version" not in written:
        raise OutputError(
            f"{out}: is not an r1data output (no manifest.json of r1data's in it), and --overwrite "
            "replaces only r1data outputs. Choose another -o, or move that folder away yourself."
        )


def check_target(out: Path) -> Path:
    """OUT as an absolute path that can be a folder: its parent is made (or refused, in one line)."""
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is a file, not a folder. Choose a folder path for -o.")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{parent}: is a file, so {out} cannot be made under it. Choose another -o.")
            break
    mkdir(out.parent)
    if not os.access(out.parent, os.W_OK):
        raise OutputError(f"{out.parent}: not writable (read-only or permission denied). Choose another -o.")
    return out
