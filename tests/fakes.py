"""A scripted engine: generation logic, resume and accounting tested without torch or a model."""

from __future__ import annotations

from collections.abc import Callable

from r1data.engines import Failure, Generation, Request, Sampling

Script = Callable[[str, int, int], list[str] | None]  # (user message, n, seed) -> texts, or None for a failure


class ScriptedEngine:
    """Answers each request with texts from `script`; None from the script is a transient failure of that row."""

    name = "scripted"
    model = "scripted-model"

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[Request] = []
        self.closed = False

    def generate(self, requests: list[Request], sampling: Sampling) -> list[list[Generation] | Failure]:
        out: list[list[Generation] | Failure] = []
        for r in requests:
            self.requests.append(r)
            texts = self.script(r.messages[-1]["content"], r.n, r.seed)
            if texts is None:
                out.append(Failure("scripted: HTTP 503 Service Unavailable (after 1 attempt)"))
                continue
            out.append([Generation(t, "stop", len(t.split())) for t in texts[: r.n]])
        return out

    def close(self) -> None:
        self.closed = True


def answers(*texts: str) -> Script:
    """The same texts for every request, cycled to n."""
    return lambda message, n, seed: [texts[i % len(texts)] for i in range(n)]
