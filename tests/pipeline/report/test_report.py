from __future__ import annotations

import pytest
from parsel import Selector

from pipeline.aggregate import run_aggregate
from pipeline.ingest import run_ingest
from pipeline.labeling.labeler import WeakLabeler
from pipeline.periods import parse_period
from pipeline.predictions import run_label
from pipeline.report.data import EmptyPeriodError, build_report_data
from pipeline.report.render import write_report
from pipeline.settings import Paths
from tests.conftest import make_record, write_jsonl

# Ingest strips real tags but unescapes entities, so this reaches the warehouse as a literal
# "<script>" in the title: the report must show it as text.
EVIL = "&lt;script&gt;alert('x')&lt;/script&gt;店铺跑路了"


@pytest.fixture
def warehouse(paths: Paths) -> Paths:
    rows = [
        make_record(
            sn=f"173900000{i:02d}",
            title="店铺跑路了",
            body="预售付款后店铺跑路了，客服联系不上",
            issue="",
            merchant_name="跑路小店",
            created_at=f"2026-05-{11 + i % 7:02d}T04:00:00+00:00",
        )
        for i in range(6)
    ]
    rows += [
        make_record(
            sn=f"173900001{i:02d}",
            title="拒不退款",
            body="在抖音买的，商家拒不退款",
            issue="",
            merchant_name=f"店铺{i % 3}",
            created_at=f"2026-05-{18 + i % 7:02d}T04:00:00+00:00",
        )
        for i in range(9)
    ]
    rows.append(
        make_record(
            sn="17390000200",
            title=EVIL,
            body=EVIL,
            issue="",
            merchant_name="<b>坏名字</b>",
            created_at="2026-05-19T04:00:00+00:00",
        )
    )
    write_jsonl(paths.raw_site("heimao") / "run.jsonl", rows)
    run_ingest(paths)
    run_label(paths, WeakLabeler())
    run_aggregate(paths)
    return paths


def test_report_sections_rankings_and_escaping(warehouse: Paths) -> None:
    path = write_report(warehouse, parse_period("all"))
    html = path.read_text(encoding="utf-8")
    page = Selector(text=html)
    headings = page.css("h2::text").getall()
    for title in ("概览", "虚假发货", "无人工客服", "拒绝退款", "商家跑路", "方法说明"):
        assert any(title in h for h in headings), title
    scam_table = page.css('table.merchants[data-label="exit_scam"]')
    assert scam_table.css("td.merchant::text").getall()[0] == "跑路小店"
    refund = page.css('table.merchants[data-label="refund_refusal"] td.merchant::text').getall()
    assert set(refund) == {"店铺0", "店铺1", "店铺2"}
    # Text from complaints is escaped: the script is shown, never run.
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert len(page.css("figure svg")) >= 3  # charts are inline
    assert page.css("p.meta code::text").get("").startswith("weak-")


def test_period_filter_and_empty_period(warehouse: Paths) -> None:
    data = build_report_data(warehouse, parse_period("2026-W20"))
    assert [w.isoformat() for w in data.weeks] == ["2026-05-11"]
    assert data.total == 6
    with pytest.raises(EmptyPeriodError, match="2025-01"):
        build_report_data(warehouse, parse_period("2025-01"))
