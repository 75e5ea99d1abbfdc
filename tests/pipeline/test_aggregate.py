from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import aggregate
from pipeline.aggregate import merchant_table, platform_table, run_aggregate
from pipeline.ingest import run_ingest
from pipeline.labeling.labeler import WeakLabeler
from pipeline.predictions import run_label
from pipeline.settings import Paths
from tests.conftest import make_record, write_jsonl


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    # Artifacts in the test's own folder: the export reads the labeling model's files.
    return Paths(tmp_path / "data", tmp_path / "artifacts", tmp_path / "gold")


def _one(query: str) -> tuple[object, ...] | None:
    rows = duckdb.sql(query).fetchall()
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


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
                amount_yuan="100元",
            ),
            make_record(
                issue="",
                title="投诉",
                sn="17390000002",
                created_at="2026-05-17T16:30:00+00:00",
                body="商家跑路了，一直不发货",
                amount_yuan="300元",
                status=7,
            ),
            make_record(
                issue="",
                title="投诉",
                sn="17390000003",
                created_at="2026-05-18T03:00:00+00:00",
                body="质量不好，想换货",
                amount_yuan="500元",
                status=4,
                # Replied to, as the timeline says, though the status was not updated.
                timeline=[
                    {"status": "发起投诉", "at": "2026-05-18T03:00:00+00:00", "text": "质量不好"},
                    {"status": "商家已回复", "at": "2026-05-19T03:00:00+00:00", "text": "已处理"},
                ],
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
        f"FROM read_parquet('{paths.weekly_counts}') WHERE label <> 'all' ORDER BY ALL"
    ).fetchall()
    assert rows == [
        (date(2026, 5, 11), "2026-W20", "拼多多", "拼多多", "exit_scam", 1, 1),
        (date(2026, 5, 18), "2026-W21", "抖音", "某某数码", "refund_refusal", 1, 1),
        (date(2026, 5, 18), "2026-W21", "拼多多", "拼多多", "exit_scam", 1, 2),
        (date(2026, 5, 18), "2026-W21", "拼多多", "拼多多", "fake_shipment", 1, 2),
    ]
    # Every cell has an ``all`` row (its total); labels only where they have complaints.
    cells = duckdb.sql(
        f"SELECT week_start, merchant, complaints FROM read_parquet('{paths.weekly_counts}') "
        "WHERE label = 'all' ORDER BY ALL"
    ).fetchall()
    assert cells == [
        (date(2026, 5, 11), "拼多多", 1),
        (date(2026, 5, 18), "拼多多", 2),
        (date(2026, 5, 18), "某某数码", 1),
    ]
    assert summary.rows == 3 + 4
    assert (
        paths.weekly_counts.with_suffix(".csv")
        .read_text(encoding="utf-8")
        .startswith("week_start,iso_week")
    )


def test_merchant_and_platform_tables_rates_medians_and_changes(paths: Paths) -> None:
    _build(paths)
    summary = run_aggregate(paths)
    assert set(summary.tables) == {
        "weekly_counts.parquet",
        "platform_weekly.parquet",
        "platform_monthly.parquet",
        "merchant_weekly.parquet",
        "merchant_monthly.parquet",
    }
    week = merchant_table(paths, "week")
    row = _one(
        f"""SELECT total, complaints, replied, completed, reply_rate, completion_rate,
                   median_amount, prev_complaints, change, change_pct, platform
            FROM read_parquet('{week}') WHERE merchant = '拼多多' AND label = 'all'
              AND iso_week = '2026-W21'"""
    )
    # sn 2 is completed (status 7: replied too), sn 3 replied by its timeline.
    assert row == (2, 2, 2, 1, 1.0, 0.5, None, 1, 1, 1.0, "拼多多")
    first = _one(
        f"""SELECT prev_complaints, change FROM read_parquet('{week}')
            WHERE merchant = '拼多多' AND label = 'all' AND iso_week = '2026-W20'"""
    )
    assert first == (None, None)  # the data's first week: no previous week to compare
    # 某某数码 had nothing in W20: its change is against 0, its percentage undefined.
    new = _one(
        f"""SELECT prev_complaints, change, change_pct FROM read_parquet('{week}')
            WHERE merchant = '某某数码' AND label = 'refund_refusal'"""
    )
    assert new == (0, 1, None)
    scam = _one(
        f"""SELECT complaints, total, share, median_amount FROM read_parquet('{week}')
            WHERE merchant = '拼多多' AND label = 'exit_scam' AND iso_week = '2026-W21'"""
    )
    # Medians: a merchant's month (all its complaints), a platform's period per label.
    assert scam == (1, 2, 0.5, None)
    monthly = _one(
        f"""SELECT complaints, median_amount FROM read_parquet('{merchant_table(paths, "month")}')
            WHERE merchant = '拼多多' AND label = 'all'"""
    )
    assert monthly == (3, 300.0)
    platform = _one(
        f"""SELECT complaints, median_amount FROM read_parquet('{platform_table(paths, "week")}')
            WHERE platform = '拼多多' AND label = 'exit_scam' AND iso_week = '2026-W21'"""
    )
    assert platform == (1, 300.0)
    month = duckdb.sql(
        f"""SELECT month, platform, label, complaints, total FROM
            read_parquet('{platform_table(paths, "month")}') ORDER BY ALL"""
    ).fetchall()
    assert ("2026-05", "拼多多", "all", 3, 3) in month
    assert ("2026-05", "抖音", "refund_refusal", 1, 1) in month
    assert (paths.aggregates / "merchant_monthly.csv").exists()


