"""What every engine takes and returns (r1data/engines/__init__.py says how engines behave)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 1024
    seed: int = 0


@dataclass(frozen=True)
class Request:
    messages: list[dict[str, str]]
    n: int
    seed: int


@dataclass
class Generation:
    text: str
    finish_reason: str | None = None  # "stop", "length", ...
    tokens: int | None = None
    reasoning: str | None = None  # a server's separate reasoning field, when it has one


@dataclass(frozen=True)
class Failure:
    """A request the engine gave up on after its retries (a server's 503, a timeout): transient."""

    detail: str


class Engine(Protocol):
    name: str
    model: str

    def generate(self, requests: list[Request], sampling: Sampling) -> list[list[Generation] | Failure]: ...

    def close(self) -> None: ...
