"""Early warning: merchants with a rising wave of exit-scam, fake-shipment or
no-customer-service complaints, and platforms whose share of such complaints trends upwards.

Notation: y[i, t] is merchant i's complaints with one watched label in week t (China-time ISO
weeks over the whole span of the data, zero where it had none); for a platform, k[j, t] of
its n[j, t] complaints carry the label.

Merchants (a scan against the merchant's own past):

- Baseline: the merchant's count b over the L = ``baseline_weeks`` weeks before week
  t - ``guard_weeks`` (the guard keeps a wave that began last week out of its own baseline),
  clipped at the first week of data, and never below ``rate_floor`` x L, so that a new or
  quiet merchant's first complaint or two cannot alarm. A week is tested only once
  ``min_baseline_weeks`` of baseline exist.
- Test: for each window of w weeks in ``windows`` (this week; this and last week) with count
  y, the exact conditional test of two Poisson rates: if the window's rate equals the
  baseline's, y given y + b is Binomial(y + b, w / (w + L)), so p = P(Bin >= y). Unlike a
  plug-in Poisson tail it accounts for a baseline estimated from few complaints. The week's
  p-value is the smallest over the windows times their number (Bonferroni).
- Multiple testing: every (merchant, label) known by week t is one test that week;
  Benjamini-Hochberg across them all controls the false discovery rate at ``fdr`` each week.
  A merchant is on the watchlist from its first week with a discovery.

Platforms (a trend test on the label's share):

- Cochran-Armitage test for a linear trend of the share over the last ``trend_window`` weeks
  (at least ``min_trend_weeks`` with data), one-sided (rising). Its variance is inflated by
  the Pearson dispersion of the weekly counts around the fitted trend when that exceeds 1
  (quasi-binomial; the statistic is then referred to Student's t), so that week-to-week
  swings beyond binomial noise do not alarm.
- Benjamini-Hochberg across (platform, label) each week at the same ``fdr``.

Each week's family is controlled at ``fdr``; over many weeks a unit can still be flagged by
chance now and then, which the report says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import special, stats

from pipeline.aggregate import UNKNOWN_PLATFORM, local_time_sql, merchant_table, platform_table
from pipeline.settings import Paths
from pipeline.taxonomy import Label
from pipeline.warehouse import atomic_output, connect, require, sql_path

WATCH_LABELS: tuple[Label, ...] = (Label.EXIT_SCAM, Label.FAKE_SHIPMENT, Label.NO_CUSTOMER_SERVICE)
EXAMPLES_PER_ALERT = 3
EVIDENCE_WEEKS_BEFORE = 6

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class AlertSettings:
    """Parameters of both tests; the report's methodology states them."""

    fdr: float = 0.05
    baseline_weeks: int = 12
    guard_weeks: int = 1
    min_baseline_weeks: int = 3
    rate_floor: float = 0.2  # complaints a week
    windows: tuple[int, ...] = (1, 2)
    trend_window: int = 26
    min_trend_weeks: int = 8

    def __post_init__(self) -> None:
        if not 0 < self.fdr < 1:
            raise ValueError(f"fdr must be in (0, 1), got {self.fdr}")
        if self.rate_floor <= 0:
            raise ValueError(f"rate_floor must be positive, got {self.rate_floor}")
        if self.baseline_weeks < self.min_baseline_weeks or self.min_baseline_weeks < 1:
            raise ValueError(
                f"need 1 <= min_baseline_weeks ({self.min_baseline_weeks}) <= "
                f"baseline_weeks ({self.baseline_weeks})"
            )
        if self.guard_weeks < 0 or not self.windows or min(self.windows) < 1:
            raise ValueError("guard_weeks must be >= 0 and windows positive week counts")
        if max(self.windows) > self.guard_weeks + 1:
            raise ValueError(
                f"a window of {max(self.windows)} weeks would overlap the baseline: "
                f"raise guard_weeks to {max(self.windows) - 1}"
            )
        if self.min_trend_weeks < 3 or self.trend_window < self.min_trend_weeks:
            raise ValueError("need 3 <= min_trend_weeks <= trend_window")


# --- pure statistics -----------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """Per (unit, week), each (units, weeks): the merchant's own past behind the guard."""

    count: FloatArray  # complaints in the baseline weeks, raised to the floor
    weeks: IntArray  # baseline length in weeks (fewer at the start of the data)
    tested: BoolArray  # enough baseline weeks to test

    @property
    def rate(self) -> FloatArray:
        rate: FloatArray = self.count / np.maximum(self.weeks, 1)
        return rate


def cumulative(counts: IntArray) -> IntArray:
    """(units, weeks + 1) cumulative sums starting at 0: any stretch of weeks is a difference.
    Integers: a cast to float inside ``cumsum`` is several times slower."""
    csum = np.zeros((counts.shape[0], counts.shape[1] + 1), dtype=np.int64)
    np.cumsum(counts, axis=1, out=csum[:, 1:])
    return csum