@pytest.mark.parametrize("slice_rows", [2_000_000, 2])
@pytest.mark.parametrize("rewrite", ["none", "shuffled", "one_missing", "last_two_swapped"])
def test_predictions_out_of_order_are_joined_by_key(
    paths: Paths,
    rewrite: str,
    slice_rows: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _build(paths)
    # Zipped two rows at a time too, so that a table out of line only in its last slice is
    # caught after earlier slices were zipped.
    monkeypatch.setattr(aggregate, "FACTS_SLICE_ROWS", slice_rows)
    # A predictions table in another order than the complaints, or one row short (labeled
    # elsewhere, or rewritten): the aggregate must join on (site, sn), not zip rows.
    query = {
        "shuffled": "ORDER BY sn DESC",
        "one_missing": "WHERE sn <> '17390000001'",  # the first row: every later one shifts
        "last_two_swapped": "ORDER BY CASE WHEN file_row_number >= (SELECT count(*) - 2 "
        f"FROM read_parquet('{paths.predictions}')) THEN -file_row_number END NULLS FIRST, "
        "file_row_number",
    }.get(rewrite)
    if query:
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT * EXCLUDE (file_row_number) FROM "
            f"read_parquet('{paths.predictions}', file_row_number = true) {query}) "
            f"TO '{paths.predictions}.tmp' (FORMAT parquet)"
        )
        paths.predictions.with_name(paths.predictions.name + ".tmp").replace(paths.predictions)
    if rewrite == "last_two_swapped":
        sns = duckdb.sql(f"SELECT sn FROM read_parquet('{paths.predictions}')").fetchall()
        complaint_sns = duckdb.sql(f"SELECT sn FROM read_parquet('{paths.complaints}')").fetchall()
        assert sns[:-2] == complaint_sns[:-2] and sns[-2:] == complaint_sns[-2:][::-1]
    with caplog.at_level("INFO", logger="pipeline.aggregate"):
        run_aggregate(paths)
    joined = "joining on (site, sn)" in caplog.text
    assert joined == (rewrite != "none")
    rows = duckdb.sql(
        f"SELECT merchant, label, sum(complaints) FROM read_parquet('{paths.weekly_counts}') "
        "WHERE label <> 'all' GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    scams = 1 if rewrite == "one_missing" else 2  # sn 1 has no prediction: no label
    assert rows == [
        ("拼多多", "exit_scam", scams),
        ("拼多多", "fake_shipment", 1),
        ("某某数码", "refund_refusal", 1),
    ]
    totals = _one(
        f"SELECT sum(complaints) FROM read_parquet('{paths.weekly_counts}') WHERE label = 'all'"
    )
    assert totals == (4,)  # every complaint counts, labeled or not


def test_counts_are_integers_in_every_table(paths: Paths) -> None:
    # merchant_weekly is summed from the platform x merchant cells; DuckDB's sum() of BIGINT
    # is HUGEINT, which Parquet would store as DOUBLE.
    _build(paths)
    summary = run_aggregate(paths)
    for name in summary.tables:
        schema = pq.read_schema(paths.aggregates / name)
        for column in ("complaints", "total", "replied", "completed", "prev_complaints", "change"):
            if column in schema.names:
                assert schema.field(column).type == pa.int64(), (name, column)
