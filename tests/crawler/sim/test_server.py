from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from crawler import heimao_api as api
from crawler.parsing.heimao import parse_detail, parse_feed
from crawler.sim.pages import SUMMARY_MAX_BYTES, summarize
from crawler.sim.server import ServerOptions, SimServer


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str) -> dict[str, Any]:
    status, body = get(url)
    assert status == 200
    return json.loads(body)  # type: ignore[no-any-return]


def test_signed_feed_pages_newest_first(sim_server: Any, small_market: Any) -> None:
    feed = parse_feed(get_json(api.feed_url(sim_server.base_url, page=1)))
    assert feed.code == 0 and len(feed.items) == 10
    assert feed.pager is not None and feed.pager.item_count == len(small_market.posts)
    sns = [item["main"]["sn"] for item in feed.items]
    assert sns == sorted(sns, reverse=True) and sns[0] == max(p.sn for p in small_market.posts)
    second = parse_feed(get_json(api.feed_url(sim_server.base_url, page=2)))
    assert second.items[0]["main"]["sn"] < sns[-1]


def test_bad_and_stale_signatures_are_refused(sim_server: Any) -> None:
    url = api.feed_url(sim_server.base_url, page=1)
    assert parse_feed(get_json(url.replace("page=1", "page=2"))).code == api.CODE_BAD_SIGNATURE
    stale_ms = int((time.time() - 3600) * 1000)
    query = api.signed_query(
        {"type": 1, "page_size": 10, "page": 1}, api.FEED_SIGNED, now_ms=stale_ms
    )
    assert (
        parse_feed(get_json(f"{sim_server.base_url}{api.FEED_PATH}?{query}")).code
        == api.CODE_STALE_SIGNATURE
    )
    assert sim_server.stats["bad_signature"] == 1 and sim_server.stats["stale_signature"] == 1


def test_depth_cap_whatever_the_pager_says(small_market: Any) -> None:
    with SimServer(small_market, ServerOptions(max_pages=3)) as server:
        third = parse_feed(get_json(api.feed_url(server.base_url, page=3)))
        assert third.code == 0 and third.pager is not None and third.pager.page_amount > 3
        assert third.pager.next == 4
        assert (
            parse_feed(get_json(api.feed_url(server.base_url, page=4))).code
            == api.CODE_PAGE_NOT_FOUND
        )


def test_merchant_feed_and_info(sim_server: Any, small_market: Any) -> None:
    merchant = max(small_market.merchants, key=lambda m: len(small_market.merchant_posts(m.couid)))
    feed = parse_feed(
        get_json(api.merchant_feed_url(sim_server.base_url, couid=merchant.couid, page=1))
    )
    assert {item["main"]["couid"] for item in feed.items} == {merchant.couid}
    # The merchant feed gives a date string, like the real one.
    assert (
        len(feed.items[0]["main"]["timestamp"]) == 10
        and feed.items[0]["main"]["created_at"].isdigit()
    )
    info = get_json(api.company_info_url(sim_server.base_url, merchant.couid))["result"]["data"]
    assert info["name"] == merchant.name and int(info["valid_amt"]) == feed.pager.item_count  # type: ignore[union-attr]


def test_detail_page_needs_its_sld(sim_server: Any, small_market: Any) -> None:
    post = max(small_market.posts, key=lambda p: len(p.text.body.encode()))
    assert len(post.text.body.encode()) > SUMMARY_MAX_BYTES
    good = f"{sim_server.base_url}/complaint/view/{post.sn}/?sld={post.sld}"
    status, body = get(good)
    assert status == 200
    page = parse_detail(body.decode("utf-8"))
    assert page.body == "\n".join(line for line in post.text.body.split("\n") if line.strip())
    assert page.sn == post.sn and page.merchant_id == post.merchant.couid
    assert get(f"{sim_server.base_url}/complaint/view/{post.sn}/?sld={'0' * 32}")[0] == 404
    assert get(f"{sim_server.base_url}/complaint/view/{post.sn}/")[0] == 404


def test_summaries_are_cut_with_ellipsis() -> None:
    body = "退款" * 300
    summary = summarize(body)
    assert summary.endswith("...") and len(summary[:-3].encode()) <= SUMMARY_MAX_BYTES
    assert body.startswith(summary[:-3])
    assert summarize("短文本") == "短文本"


