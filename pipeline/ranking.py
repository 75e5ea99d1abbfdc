"""Fair rankings of label shares: empirical-Bayes shrinkage, intervals and funnel limits.

Notation: unit i (a merchant or a platform) has n_i complaints in the period, k_i of them with
the label. Raw shares k_i / n_i reward luck at small n (1 of 1 is 100%), and raw counts reward
size. So:

- A beta-binomial model: each unit's true share p_i ~ Beta(alpha, beta), k_i ~ Bin(n_i, p_i).
  The prior is fitted across the units with n_i >= ``fit_min`` by maximizing the marginal
  (beta-binomial) likelihood, started from the method-of-moments estimate; where the data
  show no spread beyond binomial noise the prior pools towards the pooled rate, its weight
  alpha + beta capped at the fitting units' total complaints: a prior fitted on few units
  (platforms) never counts for more than all the data it came from, so intervals stay honest
  where the spread between units cannot be estimated.
- Each unit's posterior is Beta(alpha + k_i, beta + n_i - k_i): its mean is the shrunken share
  (small units are pulled towards the pooled rate), with an equal-tailed 95% interval.
  Units are ranked by posterior mean, and only from ``min_volume`` complaints on.
- Beside it the raw share's Wilson 95% interval.
- Funnel plot limits around the pooled rate p0 = sum k / sum n: exact binomial quantiles at
  95% and 99.8% with Spiegelhalter's interpolation (Statistics in Medicine 24, 2005), so that
  a unit above the 99.8% limit is unlikely (one in a thousand) under p0 alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy import optimize, special, stats

from pipeline.aggregate import ALL, UNKNOWN_PLATFORM, merchant_table, period_sql, platform_table
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, Label
from pipeline.warehouse import atomic_output, connect, require, sql_path

MIN_VOLUME = 10  # complaints in the period before a unit is ranked
FIT_MIN_VOLUME = 3  # complaints in the period before a unit informs the prior
MIN_FIT_UNITS = 3
LEVEL = 0.95
FUNNEL_LEVELS = (0.95, 0.998)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BetaPrior:
    alpha: float
    beta: float
    method: str  # "marginal_likelihood", "moments" or "weak" (too few units or no events)
    units: int  # units the prior was fitted on

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def strength(self) -> float:
        """alpha + beta: how many complaints' worth of weight the prior carries."""
        return self.alpha + self.beta


def _as_counts(
    k: Sequence[float] | FloatArray, n: Sequence[float] | FloatArray
) -> tuple[FloatArray, FloatArray]:
    ks = np.asarray(k, dtype=np.float64)
    ns = np.asarray(n, dtype=np.float64)
    if ks.shape != ns.shape:
        raise ValueError(f"k and n differ in shape: {ks.shape} vs {ns.shape}")
    if np.any(ns < 0) or np.any(ks < 0) or np.any(ks > ns):
        bad = int(np.sum((ns < 0) | (ks < 0) | (ks > ns)))
        raise ValueError(f"{bad} unit(s) have counts outside 0 <= k <= n")
    return ks, ns


def _weak_prior(k: FloatArray, n: FloatArray, units: int) -> BetaPrior:
    # Centred on the pooled rate, worth two complaints: shrinks little, never divides by 0.
    mean = (k.sum() + 0.5) / (n.sum() + 1.0)
    return BetaPrior(float(2.0 * mean), float(2.0 * (1.0 - mean)), "weak", units)


def moments_prior(k: Sequence[float] | FloatArray, n: Sequence[float] | FloatArray) -> BetaPrior:
    """Method of moments for the beta-binomial with unequal n (units with n > 0).

    With p_hat_i = k_i / n_i and mu = sum k / sum n, E[(p_hat_i - mu)^2] is about
    mu (1 - mu) (1 / n_i + rho (1 - 1 / n_i)), where rho = 1 / (alpha + beta + 1) is the
    intra-unit correlation; solving for rho gives alpha + beta."""
    ks, ns = _as_counts(k, n)
    keep = ns > 0
    ks, ns = ks[keep], ns[keep]
    units = len(ns)
    total_k, total_n = ks.sum(), ns.sum()
    if units < MIN_FIT_UNITS or total_k <= 0 or total_k >= total_n:
        return _weak_prior(ks, ns, units)
    mu = total_k / total_n
    spread = float(np.mean((ks / ns - mu) ** 2))
    inv_n = float(np.mean(1.0 / ns))
    rho = (spread / (mu * (1.0 - mu)) - inv_n) / (1.0 - inv_n) if inv_n < 1.0 else 0.0
    cap = float(total_n)  # the prior never weighs more than all the data it is fitted on
    strength = cap if rho <= 1.0 / (cap + 1.0) else min(1.0 / rho - 1.0, cap)
    strength = max(strength, 1e-3)
    return BetaPrior(float(mu * strength), float((1.0 - mu) * strength), "moments", units)


