"""电诉宝 parser: complete records from list items, personal data dropped field by field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler import diansubao_api as api
from crawler.parsing.diansubao import parse_list_page, public_fields, record_from_item
from pipeline.contract import ComplaintStatus, validate_record

FETCHED = datetime(2026, 6, 1, tzinfo=UTC)
ITEM = {
    "id": "880123",
    "title": "付款后商家不发货",
    "intro": "5月1日下单，<br/>至今未发货。",
    "remark": "退款",
    "remark2": "5月1日下单",
    "company_id": "5012",
    "company_name": "某某旗舰店",
    "to_company": "某某旗舰店",
    "money": "1299.00",
    "category": "发货问题,退款问题",
    "ctime": "1777600000",
    "state": "3",
    "article_link": "http://www.100ec.cn/detail--880123.html",
    "name": "张伟",
    "mobile": "13800001111",
    "idcard": "110105199001011234",
    "email": "a@example.com",
    "sex": "男",
    "age": "36",
    "concrete_area": "北京市朝阳区建国路1号",
    "order_num": "123456789012345678",
    "pic1": "/x.jpg",
}


def test_record_keeps_the_complaint_and_drops_the_person() -> None:
    record = record_from_item(ITEM, base_url=api.SITE_URL, fetched_at=FETCHED)
    checked = validate_record(record)
    assert (checked.sn, checked.merchant_name, checked.merchant_id) == (
        "880123",
        "某某旗舰店",
        "5012",
    )
    assert checked.body == "5月1日下单，\n至今未发货。" and not checked.body_truncated
    assert checked.amount_yuan == 1299.0 and checked.status is ComplaintStatus.REPLIED
    assert checked.issue == ["发货问题", "退款问题"] and checked.appeal == ["退款"]
    assert checked.url == ITEM["article_link"]
    flat = repr(record)
    assert all(ITEM[key] not in flat for key in api.PERSONAL_FIELDS)
    assert set(public_fields(ITEM)) == set(api.KEPT_FIELDS) & set(ITEM)


def test_list_page() -> None:
    page = parse_list_page({"curr_page": "2", "page_total": 5, "pw_rec_list": [ITEM, "junk"]})
    assert (page.current, page.total, len(page.items)) == (2, 5, 1)
    with pytest.raises(ValueError, match="pw_rec_list"):
        parse_list_page({"curr_page": 1})
