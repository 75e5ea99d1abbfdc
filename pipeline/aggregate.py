"""The aggregate stage: complaint counts per week and month, by platform, merchant and label.

Notation: a *cell* is one period (an ISO week in China time, Monday first, or a calendar
month) x one unit (a platform, a merchant, or a platform x merchant pair); ``total`` is the
cell's complaints and ``complaints`` those carrying the row's label, so ``share`` needs no
join. Counting follows the complaints table's rules (``pipeline.warehouse``): per merchant a
post counts once for every merchant it names and a re-post adds nothing
(``counts_in_rankings``); per platform a near-duplicate cluster counts once
(``is_dup_primary``).

Tables under ``processed/aggregates/``, each as Parquet and CSV:

- ``weekly_counts``: week x platform x merchant x label, the drill-down table:
  ``complaints``, ``total``, ``share``, ``replied`` and ``completed`` (of the label's
  complaints). Unsorted and without medians, which would double the stage's time.
- ``platform_weekly`` / ``platform_monthly`` and ``merchant_weekly`` / ``merchant_monthly``:
  period x unit x label: the same counts plus ``reply_rate``, ``completion_rate``,
  ``median_amount`` and the change on the previous period (``prev_complaints``,
  ``prev_share``, ``change``, ``change_pct``; NULL in the first period of the data, 0 when the
  unit had no complaint in the previous period). Median amounts: per label in the platform
  tables, for all of a merchant's complaints (the ``all`` row) in ``merchant_monthly``, none
  in ``merchant_weekly``: a merchant's week or month holds a complaint or two, where a median
  says little, and exact medians over millions of small cells would cost most of the stage.
  Merchant tables name the merchant's main platform. Platform tables are sorted by period,
  platform and label; merchant tables are not (sorting millions of rows costs more than the
  rest of the stage).

Every table has a row for every cell (a unit has cells only in periods with complaints) with
the pseudo-label ``all`` (every complaint, whatever its labels), and a row per label where
the label has complaints: a missing label row means 0 (dense label rows would make ten million
complaints' tables four times larger).

Replies and completions come from the site's status (已回复/已完成) and the timeline's steps
(商家已回复, 投诉已完成), as of the crawl: recent complaints have had less time. Ratios are
rounded to six decimals.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.settings import Paths
from pipeline.taxonomy import LABELS
from pipeline.warehouse import atomic_output, connect, require, sql_path

logger = logging.getLogger(__name__)

UNKNOWN_PLATFORM = "未知"
ALL = "all"  # the pseudo-label of platform and merchant tables: every complaint
DUCKDB_MEMORY_LIMIT = "2GB"

Grain = Literal["week", "month"]
LABEL_FLAGS = {label.value: f"l_{label.value}" for label in LABELS}

# A complaint was replied to when the site's status says so (pipeline.contract.ComplaintStatus:
# 6 已回复, 7 已完成) or its timeline has the step; JSON as ingest writes it (compact), so a plain
# substring test does (a regular expression costs seven times as much on ten million rows).
REPLY_STEPS = ("商家已回复", "商家回复", "已回复")
DONE_STEPS = ("投诉已完成", "已完成")
# China has kept UTC+8 without daylight saving since 1991 (and ingest refuses earlier dates), so
# local time is a fixed shift: far cheaper than a time-zone lookup per row.
CHINA_OFFSET_US = 8 * 3600 * 1_000_000


def _steps_sql(steps: Sequence[str]) -> str:
    return " OR ".join(f"""contains(c.timeline, '"status":"{step}"')""" for step in steps)


_REPLIED = f"(c.status IN (6, 7) OR {_steps_sql(REPLY_STEPS)})"
_COMPLETED = f"(c.status = 7 OR {_steps_sql(DONE_STEPS)})"


def local_time_sql(column: str = "c.created_at") -> str:
    """SQL for a UTC timestamp column as China local time (a naive TIMESTAMP)."""
    return f"make_timestamp(epoch_us({column}) + {CHINA_OFFSET_US})"


_LOCAL = local_time_sql()


def platform_table(paths: Paths, grain: Grain) -> Path:
    return paths.aggregates / f"platform_{grain}ly.parquet"


def merchant_table(paths: Paths, grain: Grain) -> Path:
    return paths.aggregates / f"merchant_{grain}ly.parquet"


def labeled_complaints_sql(paths: Paths) -> str:
    """Every complaint record joined with its labels, with the China-time week and month it
    falls in and whether the merchant replied and completed it."""
    complaints = sql_path(require(paths.complaints, "ingest"))
    predictions = sql_path(require(paths.predictions, "label"))
    return f"""
        SELECT c.site, c.sn, c.post_id, c.dup_group, c.counts_in_rankings, c.is_dup_primary,
               c.is_post_primary, c.merchant,
               coalesce(c.platform, '{UNKNOWN_PLATFORM}') AS platform,
               c.title, c.url, c.created_at, c.amount_yuan, c.status,
               {_REPLIED} AS replied, {_COMPLETED} AS completed,
               CAST(date_trunc('week', {_LOCAL}) AS DATE) AS week_start,
               CAST(date_trunc('month', {_LOCAL}) AS DATE) AS month_start,
               coalesce(p.labels, []) AS labels, p.model_version
        FROM read_parquet({complaints}) c
        LEFT JOIN read_parquet({predictions}) p USING (site, sn)
    """


@dataclass
class AggregateSummary:
    rows: int  # rows of weekly_counts
    weeks: int
    merchants: int
    tables: dict[str, int] = field(default_factory=dict)  # file name -> rows


def load_complaint_facts(con: duckdb.DuckDBPyConnection, paths: Paths) -> None:
    """Create the slim ``facts`` table: one row per complaint record that counts anywhere,
    label flags as columns. Only what aggregation needs is kept, so that ten million records
    fit in memory.

    The label stage writes predictions in the complaints table's row order, so the two are
    zipped by position, a slice of ``FACTS_SLICE_ROWS`` rows at a time: each file's slice is
    scanned in file order on every thread, and the two put side by side in Arrow (a
    ``POSITIONAL JOIN`` does the same on one thread, half as fast on two cores). Every row's
    (site, sn) hash must agree between the two (a 64-bit hash: a table out of line would pass
    only if each of its displaced rows collided). Only when some row does not, or the lengths
    differ, is the table built with a join on (site, sn)."""
    complaints = sql_path(require(paths.complaints, "ingest"))
    predictions = sql_path(require(paths.predictions, "label"))
    slim = f"""
        c.site, c.sn, CAST(date_trunc('week', {_LOCAL}) AS DATE) AS week_start,
        CAST(date_trunc('month', {_LOCAL}) AS DATE) AS month_start, c.merchant,
        coalesce(c.platform, '{UNKNOWN_PLATFORM}') AS platform, c.amount_yuan AS amount,
        {_REPLIED} AS replied, {_COMPLETED} AS completed,
        c.counts_in_rankings AS in_rankings, c.is_dup_primary AS dup_primary
    """
    flags = ", ".join(
        f"coalesce(list_contains(p.labels, '{name}'), FALSE) AS {flag}"
        for name, flag in LABEL_FLAGS.items()
    )
    (rows,) = con.execute(f"SELECT count(*) FROM read_parquet({complaints})").fetchone()
    (labeled,) = con.execute(f"SELECT count(*) FROM read_parquet({predictions})").fetchone()
    if rows == labeled and _zip_facts(con, complaints, predictions, slim, flags, int(rows)):
        return
    logger.info("predictions are not in the complaints table's order: joining on (site, sn)")
    columns = ", ".join(
        ["week_start", "month_start", "merchant", "platform", "amount", "replied", "completed",
         "in_rankings", "dup_primary", *LABEL_FLAGS.values()]
    )  # fmt: skip
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE facts AS
        SELECT {columns}
        FROM (SELECT {slim} FROM read_parquet({complaints}) c) c
        LEFT JOIN (SELECT p.site, p.sn, {flags} FROM read_parquet({predictions}) p) p
            USING (site, sn)
        WHERE in_rankings OR dup_primary
        """
    )


