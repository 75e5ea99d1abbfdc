"""The early-warning statistics on seeded series with planted waves at known positions, and
against scipy where scipy has a reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pipeline.alerts import (
    AlertSettings,
    baseline,
    bh_qvalues,
    cochran_armitage,
    merchant_scan,
    poisson_scan_pvalues,
    trend_pvalues,
    weekly_qvalues,
    window_pvalue,
)


def test_bh_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(size=500), rng.uniform(0, 1e-4, size=20)])
    assert np.allclose(bh_qvalues(p), stats.false_discovery_control(p, method="bh"))
    assert bh_qvalues([]).size == 0


def test_weekly_families_leave_out_unknown_units() -> None:
    p = np.array([[0.001, np.nan], [0.5, 0.01], [0.02, 0.02]])
    members = np.array([[True, True], [True, True], [False, True]])
    q = weekly_qvalues(p, members)
    assert np.allclose(q[:2, 0], stats.false_discovery_control([0.001, 0.5]))
    assert np.isnan(q[2, 0]) and np.isnan(q[0, 1])
    assert np.allclose(q[1:, 1], stats.false_discovery_control([0.01, 0.02]))


def test_weekly_qvalues_match_scipy_week_by_week_with_many_empty_windows() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.05, (200, 6))
    p[rng.random((200, 6)) < 0.7] = 1.0  # most windows of a weekly scan hold no complaint
    p[rng.random((200, 6)) < 0.1] = np.nan
    members = rng.random((200, 6)) < 0.9
    q = weekly_qvalues(p, members)
    for t in range(6):
        family = members[:, t] & ~np.isnan(p[:, t])
        assert np.allclose(q[family, t], stats.false_discovery_control(p[family, t]))
        assert np.isnan(q[~family, t]).all()
    m = np.full(6, 1000)
    wider = weekly_qvalues(p, members, sizes=m)
    family = members[:, 0] & ~np.isnan(p[:, 0])
    padded = np.concatenate([p[family, 0], np.ones(1000 - family.sum())])
    assert np.allclose(wider[family, 0], stats.false_discovery_control(padded)[: family.sum()])
    with pytest.raises(ValueError, match="family size"):
        weekly_qvalues(p, members, sizes=np.full(6, 3))


def test_baseline_uses_past_weeks_behind_a_guard_with_a_floor() -> None:
    s = AlertSettings(baseline_weeks=4, guard_weeks=1, min_baseline_weeks=2, rate_floor=0.2)
    counts = np.array([[2, 0, 4, 2, 9, 9, 0]])
    base = baseline(counts, s)
    # Week 3: weeks 0-1 (week 2 is the guard); week 6: weeks 1-4.
    assert base.count[0, 3] == 2 and base.weeks[0, 3] == 2
    assert base.count[0, 6] == 15 and base.weeks[0, 6] == 4
    assert base.tested[0].tolist() == [False, False, False, True, True, True, True]
    quiet = baseline(np.zeros((1, 7), dtype=np.int64), s)
    assert np.allclose(quiet.rate[0, 3:], 0.2)


@pytest.mark.parametrize(("y", "b", "w", "weeks"), [(4, 2, 1, 4), (7, 0, 2, 12), (3, 5, 1, 12)])
def test_window_test_is_the_exact_conditional_binomial(y: int, b: int, w: int, weeks: int) -> None:
    reference = stats.binomtest(y, y + b, w / (w + weeks), alternative="greater").pvalue
    assert window_pvalue([y], [b], w, [weeks])[0] == pytest.approx(reference, rel=1e-9)


def test_poisson_scan_takes_the_best_window_times_the_windows() -> None:
    s = AlertSettings(baseline_weeks=4, guard_weeks=1, min_baseline_weeks=2, windows=(1, 2))
    counts = np.array([[1, 0, 1, 0, 3, 4]])
    p, rate, window = poisson_scan_pvalues(counts, s)
    # Week 5: baseline weeks 0-3 (week 4 is the guard) hold 2 complaints, above the floor.
    one = stats.binomtest(4, 6, 1 / 5, alternative="greater").pvalue
    two = stats.binomtest(7, 9, 2 / 6, alternative="greater").pvalue
    assert p[0, 5] == pytest.approx(min(1.0, 2 * min(one, two)))
    assert rate[0, 5] == pytest.approx(0.5)
    assert window[0, 5] == 7
    assert np.isnan(p[0, :3]).all()
    # An empty week is never evidence.
    assert p[0, 3] == 1.0


def _seeded_merchants(seed: int, waves: dict[int, int] | None, units: int = 400, weeks: int = 30):
    """Poisson weekly counts with merchant rates from a gamma (a few busy, most quiet), a
    gently rising volume, and optional waves {merchant: start week} over three weeks: 3, 6
    and 8 complaints more, plus twice the merchant's usual rate (a busy merchant's wave is
    bigger in absolute terms)."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(0.6, 0.25, units)
    trend = 1.0 + 0.4 * np.arange(weeks) / weeks
    counts = rng.poisson(rates[:, None] * trend[None, :])
    for merchant, start in (waves or {}).items():
        counts[merchant, start : start + 3] += np.array([3, 6, 8]) + round(2 * rates[merchant])
    members = np.ones((units, weeks), dtype=bool)
    return counts, members


