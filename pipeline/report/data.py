"""Everything the report shows, computed from the aggregates (and, for example posts, the
labeled complaints). Pure data: no HTML here.

Counting (see :mod:`pipeline.aggregate`): volumes and platform figures count each complaint
once (near-duplicate re-posts folded); merchant figures count a post once for every merchant
it names. Rankings are empirical-Bayes (:mod:`pipeline.ranking`); alerts come from
:mod:`pipeline.alerts`, run over the whole history so that the first weeks of a period have
a baseline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from pipeline.aggregate import (
    ALL,
    UNKNOWN_PLATFORM,
    labeled_complaints_sql,
    merchant_table,
    period_sql,
    platform_table,
)
from pipeline.alerts import AlertResult, AlertSettings, detect_alerts
from pipeline.periods import Period
from pipeline.ranking import FIT_MIN_VOLUME, MIN_VOLUME, LabelRanking, RankedUnit, rank_period
from pipeline.report.quality import DataQuality, collect_quality
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, Label
from pipeline.warehouse import connect, require, sql_path

TOP_N = 10
TREND_PLATFORMS = 5
EXAMPLES_PER_LABEL = 5


class EmptyPeriodError(ValueError):
    """No complaints fall in the requested period."""


@dataclass(frozen=True)
class Change:
    """A figure in this period and the previous one of the same kind (None: no previous)."""

    current: int
    previous: int | None

    @property
    def pct(self) -> float | None:
        if not self.previous:
            return None
        return (self.current - self.previous) / self.previous


@dataclass(frozen=True)
class Example:
    merchant: str
    platform: str
    title: str
    url: str
    created: str


@dataclass
class PlatformRow:
    name: str
    total: Change
    reply_rate: float | None
    completion_rate: float | None
    median_amount: float | None
    labels: dict[Label, RankedUnit]  # the platform's entry in each label's platform ranking
    trend_alerts: list[Label]  # labels whose share is flagged as rising in the period


@dataclass
class LabelSection:
    label: Label
    count: Change
    share: float
    merchant_ranking: LabelRanking
    platform_ranking: LabelRanking
    trend: dict[str, list[float | None]]  # platform -> weekly share
    examples: list[Example] = field(default_factory=list)

    @property
    def merchants(self) -> list[RankedUnit]:
        """The top ranked merchants (volume at least the minimum) with such complaints."""
        return [u for u in self.merchant_ranking.ranked if u.k > 0][:TOP_N]

    @property
    def platforms(self) -> list[RankedUnit]:
        return self.platform_ranking.ranked


@dataclass
class ReportData:
    period: Period
    previous: Period | None
    weeks: list[date]
    total: Change
    platforms: int
    merchants: int
    volume_weekly: list[int]
    label_weekly: dict[Label, list[int]]
    label_share_weekly: dict[Label, list[float | None]]
    platform_rows: list[PlatformRow]
    sections: list[LabelSection]
    alerts: AlertResult  # restricted to alerts in the period
    quality: DataQuality
    model_versions: list[str]
    generated_at: datetime
    min_volume: int = MIN_VOLUME
    fit_min_volume: int = FIT_MIN_VOLUME

    @property
    def first_week(self) -> date:
        return self.weeks[0]

    @property
    def last_week(self) -> date:
        return self.weeks[-1]

    @property
    def section_by_label(self) -> dict[Label, LabelSection]:
        return {s.label: s for s in self.sections}


def previous_period(period: Period) -> Period | None:
    """The period of the same kind just before (none for ``all``)."""
    if period.start is None:
        return None
    start = period.start
    if re.fullmatch(r"\d{4}-W\d{2}", period.key):
        prev = start - timedelta(weeks=1)
        year, week, _ = prev.isocalendar()
        return Period(f"{year}-W{week:02d}", prev, start)
    if re.fullmatch(r"\d{4}-Q\d", period.key):
        month = start.month - 3 if start.month > 3 else start.month + 9
        year = start.year if start.month > 3 else start.year - 1
        return Period(f"{year}-Q{(month - 1) // 3 + 1}", date(year, month, 1), start)
    if re.fullmatch(r"\d{4}-\d{2}", period.key):
        year, month = (start.year, start.month - 1) if start.month > 1 else (start.year - 1, 12)
        return Period(f"{year}-{month:02d}", date(year, month, 1), start)
    if re.fullmatch(r"\d{4}", period.key):
        return Period(str(start.year - 1), date(start.year - 1, 1, 1), start)
    return None


def _where(period: Period | None) -> str:
    return "FALSE" if period is None else period_sql(period.start, period.end)


def _rows(con: duckdb.DuckDBPyConnection, query: str, *params: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = con.execute(query, list(params)).fetchall()
    return rows


def build_report_data(
    paths: Paths, period: Period, *, settings: AlertSettings | None = None
) -> ReportData:
    con = connect()
    mw = sql_path(require(merchant_table(paths, "week"), "aggregate"))
    pw = sql_path(require(platform_table(paths, "week"), "aggregate"))
    con.execute(f"CREATE TEMP VIEW mw AS SELECT * FROM read_parquet({mw})")
    con.execute(f"CREATE TEMP VIEW pw AS SELECT * FROM read_parquet({pw})")
    where = _where(period)
    weeks = [
        r[0] for r in _rows(con, f"SELECT DISTINCT week_start FROM pw WHERE {where} ORDER BY 1")
    ]
    if not weeks:
        raise EmptyPeriodError(f"no complaints in period {period.key}: pick another --period")
    previous = previous_period(period)
    prev_where = _where(previous)
    has_prev = _covers(con, previous)

    def total(label: str, condition: str) -> int:
        return int(
            _rows(
                con,
                f"SELECT coalesce(sum(complaints), 0) FROM pw WHERE label = ? AND {condition}",
                label,
            )[0][0]
        )

    def change(label: str) -> Change:
        prev = total(label, prev_where) if has_prev else None
        return Change(total(label, where), prev)

    by_week: dict[tuple[str, date], int] = {
        (str(r[0]), r[1]): int(r[2])
        for r in _rows(
            con, f"SELECT label, week_start, sum(complaints) FROM pw WHERE {where} GROUP BY 1, 2"
        )
    }
    volume = [by_week.get((ALL, w), 0) for w in weeks]
    label_weekly = {lab: [by_week.get((lab.value, w), 0) for w in weeks] for lab in LABELS}
    label_share = {
        lab: [c / v if v else None for c, v in zip(label_weekly[lab], volume, strict=True)]
        for lab in LABELS
    }
    grand = change(ALL)
    merchant_rankings = rank_period(paths, period.start, period.end, "merchant")
    platform_rankings = rank_period(paths, period.start, period.end, "platform")
    sections = []
    for label in LABELS:
        sections.append(
            LabelSection(
                label=label,
                count=change(label.value),
                share=total(label.value, where) / grand.current if grand.current else 0.0,
                merchant_ranking=merchant_rankings[label],
                platform_ranking=platform_rankings[label],
                trend=_trend(con, label, weeks, where),
            )
        )
    _add_examples(con, paths, period, sections)
    alerts = detect_alerts(paths, settings).in_period(period.start, period.end)
    (n_platforms, n_merchants) = _rows(
        con,
        f"""SELECT (SELECT count(DISTINCT platform) FROM pw WHERE {where} AND label = '{ALL}'
                      AND platform <> '{UNKNOWN_PLATFORM}'),
                   (SELECT count(DISTINCT merchant) FROM mw WHERE {where} AND label = '{ALL}')""",
    )[0]
    quality = collect_quality(paths)
    return ReportData(
        period=period,
        previous=previous,
        weeks=weeks,
        total=grand,
        platforms=int(n_platforms),
        merchants=int(n_merchants),
        volume_weekly=volume,
        label_weekly=label_weekly,
        label_share_weekly=label_share,
        platform_rows=_platform_rows(con, sections, alerts, period, prev_where, has_prev),
        sections=sections,
        alerts=alerts,
        quality=quality,
        model_versions=[m.version for m, _ in quality.models],
        generated_at=datetime.now(UTC),
    )


def _covers(con: duckdb.DuckDBPyConnection, period: Period | None) -> bool:
    """Whether the data reach back over all of ``period`` (else its figures would be partial
    and a change against them misleading)."""
    if period is None or period.start is None:
        return False
    first = _rows(con, "SELECT min(week_start) FROM pw")[0][0]
    return bool(first is not None and first <= period.start)


def _trend(
    con: duckdb.DuckDBPyConnection, label: Label, weeks: list[date], where: str
) -> dict[str, list[float | None]]:
    """Weekly share of the label on the biggest platforms of the period."""
    top = [
        str(r[0])
        for r in _rows(
            con,
            f"""SELECT platform FROM pw WHERE {where} AND label = '{ALL}'
                  AND platform <> '{UNKNOWN_PLATFORM}'
                GROUP BY 1 ORDER BY sum(complaints) DESC, 1 LIMIT {TREND_PLATFORMS}""",
        )
    ]
    trend: dict[str, list[float | None]] = {}
    for platform in top:
        # A week without a row for the label had none of it (the aggregates keep label rows
        # only where they have complaints); a week without an ``all`` row had no complaint.
        rows = {
            r[0]: (int(r[1]), int(r[2]))
            for r in _rows(
                con,
                f"""SELECT week_start,
                           coalesce(sum(complaints) FILTER (WHERE label = ?), 0),
                           sum(complaints) FILTER (WHERE label = '{ALL}')
                    FROM pw WHERE {where} AND platform = ? GROUP BY 1""",
                label.value,
                platform,
            )
        }
        trend[platform] = [
            rows[w][0] / rows[w][1] if w in rows and rows[w][1] else None for w in weeks
        ]
    return trend


def _platform_rows(
    con: duckdb.DuckDBPyConnection,
    sections: list[LabelSection],
    alerts: AlertResult,
    period: Period,
    prev_where: str,
    has_prev: bool,
) -> list[PlatformRow]:
    where = _where(period)
    amounts = {
        str(r[0]): r[1]
        for r in _rows(
            con,
            f"""SELECT platform, median(amount_yuan) FROM lc
                WHERE is_dup_primary AND {where} GROUP BY 1""",
        )
    }
    rows = _rows(
        con,
        f"""
        SELECT platform,
               sum(complaints) FILTER (WHERE {where}) AS n,
               sum(complaints) FILTER (WHERE {prev_where}) AS prev,
               sum(replied) FILTER (WHERE {where}) / sum(complaints) FILTER (WHERE {where}),
               sum(completed) FILTER (WHERE {where}) / sum(complaints) FILTER (WHERE {where})
        FROM pw WHERE label = '{ALL}'
        GROUP BY platform HAVING n > 0
        ORDER BY (platform = '{UNKNOWN_PLATFORM}'), n DESC, platform
        """,
    )
    flagged: dict[str, list[Label]] = {}
    for alert in alerts.platforms:
        flagged.setdefault(alert.platform, []).append(Label(alert.label))
    units = {(s.label, unit.name): unit for s in sections for unit in s.platform_ranking.units}
    out = []
    for name, n, prev, reply, done in rows:
        amount = amounts.get(str(name))
        out.append(
            PlatformRow(
                name=str(name),
                total=Change(int(n), int(prev or 0) if has_prev else None),
                reply_rate=float(reply) if reply is not None else None,
                completion_rate=float(done) if done is not None else None,
                median_amount=float(amount) if amount is not None else None,
                labels={
                    s.label: units[(s.label, str(name))]
                    for s in sections
                    if (s.label, str(name)) in units
                },
                trend_alerts=flagged.get(str(name), []),
            )
        )
    return out


def _add_examples(
    con: duckdb.DuckDBPyConnection, paths: Paths, period: Period, sections: list[LabelSection]
) -> None:
    """One recent post per top merchant of each label, in ranking order."""
    con.execute(f"CREATE TEMP TABLE lc AS {labeled_complaints_sql(paths)}")
    for section in sections:
        names = [row.name for row in section.merchants[:EXAMPLES_PER_LABEL]]
        if not names:
            continue
        rows = con.execute(
            f"""
            SELECT merchant, platform, title, url,
                   strftime(timezone('Asia/Shanghai', created_at), '%Y-%m-%d')
            FROM lc
            WHERE counts_in_rankings AND list_contains(labels, ?) AND list_contains(?, merchant)
              AND {_where(period)}
            QUALIFY row_number() OVER (PARTITION BY merchant ORDER BY created_at DESC, sn) = 1
            ORDER BY list_position(?, merchant)
            """,
            [section.label.value, names, names],
        ).fetchall()
        section.examples = [Example(*(str(x or "") for x in r)) for r in rows]
