"""Errors a user can act on.

Every message says what went wrong, where (file, line, column), and how to fix it. The CLI prints
the message as one line and exits 1; `R1DATA_DEBUG=1` shows the traceback instead.
"""

from __future__ import annotations


class R1DataError(Exception):
    """Base class for every error r1data reports to a user without a traceback."""


class InputError(R1DataError):
    """An input file or directory cannot be read as the user asked."""


class SchemaError(R1DataError):
    """The input is readable but lacks a column r1data needs."""


class EmptyInputError(R1DataError):
    """The input holds no rows to work on."""


class OutputError(R1DataError):
    """The output directory cannot be written as asked (exists, not writable, ...)."""


class ConfigError(R1DataError):
    """An option or recipe value is out of range or contradicts another."""


class MissingExtraError(R1DataError):
    """A command needs an optional dependency group that is not installed."""

    def __init__(self, module: str, extra: str, what: str) -> None:
        super().__init__(
            f"{what} needs the '{module}' package, which is not installed. "
            f"Install it with: pip install 'r1data[{extra}]'"
        )
