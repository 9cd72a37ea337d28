import numpy as np
import pytest

from r1data.ops.pass_rate import AdaptiveParams, AdaptiveSampler, Band, fit_beta_prior, keep_probability


def test_band_is_strict_and_parses():
    band = Band.parse("0.1:0.9")
    assert [band.keep(x) for x in (0.0, 0.1, 0.5, 0.9, 1.0, None)] == [False, False, True, False, False, False]
    with pytest.raises(ValueError, match="LO:HI"):
        Band.parse("0.1-0.9")
    with pytest.raises(ValueError, match="LO < HI"):
        Band(0.9, 0.1)


def test_keep_probability_predicts_the_fixed_k_decision():
    band = Band(0.1, 0.9)
    assert keep_probability(16, 16, 16, band, 1, 1) == 0.0  # all done: the fixed-k decision itself
    assert keep_probability(8, 16, 16, band, 1, 1) == 1.0
    # Twelve of twelve correct: keeping needs at least 2 failures in the last 4, which is unlikely.
    assert keep_probability(12, 12, 16, band, 1, 1) < 0.1
    # A U-shaped prior believes "always right" sooner than a flat one.
    assert keep_probability(4, 4, 16, band, 0.5, 0.5) < keep_probability(4, 4, 16, band, 1, 1)
    # Halfway evidence keeps.
    assert keep_probability(4, 8, 16, band, 1, 1) > 0.95


def test_fit_beta_prior_sees_u_shapes():
    rng = np.random.default_rng(0)
    p = np.where(rng.random(2000) < 0.5, 0.02, 0.98)
    correct = rng.binomial(4, p).astype(float)
    a, b = fit_beta_prior(correct, np.full(2000, 4.0))
    assert a < 1 and b < 1  # U-shaped
    assert fit_beta_prior(np.array([1.0]), np.array([4.0])) == (1.0, 1.0)  # too little to fit


def test_sampler_stops_early_on_clear_cases_and_never_exceeds_k():
    sampler = AdaptiveSampler(Band(0.1, 0.9), AdaptiveParams(k=16, initial=4, step=2, confidence=0.9))
    truth = {f"easy{i}": True for i in range(30)} | {f"hard{i}": False for i in range(30)}
    mixed = {f"mid{i}": i for i in range(10)}
    for key in [*truth, *mixed]:
        sampler.add(key)
    rounds = 0
    while not sampler.done():
        rounds += 1
        for key, n in sampler.requests().items():
            start = sampler.drawn[key]
            # Easy/hard problems always/never pass; mid ones alternate (pass rate 0.5).
            outcomes = [truth[key]] * n if key in truth else [(start + j) % 2 == 0 for j in range(n)]
            outcomes[0] = None if key == "mid0" and start == 0 else outcomes[0]  # one unjudgeable sample
            sampler.record(key, outcomes)
        sampler.settle()
    assert all(n <= 16 for n in sampler.drawn.values())
    assert all(sampler.decided[k] is False for k in truth)  # always right or always wrong: dropped
    assert all(sampler.decided[k] is True for k in mixed)
    assert sum(sampler.drawn[k] for k in truth) < 16 * len(truth) * 0.8
    assert sampler.judged["mid0"] == sampler.drawn["mid0"] - 1  # None counts in neither
    assert sampler.pass_rate("easy0") == 1.0 and rounds <= 7