def baseline_span(weeks: int, settings: AlertSettings) -> tuple[IntArray, IntArray, BoolArray]:
    """Per week t, the same for every unit: the baseline's first week, the week after its
    last, and whether it is long enough to test. Week t's baseline covers weeks
    [t - guard - baseline_weeks, t - guard - 1], clipped at the first week of data."""
    s = settings
    end = np.clip(np.arange(weeks) - s.guard_weeks, 0, weeks)  # exclusive
    start = np.maximum(end - s.baseline_weeks, 0)
    return start, end, (end - start) >= s.min_baseline_weeks


def baseline(counts: IntArray, settings: AlertSettings, csum: IntArray | None = None) -> Baseline:
    """Each (unit, week)'s baseline (:func:`baseline_span`); its count is at least
    ``rate_floor`` x its length. ``csum``: :func:`cumulative` of ``counts`` when the caller
    has it."""
    units, weeks = counts.shape
    if csum is None:
        csum = cumulative(counts)
    start, end, tested = baseline_span(weeks, settings)
    length = end - start
    total = csum[:, end] - csum[:, start]
    floored = np.maximum(total, settings.rate_floor * length[None, :])
    # The same for every unit: read-only views, not (units, weeks) copies.
    return Baseline(
        floored,
        np.broadcast_to(length, (units, weeks)),
        np.broadcast_to(tested, (units, weeks)),
    )


def window_sums(csum: IntArray, window: int) -> IntArray:
    """Per (unit, week t), the sum of weeks [t - window + 1, t] (clipped at the first week),
    from cumulative sums ``csum`` of shape (units, weeks + 1) starting at 0. Slices, not
    gathers: this runs over every (series, week) of the data."""
    units, weeks = csum.shape[0], csum.shape[1] - 1
    out = np.empty((units, weeks), dtype=csum.dtype)
    k = min(window - 1, weeks)
    out[:, :k] = csum[:, 1 : k + 1]
    np.subtract(csum[:, k + 1 :], csum[:, : weeks - k], out=out[:, k:])
    return out


def window_pvalue(
    observed: npt.ArrayLike, base_count: npt.ArrayLike, window: int, base_weeks: npt.ArrayLike
) -> FloatArray:
    """Exact conditional test of a window's rate against the baseline's (two Poisson counts):
    given their sum N, the window's count is Bin(N, w / (w + L)) when the rates are equal, so
    p = P(Bin(N, pi) >= y) = I_pi(y, b + 1), the regularized incomplete beta, which also takes
    the floor's fractional baseline count b. 1 where the window is empty."""
    y = np.asarray(observed, dtype=np.float64)
    b = np.asarray(base_count, dtype=np.float64)
    pi = window / (window + np.asarray(base_weeks, dtype=np.float64))
    out = np.ones(np.broadcast(y, b, pi).shape, dtype=np.float64)
    hit = np.broadcast_to(y > 0, out.shape)
    yb, bb, pb = (np.broadcast_to(a, out.shape)[hit] for a in (y, b, pi))
    out[hit] = special.betainc(yb, bb + 1.0, pb)
    return out


# Rows of series scanned at a time: the scan's dozen temporaries stay a few megabytes each
# and are reused, instead of each taking (and first touching) the size of the whole input.
SCAN_BLOCK_ROWS = 4096


def poisson_scan_pvalues(
    counts: IntArray, settings: AlertSettings
) -> tuple[FloatArray, FloatArray, IntArray]:
    """(p-values, baseline rates, counts in the longest window), each (units, weeks).

    p is NaN where the week cannot be tested; 1 where every window is empty. Series are
    independent, so they are scanned a block of rows at a time."""
    units, weeks = counts.shape
    pvalues = np.empty((units, weeks), dtype=np.float64)
    rates = np.empty((units, weeks), dtype=np.float64)
    window_counts = np.empty((units, weeks), dtype=np.int64)
    for lo in range(0, units, SCAN_BLOCK_ROWS):
        block = slice(lo, lo + SCAN_BLOCK_ROWS)
        pvalues[block], rates[block], window_counts[block] = _scan_block(counts[block], settings)
    return pvalues, rates, window_counts


def _scan_block(
    counts: IntArray, settings: AlertSettings
) -> tuple[FloatArray, FloatArray, IntArray]:
    csum = cumulative(counts)
    base = baseline(counts, settings, csum)
    units, weeks = counts.shape
    start, end, tested = baseline_span(weeks, settings)
    length = end - start
    best = np.ones((units, weeks), dtype=np.float64)
    flat_best, flat_base = best.reshape(-1), base.count.reshape(-1)
    # Only windows holding a complaint in a tested week are computed (most hold none).
    for w in settings.windows:
        observed = window_sums(csum, w)
        hit = np.flatnonzero((observed > 0) & tested[None, :])
        p = window_pvalue(observed.reshape(-1)[hit], flat_base[hit], w, length[hit % weeks])
        flat_best[hit] = np.minimum(flat_best[hit], p)
    window_counts = window_sums(csum, max(settings.windows))
    pvalues = np.minimum(best * len(settings.windows), 1.0, out=best)
    pvalues[:, ~tested] = np.nan
    return pvalues, base.rate, window_counts


