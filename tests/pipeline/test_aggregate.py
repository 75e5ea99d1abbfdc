from __future__ import annotations

from datetime import date

import duckdb

from pipeline.aggregate import run_aggregate
from pipeline.ingest import run_ingest
from pipeline.labeling.labeler import WeakLabeler
from pipeline.predictions import run_label
from pipeline.settings import Paths
from tests.conftest import make_record, write_jsonl


def _build(paths: Paths) -> None:
    write_jsonl(
        paths.raw_site("heimao") / "run.jsonl",
        [
            # Sunday 23:30 and Monday 00:30 China time: two different ISO weeks.
            make_record(
                issue="",
                title="投诉",
                sn="17390000001",
                created_at="2026-05-17T15:30:00+00:00",
                body="商家跑路了，店铺关了",
            ),
            make_record(
                issue="",
                title="投诉",
                sn="17390000002",
                created_at="2026-05-17T16:30:00+00:00",
                body="商家跑路了，一直不发货",
            ),
            make_record(
                issue="",
                title="投诉",
                sn="17390000003",
                created_at="2026-05-18T03:00:00+00:00",
                body="质量不好，想换货",
            ),
            make_record(
                issue="",
                title="投诉",
                sn="17390000004",
                created_at="2026-05-18T03:00:00+00:00",
                merchant_name="某某数码",
                body="在抖音买的耳机，商家拒不退款",
            ),
        ],
    )
    run_ingest(paths)
    run_label(paths, WeakLabeler())


def test_weekly_counts_per_platform_merchant_label(paths: Paths) -> None:
    _build(paths)
    summary = run_aggregate(paths)
    assert summary.weeks == 2 and summary.merchants == 2
    rows = duckdb.sql(
        f"SELECT week_start, iso_week, platform, merchant, label, complaints, total "
        f"FROM read_parquet('{paths.weekly_counts}') WHERE complaints > 0 ORDER BY ALL"
    ).fetchall()
    assert rows == [
        (date(2026, 5, 11), "2026-W20", "拼多多", "拼多多", "exit_scam", 1, 1),
        (date(2026, 5, 18), "2026-W21", "抖音", "某某数码", "refund_refusal", 1, 1),
        (date(2026, 5, 18), "2026-W21", "拼多多", "拼多多", "exit_scam", 1, 2),
        (date(2026, 5, 18), "2026-W21", "拼多多", "拼多多", "fake_shipment", 1, 2),
    ]
    # Every label has a row for every cell, zero or not, so trends need no gap filling.
    assert summary.rows == 3 * 4
    assert (
        paths.weekly_counts.with_suffix(".csv")
        .read_text(encoding="utf-8")
        .startswith("week_start,iso_week")
    )
