"""Parsers against real recorded 黑猫投诉 responses (read from ../shared, never copied)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

from parsel import Selector

from crawler.parsing.heimao import (
    merchant_info_record,
    merge_detail,
    parse_detail,
    parse_feed,
    record_from_item,
    reply_dates,
    strip_markup,
)
from pipeline.contract import (
    CHINA_TZ,
    ComplaintStatus,
    TimelineEvent,
    validate_merchant_info,
    validate_record,
)

FETCHED = datetime(2026, 6, 18, 10, 0, tzinfo=UTC)


def _merchant_dumps(real_data: Path) -> list[dict]:  # type: ignore[type-arg]
    files = sorted((real_data / "api").glob("*.json"))
    assert files, "no recorded API responses"
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def test_real_merchant_feed_items_become_valid_records(real_data: Path) -> None:
    total = 0
    for dump in _merchant_dumps(real_data):
        envelope = {
            "result": {
                "status": {"code": 0, "msg": ""},
                "data": {
                    "complaints": dump["complaints"],
                    "pager": {"current": 1, "page_amount": 9, "item_count": 85, "next": 2},
                },
            }
        }
        feed = parse_feed(envelope)
        assert feed.code == 0 and feed.pager is not None and feed.pager.next == 2
        for item in feed.items:
            fields = record_from_item(
                item,
                page_url="https://tousu.sina.com.cn/api/company/received_complaints",
                fetched_at=FETCHED,
            )
            record = validate_record(fields)
            main = item["main"]
            assert record.sn == main["sn"] and len(record.sn) == 11
            assert record.merchant_id == dump["couid"]
            assert record.url.startswith("https://tousu.sina.com.cn/complaint/view/" + record.sn)
            # The sld token the detail page needs is kept as the site gave it.
            assert ("sld=" in record.url) == ("sld=" in main["url"])
            assert record.body_truncated == main["summary"].endswith("...")
            # created_at (unix seconds) is the filing time; the date-only timestamp is the
            # publication day, the same day or a little later (after review).
            filed = record.created_at.astimezone(CHINA_TZ).date()
            assert 0 <= (date.fromisoformat(main["timestamp"]) - filed).days <= 90
            # Complainants sometimes separate tags with full-width commas or 、: split on all of them.
            assert record.issue == [t for t in re.split("[,，、;；]", main["issue"]) if t]
            assert record.status in set(ComplaintStatus)
            total += 1
    assert total > 300


def test_real_detail_sections(real_data: Path) -> None:
    html = (real_data / "pages" / "detail_sections_2020.html").read_text(encoding="utf-8")
    sections = Selector(text=html).css("div.ts-d-question")
    assert len(sections) >= 3
    first = parse_detail(f"<html><body>{sections[0].get()}</body></html>")
    assert first.sn == "17351065900"
    assert first.title == "天猫超市购物返卡有效期时间不统一，有误导消费者的嫌疑"
    assert (first.merchant_name, first.merchant_id) == ("天猫超市", "3276076644")
    assert first.issue == ["天猫超市卡"] and first.appeal == ["恢复优惠券"]
    assert first.amount_yuan == 100.0 and first.status_text == "处理中"
    for section in sections:
        page = parse_detail(f"<html><body>{section.get()}</body></html>")
        assert page.sn and page.sn.isdigit() and len(page.sn) == 11
        assert page.merchant_name and page.merchant_id and page.merchant_id.isdigit()
        assert page.status_text


def test_detail_body_comes_from_the_filing_step() -> None:
    html = """<div class="ts-d-steplist">
      <div class="ts-d-item"><span class="u-name">某商家</span><span class="u-status">商家已回复</span>
        <span class="u-date">2026-05-03 10:00:00</span><div class="ts-reply"><p>已处理</p></div></div>
      <div class="ts-d-item"><span class="u-name">匿名</span><span class="u-status">发起投诉</span>
        <span class="u-date">2026-05-01 09:00:00</span><div class="ts-reply"><p>第一段</p><p>第二段 &lt;script&gt;</p></div></div>
    </div>"""
    page = parse_detail(html)
    assert page.body == "第一段\n第二段 <script>"
    assert [s.status for s in page.timeline] == ["商家已回复", "发起投诉"]
    record = merge_detail(
        {
            "body": "第一段...",
            "body_truncated": True,
            "amount_yuan": None,
            "issue": [],
            "appeal": [],
            "title": "t",
        },
        page,
    )
    assert record["body"] == page.body and record["body_truncated"] is False
    assert record["timeline"][1]["at"] == "2026-05-01T01:00:00Z"


def test_strip_markup() -> None:
    assert strip_markup('<span style="color:red">拼多多</span>退款&amp;赔偿') == "拼多多退款&赔偿"


def test_real_merchant_info_becomes_a_merchant_record(real_data: Path) -> None:
    for dump in _merchant_dumps(real_data):
        info = dump["info"]
        record = validate_merchant_info(
            merchant_info_record(info, couid=dump["couid"], fetched_at=FETCHED)
        )
        assert (record.merchant_id, record.name) == (dump["couid"], info["name"])
        assert record.complaints == int(info["valid_amt"]) and record.replied == int(
            info["replied_amt"]
        )
        assert record.completed == int(info["completed_amt"])
        assert (record.complaints_30d, record.replied_30d) == (
            int(info["valid30d"]),
            int(info["reply30d"]),
        )
        assert record.rating == float(info["eval_points"])
        assert record.completed <= record.replied <= record.complaints
        assert record.raw == info


def test_real_items_with_only_a_date_string_still_get_their_day(real_data: Path) -> None:
    # Some endpoints give only the date string: the record takes the day (China time).
    item = json.loads(json.dumps(_merchant_dumps(real_data)[0]["complaints"][0]))
    del item["main"]["created_at"]
    record = validate_record(
        record_from_item(item, page_url="https://tousu.sina.com.cn/api/", fetched_at=FETCHED)
    )
    assert record.created_at.astimezone(CHINA_TZ).date() == date.fromisoformat(
        item["main"]["timestamp"]
    )


def test_search_highlight_is_stripped_from_real_items(real_data: Path) -> None:
    item = json.loads(json.dumps(_merchant_dumps(real_data)[1]["complaints"][0]))
    main = item["main"]
    word = main["title"][:2]
    main["title"] = main["title"].replace(word, f'<span style="color:red">{word}</span>', 1)
    main["summary"] = f"<em>{word}</em>" + main["summary"]
    record = record_from_item(
        item, page_url="https://tousu.sina.com.cn/api/index/s", fetched_at=FETCHED
    )
    assert record["title"] == _merchant_dumps(real_data)[1]["complaints"][0]["main"]["title"]
    assert record["body"].startswith(word) and "<" not in record["body"]
    # The sld token is kept: the detail page needs it.
    assert "sld=" in record["url"]


def test_mobile_detail_markup() -> None:
    html = """<html><head><link rel="canonical" href="https://tousu.sina.com.cn/complaint/view/17396503262/">
    </head><body><div class="m-complaint"><h1 class="m-complaint-title">床垫不适配</h1>
    <div class="m-complaint-des4"><p>第一段 文字</p><p></p><p>第二段&amp;</p></div></div></body></html>"""
    page = parse_detail(html)
    assert (page.markup, page.sn, page.title) == ("mobile", "17396503262", "床垫不适配")
    assert page.body == "第一段 文字\n第二段&" and page.timeline == []


def test_reply_dates_come_from_the_timeline() -> None:
    steps = [
        TimelineEvent.model_validate({"status": "发起投诉", "at": "2026-05-01 09:00:00"}),
        TimelineEvent.model_validate({"status": "商家已回复", "at": "2026-05-03 10:00:00"}),
        TimelineEvent.model_validate({"status": "商家已回复", "at": "2026-05-04 10:00:00"}),
        TimelineEvent.model_validate({"status": "投诉已完成", "at": "2026-05-06 08:00:00"}),
    ]
    replied, completed = reply_dates(steps)
    assert replied == datetime(2026, 5, 3, 2, 0, tzinfo=UTC)
    assert completed == datetime(2026, 5, 6, 0, 0, tzinfo=UTC)
    assert reply_dates(steps[:1]) == (None, None)
