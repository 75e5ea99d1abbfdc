"""聚投诉 parsers on hand-made responses in the shapes public crawlers recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.parsing.jutousu import (
    LoginRequiredError,
    check_login,
    merge_post,
    parse_index_page,
    parse_merchant_page,
    parse_post_content,
    parse_post_key,
    record_from_list_item,
)
from pipeline.contract import validate_record

FETCHED = datetime(2026, 6, 1, tzinfo=UTC)
FRAGMENT = """
<li class="complain-item"><div><a class="complain-title" href="/tousu/show/id/4100123">退款一直不到账</a></div>
<p class="complain-short">买了一台手机，申请退款半个月...</p>
<span class="complain-merchant">投诉对象：<a href="/merchant/view/id/20031">某某数码专营店</a></span>
<span class="complain-shuqiu">诉求：退款,赔偿</span><span class="complain-time">2026-05-20 10:30</span></li>
<li class="complain-item"><a href="https://ts.21cn.com/tousu/show/id/4100120">无商家的帖子</a></li>
"""


def test_index_fragment_items() -> None:
    page = parse_index_page({"success": True, "message": FRAGMENT, "hasMore": True})
    assert page.has_more and [i["id"] for i in page.items] == ["4100123", "4100120"]
    first = page.items[0]
    assert (first["title"], first["merchantName"], first["merchantId"]) == (
        "退款一直不到账",
        "某某数码专营店",
        "20031",
    )
    assert first["shuqiu"] == "退款,赔偿" and first["ctime"] == "2026-05-20 10:30"
    record = record_from_list_item(first, base_url="https://ts.21cn.com", fetched_at=FETCHED)
    assert record["url"] == "https://ts.21cn.com/tousu/show/id/4100123"
    assert record["body_truncated"] and record["appeal"] == ["退款", "赔偿"]
    assert validate_record(record).created_at == datetime(2026, 5, 20, 2, 30, tzinfo=UTC)


def test_merchant_list_passes_its_offset_back() -> None:
    payload = {
        "postList": [
            {"id": 7, "title": "t", "shortTopic": "s...", "shuqiu": "退款", "ctime": 1779000000000}
        ],
        "offset": 7,
        "hasMore": False,
    }
    page = parse_merchant_page(payload)
    assert page.offset == "7" and not page.has_more and page.items[0]["id"] == 7
    record = record_from_list_item(
        page.items[0],
        base_url="https://ts.21cn.com",
        fetched_at=FETCHED,
        merchant_name="店",
        merchant_id="9",
    )
    assert (record["merchant_name"], record["merchant_id"]) == ("店", "9")
    with pytest.raises(ValueError, match="postList"):
        parse_merchant_page({"message": "x"})


def test_post_key_and_content_complete_the_record() -> None:
    assert parse_post_key('<input type="hidden" id="postKeyValue" value=" ab12 ">') == "ab12"
    assert parse_post_key("<html><body>no key</body></html>") is None
    post = parse_post_content(
        {
            "post": {
                "id": 7,
                "title": "标题",
                "ctimeStr": "2026-05-20 10:30:00",
                "merchantname": "某店",
                "problemLabelList": [{"name": "退款问题"}, {"name": "虚假发货"}],
                "shuqiu": "退款",
                "topic": "<p>第一段</p><p>第二段 &lt;b&gt;</p><br/>第三段",
            }
        }
    )
    assert post is not None and parse_post_content({"post": None}) is None
    record = record_from_list_item(
        {"id": 7, "title": "标题", "shortTopic": "第一段...", "ctime": ""},
        base_url="https://ts.21cn.com",
        fetched_at=FETCHED,
    )
    merged = merge_post(record, post)
    assert merged["body"] == "第一段\n第二段 <b>\n第三段" and not merged["body_truncated"]
    assert merged["issue"] == ["退款问题", "虚假发货"] and merged["merchant_name"] == "某店"
    assert merged["created_at"] == "2026-05-20 10:30:00" and merged["raw"]["post"] == post
    validate_record(merged)


def test_the_login_page_is_recognized() -> None:
    with pytest.raises(LoginRequiredError):
        check_login("<html><title>登录聚投诉</title></html>")
    check_login('{"message": "<li>登录聚投诉的用户可以评论</li>"}')  # JSON is never the login page
