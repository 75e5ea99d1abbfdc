"""The aggregate stage: weekly complaint counts per platform x merchant x label.

``weekly_counts`` (Parquet and CSV) has one row per ISO week (China time, weeks start on
Monday), platform, merchant and label: ``complaints`` with that label and ``total``
complaints against that merchant that week, so shares can be taken without a join. A post
filed against several merchants counts once for each (one row per ``sn``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.settings import Paths
from pipeline.taxonomy import LABELS
from pipeline.warehouse import atomic_output, connect, copy_to_parquet, require, sql_path

SITE_TZ = "Asia/Shanghai"


def labeled_complaints_sql(paths: Paths) -> str:
    """Complaints joined with their labels, with the China-time week they fall in."""
    complaints = sql_path(require(paths.complaints, "ingest"))
    predictions = sql_path(require(paths.predictions, "label"))
    return f"""
        SELECT c.site, c.sn, c.merchant, c.platform, c.title, c.url, c.created_at,
               CAST(date_trunc('week', timezone('{SITE_TZ}', c.created_at)) AS DATE) AS week_start,
               coalesce(p.labels, []) AS labels, p.model_version
        FROM read_parquet({complaints}) c
        LEFT JOIN read_parquet({predictions}) p USING (site, sn)
    """


@dataclass
class AggregateSummary:
    rows: int
    weeks: int
    merchants: int


def run_aggregate(paths: Paths) -> AggregateSummary:
    con = connect()
    label_list = ", ".join(f"'{label.value}'" for label in LABELS)
    query = f"""
        WITH lc AS ({labeled_complaints_sql(paths)}),
        cells AS (
            SELECT week_start, platform, merchant, count(*) AS total FROM lc GROUP BY ALL
        ),
        hits AS (
            SELECT week_start, platform, merchant, label, count(*) AS complaints
            FROM (SELECT week_start, platform, merchant, unnest(labels) AS label FROM lc)
            GROUP BY ALL
        )
        SELECT c.week_start, strftime(c.week_start, '%G-W%V') AS iso_week,
               c.platform, c.merchant, l.label,
               CAST(coalesce(h.complaints, 0) AS BIGINT) AS complaints, c.total
        FROM cells c
        CROSS JOIN (SELECT unnest([{label_list}]) AS label) l
        LEFT JOIN hits h USING (week_start, platform, merchant, label)
        ORDER BY c.week_start, c.platform, c.merchant, l.label
    """
    rows = copy_to_parquet(con, query, paths.weekly_counts)
    with atomic_output(paths.weekly_counts.with_suffix(".csv")) as csv_tmp:
        con.execute(
            f"COPY (SELECT * FROM read_parquet({sql_path(paths.weekly_counts)})) "
            f"TO {sql_path(csv_tmp)} (HEADER, DELIMITER ',')"
        )
    weeks, merchants = con.execute(
        f"SELECT count(DISTINCT week_start), count(DISTINCT merchant) "
        f"FROM read_parquet({sql_path(paths.weekly_counts)})"
    ).fetchone()
    return AggregateSummary(rows=rows, weeks=int(weeks), merchants=int(merchants))