def beta_binomial_loglik(
    alpha: float, beta: float, k: Sequence[float] | FloatArray, n: Sequence[float] | FloatArray
) -> float:
    """Log marginal likelihood of the counts under Beta(alpha, beta), without the binomial
    coefficients (they do not depend on the prior)."""
    ks, ns = _as_counts(k, n)
    return float(
        np.sum(special.betaln(alpha + ks, beta + ns - ks)) - len(ks) * special.betaln(alpha, beta)
    )


def fit_beta_binomial(
    k: Sequence[float] | FloatArray,
    n: Sequence[float] | FloatArray,
    *,
    fit_min: int = FIT_MIN_VOLUME,
) -> BetaPrior:
    """The prior by maximum marginal likelihood over units with ``n >= fit_min``.

    Optimized over (logit mean, log strength), started from the method of moments; strength
    is bounded to [1e-3, sum n], so data without extra-binomial spread pool as far as their
    own volume allows."""
    ks, ns = _as_counts(k, n)
    keep = ns >= max(fit_min, 1)
    ks, ns = ks[keep], ns[keep]
    start = moments_prior(ks, ns)
    if start.method == "weak":
        return start

    def negloglik(theta: FloatArray) -> float:
        mean = special.expit(theta[0])
        strength = math.exp(theta[1])
        return -beta_binomial_loglik(mean * strength, (1.0 - mean) * strength, ks, ns)

    x0 = np.array([special.logit(start.mean), math.log(start.strength)])
    bounds = [(-20.0, 20.0), (math.log(1e-3), math.log(max(float(ns.sum()), 1e-3)))]
    result = optimize.minimize(negloglik, x0, method="L-BFGS-B", bounds=bounds)
    if not result.success or negloglik(result.x) > negloglik(x0):
        return start
    mean, strength = float(special.expit(result.x[0])), float(math.exp(result.x[1]))
    return BetaPrior(mean * strength, (1.0 - mean) * strength, "marginal_likelihood", len(ns))