# Rows zipped at a time (about 130 MB of Arrow): memory stays bounded whatever the table's size.
FACTS_SLICE_ROWS = 2_000_000


def _zip_facts(
    con: duckdb.DuckDBPyConnection,
    complaints: str,
    predictions: str,
    slim: str,
    flags: str,
    rows: int,
) -> bool:
    """Build ``facts`` by position, slice by slice; False (and no table) at the first slice
    whose rows do not line up."""
    for lo in range(0, max(rows, 1), FACTS_SLICE_ROWS):
        # The Parquet reader skips the row groups outside the slice.
        where = f"WHERE file_row_number >= {lo} AND file_row_number < {lo + FACTS_SLICE_ROWS}"
        records = _in_file_order(
            con,
            f"SELECT hash(c.site, c.sn) AS row_key, * EXCLUDE (site, sn) FROM "
            f"(SELECT {slim} FROM read_parquet({complaints}, file_row_number = true) c {where}) c",
        )
        labels = _in_file_order(
            con,
            f"SELECT hash(p.site, p.sn) AS row_key, {flags} "
            f"FROM read_parquet({predictions}, file_row_number = true) p {where}",
        )
        if records.num_rows != labels.num_rows or not _all_true(
            pc.equal(records["row_key"], labels["row_key"])
        ):
            con.execute("DROP TABLE IF EXISTS facts")
            return False
        zipped = records.drop_columns(["row_key"])
        for flag in LABEL_FLAGS.values():
            zipped = zipped.append_column(flag, labels[flag])
        con.register("zipped", zipped)
        try:
            into = "CREATE OR REPLACE TEMP TABLE facts AS" if lo == 0 else "INSERT INTO facts"
            con.execute(f"{into} SELECT * FROM zipped WHERE in_rankings OR dup_primary")
        finally:
            con.unregister("zipped")
    return True