def test_planted_waves_are_found_within_a_week_and_nothing_else() -> None:
    waves = {3: 10, 77: 15, 150: 20, 222: 24, 399: 12}
    counts, members = _seeded_merchants(5, waves)
    scan = merchant_scan(counts, members, AlertSettings())
    alerted = {int(i) for i in np.flatnonzero(scan.full_alert.any(axis=1))}
    assert set(waves) <= alerted
    for merchant, start in waves.items():
        first = int(np.flatnonzero(scan.full_alert[merchant])[0])
        assert start <= first <= start + 1, (merchant, start, first)
    assert len(alerted - set(waves)) <= 1


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_no_waves_no_alerts(seed: int) -> None:
    counts, members = _seeded_merchants(seed, None)
    scan = merchant_scan(counts, members, AlertSettings())
    assert int(scan.full_alert.any(axis=1).sum()) <= 1
    assert scan.tests == 400 * (30 - 4)  # weeks 0-3 lack a 3-week baseline behind the guard


def test_one_or_two_complaints_from_a_quiet_merchant_do_not_alarm() -> None:
    counts = np.zeros((300, 20), dtype=np.int64)
    counts[7, 15] = 2
    counts[8, 16] = 1
    scan = merchant_scan(counts, np.ones_like(counts, dtype=bool), AlertSettings())
    assert not scan.full_alert.any()


def test_cochran_armitage_is_n_r_squared() -> None:
    rng = np.random.default_rng(6)
    n = rng.integers(5, 40, 20)
    k = rng.binomial(n, np.linspace(0.1, 0.3, 20))
    test = cochran_armitage(k, n, overdispersion=False)
    # Expanded to one 0/1 outcome per complaint, the statistic is N r^2 against the week.
    x = np.repeat(np.arange(20), n)
    y = np.concatenate([[1] * a + [0] * (b - a) for a, b in zip(k, n, strict=True)])
    r = stats.pearsonr(x, y).statistic
    assert test.z**2 == pytest.approx(len(x) * r**2, rel=1e-9)
    assert test.p_value == pytest.approx(stats.norm.sf(test.z))
    assert test.z > 0 and test.slope > 0


def test_trend_flags_the_rising_platform_and_rarely_a_flat_one() -> None:
    """Twelve platforms over 26 weeks, their weekly shares swinging beyond binomial noise;
    platform 4's share rises from 0.10 to 0.45. Over twenty seeded runs the rising one is
    always flagged, and flat ones seldom (weekly looks each control the FDR, not the span)."""
    false_flags = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        n = rng.poisson(20, (12, 26))
        p = rng.beta(6, 34, (12, 26))
        p[4] = np.linspace(0.10, 0.45, 26)
        k = rng.binomial(n, p)
        pvalues, slope, _, dispersion = trend_pvalues(k, n, AlertSettings())
        flagged = set(np.flatnonzero((weekly_qvalues(pvalues) <= 0.05).any(axis=1)).tolist())
        assert 4 in flagged, seed
        false_flags.append(len(flagged - {4}))
        assert slope[4, -1] == pytest.approx(0.35 / 25, abs=0.008)
        assert np.isnan(pvalues[:, :7]).all()  # fewer than 8 weeks of data
        assert np.nanmin(dispersion) >= 1.0
    assert np.mean(false_flags) <= 0.6


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="overlap the baseline"):
        AlertSettings(windows=(1, 3), guard_weeks=1)
    with pytest.raises(ValueError, match="fdr"):
        AlertSettings(fdr=0)


def test_bh_with_implicit_p_one_tests_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.01, 30)
    full = stats.false_discovery_control(np.concatenate([p, np.ones(970)]), method="bh")
    assert np.allclose(bh_qvalues(p, m=1000), full[:30])


def test_scan_skipping_empty_series_is_exact() -> None:
    counts, members = _seeded_merchants(21, {5: 12})
    counts[100:200] = 0  # merchants that never had such a complaint
    settings = AlertSettings()
    scan = merchant_scan(counts, members, settings)
    p, _, _ = poisson_scan_pvalues(counts, settings)
    q = weekly_qvalues(p, members)
    assert np.array_equal(scan.full_q, q, equal_nan=True)
    assert np.array_equal(scan.full_p, p, equal_nan=True)
    assert scan.active.tolist() == [i for i in range(400) if counts[i].any()]
