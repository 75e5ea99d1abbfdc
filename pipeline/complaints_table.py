"""The complaints table, rebuilt from every ingested part with DuckDB.

One row per (site, sn), the most recently fetched; records grouped into posts and
near-duplicate clusters over the whole table (``pipeline.dedup``); a merchant's platform filled
in from its other posts where a post names none (``pipeline.resolve``); the flags that say how
to count (``pipeline.warehouse``); written atomically to ``processed/complaints.parquet``, in
no particular row order (a global sort would hold the whole table in memory): query with the
``ORDER BY`` you need.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from pipeline import dedup
from pipeline.resolve import merchant_platform_sql
from pipeline.settings import Paths
from pipeline.warehouse import (
    COMPLAINT_PARTS_SCHEMA,
    COMPLAINTS_SCHEMA,
    atomic_output,
    connect,
    sql_path,
)

DUCKDB_MEMORY_LIMIT = "1GB"
ROW_GROUP_ROWS = 10_000


@dataclass(frozen=True)
class GroupStats:
    posts: int  # distinct post_id
    multi_merchant_posts: int  # posts filed against more than one merchant
    clusters: int  # near-duplicate clusters of more than one post
    reposts: int  # posts folded into an earlier post of their cluster
    platform_from_merchant: int  # rows whose platform came from the merchant's other posts


_RECORD_NAMES = [
    name
    for name in COMPLAINTS_SCHEMA.names
    if name in COMPLAINT_PARTS_SCHEMA.names and name not in ("platform", "platform_source")
]


def build_complaints_table(paths: Paths, parts: list[Path]) -> tuple[int, int, GroupStats]:
    """Merge every part into ``complaints.parquet``: one row per (site, sn), grouped into posts
    and near-duplicate clusters. Returns (rows, duplicates dropped, grouping figures)."""
    parts = [p for p in parts if p.exists()]
    con = connect()
    tmp_dir = paths.interim_complaints.parent / ".duckdb_tmp"
    # DuckDB creates the spill folder itself but not its parents.
    tmp_dir.parent.mkdir(parents=True, exist_ok=True)
    # Bounded memory whatever the table's size: DuckDB spills past the limit, and the table
    # is written in row groups of ROW_GROUP_ROWS instead of one group held whole in memory.
    con.execute(f"SET temp_directory = {sql_path(tmp_dir)}")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order = false")
    if parts:
        sources = "[" + ", ".join(sql_path(p) for p in parts) + "]"
        con.execute(f"CREATE TEMP VIEW parts AS SELECT * FROM read_parquet({sources})")
    else:
        con.register("parts", pa.Table.from_pylist([], schema=COMPLAINT_PARTS_SCHEMA))
    total = int(con.execute("SELECT count(*) FROM parts").fetchone()[0])
    # The latest fetch of each (site, sn), with only what grouping needs.
    con.execute("""
        CREATE TEMP TABLE rec AS
        SELECT site, sn, source_file, source_line, created_at, merchant, platform,
               platform_source, text_key, shingles, minhash
        FROM parts
        QUALIFY row_number() OVER (
            PARTITION BY site, sn ORDER BY fetched_at DESC, source_file, source_line
        ) = 1
    """)
    dedup.assign_posts(con, "rec")
    dedup.assign_clusters(con, "rec", "parts")
    con.execute(f"""
        CREATE TEMP TABLE grp AS
        WITH mp AS ({merchant_platform_sql("rec")}),
        j AS (
            SELECT r.site, r.sn, r.source_file, r.source_line, r.created_at, r.merchant,
                   p.post_id, coalesce(c.dup_group, p.post_id) AS dup_group,
                   CASE WHEN r.platform_source = 'none' AND mp.platform IS NOT NULL
                        THEN mp.platform ELSE r.platform END AS platform,
                   CASE WHEN r.platform_source = 'none' AND mp.platform IS NOT NULL
                        THEN 'merchant' ELSE r.platform_source END AS platform_source,
                   p.is_primary AS is_post_primary
            FROM rec r
            JOIN post_of p USING (site, sn)
            LEFT JOIN cluster_of c USING (post_id)
            LEFT JOIN mp USING (merchant)
        ),
        posts AS (
            SELECT post_id, CAST(count(*) AS INTEGER) AS post_size,
                   list(merchant ORDER BY TRY_CAST(sn AS BIGINT), sn) AS post_merchants
            FROM j GROUP BY post_id
        )
        SELECT j.*, posts.post_size, posts.post_merchants,
               CAST(count(*) FILTER (WHERE j.is_post_primary) OVER (PARTITION BY j.dup_group)
                    AS INTEGER) AS dup_size,
               j.is_post_primary AND j.post_id = j.dup_group AS is_dup_primary,
               row_number() OVER (
                   PARTITION BY j.dup_group, j.merchant ORDER BY j.created_at, j.site, j.sn
               ) = 1 AS counts_in_rankings
        FROM j JOIN posts USING (post_id)
    """)
    columns = ", ".join(
        f"g.{name}" if name not in _RECORD_NAMES else f"c.{name}"
        for name in COMPLAINTS_SCHEMA.names
    )
    with atomic_output(paths.complaints) as tmp:
        con.execute(f"""
            COPY (
                SELECT {columns}
                FROM parts c
                JOIN grp g ON c.site = g.site AND c.sn = g.sn
                    AND c.source_file = g.source_file AND c.source_line = g.source_line
            ) TO {sql_path(tmp)} (
                FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1,
                ROW_GROUP_SIZE {ROW_GROUP_ROWS}
            )
        """)
    rows, posts, multi, clusters, reposts, from_merchant = con.execute("""
        SELECT count(*),
               count(*) FILTER (WHERE is_post_primary),
               count(*) FILTER (WHERE is_post_primary AND post_size > 1),
               count(*) FILTER (WHERE is_dup_primary AND dup_size > 1),
               count(*) FILTER (WHERE is_post_primary AND post_id <> dup_group),
               count(*) FILTER (WHERE platform_source = 'merchant')
        FROM grp
    """).fetchone()
    stats = GroupStats(int(posts), int(multi), int(clusters), int(reposts), int(from_merchant))
    return int(rows), total - int(rows), stats