def _in_file_order(con: duckdb.DuckDBPyConnection, query: str) -> pa.Table:
    """``query``'s rows as Arrow, in the order of the files it scans (computed in parallel)."""
    keep = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = true")
    try:
        return con.sql(query).to_arrow_table()
    finally:
        con.execute(f"SET preserve_insertion_order = {bool(keep)}")


def _all_true(values: pa.ChunkedArray) -> bool:
    """Every value true (a null is not); true for no values."""
    return pc.all(values, skip_nulls=False, min_count=0).as_py() is True


def _period(grain: Grain) -> tuple[str, str, str]:
    """(period column, its readable label column, the SQL step to the previous period)."""
    if grain == "week":
        return "week_start", "strftime(week_start, '%G-W%V') AS iso_week", "INTERVAL 7 DAY"
    return "month_start", "strftime(month_start, '%Y-%m') AS month", "INTERVAL 1 MONTH"


_NAMES = (ALL, *LABEL_FLAGS)


def _create_wide(
    con: duckdb.DuckDBPyConnection,
    table: str,
    grain: Grain,
    keys: Sequence[str],
    where: str,
    *,
    medians: bool = True,
    label_medians: bool = True,
) -> None:
    started = time.perf_counter()
    _wide(con, table, grain, keys, where, medians=medians, label_medians=label_medians)
    logger.debug("cells by %s x %s in %.1f s", grain, "/".join(keys), time.perf_counter() - started)