def bh_qvalues(pvalues: Sequence[float] | FloatArray, *, m: int | None = None) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (q-values) of one family of tests; ``m`` counts
    further tests of the family whose p-value is 1 (left out for speed; default none)."""
    p = np.asarray(pvalues, dtype=np.float64)
    size = p.size if m is None else m
    if size < p.size:
        raise ValueError(f"the family has {p.size} p-values but m={size}")
    if p.size == 0:
        return p.copy()
    order = np.argsort(p)
    scaled = p[order] * size / np.arange(1, p.size + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(p.size, dtype=np.float64)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def weekly_qvalues(
    pvalues: FloatArray, members: BoolArray | None = None, *, sizes: IntArray | None = None
) -> FloatArray:
    """BH per week (column) over the tests that exist that week: not NaN and, when given,
    ``members`` (a unit not yet known is no test). NaN elsewhere. ``sizes`` gives each week's
    family size when more tests (all with p = 1) belong to it than the rows given.

    A test with p = 1 has q = 1 whatever the others' p (its scaled p-value, m / rank, is at
    least 1), so BH runs over the tests with p < 1 only, with the whole family's size: most
    tests of a weekly scan have an empty window."""
    weeks = pvalues.shape[1]
    family = ~np.isnan(pvalues)
    if members is not None:
        family &= members
    in_family = family.sum(axis=0)
    if sizes is not None and (np.asarray(sizes) < in_family).any():
        raise ValueError("a week's family size is smaller than its tests given")
    q = np.where(family, 1.0, np.nan)
    # Week by week over the tests with p < 1, gathered in week order.
    week, row = np.nonzero((family & (pvalues < 1.0)).T)
    bounds = np.searchsorted(week, np.arange(weeks + 1))
    for t in np.flatnonzero(np.diff(bounds)).tolist():
        r = row[bounds[t] : bounds[t + 1]]
        m = int(sizes[t]) if sizes is not None else int(in_family[t])
        q[r, t] = bh_qvalues(pvalues[r, t], m=m)
    return q


@dataclass(frozen=True)
class ScanResult:
    """The merchant scan over stacked (label, merchant) rows x weeks, kept for the rows with
    at least one complaint (``active``): most series never have one, and each of those is a
    test in every tested week of its family with p = 1, q = 1, no alert, no window count and
    the floor's baseline rate (``quiet_rate``). Arrays are (active rows, weeks)."""

    members: BoolArray  # (merchants, weeks): which merchants are known by each week
    tested: BoolArray  # (weeks,): weeks with enough baseline to test
    active: IntArray  # ascending row numbers of the series with a complaint
    counts: IntArray
    p: FloatArray  # NaN: not tested
    q: FloatArray  # NaN: not in that week's family
    alert: BoolArray
    rate: FloatArray  # the floored baseline
    window_counts: IntArray  # count in the longest window
    family: BoolArray  # which (row, week) are tests
    family_sizes: IntArray  # (weeks,): tests each week, those of series without complaints too
    quiet_rate: FloatArray  # (weeks,): the baseline rate of a series without complaints
    rows: int

    @property
    def series_per_merchant(self) -> int:
        """Rows per merchant: one per watched label."""
        return int(self.rows) // max(int(self.members.shape[0]), 1)

    @property
    def tests(self) -> int:
        return int(self.family_sizes.sum())

    def _full(self, values: npt.NDArray[Any], quiet: npt.NDArray[Any]) -> npt.NDArray[Any]:
        out = np.array(np.broadcast_to(quiet, (self.rows, quiet.shape[-1])))
        out[self.active] = values
        return out

    @property
    def full_p(self) -> FloatArray:
        """p over every row (rows, weeks)."""
        return self._full(self.p, np.where(self.tested, 1.0, np.nan))

    @property
    def full_q(self) -> FloatArray:
        """q over every row (rows, weeks)."""
        family = np.tile(self.members & self.tested[None, :], (self.series_per_merchant, 1))
        return self._full(self.q, np.where(family, 1.0, np.nan))

    @property
    def full_alert(self) -> BoolArray:
        """Alerts over every row (rows, weeks)."""
        return self._full(self.alert, np.zeros(self.tested.shape, dtype=bool))


