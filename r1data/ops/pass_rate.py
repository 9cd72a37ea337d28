"""Pass-rate bands and adaptive sampling.

Fixed k: sample k completions per problem, p = correct / judged, keep when LO < p < HI (strict,
as open-r1). Completions that cannot be judged (None) count in neither.

Adaptive: most problems are clearly too easy or clearly impossible, and a few samples show it. The
question is not "what is the true pass rate" but "what would fixed k decide", so the stopping rule
predicts that decision: after n samples with c correct, the remaining k - n outcomes follow the
Beta-binomial posterior predictive under a Beta(a, b) prior, and sampling stops once the predicted
decision is certain to the requested confidence. The prior is fitted to the first round of all
problems (empirical Bayes, method of moments with the binomial noise removed): real pass rates
are U-shaped, and a flat prior would need more samples to believe it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Band:
    """Keep LO < pass rate < HI (strict at both ends)."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not 0 <= self.lo < self.hi <= 1:
            raise ValueError(f"pass-rate band needs 0 <= LO < HI <= 1 (got {self.lo}:{self.hi})")

    @classmethod
    def parse(cls, text: str) -> Band:
        """'0.1:0.9' -> Band(0.1, 0.9)."""
        try:
            lo, hi = (float(x) for x in text.split(":"))
        except ValueError as exc:
            raise ValueError(f"--pass-rate must look like LO:HI, e.g. 0.1:0.9 (got '{text}')") from exc
        return cls(lo, hi)

    def keep(self, rate: float | None) -> bool:
        return rate is not None and self.lo < rate < self.hi


@dataclass(frozen=True)
class AdaptiveParams:
    k: int = 16  # the fixed-k decision being predicted, and the most samples any problem gets
    initial: int = 4
    step: int = 1
    confidence: float = 0.9


def fit_beta_prior(correct: np.ndarray, judged: np.ndarray) -> tuple[float, float]:
    """Beta(a, b) matching the spread of first-round pass rates across problems, binomial noise removed."""
    ok = judged > 0
    if ok.sum() < 2:
        return 1.0, 1.0
    x = correct[ok] / judged[ok]
    mean = float(np.clip(x.mean(), 0.01, 0.99))
    noise = float(np.mean(mean * (1 - mean) / judged[ok]))
    var = max(float(x.var()) - noise, 1e-4)
    strength = max(mean * (1 - mean) / var - 1, 0.05)
    return mean * strength, (1 - mean) * strength


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def keep_probability(correct: int, judged: int, k: int, band: Band, a: float, b: float) -> float:
    """P(fixed k keeps the problem | c correct of n judged so far), under the Beta(a, b) prior."""
    remaining = k - judged
    if remaining <= 0:
        return float(band.keep(correct / judged if judged else None))
    post_a, post_b = a + correct, b + judged - correct
    total = 0.0
    for r in range(remaining + 1):
        log_p = (
            math.lgamma(remaining + 1)
            - math.lgamma(r + 1)
            - math.lgamma(remaining - r + 1)
            + _log_beta(post_a + r, post_b + remaining - r)
            - _log_beta(post_a, post_b)
        )
        if band.keep((correct + r) / k):
            total += math.exp(log_p)
    return total


@dataclass
class AdaptiveSampler:
    """Per-problem sampling state. `requests()` says how many more samples each open problem
    needs; `record()` takes their judged outcomes; `decision()` is final once `done()`."""

    band: Band
    params: AdaptiveParams = field(default_factory=AdaptiveParams)
    correct: dict[str, int] = field(default_factory=dict)
    judged: dict[str, int] = field(default_factory=dict)
    drawn: dict[str, int] = field(default_factory=dict)
    decided: dict[str, bool] = field(default_factory=dict)
    prior: tuple[float, float] | None = None

    def add(self, key: str) -> None:
        self.correct.setdefault(key, 0)
        self.judged.setdefault(key, 0)
        self.drawn.setdefault(key, 0)

    def requests(self) -> dict[str, int]:
        out = {}
        for key, drawn in self.drawn.items():
            if key in self.decided:
                continue
            want = self.params.initial if drawn == 0 else self.params.step
            out[key] = min(want, self.params.k - drawn)
        return out

    def record(self, key: str, outcomes: list[bool | None]) -> None:
        self.drawn[key] += len(outcomes)
        self.judged[key] += sum(o is not None for o in outcomes)
        self.correct[key] += sum(o is True for o in outcomes)

    def settle(self) -> None:
        """Decide every problem whose fixed-k outcome is now certain enough (call after a round)."""
        if self.prior is None:
            keys = list(self.drawn)
            self.prior = fit_beta_prior(
                np.array([self.correct[k] for k in keys], dtype=float),
                np.array([self.judged[k] for k in keys], dtype=float),
            )
        a, b = self.prior
        conf = self.params.confidence
        for key in self.drawn:
            if key in self.decided:
                continue
            c, n = self.correct[key], self.judged[key]
            if self.drawn[key] >= self.params.k:
                self.decided[key] = self.band.keep(c / n if n else None)
                continue
            p_keep = keep_probability(c, n, self.params.k, self.band, a, b)
            if p_keep >= conf:
                self.decided[key] = True
            elif p_keep <= 1 - conf:
                self.decided[key] = False

    def done(self) -> bool:
        return len(self.decided) == len(self.drawn)

    def pass_rate(self, key: str) -> float | None:
        n = self.judged[key]
        return self.correct[key] / n if n else None