def _wide(
    con: duckdb.DuckDBPyConnection,
    table: str,
    grain: Grain,
    keys: Sequence[str],
    where: str,
    *,
    medians: bool,
    label_medians: bool,
) -> None:
    """Temp table ``table``: one row per cell with, for every label and ``all``, the
    complaints (``n_``), replies (``r_``), completions (``d_``) and median amount (``m_``)."""
    period, _, _ = _period(grain)
    parts = []
    for name in _NAMES:
        flag = "TRUE" if name == ALL else LABEL_FLAGS[name]
        parts += [
            f"count(*) FILTER (WHERE {flag}) AS n_{name}",
            f"count(*) FILTER (WHERE {flag} AND replied) AS r_{name}",
            f"count(*) FILTER (WHERE {flag} AND completed) AS d_{name}",
        ]
        if medians and (label_medians or name == ALL):
            parts.append(f"median(amount) FILTER (WHERE {flag}) AS m_{name}")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT {period}, {", ".join(keys)}, {", ".join(parts)}
        FROM facts WHERE {where}
        GROUP BY ALL
        """
    )


def _ratio(numerator: str, denominator: str) -> str:
    # Six decimals are plenty for a share, and keep the CSV files half as large.
    return f"round({numerator} / nullif({denominator}, 0), 6)"


def _write(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    """Write ``query`` to ``path`` (Parquet) and beside it as CSV, atomically; returns rows.

    The query streams into the Parquet writer and the CSV is read back from that file: no
    table of millions of rows is held in memory between the two (allocating it costs more
    than decoding the file again)."""
    started = time.perf_counter()
    with atomic_output(path) as tmp:
        # zstd level 1: a tenth faster than the default level, files 3% larger.
        (rows,) = con.execute(
            f"COPY ({query}) TO {sql_path(tmp)} "
            "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"
        ).fetchone()
        written = time.perf_counter()
        # DuckDB's CSV writer formats DOUBLE columns 40% slower than a cast to VARCHAR
        # does, into the same text (compared byte for byte on the benchmark's tables).
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_path(tmp)})")
        columns = ", ".join(
            f'CAST("{name}" AS VARCHAR) AS "{name}"' if kind == "DOUBLE" else f'"{name}"'
            for name, kind, *_ in described.fetchall()
        )
        with atomic_output(path.with_suffix(".csv")) as csv:
            con.execute(
                f"COPY (SELECT {columns} FROM read_parquet({sql_path(tmp)})) "
                f"TO {sql_path(csv)} (HEADER, DELIMITER ',')"
            )
    logger.debug(
        "%s: %d rows, Parquet in %.1f s, CSV in %.1f s",
        path.name,
        rows,
        written - started,
        time.perf_counter() - written,
    )
    return int(rows)


def _counts_query() -> str:
    """week x platform x merchant x label from ``cells``: ``all`` for every cell, a label
    where it has complaints."""
    period, period_label, _ = _period("week")
    rows = ", ".join(
        f"""{{'label': '{name}', 'complaints': n_{name}, 'share': {_ratio(f"n_{name}", "n_all")},
             'replied': r_{name}, 'completed': d_{name}}}"""
        for name in _NAMES
    )
    return f"""
        SELECT {period}, {period_label}, platform, merchant, label, complaints, total, share,
               replied, completed
        FROM (SELECT *, n_all AS total, unnest([{rows}], recursive := true) FROM cells)
        WHERE label = '{ALL}' OR complaints > 0
    """


def _unit_query(
    con: duckdb.DuckDBPyConnection, wide: str, grain: Grain, unit: Literal["platform", "merchant"]
) -> str:
    """period x unit x label from the cells table ``wide``: the ``all`` row of every cell and
    the label rows with complaints, with rates and the change on the previous period (a unit
    without a cell in the previous period had no complaints, so 0). Creates the temp table
    ``lagged`` it reads."""
    period, period_label, step = _period(grain)
    previous = ", ".join(f"n_{name} AS p_{name}" for name in _NAMES)
    platform = ", main.platform" if unit == "merchant" else ""
    join_main = "JOIN main USING (merchant)" if unit == "merchant" else ""
    # The previous period's counts by a join on (period - step, unit): a hash join, cheaper
    # than a window over millions of cells; no match means no complaints then.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE lagged AS
        SELECT {wide}.*{platform}, {period} = (SELECT min({period}) FROM {wide}) AS is_first,
               prev.p_{ALL} IS NOT NULL AS continuous, prev.* EXCLUDE ({period}, {unit})
        FROM {wide} {join_main}
        LEFT JOIN (SELECT CAST({period} + {step} AS DATE) AS {period}, {unit}, {previous}
                   FROM {wide}) prev USING ({period}, {unit})
        """
    )
    medians = {
        row[0] for row in con.execute("SELECT column_name FROM (DESCRIBE lagged)").fetchall()
    }
    selects = []
    for name in _NAMES:
        prev = (
            f"CASE WHEN NOT is_first THEN "
            f"CAST(CASE WHEN continuous THEN p_{name} ELSE 0 END AS BIGINT) END"
        )
        median = f"m_{name}" if f"m_{name}" in medians else "CAST(NULL AS DOUBLE)"
        # Rows are filtered before anything is computed for them: most cells have no
        # complaint of a given label.
        selects.append(
            f"""SELECT {period}, {period_label}, {"platform, " if unit == "merchant" else ""}
                       {unit}, '{name}' AS label, n_{name} AS complaints, n_all AS total,
                       {_ratio(f"n_{name}", "n_all")} AS share,
                       r_{name} AS replied, d_{name} AS completed,
                       {_ratio(f"r_{name}", f"n_{name}")} AS reply_rate,
                       {_ratio(f"d_{name}", f"n_{name}")} AS completion_rate,
                       {median} AS median_amount,
                       {prev} AS prev_complaints,
                       CASE WHEN continuous THEN {_ratio(f"p_{name}", "p_all")} END
                           AS prev_share,
                       n_{name} - ({prev}) AS change,
                       CASE WHEN continuous
                            THEN {_ratio(f"n_{name} - p_{name}", f"p_{name}")} END AS change_pct
                FROM lagged {"" if name == ALL else f"WHERE n_{name} > 0"}"""
        )
    order = f"ORDER BY {period}, {unit}, label" if unit == "platform" else ""
    return f"SELECT * FROM ({' UNION ALL '.join(selects)}) {order}"