def test_rate_limit_bans_with_456_then_recovers(small_market: Any) -> None:
    now = [1000.0]
    options = ServerOptions(rate_limit_per_min=5, ban_seconds=60)
    with SimServer(small_market, options, clock=lambda: now[0]) as server:
        info = api.company_info_url(server.base_url, small_market.merchants[0].couid)
        assert [get(info)[0] for _ in range(5)] == [200] * 5
        assert get(info)[0] == api.HTTP_BANNED
        now[0] += 30
        assert get(info)[0] == api.HTTP_BANNED
        now[0] += 31
        assert get(info)[0] == 200
        assert server.stats["banned_456"] == 2


def test_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        ServerOptions(host="0.0.0.0")


def _req(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers or {}), timeout=10
        ) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_type_tabs_list_replied_and_completed(sim_server: Any, small_market: Any) -> None:
    from pipeline.contract import ComplaintStatus

    replied = parse_feed(
        get_json(api.feed_url(sim_server.base_url, page=1, type_=api.TYPE_REPLIED))
    )
    completed = parse_feed(
        get_json(api.feed_url(sim_server.base_url, page=1, type_=api.TYPE_COMPLETED))
    )
    statuses = {small_market.by_sn[i["main"]["sn"]].status for i in replied.items}
    assert statuses <= {ComplaintStatus.REPLIED, ComplaintStatus.COMPLETED}
    assert {small_market.by_sn[i["main"]["sn"]].status for i in completed.items} == {
        ComplaintStatus.COMPLETED
    }
    assert replied.pager is not None and completed.pager is not None
    assert completed.pager.item_count < replied.pager.item_count < len(small_market.posts)
    assert (
        parse_feed(get_json(api.feed_url(sim_server.base_url, page=1, type_=4))).code
        == api.CODE_BAD_REQUEST
    )


def test_search_needs_login_cookies(sim_server: Any, small_market: Any) -> None:
    url = api.search_url(sim_server.base_url, keywords="退款", page=1)
    status, body = _req(url)
    assert parse_feed(json.loads(body)).code == api.CODE_LOGIN_REQUIRED
    status, body = _req(api.resign_url(url), {"Cookie": "SUB=x; SUBP=y"})
    feed = parse_feed(json.loads(body))
    assert status == 200 and feed.code == 0 and feed.items
    for item in feed.items:
        post = small_market.by_sn[item["main"]["sn"]]
        assert "退款" in post.text.title + post.text.body + post.merchant.name
    assert any(
        '<span style="color:red">退款</span>' in i["main"]["title"] + i["main"]["summary"]
        for i in feed.items
    )


def test_mobile_clients_get_the_mobile_page(sim_server: Any, small_market: Any) -> None:
    post = small_market.posts[0]
    url = f"{sim_server.base_url}/complaint/view/{post.sn}/?sld={post.sld}"
    desktop = parse_detail(_req(url)[1].decode())
    mobile = parse_detail(_req(url, {"User-Agent": "Mozilla/5.0 (iPhone) Mobile"})[1].decode())
    assert (desktop.markup, mobile.markup) == ("desktop", "mobile")
    assert desktop.body == mobile.body and mobile.sn == post.sn


def test_failures_are_injected_reproducibly(small_market: Any) -> None:
    def statuses() -> list[int]:
        options = ServerOptions(error_rate=0.4, fault_seed=5)
        with SimServer(small_market, options) as server:
            info = api.company_info_url(server.base_url, small_market.merchants[0].couid)
            return [get(info)[0] for _ in range(30)]

    first = statuses()
    assert first == statuses() and 200 in first and set(first) - {200} <= {500, 502, 503}


def test_stalls_outlast_a_short_timeout(small_market: Any) -> None:
    options = ServerOptions(stall_rate=0.9, stall_seconds=1.0)
    with SimServer(small_market, options) as server:
        info = api.company_info_url(server.base_url, small_market.merchants[0].couid)
        with pytest.raises(OSError):  # socket timeout
            urllib.request.urlopen(info, timeout=0.3).read()
        assert server.stats["fault_stall"] >= 1


def test_as_of_hides_what_was_filed_later(small_market: Any) -> None:
    cutoff = sorted(p.created_at for p in small_market.posts)[100]
    with SimServer(small_market, ServerOptions()) as server:
        server.app.set_as_of(cutoff)  # type: ignore[attr-defined]
        feed = parse_feed(get_json(api.feed_url(server.base_url, page=1)))
        assert feed.pager is not None and feed.pager.item_count == 100
        late = max(small_market.posts, key=lambda p: p.created_at)
        assert get(f"{server.base_url}/complaint/view/{late.sn}/?sld={late.sld}")[0] == 404


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown site"):
        ServerOptions(site="other")
    with pytest.raises(ValueError, match="error_rate"):
        ServerOptions(error_rate=1.5)
    with pytest.raises(ValueError, match="login_cookie"):
        ServerOptions(site="jutousu", login_cookie="nameonly")
