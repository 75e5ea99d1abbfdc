"""Everything the report shows, computed from the weekly aggregates (and, for example posts,
the labeled complaints). Pure data: no HTML here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from pipeline.aggregate import labeled_complaints_sql
from pipeline.periods import Period
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, Label
from pipeline.warehouse import connect, require, sql_path

TOP_N = 10
TREND_PLATFORMS = 5
EXAMPLES_PER_LABEL = 5


class EmptyPeriodError(ValueError):
    """No complaints fall in the requested period."""


@dataclass(frozen=True)
class RankRow:
    name: str
    platform: str | None
    count: int
    total: int
    first_week: str
    last_week: str

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0


@dataclass(frozen=True)
class Example:
    merchant: str
    platform: str
    title: str
    url: str
    created: str


@dataclass
class LabelSection:
    label: Label
    count: int
    share: float
    platforms: list[RankRow]
    merchants: list[RankRow]
    trend: dict[str, list[int]]  # platform -> weekly counts
    examples: list[Example] = field(default_factory=list)


@dataclass
class ReportData:
    period: Period
    weeks: list[date]
    total: int
    platforms: int
    merchants: int
    label_weekly: dict[Label, list[int]]
    volume_weekly: list[int]
    sections: list[LabelSection]
    model_versions: list[str]
    generated_at: datetime

    @property
    def first_week(self) -> date:
        return self.weeks[0]

    @property
    def last_week(self) -> date:
        return self.weeks[-1]


def _rows(con: duckdb.DuckDBPyConnection, query: str, *params: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = con.execute(query, list(params)).fetchall()
    return rows


def build_report_data(paths: Paths, period: Period) -> ReportData:
    con = connect()
    weekly = sql_path(require(paths.weekly_counts, "aggregate"))
    where = []
    if period.start:
        where.append(f"week_start >= DATE '{period.start.isoformat()}'")
    if period.end:
        where.append(f"week_start < DATE '{period.end.isoformat()}'")
    con.execute(
        f"CREATE TABLE w AS SELECT * FROM read_parquet({weekly})"
        + (f" WHERE {' AND '.join(where)}" if where else "")
    )
    weeks = [r[0] for r in _rows(con, "SELECT DISTINCT week_start FROM w ORDER BY 1")]
    if not weeks:
        raise EmptyPeriodError(f"no complaints in period {period.key}: pick another --period")
    # `total` repeats on every label row of a cell: read it from one label only.
    first = LABELS[0].value
    total, n_platforms, n_merchants = _rows(
        con,
        "SELECT sum(total), count(DISTINCT platform), count(DISTINCT merchant) FROM w WHERE label = ?",
        first,
    )[0]
    volume = dict(
        _rows(con, "SELECT week_start, sum(total) FROM w WHERE label = ? GROUP BY 1", first)
    )
    label_weekly: dict[Label, list[int]] = {}
    sections = []
    for label in LABELS:
        by_week = dict(
            _rows(
                con,
                "SELECT week_start, sum(complaints) FROM w WHERE label = ? GROUP BY 1",
                label.value,
            )
        )
        label_weekly[label] = [int(by_week.get(w, 0)) for w in weeks]
        sections.append(_section(con, label, weeks, int(total)))
    _add_examples(paths, period, sections)
    versions = sorted(
        str(r[0])
        for r in _rows(
            connect(),
            f"SELECT DISTINCT model_version FROM read_parquet({sql_path(paths.predictions)}) WHERE model_version IS NOT NULL",
        )
    )
    return ReportData(
        period=period,
        weeks=weeks,
        total=int(total),
        platforms=int(n_platforms),
        merchants=int(n_merchants),
        label_weekly=label_weekly,
        volume_weekly=[int(volume.get(w, 0)) for w in weeks],
        sections=sections,
        model_versions=versions,
        generated_at=datetime.now(UTC),
    )


def _ranking(con: duckdb.DuckDBPyConnection, label: Label, by: str) -> list[RankRow]:
    # A merchant's platform varies by complaint (it comes from the text): show its main one.
    platform = "arg_max(platform, complaints)" if by == "merchant" else "NULL"
    rows = _rows(
        con,
        f"""
        SELECT {by}, {platform}, sum(complaints) AS c, sum(total) AS t,
               strftime(min(week_start) FILTER (WHERE complaints > 0), '%G-W%V'),
               strftime(max(week_start) FILTER (WHERE complaints > 0), '%G-W%V')
        FROM w WHERE label = ? GROUP BY 1
        HAVING sum(complaints) > 0
        ORDER BY c DESC, c / t DESC, 1
        LIMIT {TOP_N}
        """,
        label.value,
    )
    return [RankRow(str(r[0]), r[1], int(r[2]), int(r[3]), str(r[4]), str(r[5])) for r in rows]


def _section(
    con: duckdb.DuckDBPyConnection, label: Label, weeks: list[date], total: int
) -> LabelSection:
    count = int(
        _rows(con, "SELECT coalesce(sum(complaints), 0) FROM w WHERE label = ?", label.value)[0][0]
    )
    platforms = _ranking(con, label, "platform")
    trend: dict[str, list[int]] = {}
    for row in platforms[:TREND_PLATFORMS]:
        by_week = dict(
            _rows(
                con,
                "SELECT week_start, sum(complaints) FROM w WHERE label = ? AND platform = ? GROUP BY 1",
                label.value,
                row.name,
            )
        )
        trend[row.name] = [int(by_week.get(w, 0)) for w in weeks]
    return LabelSection(
        label=label,
        count=count,
        share=count / total if total else 0.0,
        platforms=platforms,
        merchants=_ranking(con, label, "merchant"),
        trend=trend,
    )


def _add_examples(paths: Paths, period: Period, sections: list[LabelSection]) -> None:
    """A few example titles per label, from its top merchants, newest first."""
    con = connect()
    con.execute(f"CREATE TABLE lc AS {labeled_complaints_sql(paths)}")
    for section in sections:
        names = [row.name for row in section.merchants[:EXAMPLES_PER_LABEL]]
        if not names:
            continue
        conditions = ["list_contains(labels, ?)", "list_contains(?, merchant)"]
        params: list[Any] = [section.label.value, names]
        if period.start:
            conditions.append("week_start >= ?")
            params.append(period.start)
        if period.end:
            conditions.append("week_start < ?")
            params.append(period.end)
        rows = con.execute(
            f"""
            SELECT merchant, platform, title, url, strftime(timezone('Asia/Shanghai', created_at), '%Y-%m-%d')
            FROM lc WHERE {" AND ".join(conditions)}
            QUALIFY row_number() OVER (PARTITION BY merchant ORDER BY created_at DESC) = 1
            ORDER BY list_position(?, merchant)
            """,
            [*params, names],
        ).fetchall()
        section.examples = [Example(*map(str, r)) for r in rows]