def write_aggregates(con: duckdb.DuckDBPyConnection, paths: Paths) -> AggregateSummary:
    """Write every aggregate table from the ``facts`` table, which it drops.

    Every pass over the records runs first, into its cells table, and the records are
    dropped before anything is written: ten million records and the tables being written
    did not fit DuckDB's memory limit together, and it spilled."""
    _create_wide(con, "cells", "week", ["platform", "merchant"], "in_rankings", medians=False)
    _create_wide(con, "platform_week", "week", ["platform"], "dup_primary")
    _create_wide(con, "platform_month", "month", ["platform"], "dup_primary")
    _create_wide(con, "merchant_month", "month", ["merchant"], "in_rankings", label_medians=False)
    # merchant_week is summed from the cells below: no second pass over the records.
    con.execute("DROP TABLE facts")
    units: list[tuple[str, Grain, Literal["platform", "merchant"], Path]] = [
        ("platform_week", "week", "platform", platform_table(paths, "week")),
        ("merchant_week", "week", "merchant", merchant_table(paths, "week")),
        ("platform_month", "month", "platform", platform_table(paths, "month")),
        ("merchant_month", "month", "merchant", merchant_table(paths, "month")),
    ]

    written: dict[str, int] = {}
    written[paths.weekly_counts.name] = _write(con, _counts_query(), paths.weekly_counts)
    weeks, merchants = con.execute(
        "SELECT count(DISTINCT week_start), count(DISTINCT merchant) FROM cells"
    ).fetchone()
    # A merchant's platform varies by complaint (it comes from the text): name its main one,
    # preferring a known platform over 未知.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE main AS
        SELECT merchant, first(platform ORDER BY (platform = '{UNKNOWN_PLATFORM}'), n DESC,
                               platform) AS platform
        FROM (SELECT merchant, platform, sum(n_all) AS n FROM cells GROUP BY ALL)
        GROUP BY merchant
        """
    )
    # sum() of BIGINT is HUGEINT, which Parquet stores as DOUBLE: cast back.
    sums = ", ".join(
        f"CAST(sum({kind}_{name}) AS BIGINT) AS {kind}_{name}" for name in _NAMES for kind in "nrd"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE merchant_week AS "
        f"SELECT week_start, merchant, {sums} FROM cells GROUP BY ALL"
    )
    con.execute("DROP TABLE cells")
    for wide, grain, unit, target in units:
        written[target.name] = _write(con, _unit_query(con, wide, grain, unit), target)
        con.execute(f"DROP TABLE {wide}; DROP TABLE lagged")
    con.execute("DROP TABLE main")
    return AggregateSummary(
        rows=written[paths.weekly_counts.name],
        weeks=int(weeks),
        merchants=int(merchants),
        tables=written,
    )


def run_aggregate(paths: Paths, *, threads: int | None = None) -> AggregateSummary:
    con = connect(threads=threads)
    # Bounded memory at any size: DuckDB spills hash tables and sorts past the limit (exact
    # medians cannot spill, but their values fit in it at ten million records).
    tmp_dir = paths.aggregates / ".duckdb_tmp"
    # DuckDB creates the spill folder itself but not its parents.
    tmp_dir.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = {sql_path(tmp_dir)}")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order = false")
    try:
        started = time.perf_counter()
        load_complaint_facts(con, paths)
        logger.debug("facts in %.1f s", time.perf_counter() - started)
        return write_aggregates(con, paths)
    finally:
        con.close()
        shutil.rmtree(tmp_dir, ignore_errors=True)


def period_sql(start: date | None, end: date | None, column: str = "week_start") -> str:
    """A SQL condition selecting the weeks (or months) whose first day is in [start, end)."""
    parts = ["TRUE"]
    if start is not None:
        parts.append(f"{column} >= DATE '{start.isoformat()}'")
    if end is not None:
        parts.append(f"{column} < DATE '{end.isoformat()}'")
    return " AND ".join(parts)