def merchant_scan(counts: IntArray, members: BoolArray, settings: AlertSettings) -> ScanResult:
    """Poisson scan and weekly BH over ``counts`` (rows = (label, merchant) series stacked
    label by label, so ``members`` (merchant, week) repeats once per label).

    A series without a single complaint has p = 1 in every tested week: it is counted in each
    week's family but not computed (most merchants never have an exit-scam complaint)."""
    rows, weeks = counts.shape
    units = max(members.shape[0], 1)
    _, _, tested = baseline_span(weeks, settings)
    active = np.flatnonzero(counts.any(axis=1))
    family = members[active % units]
    active_counts = counts[active]
    p, rate, window_counts = poisson_scan_pvalues(active_counts, settings)
    sizes = (rows // units) * (members & tested[None, :]).sum(axis=0)
    q = weekly_qvalues(p, family, sizes=sizes)
    quiet_rate = baseline(np.zeros((1, weeks), dtype=np.int64), settings).rate[0]
    alert: BoolArray = np.asarray(q <= settings.fdr)
    return ScanResult(
        members, tested, active, active_counts, p, q, alert, rate, window_counts, family,
        sizes, quiet_rate, rows,
    )  # fmt: skip


@dataclass(frozen=True)
class TrendTest:
    z: float
    p_value: float  # one-sided: share rising
    slope: float  # change of the share per week
    dispersion: float  # Pearson chi-square / df around the trend, at least 1


def cochran_armitage(
    k: npt.ArrayLike, n: npt.ArrayLike, *, overdispersion: bool = True
) -> TrendTest:
    """Cochran-Armitage test for a rising share over consecutive weeks (scores 0, 1, 2 ...),
    with a quasi-binomial dispersion correction unless ``overdispersion`` is False. Weeks
    with n = 0 carry no information."""
    stat = _trend_statistic(k, n, overdispersion=overdispersion)
    if stat is None:
        return TrendTest(0.0, 1.0, 0.0, 1.0)
    z, slope, dispersion, df = stat
    return TrendTest(
        z, float(_trend_p(np.array([z]), np.array([dispersion]), df)[0]), slope, dispersion
    )


def _trend_statistic(
    k: npt.ArrayLike, n: npt.ArrayLike, *, overdispersion: bool = True
) -> tuple[float, float, float, int] | None:
    """(z, slope, dispersion, degrees of freedom) of :func:`cochran_armitage`; None where the
    weeks carry no trend to test (fewer than three with data, a share of 0 or 1)."""
    ks = np.asarray(k, dtype=np.float64)
    ns = np.asarray(n, dtype=np.float64)
    x = np.arange(len(ns), dtype=np.float64)
    keep = ns > 0
    ks, ns, x = ks[keep], ns[keep], x[keep]
    total = ns.sum()
    if len(ns) < 3 or total == 0:
        return None
    p_bar = ks.sum() / total
    x_bar = (ns * x).sum() / total
    sxx = (ns * (x - x_bar) ** 2).sum()
    if p_bar <= 0 or p_bar >= 1 or sxx <= 0:
        return None
    t_stat = (ks * (x - x_bar)).sum()
    slope = t_stat / sxx
    fitted = np.clip(p_bar + slope * (x - x_bar), 1e-6, 1 - 1e-6)
    chi2 = (((ks - ns * fitted) ** 2) / (ns * fitted * (1 - fitted))).sum()
    df = len(ns) - 2
    dispersion = max(1.0, chi2 / df) if overdispersion else 1.0
    z = t_stat / math.sqrt(p_bar * (1 - p_bar) * sxx * dispersion)
    return float(z), float(slope), float(dispersion), df


def _trend_p(z: FloatArray, dispersion: FloatArray, df: npt.ArrayLike) -> FloatArray:
    """One-sided p of trend statistics: when the estimated dispersion inflates the variance,
    z is referred to Student's t (the dispersion comes from the same weeks); with the
    binomial variance, to the normal. Vectorized: one scipy call for every test."""
    p: FloatArray = np.where(dispersion > 1.0, stats.t.sf(z, df), stats.norm.sf(z))
    return p


def trend_pvalues(
    k: IntArray, n: IntArray, settings: AlertSettings
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(p-values, slopes, z, dispersion), each (units, weeks): the trend test over the window
    ending at each week; NaN where fewer than ``min_trend_weeks`` weeks have data."""
    units, weeks = k.shape
    p, slope, z, dispersion = (np.full((units, weeks), np.nan) for _ in range(4))
    tests: list[tuple[int, int, float, float, float, int]] = []
    for i in range(units):
        for t in range(weeks):
            lo = max(0, t + 1 - settings.trend_window)
            nk, nn = k[i, lo : t + 1], n[i, lo : t + 1]
            if int((nn > 0).sum()) < settings.min_trend_weeks:
                continue
            stat = _trend_statistic(nk, nn)
            if stat is None:
                p[i, t], slope[i, t], z[i, t], dispersion[i, t] = 1.0, 0.0, 0.0, 1.0
            else:
                tests.append((i, t, *stat))
    if tests:
        rows, cols, zs, slopes, disps, dfs = (np.array(c) for c in zip(*tests, strict=True))
        z[rows, cols], slope[rows, cols], dispersion[rows, cols] = zs, slopes, disps
        p[rows, cols] = _trend_p(zs, disps, dfs)
    return p, slope, z, dispersion


# --- reading, detecting, writing -----------------------------------------------------------


def alerts_dir(paths: Paths) -> Path:
    return paths.processed / "alerts"


@dataclass(frozen=True)
class Example:
    sn: str
    created: str  # YYYY-MM-DD, China time
    title: str
    labels: list[str]
    url: str


@dataclass
class MerchantAlert:
    merchant: str
    platform: str
    alert_weeks: list[date]
    labels: list[str]  # the watched labels that alerted, most often first
    min_q: float
    baseline: dict[str, float]  # label -> baseline rate in the first alert week
    weeks: list[date]  # the evidence window
    counts: dict[str, list[int]]  # label (and "all") -> counts over ``weeks``
    examples: list[Example] = field(default_factory=list)

    @property
    def first_alert_week(self) -> date:
        return self.alert_weeks[0]


@dataclass
class PlatformAlert:
    platform: str
    label: str
    alert_weeks: list[date]
    min_q: float
    slope: float  # at the last alert week, share per week
    weeks: list[date]
    shares: list[float | None]  # over ``weeks``
    totals: list[int]

    @property
    def first_alert_week(self) -> date:
        return self.alert_weeks[0]


@dataclass
class AlertResult:
    settings: AlertSettings
    weeks: list[date]
    merchants: list[MerchantAlert]
    platforms: list[PlatformAlert]
    merchant_tests: int  # (merchant, label, week) tests run
    platform_tests: int
    merchant_weeks: pa.Table  # every tested merchant-label-week with a complaint
    platform_weeks: pa.Table  # every tested platform-label-week

    def in_period(self, start: date | None, end: date | None) -> AlertResult:
        """The alerts with at least one alert week in [start, end)."""

        def inside(weeks: list[date]) -> bool:
            return any((start is None or w >= start) and (end is None or w < end) for w in weeks)

        return AlertResult(
            self.settings,
            self.weeks,
            [m for m in self.merchants if inside(m.alert_weeks)],
            [p for p in self.platforms if inside(p.alert_weeks)],
            self.merchant_tests,
            self.platform_tests,
            self.merchant_weeks,
            self.platform_weeks,
        )


def _calendar(con: duckdb.DuckDBPyConnection, table: str) -> list[date]:
    first, last = con.execute(f"SELECT min(week_start), max(week_start) FROM {table}").fetchone()
    if first is None:
        return []
    return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


def _weekly_series(
    con: duckdb.DuckDBPyConnection,
    source: str,
    units: str,
    key: str,
    first: date,
    names: Sequence[str],
    shape: tuple[int, int],
) -> IntArray:
    """(len(names), units, weeks) complaints of each label in ``names`` (or ``all``) per unit
    and week, zero where ``source`` has no row, from one pass over ``source`` joined with
    ``units`` (``key`` -> ``u``)."""
    listed = "[" + ", ".join(f"'{name}'" for name in names) + "]"
    data = con.execute(
        f"""SELECT CAST(list_position({listed}, label) - 1 AS BIGINT) AS s, u,
                   CAST((week_start - DATE '{first}') / 7 AS BIGINT) AS w, complaints
            FROM {source} JOIN {units} USING ({key})
            WHERE list_contains({listed}, label)"""
    ).fetchnumpy()
    out = np.zeros((len(names), *shape), dtype=np.int64)
    out[data["s"], data["u"].astype(np.int64), data["w"]] = data["complaints"]
    return out


def detect_alerts(
    paths: Paths, settings: AlertSettings | None = None, *, with_examples: bool = True
) -> AlertResult:
    """Run both tests over every week of the aggregates (``tousu aggregate`` first)."""
    s = settings or AlertSettings()
    con = connect()
    merchants_src = sql_path(require(merchant_table(paths, "week"), "aggregate"))
    platforms_src = sql_path(require(platform_table(paths, "week"), "aggregate"))
    con.execute(f"CREATE TEMP VIEW mw AS SELECT * FROM read_parquet({merchants_src})")
    con.execute(f"CREATE TEMP VIEW pw AS SELECT * FROM read_parquet({platforms_src})")
    weeks = _calendar(con, "mw")
    if not weeks:
        empty = pa.table({})
        return AlertResult(s, [], [], [], 0, 0, empty, empty)
    first = weeks[0]
    labels = [label.value for label in WATCH_LABELS]
    con.execute(
        f"""CREATE TEMP TABLE units AS
            SELECT merchant, any_value(platform) AS platform,
                   row_number() OVER (ORDER BY merchant) - 1 AS u,
                   CAST((min(week_start) - DATE '{first}') / 7 AS BIGINT) AS first_w
            FROM mw WHERE label = 'all' GROUP BY merchant"""
    )
    names, main_platforms, first_w = (
        con.execute("SELECT merchant, platform, first_w FROM units ORDER BY u")
        .fetchnumpy()
        .values()
    )
    n_units, n_weeks = len(names), len(weeks)
    members = np.arange(n_weeks)[None, :] >= np.asarray(first_w)[:, None]
    # The watched labels' series stacked label by label, then every complaint's.
    counts = _weekly_series(
        con, "mw", "units", "merchant", first, [*labels, "all"], (n_units, n_weeks)
    )
    series = {name: counts[i] for i, name in enumerate(labels)}
    volume = counts[-1]
    scan = merchant_scan(counts[:-1].reshape(-1, n_weeks), members, s)
    merchant_weeks = _merchant_weeks_table(weeks, names, main_platforms, labels, scan)
    merchants = _merchant_alerts(weeks, names, main_platforms, labels, series, volume, scan)

    platform_alerts, platform_weeks, platform_tests = _platform_trends(con, weeks, labels, s)
    if with_examples and merchants:
        _add_examples(con, paths, merchants, labels)
    return AlertResult(
        s,
        weeks,
        merchants,
        platform_alerts,
        scan.tests,
        platform_tests,
        merchant_weeks,
        platform_weeks,
    )


def _merchant_weeks_table(
    weeks: list[date], names: Any, platforms: Any, labels: list[str], scan: ScanResult
) -> pa.Table:
    """Every tested (merchant, label, week) whose windows hold a complaint (p < 1)."""
    at, cols = np.nonzero(scan.family & ~np.isnan(scan.p) & (scan.p < 1.0))
    rows = scan.active[at]
    n_units = len(names)
    unit = rows % n_units
    label_index = rows // n_units

    # Dictionary-encoded: millions of rows name a few thousand merchants and weeks.
    def coded(index: IntArray, values: Sequence[Any], kind: pa.DataType) -> pa.Array:
        return pa.DictionaryArray.from_arrays(
            pa.array(index, pa.int32()), pa.array(list(values), kind)
        ).dictionary_decode()

    return pa.table(
        {
            "week_start": coded(cols, weeks, pa.date32()),
            "merchant": coded(unit, [str(x) for x in names], pa.string()),
            "platform": coded(
                unit, [None if x is None else str(x) for x in platforms], pa.string()
            ),
            "label": coded(label_index, labels, pa.string()),
            "complaints": pa.array(scan.counts[at, cols], pa.int64()),
            "complaints_window": pa.array(scan.window_counts[at, cols], pa.int64()),
            "baseline_rate": pa.array(scan.rate[at, cols], pa.float64()),
            "p_value": pa.array(scan.p[at, cols], pa.float64()),
            "q_value": pa.array(scan.q[at, cols], pa.float64()),
            "alert": pa.array(scan.alert[at, cols], pa.bool_()),
        }
    )


def _merchant_alerts(
    weeks: list[date],
    names: Any,
    platforms: Any,
    labels: list[str],
    series: dict[str, IntArray],
    volume: IntArray,
    scan: ScanResult,
) -> list[MerchantAlert]:
    n_units = len(names)
    # Each stacked row's position among the active ones (-1: a series without complaints).
    position = np.full(scan.rows, -1, dtype=np.int64)
    position[scan.active] = np.arange(len(scan.active))
    out = []
    for i in np.unique(scan.active[scan.alert.any(axis=1)] % n_units).tolist():
        found = position[[j * n_units + i for j in range(len(labels))]].tolist()
        by_label = np.array(
            [scan.alert[a] if a >= 0 else np.zeros(len(weeks), dtype=bool) for a in found]
        )
        any_alert = by_label.any(axis=0)
        alert_cols = np.flatnonzero(any_alert).tolist()
        first_col = alert_cols[0]
        hits = {name: int(by_label[j].sum()) for j, name in enumerate(labels)}
        alerted = sorted((n for n in labels if hits[n]), key=lambda n: (-hits[n], labels.index(n)))
        lo = max(0, first_col - EVIDENCE_WEEKS_BEFORE)
        hi = min(len(weeks), alert_cols[-1] + 2)
        counts = {name: series[name][i, lo:hi].tolist() for name in labels}
        counts["all"] = volume[i, lo:hi].tolist()
        out.append(
            MerchantAlert(
                merchant=str(names[i]),
                platform=str(platforms[i] or UNKNOWN_PLATFORM),
                alert_weeks=[weeks[c] for c in alert_cols],
                labels=alerted,
                # An alerted merchant's smallest q is an alerted label's: a label without
                # complaints has q = 1 or none.
                min_q=float(np.nanmin(scan.q[[a for a in found if a >= 0]])),
                baseline={
                    name: float(scan.rate[a, first_col] if a >= 0 else scan.quiet_rate[first_col])
                    for name, a in zip(labels, found, strict=True)
                },
                weeks=weeks[lo:hi],
                counts=counts,
            )
        )
    out.sort(key=lambda m: (m.first_alert_week, m.min_q, m.merchant))
    return out


def _platform_trends(
    con: duckdb.DuckDBPyConnection, weeks: list[date], labels: list[str], s: AlertSettings
) -> tuple[list[PlatformAlert], pa.Table, int]:
    first = weeks[0]
    con.execute(
        f"""CREATE TEMP TABLE punits AS
            SELECT platform, row_number() OVER (ORDER BY platform) - 1 AS u
            FROM (SELECT DISTINCT platform FROM pw WHERE platform <> '{UNKNOWN_PLATFORM}')"""
    )
    platforms = [r[0] for r in con.execute("SELECT platform FROM punits ORDER BY u").fetchall()]
    n_units, n_weeks = len(platforms), len(weeks)
    # Totals from the ``all`` rows: a week without a label row had none of that label.
    counts = _weekly_series(
        con, "pw", "punits", "platform", first, [*labels, "all"], (n_units, n_weeks)
    )
    k_all = counts[:-1].reshape(-1, n_weeks)
    n_all = np.tile(counts[-1], (len(labels), 1))
    p, slope, z, dispersion = trend_pvalues(k_all, n_all, s)
    q = weekly_qvalues(p)
    alert: BoolArray = np.asarray(q <= s.fdr)
    rows, cols = np.nonzero(~np.isnan(p))
    unit = rows % max(n_units, 1)
    table = pa.table(
        {
            "week_start": pa.array([weeks[c] for c in cols.tolist()], pa.date32()),
            "platform": pa.array([platforms[u] for u in unit.tolist()], pa.string()),
            "label": pa.array([labels[r // n_units] for r in rows.tolist()], pa.string()),
            "complaints": pa.array(k_all[rows, cols], pa.int64()),
            "total": pa.array(n_all[rows, cols], pa.int64()),
            "slope": pa.array(slope[rows, cols], pa.float64()),
            "z": pa.array(z[rows, cols], pa.float64()),
            "dispersion": pa.array(dispersion[rows, cols], pa.float64()),
            "p_value": pa.array(p[rows, cols], pa.float64()),
            "q_value": pa.array(q[rows, cols], pa.float64()),
            "alert": pa.array(alert[rows, cols], pa.bool_()),
        }
    )
    out = []
    for r in np.flatnonzero(alert.any(axis=1)).tolist():
        cols_hit = np.flatnonzero(alert[r]).tolist()
        last = cols_hit[-1]
        lo = max(0, last + 1 - s.trend_window)
        n_row = n_all[r, lo : last + 1]
        k_row = k_all[r, lo : last + 1]
        out.append(
            PlatformAlert(
                platform=platforms[r % n_units],
                label=labels[r // n_units],
                alert_weeks=[weeks[c] for c in cols_hit],
                min_q=float(np.nanmin(q[r])),
                slope=float(slope[r, last]),
                weeks=weeks[lo : last + 1],
                shares=[float(a / b) if b else None for a, b in zip(k_row, n_row, strict=True)],
                totals=[int(b) for b in n_row],
            )
        )
    out.sort(key=lambda a: (a.first_alert_week, a.min_q, a.platform, a.label))
    return out, table, int((~np.isnan(p)).sum())


def _add_examples(
    con: duckdb.DuckDBPyConnection, paths: Paths, merchants: list[MerchantAlert], labels: list[str]
) -> None:
    """A few posts per alerted merchant from its alert weeks, exit scams first."""
    wanted = [(m.merchant, w) for m in merchants for w in m.alert_weeks]
    con.execute("CREATE TEMP TABLE wanted (merchant VARCHAR, week_start DATE)")
    con.executemany("INSERT INTO wanted VALUES (?, ?)", wanted)
    watched = "[" + ", ".join(f"'{name}'" for name in labels) + "]"
    complaints = sql_path(require(paths.complaints, "ingest"))
    predictions = sql_path(require(paths.predictions, "label"))
    # The alerted merchants' records first (a few thousand), then their labels: joining the
    # whole table would read every record's labels for nothing. The label stage writes
    # predictions in the complaints' row order, so a record's labels are at its own row
    # number, which the Parquet reader reaches without reading the rest; the join on
    # (site, sn) is the fallback where the two do not line up.
    con.execute(
        f"""
        CREATE TEMP TABLE candidates AS
        SELECT c.file_row_number AS r, c.site, c.sn, c.merchant, c.title, c.url, c.created_at,
               CAST(date_trunc('week', {local_time_sql()}) AS DATE) AS week_start
        FROM read_parquet({complaints}, file_row_number = true) c
        WHERE c.counts_in_rankings AND c.merchant IN (SELECT DISTINCT merchant FROM wanted)
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE candidate_labels AS
        SELECT c.site, c.sn, p.labels
        FROM candidates c
        JOIN (SELECT file_row_number AS r, site, sn, labels
              FROM read_parquet({predictions}, file_row_number = true)
              WHERE file_row_number IN (SELECT r FROM candidates)) p
          ON p.r = c.r AND p.site = c.site AND p.sn = c.sn
        """
    )
    lined_up = con.execute(
        "SELECT (SELECT count(*) FROM candidates) = (SELECT count(*) FROM candidate_labels)"
    ).fetchone()[0]
    if not lined_up:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE candidate_labels AS
            SELECT p.site, p.sn, p.labels FROM read_parquet({predictions}) p
            SEMI JOIN candidates c ON p.site = c.site AND p.sn = c.sn
            """
        )
    rows = con.execute(
        f"""
        SELECT merchant, sn, week_start,
               strftime({local_time_sql("created_at")}, '%Y-%m-%d'),
               title, list_intersect(p.labels, {watched}), url
        FROM candidates JOIN wanted USING (merchant, week_start)
        JOIN candidate_labels p USING (site, sn)
        WHERE list_has_any(p.labels, {watched})
        QUALIFY row_number() OVER (
            PARTITION BY merchant
            ORDER BY list_contains(p.labels, 'exit_scam') DESC, created_at, sn
        ) <= {EXAMPLES_PER_ALERT}
        ORDER BY merchant, created_at
        """
    ).fetchall()
    con.execute("DROP TABLE candidates; DROP TABLE candidate_labels; DROP TABLE wanted")
    by_merchant: dict[str, list[Example]] = {}
    for merchant, sn, _, created, title, hit, url in rows:
        by_merchant.setdefault(merchant, []).append(
            Example(str(sn), str(created), str(title or ""), list(hit), str(url or ""))
        )
    for m in merchants:
        m.examples = by_merchant.get(m.merchant, [])


def watchlist_table(result: AlertResult) -> pa.Table:
    """One row per alerted merchant and per alerted (platform, label), evidence as JSON."""
    rows: list[dict[str, Any]] = []
    for m in result.merchants:
        rows.append(
            {
                "level": "merchant",
                "name": m.merchant,
                "platform": m.platform,
                "labels": ",".join(m.labels),
                "first_alert_week": m.first_alert_week,
                "last_alert_week": m.alert_weeks[-1],
                "alert_weeks": len(m.alert_weeks),
                "min_q": m.min_q,
                "evidence": json.dumps(
                    {
                        "weeks": [w.isoformat() for w in m.weeks],
                        "counts": m.counts,
                        "baseline": m.baseline,
                    },
                    ensure_ascii=False,
                ),
                "examples": json.dumps([e.__dict__ for e in m.examples], ensure_ascii=False),
            }
        )
    for a in result.platforms:
        rows.append(
            {
                "level": "platform",
                "name": a.platform,
                "platform": a.platform,
                "labels": a.label,
                "first_alert_week": a.first_alert_week,
                "last_alert_week": a.alert_weeks[-1],
                "alert_weeks": len(a.alert_weeks),
                "min_q": a.min_q,
                "evidence": json.dumps(
                    {
                        "weeks": [w.isoformat() for w in a.weeks],
                        "shares": a.shares,
                        "totals": a.totals,
                        "slope_per_week": a.slope,
                    },
                    ensure_ascii=False,
                ),
                "examples": "[]",
            }
        )
    schema = pa.schema(
        [
            ("level", pa.string()),
            ("name", pa.string()),
            ("platform", pa.string()),
            ("labels", pa.string()),
            ("first_alert_week", pa.date32()),
            ("last_alert_week", pa.date32()),
            ("alert_weeks", pa.int64()),
            ("min_q", pa.float64()),
            ("evidence", pa.string()),
            ("examples", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


@dataclass
class AlertSummary:
    merchants: int
    platforms: int
    merchant_tests: int
    platform_tests: int
    watchlist: Path


def write_alerts(paths: Paths, result: AlertResult) -> AlertSummary:
    folder = alerts_dir(paths)
    tables = {
        "merchant_weeks.parquet": result.merchant_weeks,
        "platform_weeks.parquet": result.platform_weeks,
        "watchlist.parquet": watchlist_table(result),
    }
    for name, table in tables.items():
        with atomic_output(folder / name) as tmp:
            pq.write_table(table, tmp, compression="zstd")
    watchlist = folder / "watchlist.parquet"
    con = connect()
    with atomic_output(watchlist.with_suffix(".csv")) as tmp:
        con.execute(
            f"COPY (SELECT * FROM read_parquet({sql_path(watchlist)})) TO {sql_path(tmp)} (HEADER)"
        )
    return AlertSummary(
        merchants=len(result.merchants),
        platforms=len(result.platforms),
        merchant_tests=result.merchant_tests,
        platform_tests=result.platform_tests,
        watchlist=watchlist,
    )


def run_alerts(paths: Paths, settings: AlertSettings | None = None) -> AlertSummary:
    return write_alerts(paths, detect_alerts(paths, settings))
