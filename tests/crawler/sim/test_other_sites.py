"""The 聚投诉 and 电诉宝 simulators: endpoints as crawlers saw them, login, personal data."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from crawler import diansubao_api as dapi
from crawler import jutousu_api as japi
from crawler.parsing.jutousu import (
    parse_index_page,
    parse_merchant_page,
    parse_post_content,
    parse_post_key,
)
from crawler.sim.diansubao import DiansubaoView
from crawler.sim.jutousu import JutousuView
from crawler.sim.server import ServerOptions, SimServer

COOKIE = "JSESSIONID=abc"


def _get(url: str, cookie: str | None = COOKIE) -> str:
    headers = {"Cookie": cookie} if cookie else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return str(r.read().decode("utf-8"))


def test_jutousu_lists_every_post_and_its_full_text(small_market: Any) -> None:
    view = JutousuView(small_market)
    with SimServer(small_market, ServerOptions(site="jutousu", login_cookie=COOKIE)) as server:
        base = server.base_url
        assert japi.LOGIN_MARK in _get(japi.index_url(base, 1), cookie=None)
        first = parse_index_page(json.loads(_get(japi.index_url(base, 1))))
        newest = view.newest_first[0]
        assert first.has_more and first.items[0]["id"] == str(newest.post_id)
        assert first.items[0]["merchantId"] == str(newest.merchant_id)
        # A merchant's list, page by page with the offset passed back, is the merchant's posts.
        merchant = max(view.by_merchant, key=lambda m: len(view.by_merchant[m]))
        seen, offset, page = [], 0, 1
        while True:
            listing = parse_merchant_page(
                json.loads(_get(japi.merchant_url(base, str(merchant), page, offset)))
            )
            seen += [int(item["id"]) for item in listing.items]
            if not listing.has_more:
                break
            offset, page = int(listing.offset or 0), page + 1
        assert seen == [e.post_id for e in view.by_merchant[merchant]]
        key = parse_post_key(_get(japi.show_url(base, str(newest.post_id))))
        assert key == newest.post_key
        post = parse_post_content(json.loads(_get(japi.content_url(base, key))))
        assert post is not None and post["merchantname"] == newest.post.merchant.name
        assert [label["name"] for label in post["problemLabelList"]] == list(newest.post.text.issue)


def test_jutousu_session_expires(small_market: Any) -> None:
    options = ServerOptions(site="jutousu", login_cookie=COOKIE, session_requests=2)
    with SimServer(small_market, options) as server:
        pages = [_get(japi.index_url(server.base_url, 1)) for _ in range(3)]
    assert [japi.LOGIN_MARK in page for page in pages] == [False, False, True]


def test_diansubao_pages_carry_forty_fields_with_personal_data(small_market: Any) -> None:
    view = DiansubaoView(small_market)
    with SimServer(small_market, ServerOptions(site="diansubao")) as server:
        payload = json.loads(_get(dapi.list_url(server.base_url, 2, page_record=50), cookie=None))
        capped = json.loads(_get(dapi.list_url(server.base_url, 1, page_record=5000), cookie=None))
    assert payload["curr_page"] == 2 and payload["page_total"] == -(-len(view.posts) // 50)
    items = payload["pw_rec_list"]
    assert [i["id"] for i in items] == [str(e.post_id) for e in view.newest_first[50:100]]
    assert len(items[0]) >= 40 and set(dapi.PERSONAL_FIELDS) <= set(items[0])
    assert items[0]["idcard"] == view.newest_first[50].personal["idcard"]
    assert len(capped["pw_rec_list"]) == min(len(view.posts), dapi.MAX_PAGE_RECORD)
