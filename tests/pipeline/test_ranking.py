"""The ranking statistics on seeded data, against scipy where scipy has a reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from pipeline.ranking import (
    FUNNEL_LEVELS,
    Funnel,
    beta_binomial_loglik,
    fit_beta_binomial,
    funnel_limits,
    moments_prior,
    posterior,
    rank_units,
    wilson_interval,
)


def _seeded(units: int = 2000, a: float = 2.0, b: float = 30.0, seed: int = 1):
    rng = np.random.default_rng(seed)
    n = rng.integers(5, 200, units)
    k = rng.binomial(n, rng.beta(a, b, units))
    return k, n


def test_marginal_likelihood_matches_scipy_betabinom() -> None:
    k, n = _seeded(300)
    a, b = 1.7, 24.0
    reference = stats.betabinom.logpmf(k, n, a, b).sum()
    log_binom = (special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)).sum()
    assert beta_binomial_loglik(a, b, k, n) + log_binom == pytest.approx(reference, rel=1e-10)


def test_prior_fit_recovers_the_generating_beta() -> None:
    k, n = _seeded()
    prior = fit_beta_binomial(k, n)
    assert prior.method == "marginal_likelihood"
    assert prior.mean == pytest.approx(2 / 32, rel=0.06)
    assert prior.strength == pytest.approx(32, rel=0.2)
    # The optimum is at least as likely as the moments start, and is a local maximum.
    start = moments_prior(k, n)
    best = beta_binomial_loglik(prior.alpha, prior.beta, k, n)
    assert best >= beta_binomial_loglik(start.alpha, start.beta, k, n)
    for da, db in ((1.05, 1.0), (0.95, 1.0), (1.0, 1.05), (1.0, 0.95)):
        assert best >= beta_binomial_loglik(prior.alpha * da, prior.beta * db, k, n)


def test_no_spread_beyond_binomial_pools_completely() -> None:
    rng = np.random.default_rng(2)
    n = rng.integers(5, 200, 1000)
    k = rng.binomial(n, 0.1)
    prior = fit_beta_binomial(k, n)
    assert prior.strength > 1000
    mean, _, _ = posterior(k, n, prior)
    assert np.allclose(mean, k.sum() / n.sum(), atol=0.02)


def test_too_few_units_or_no_events_fall_back_to_a_weak_prior() -> None:
    assert fit_beta_binomial([0, 0, 0, 0], [10, 20, 30, 5]).method == "weak"
    assert fit_beta_binomial([1, 2], [10, 20]).method == "weak"
    # Units below the fitting volume do not inform the prior.
    assert fit_beta_binomial([1, 1, 1, 5, 6], [1, 2, 2, 50, 60], fit_min=3).units == 2


def test_posterior_is_the_conjugate_beta() -> None:
    k, n = _seeded(50)
    prior = fit_beta_binomial(k, n)
    mean, low, high = posterior(k, n, prior)
    for i in range(len(k)):
        reference = stats.beta(prior.alpha + k[i], prior.beta + n[i] - k[i])
        assert mean[i] == pytest.approx(reference.mean())
        assert (low[i], high[i]) == pytest.approx(reference.interval(0.95))


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (1, 1), (57, 400), (5, 3000)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    reference = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval([k], [n])
    assert (low[0], high[0]) == pytest.approx((reference.low, reference.high), abs=1e-12)


def test_funnel_limits_hold_their_level_and_approach_the_normal() -> None:
    p0 = 0.12
    rng = np.random.default_rng(3)
    n = rng.integers(5, 500, 40_000)
    share = rng.binomial(n, p0) / n
    for level in FUNNEL_LEVELS:
        low, high = funnel_limits(p0, n, level)
        outside_high = np.mean(share > high)
        outside_low = np.mean(share < low)
        # Each tail holds about (1 - level) / 2 of units drawn at p0.
        tail = (1 - level) / 2
        assert outside_high == pytest.approx(tail, abs=max(0.004, tail * 0.4))
        assert outside_low == pytest.approx(tail, abs=max(0.004, tail * 0.4))
    big = np.array([5000.0, 20000.0])
    low, high = funnel_limits(p0, big, 0.95)
    half = 1.959964 * np.sqrt(p0 * (1 - p0) / big)
    assert np.allclose(high, p0 + half, atol=0.002) and np.allclose(low, p0 - half, atol=0.002)
    # The funnel narrows as volume grows (up to wiggles of a hundredth where the binomial's
    # discreteness shows at small n).
    _, upper = funnel_limits(p0, np.arange(5, 2000), 0.998)
    assert upper[0] > upper[45] > upper[495] > upper[-1] > p0
    assert np.all(np.diff(upper) <= 0.011)


def test_ranking_finds_planted_merchants_and_refuses_small_ones() -> None:
    rng = np.random.default_rng(4)
    units = 300
    n = rng.integers(10, 120, units)
    k = rng.binomial(n, rng.beta(1.0, 20.0, units))
    planted = [17, 123, 250]
    n[planted] = [60, 80, 45]
    k[planted] = [30, 36, 22]
    tiny = 5
    n[tiny], k[tiny] = 2, 2  # 100% of two complaints
    names = [f"m{i}" for i in range(units)]
    ranking = rank_units("exit_scam", names, k, n, min_volume=10)
    top = [u.name for u in ranking.ranked[:3]]
    assert set(top) == {f"m{i}" for i in planted}
    assert all(u.funnel is Funnel.ABOVE_998 for u in ranking.ranked[:3])
    small = next(u for u in ranking.units if u.name == "m5")
    assert small.rank is None and small.share == 1.0
    # Two of two is pulled far towards the pooled rate: no small shop tops the table by luck.
    assert small.posterior_mean < 0.5 and small.posterior_mean < ranking.ranked[0].posterior_mean
    assert ranking.below_min_volume == 1
    assert [u.rank for u in ranking.ranked] == list(range(1, units))
    means = [u.posterior_mean for u in ranking.ranked]
    assert means == sorted(means, reverse=True)
    # Every interval holds its estimate.
    for u in ranking.units:
        assert u.posterior_low <= u.posterior_mean <= u.posterior_high
        assert u.wilson_low <= u.share <= u.wilson_high


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="outside 0 <= k <= n"):
        rank_units("x", ["a", "b"], [3, 1], [2, 5])
