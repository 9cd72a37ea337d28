"""Errors a user can act on.

Every message says what went wrong, where (file, line, column, row or field), and how to fix it. The
CLI prints the message as one line and exits 1; `R1DATA_DEBUG=1` shows the traceback instead.
Transient failures (a server's 503) are not errors: the row is marked failed and a rerun retries it.
Permanent ones (a wrong API key) stop the run at once, as `EngineError`.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path


class R1DataError(Exception):
    """Base class for every error r1data reports to a user without a traceback."""


class InputError(R1DataError):
    """An input file or directory cannot be read as the user asked."""


class SchemaError(R1DataError):
    """The input is readable but lacks a column r1data needs."""


class EmptyInputError(R1DataError):
    """The input holds no rows to work on."""


class OutputError(R1DataError):
    """The output directory cannot be written as asked (exists, not writable, locked, disk full, ...)."""


class ConfigError(R1DataError):
    """An option or recipe value is out of range or contradicts another."""


class EngineError(R1DataError):
    """The generation engine failed in a way a rerun cannot fix (wrong key, unknown model, bad request)."""


class MissingExtraError(R1DataError):
    """A command needs an optional dependency group that is not installed."""

    def __init__(self, module: str, extra: str, what: str) -> None:
        super().__init__(
            f"{what} needs the '{module}' package, which is not installed. "
            f"Install it with: pip install 'r1data[{extra}]'"
        )


class Terminated(BaseException):  # noqa: N818 - named after the signal, like KeyboardInterrupt
    """SIGTERM arrived. A BaseException, as KeyboardInterrupt is, so that every `finally` (staging folders,
    worker pools, engines) runs on the way out and no `except Exception` swallows it."""


_FIXES = {
    errno.ENOSPC: ("no space left on the device", "free some space or choose an -o on another disk"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or choose an -o on another disk"),
    errno.EROFS: ("read-only file system", "choose an -o on a writable disk"),
    errno.EACCES: ("permission denied", "choose an -o you may write to, or fix the folder's permissions"),
    errno.EPERM: ("operation not permitted", "choose an -o you may write to, or fix the folder's permissions"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "choose an -o whose parents are folders"),
    errno.EISDIR: ("is a folder, not a file", "name a file"),
    errno.EEXIST: ("already exists", "choose another path or pass --overwrite"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) or use fewer --workers"),
    errno.EIO: ("input/output error of the disk", "check the disk, then rerun"),
    errno.ENAMETOOLONG: ("the name is too long", "choose a shorter path"),
}


def os_error(exc: OSError, path: str | Path | None = None, action: str = "writing") -> OutputError:
    """An OSError as one line naming the path and the fix (disk full, read-only, not a folder, ...)."""
    where = path if path is not None else (exc.filename or "?")
    what, fix = _FIXES.get(exc.errno or -1, (exc.strerror or str(exc), "check the path and rerun"))
    return OutputError(f"{where}: {what} while {action}. Fix: {fix}.")


_OS_ERROR_IN_TEXT = re.compile(r"os error (\d+)|\[Errno (\d+)\]")


def as_os_error(exc: BaseException, path: str | Path) -> OSError | None:
    """The OSError behind a library's exception (polars and pyarrow report disk-full as text: 'os error 28')."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc
    m = _OS_ERROR_IN_TEXT.search(str(exc))
    if m:
        code = int(m.group(1) or m.group(2))
        return OSError(code, os.strerror(code), str(path))
    if "No space left on device" in str(exc):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return None