def posterior(
    k: Sequence[float] | FloatArray,
    n: Sequence[float] | FloatArray,
    prior: BetaPrior,
    *,
    level: float = LEVEL,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Posterior means and equal-tailed ``level`` intervals: (mean, low, high)."""
    ks, ns = _as_counts(k, n)
    a = prior.alpha + ks
    b = prior.beta + ns - ks
    tail = (1.0 - level) / 2.0
    return a / (a + b), stats.beta.ppf(tail, a, b), stats.beta.ppf(1.0 - tail, a, b)


def wilson_interval(
    k: Sequence[float] | FloatArray, n: Sequence[float] | FloatArray, *, level: float = LEVEL
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of the raw share (NaN where n = 0)."""
    ks, ns = _as_counts(k, n)
    z = stats.norm.ppf(0.5 + level / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = ks / ns
        denom = 1.0 + z * z / ns
        centre = (p + z * z / (2.0 * ns)) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / ns + z * z / (4.0 * ns * ns))
    # At k = 0 or k = n the bound is exactly 0 or 1; rounding would leave 1e-17.
    low = np.where(ks == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(ks == ns, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def funnel_limits(
    p0: float, n: Sequence[float] | FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper control limits for a share at volume n around pooled rate ``p0``:
    exact binomial quantiles, interpolated (Spiegelhalter 2005) so the funnel is smooth."""
    # Limits depend on the volume only, and tens of thousands of merchants share a few
    # hundred volumes: the binomial quantiles are computed once per distinct volume.
    volumes, back = np.unique(np.maximum(np.asarray(n, dtype=np.float64), 1.0), return_inverse=True)
    tail = (1.0 - level) / 2.0

    def limit(q: float) -> FloatArray:
        r = stats.binom.ppf(q, volumes, p0)
        at_r = stats.binom.cdf(r, volumes, p0)
        below = stats.binom.cdf(r - 1, volumes, p0)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(at_r > below, (at_r - q) / (at_r - below), 0.0)
        limits: FloatArray = np.clip((r - alpha) / volumes, 0.0, 1.0)[back.reshape(-1)]
        return limits

    return limit(tail), limit(1.0 - tail)


class Funnel(StrEnum):
    """Where a unit lies against the funnel's limits."""

    ABOVE_998 = "above_99.8"
    ABOVE_95 = "above_95"
    WITHIN = "within"
    BELOW_95 = "below_95"
    BELOW_998 = "below_99.8"


def funnel_positions(
    k: Sequence[float] | FloatArray, n: Sequence[float] | FloatArray, p0: float
) -> list[Funnel]:
    """Each unit's position against the 95% and 99.8% limits around ``p0``."""
    ks, ns = _as_counts(k, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(ns > 0, ks / ns, 0.0)
    lo95, hi95 = funnel_limits(p0, ns, FUNNEL_LEVELS[0])
    lo998, hi998 = funnel_limits(p0, ns, FUNNEL_LEVELS[1])
    codes = np.select(
        [share > hi998, share > hi95, share < lo998, share < lo95], [0, 1, 4, 3], default=2
    )
    order = [Funnel.ABOVE_998, Funnel.ABOVE_95, Funnel.WITHIN, Funnel.BELOW_95, Funnel.BELOW_998]
    return [order[c] for c in codes.tolist()]


class RankedUnit(NamedTuple):
    """One unit's line of a label's ranking. A named tuple: a ranking of fifty thousand
    merchants builds hundreds of thousands, and a frozen dataclass takes five times as long
    to create."""

    name: str
    platform: str | None  # a merchant's main platform; None for platforms
    n: int
    k: int
    share: float
    wilson_low: float
    wilson_high: float
    posterior_mean: float
    posterior_low: float
    posterior_high: float
    funnel: Funnel
    rank: int | None  # None below the minimum volume


@dataclass(frozen=True)
class LabelRanking:
    label: str
    prior: BetaPrior
    pooled_rate: float
    min_volume: int
    units: list[RankedUnit]  # ranked units first (by rank), then the rest by posterior mean

    @property
    def ranked(self) -> list[RankedUnit]:
        return [u for u in self.units if u.rank is not None]

    @property
    def below_min_volume(self) -> int:
        return sum(1 for u in self.units if u.rank is None)


def rank_units(
    label: str,
    names: Sequence[str],
    k: Sequence[float] | FloatArray,
    n: Sequence[float] | FloatArray,
    *,
    platforms: Sequence[str | None] | None = None,
    min_volume: int = MIN_VOLUME,
    fit_min: int = FIT_MIN_VOLUME,
) -> LabelRanking:
    """Shrunken shares, intervals and ranks of the units for one label."""
    ks, ns = _as_counts(k, n)
    if len(names) != len(ks):
        raise ValueError(f"{len(names)} names for {len(ks)} units")
    keep = ns > 0
    prior = fit_beta_binomial(ks[keep], ns[keep], fit_min=fit_min)
    pooled = float(ks.sum() / ns.sum()) if ns.sum() else 0.0
    mean, low, high = posterior(ks, ns, prior)
    w_low, w_high = wilson_interval(ks, ns)
    funnel = funnel_positions(ks, ns, pooled)
    present = np.flatnonzero(ns > 0)
    # Ranked units first, by posterior mean, then volume, then name (np.lexsort: last key first).
    order = present[
        np.lexsort(
            (
                np.asarray(names, dtype=object)[present].astype(str),
                -ns[present],
                -mean[present],
                ns[present] < min_volume,
            )
        )
    ]
    n_sorted = ns[order].astype(np.int64)
    ranked = n_sorted >= min_volume
    ranks = np.where(ranked, np.cumsum(ranked), 0).tolist()
    index = order.tolist()
    units = [
        RankedUnit(names[i], platforms[i] if platforms is not None else None, n, k, k / n,
                   wl, wh, pm, pl, ph, funnel[i], r or None)
        for i, n, k, wl, wh, pm, pl, ph, r in zip(
            index, n_sorted.tolist(), ks[order].astype(np.int64).tolist(),
            w_low[order].tolist(), w_high[order].tolist(), mean[order].tolist(),
            low[order].tolist(), high[order].tolist(), ranks, strict=True,
        )
    ]  # fmt: skip
    return LabelRanking(label, prior, pooled, min_volume, units)


# --- reading and writing -------------------------------------------------------------------

Unit = Literal["merchant", "platform"]


def rank_period(
    paths: Paths,
    start: date | None,
    end: date | None,
    unit: Unit,
    *,
    min_volume: int = MIN_VOLUME,
) -> dict[Label, LabelRanking]:
    """Every label's ranking of merchants or platforms over the weeks in [start, end), from
    the weekly aggregates (platforms: 未知 is not a platform and is left out)."""
    table = merchant_table(paths, "week") if unit == "merchant" else platform_table(paths, "week")
    source = sql_path(require(table, "aggregate"))
    platform = "any_value(platform)" if unit == "merchant" else "NULL"
    exclude = f"AND platform <> '{UNKNOWN_PLATFORM}'" if unit == "platform" else ""
    counts = ", ".join(
        f"sum(complaints) FILTER (WHERE label = '{label.value}') AS k_{label.value}"
        for label in LABELS
    )
    data = (
        connect()
        .execute(
            f"""
            SELECT {unit} AS name, {platform} AS platform, {counts},
                   sum(complaints) FILTER (WHERE label = '{ALL}') AS n
            FROM read_parquet({source})
            WHERE {period_sql(start, end)} {exclude}
            GROUP BY {unit} HAVING n > 0 ORDER BY {unit}
            """
        )
        .fetchnumpy()
    )
    names = [str(x) for x in data["name"]]
    platforms = [None if p is None else str(p) for p in data["platform"]]
    n = np.asarray(data["n"], dtype=np.float64)
    return {
        label: rank_units(
            label.value,
            names,
            np.nan_to_num(np.asarray(data[f"k_{label.value}"], dtype=np.float64)),
            n,
            platforms=platforms if unit == "merchant" else None,
            min_volume=min_volume,
        )
        for label in LABELS
    }


def rankings_table(rankings: dict[Label, LabelRanking]) -> pa.Table:
    """One row per (label, unit): counts, intervals, rank (null below the minimum volume)."""
    columns: dict[str, list[Any]] = {name: [] for name in RANKINGS_SCHEMA.names}
    for ranking in rankings.values():
        units = ranking.units
        count = len(units)
        for field_name, values in (
            ("label", [ranking.label] * count),
            ("rank", [u.rank for u in units]),
            ("name", [u.name for u in units]),
            ("platform", [u.platform for u in units]),
            ("complaints", [u.n for u in units]),
            ("label_complaints", [u.k for u in units]),
            ("share", [u.share for u in units]),
            ("wilson_low", [u.wilson_low for u in units]),
            ("wilson_high", [u.wilson_high for u in units]),
            ("posterior_mean", [u.posterior_mean for u in units]),
            ("posterior_low", [u.posterior_low for u in units]),
            ("posterior_high", [u.posterior_high for u in units]),
            ("funnel", [u.funnel.value for u in units]),
            ("prior_alpha", [ranking.prior.alpha] * count),
            ("prior_beta", [ranking.prior.beta] * count),
            ("prior_method", [ranking.prior.method] * count),
            ("pooled_rate", [ranking.pooled_rate] * count),
            ("min_volume", [ranking.min_volume] * count),
        ):
            columns[field_name].extend(values)
    return pa.table(columns, schema=RANKINGS_SCHEMA)


RANKINGS_SCHEMA = pa.schema(
    [
        ("label", pa.string()),
        ("rank", pa.int64()),
        ("name", pa.string()),
        ("platform", pa.string()),
        ("complaints", pa.int64()),
        ("label_complaints", pa.int64()),
        ("share", pa.float64()),
        ("wilson_low", pa.float64()),
        ("wilson_high", pa.float64()),
        ("posterior_mean", pa.float64()),
        ("posterior_low", pa.float64()),
        ("posterior_high", pa.float64()),
        ("funnel", pa.string()),
        ("prior_alpha", pa.float64()),
        ("prior_beta", pa.float64()),
        ("prior_method", pa.string()),
        ("pooled_rate", pa.float64()),
        ("min_volume", pa.int64()),
    ]
)


def rankings_dir(paths: Paths, period_key: str) -> Path:
    return paths.processed / "rankings" / period_key


def run_rank(
    paths: Paths,
    period_key: str,
    start: date | None,
    end: date | None,
    *,
    min_volume: int = MIN_VOLUME,
) -> dict[str, Path]:
    """Write merchant and platform rankings for a period (Parquet + CSV); returns the files."""
    folder = rankings_dir(paths, period_key)
    written = {}
    for unit in ("merchant", "platform"):
        table = rankings_table(rank_period(paths, start, end, unit, min_volume=min_volume))
        target = folder / f"{unit}s.parquet"
        with atomic_output(target) as tmp:
            pq.write_table(table, tmp, compression="zstd")
        with atomic_output(target.with_suffix(".csv")) as tmp:
            pacsv.write_csv(table, tmp)
        written[unit] = target
    return written
