from __future__ import annotations

import pytest
from parsel import Selector

from pipeline.aggregate import run_aggregate
from pipeline.ingest import run_ingest
from pipeline.labeling.labeler import WeakLabeler
from pipeline.periods import parse_period
from pipeline.predictions import run_label
from pipeline.report.data import Change, EmptyPeriodError, build_report_data, previous_period
from pipeline.report.render import write_report
from pipeline.settings import Paths
from tests.conftest import make_record, write_jsonl

# Ingest strips real tags but unescapes entities, so this reaches the warehouse as a literal
# "<script>" in the title: the report must show it as text.
EVIL = "&lt;script&gt;alert('x')&lt;/script&gt;店铺跑路了"


def _day(i: int, first: int = 11) -> str:
    return f"2026-05-{first + i % 7:02d}T04:00:00+00:00"


@pytest.fixture
def warehouse(paths: Paths) -> Paths:
    # Texts differ from post to post (the same text at nearby sn would be one post filed
    # against several merchants) and stay short (short posts never form near-duplicates).
    rows = [
        make_record(
            sn=f"173900000{i:02d}",
            title=f"店铺跑路了{i}",
            body=f"预售付款{i + 1}天后店铺跑路了，客服联系不上",
            issue="",
            merchant_name="跑路小店",
            created_at=_day(i),
        )
        for i in range(12)
    ]
    rows += [
        make_record(
            sn=f"17390001{i:03d}",
            title=f"拒不退款{i}",
            body=f"在抖音买的第{i}件衣服，商家拒不退款",
            issue="",
            merchant_name=f"店铺{i % 3}",
            created_at=_day(i, 18),
        )
        for i in range(36)
    ]
    rows += [
        make_record(
            sn=f"17390002{i:03d}",
            title=f"质量问题{i}",
            body=f"在淘宝买的第{i}个杯子有裂纹，想换货",
            issue="",
            merchant_name="大卖场",
            created_at=_day(i, 18),
        )
        for i in range(30)
    ]
    rows.append(
        make_record(
            sn="17390003000",
            title=EVIL,
            body=EVIL,
            issue="",
            merchant_name="跑路小店",  # its newest post: the exit-scam section's example
            created_at="2026-05-19T04:00:00+00:00",
        )
    )
    write_jsonl(paths.raw_site("heimao") / "run.jsonl", rows)
    run_ingest(paths)
    run_label(paths, WeakLabeler())
    run_aggregate(paths)
    return paths


def test_report_sections_rankings_and_escaping(warehouse: Paths) -> None:
    files = write_report(warehouse, parse_period("all"), pdf=False)
    assert files.pdf is None
    html = files.html.read_text(encoding="utf-8")
    page = Selector(text=html)
    headings = page.css("h2::text").getall()
    for title in (
        "概览",
        "投诉量与类别构成",
        "平台对比",
        "商家预警名单",
        "漏斗图",
        "虚假发货",
        "无人工客服",
        "拒绝退款",
        "商家跑路",
        "数据质量附录",
        "方法说明",
    ):
        assert any(title in h for h in headings), title
    scam = page.css('table.merchants[data-label="exit_scam"] td.merchant::text').getall()
    assert scam == ["跑路小店"]
    refund = page.css('table.merchants[data-label="refund_refusal"] td.merchant::text').getall()
    assert set(refund) == {"店铺0", "店铺1", "店铺2"}
    # Text from complaints is escaped: the script is shown, never run.
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    charts = page.css('figure img[src^="data:image/png;base64,"]')
    assert len(charts) >= 7  # volume, label shares, four funnels, platform trends
    assert page.css("p.meta code::text").get("").startswith("weak-")
    # The minimum volume is said, with how many merchants fell below it.
    notes = " ".join(page.css("h2#exit_scam ~ p.note::text").getall())
    assert "不少于 10 条" in notes and "未参与排名" in notes
    platforms = page.css("table.platforms td:first-child::text").getall()
    assert (
        platforms[0] == "抖音"
        and "未知" not in page.css("table.platform-shares td:first-child::text").getall()
    )


def test_period_filter_previous_period_and_empty_period(warehouse: Paths) -> None:
    data = build_report_data(warehouse, parse_period("2026-W20"))
    assert [w.isoformat() for w in data.weeks] == ["2026-05-11"]
    assert data.total == Change(12, None)  # nothing before W20: no change to show
    week21 = build_report_data(warehouse, parse_period("2026-W21"))
    assert week21.total == Change(67, 12)
    refund = week21.section_by_label[week21.sections[2].label]
    assert refund.count.current == 36 and refund.count.previous == 0
    with pytest.raises(EmptyPeriodError, match="2025-01"):
        build_report_data(warehouse, parse_period("2025-01"))


@pytest.mark.parametrize(
    ("key", "previous"),
    [("2026-W01", "2025-W52"), ("2026-01", "2025-12"), ("2026-Q1", "2025-Q4"), ("2026", "2025")],
)
def test_previous_period(key: str, previous: str) -> None:
    prev = previous_period(parse_period(key))
    assert prev is not None and prev.key == previous
    assert prev == parse_period(previous)
    assert previous_period(parse_period("all")) is None
