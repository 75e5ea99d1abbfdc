"""The heimao spider: callbacks on real simulator responses, and whole crawls."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler import heimao_api as api
from crawler import settings as project_settings
from crawler.items import MerchantInfoItem
from crawler.sim.marketplace import Marketplace
from crawler.sim.reach import reachable
from crawler.sim.server import ServerOptions, SimServer
from crawler.spiders.base import DETAIL_PRIORITY, FeedTask
from crawler.spiders.heimao import HeimaoSpider
from pipeline.contract import validate_merchant_info, validate_record
from tests.conftest import crawl_cli, raw_records, scrapy_crawl


def fetch(
    url: str, request: Request | None = None, headers: dict[str, str] | None = None
) -> TextResponse:
    """Wrap the bytes a URL returns in the Response a callback would get."""
    raw_request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(raw_request, timeout=10) as raw:
        body, content_type = raw.read(), raw.headers.get("Content-Type", "")
    cls = HtmlResponse if "html" in content_type else TextResponse
    return cls(url=url, body=body, encoding="utf-8", request=request or Request(url))


@pytest.fixture
def make_spider(tmp_path: Path) -> Iterator[Any]:
    spiders: list[HeimaoSpider] = []

    def make(base_url: str, **kwargs: Any) -> HeimaoSpider:
        settings = {k: v for k, v in vars(project_settings).items() if k.isupper()}
        # get_crawler freezes settings, so the loopback switch (which edits them) stays off.
        settings.update(
            HEIMAO_FIELDS=[],
            HEIMAO_CONCURRENT_FEEDS=1,
            TOUSU_LOOPBACK_FAST=False,
            TOUSU_DATA_DIR=str(tmp_path / "data"),
        )
        crawler = get_crawler(HeimaoSpider, settings)
        spider = HeimaoSpider.from_crawler(crawler, base_url=base_url, **kwargs)
        crawler.spider = spider
        spider.ensure_state()
        spiders.append(spider)
        return spider

    yield make
    for spider in spiders:
        if spider.state is not None:
            spider.state.close()


def _details(out: list[Any]) -> list[Request]:
    return [r for r in out if isinstance(r, Request) and r.priority == DETAIL_PRIORITY]


def test_feed_page_schedules_details_next_page_and_merchants(
    sim_server: Any, make_spider: Any
) -> None:
    spider = make_spider(sim_server.base_url)
    task = FeedTask("index")
    spider.state.add_feed("index", "", 1)
    spider.active_feeds = 1
    out = list(
        spider.parse_feed(fetch(api.feed_url(sim_server.base_url, page=1)), task=task, page=1)
    )
    details = _details(out)
    pages = [r for r in out if isinstance(r, Request) and r.callback == spider.parse_feed]
    assert (
        len(details) == 10 and len(pages) == 1 and pages[0].cb_kwargs == {"task": task, "page": 2}
    )
    assert all("/complaint/view/" in r.url and "sld=" in r.url for r in details)
    # Listed complaints are stored before their detail pages are asked for.
    assert sorted(r["sn"] for r in spider.state.pending_records()) == sorted(
        r.cb_kwargs["record"]["sn"] for r in details
    )
    assert spider.state.feed("index", "", 1).next_page == 2
    # Merchants found on the page wait their turn (one feed at a time).
    assert spider.queue and all(t.kind == "merchant" for t in spider.queue)
    # Seen again in another feed: not fetched twice.
    again = list(
        spider.parse_feed(fetch(api.feed_url(sim_server.base_url, page=1)), task=task, page=1)
    )
    assert not _details(again)
    assert spider.crawler.stats.get_value("heimao/items_seen_again") == 10


def test_detail_completes_the_record_with_its_timeline(
    sim_server: Any, small_market: Any, make_spider: Any
) -> None:
    spider = make_spider(sim_server.base_url)
    spider.state.add_feed("index", "", 1)
    out = list(
        spider.parse_feed(
            fetch(api.feed_url(sim_server.base_url, page=1)), task=FeedTask("index"), page=1
        )
    )
    for request in _details(out):
        (record,) = list(spider.parse_detail(fetch(request.url, request), **request.cb_kwargs))
        post = small_market.by_sn[record["sn"]]
        assert record["body_truncated"] is False
        assert record["body"] == "\n".join(
            line for line in post.text.body.split("\n") if line.strip()
        )
        assert record["timeline"][0]["status"] == "发起投诉"
        checked = validate_record(record)
        assert checked.amount_yuan == post.text.amount
        replied = [s.at for s in post.timeline if s.status == "商家已回复"]
        completed = [s.at for s in post.timeline if s.status == "投诉已完成"]
        assert checked.replied_at == (replied[0].replace(microsecond=0) if replied else None)
        assert checked.completed_at == (completed[0].replace(microsecond=0) if completed else None)


def test_mobile_markup_gives_the_full_text(small_market: Any, make_spider: Any) -> None:
    with SimServer(small_market, ServerOptions(mobile_share=1.0)) as server:
        spider = make_spider(server.base_url)
        spider.state.add_feed("index", "", 1)
        out = list(
            spider.parse_feed(
                fetch(api.feed_url(server.base_url, page=1)), task=FeedTask("index"), page=1
            )
        )
        request = _details(out)[0]
        (record,) = list(spider.parse_detail(fetch(request.url, request), **request.cb_kwargs))
    post = small_market.by_sn[record["sn"]]
    assert record["body"] == "\n".join(line for line in post.text.body.split("\n") if line.strip())
    assert (
        record["body_truncated"] is False
        and spider.crawler.stats.get_value("heimao/detail/mobile") == 1
    )


def test_failed_detail_keeps_the_summary(sim_server: Any, make_spider: Any) -> None:
    spider = make_spider(sim_server.base_url)
    spider.state.add_feed("index", "", 1)
    out = list(
        spider.parse_feed(
            fetch(api.feed_url(sim_server.base_url, page=1)), task=FeedTask("index"), page=1
        )
    )
    request = _details(out)[0]
    failure = Failure(ConnectionRefusedError("gone"))
    failure.request = request
    (record,) = list(spider.detail_failed(failure))
    assert record["sn"] == request.cb_kwargs["record"]["sn"] and record["body"]
    assert spider.crawler.stats.get_value("heimao/detail/failed") == 1


def test_refused_signature_is_retried_fresh_then_left_for_the_next_run(
    sim_server: Any, make_spider: Any
) -> None:
    spider = make_spider(sim_server.base_url)
    spider.state.add_feed("index", "", 1)
    spider.active_feeds = 1
    spider.queue.append(FeedTask("merchant", "123"))
    spider.state.add_feed("merchant", "123", 1)
    bad = api.feed_url(sim_server.base_url, page=1).replace("signature=", "signature=0")
    task = FeedTask("index")
    (retry,) = list(
        spider.parse_feed(
            fetch(bad, Request(bad, meta={"signature_attempt": 0})), task=task, page=1
        )
    )
    assert retry.meta["signature_attempt"] == 1 and retry.url != bad
    given_up = list(
        spider.parse_feed(
            fetch(bad, Request(bad, meta={"signature_attempt": 3})), task=task, page=1
        )
    )
    # The feed stops for this run (the next pending feed starts) but stays open in the state.
    feeds = [r for r in given_up if isinstance(r, Request) and r.callback == spider.parse_feed]
    assert [r.cb_kwargs["task"] for r in feeds] == [FeedTask("merchant", "123")]
    assert spider.crawler.stats.get_value("heimao/feed_end/signature_refused") == 1
    assert ("index", "") in {(f.kind, f.key) for f in spider.state.open_feeds()}


def test_resign_gives_a_fresh_signature(sim_server: Any, make_spider: Any) -> None:
    spider = make_spider(sim_server.base_url)
    old = spider.feed_request(FeedTask("merchant", "42", 2), page=3, cursor=None)
    fresh = spider.resign(old)
    assert fresh.url != old.url and fresh.cb_kwargs == old.cb_kwargs
    assert fresh.meta["signed_at"] >= old.meta["signed_at"]
    assert "couid=42" in fresh.url and "type=2" in fresh.url and "page=3" in fresh.url


def test_long_feeds_open_their_replied_and_completed_tabs(
    small_market: Any, make_spider: Any
) -> None:
    with SimServer(small_market, ServerOptions(max_pages=3)) as server:
        spider = make_spider(server.base_url, max_pages="3")
        spider.state.add_feed("index", "", 1)
        out = list(
            spider.parse_feed(
                fetch(api.feed_url(server.base_url, page=1)), task=FeedTask("index"), page=1
            )
        )
    assert {(t.kind, t.tab) for t in spider.queue if t.kind == "index"} == {
        ("index", 2),
        ("index", 3),
    }
    assert spider.crawler.stats.get_value("heimao/feeds_over_cap") == 1
    assert _details(out)


def test_search_without_cookies_says_what_to_do(
    sim_server: Any, make_spider: Any, caplog: pytest.LogCaptureFixture
) -> None:
    spider = make_spider(sim_server.base_url, keywords="退款")
    spider.state.add_feed("search", "退款", 1)
    spider.active_feeds = 1
    request = spider.feed_request(FeedTask("search", "退款"), page=1, cursor=None)
    assert "Cookie" not in request.headers
    out = list(
        spider.parse_feed(fetch(request.url, request), task=FeedTask("search", "退款"), page=1)
    )
    assert not _details(out)
    assert spider.crawler.stats.get_value("heimao/feed_end/login_required") == 1
    assert "SUB" in caplog.text and "--cookies" in caplog.text
    # Done for this pass (so later passes are not blocked), but never marked as walked.
    assert spider.state.open_feeds() == [] and not spider.state.feed("search", "退款", 1).walked


def test_search_with_cookies_strips_the_highlight(
    sim_server: Any, small_market: Any, make_spider: Any
) -> None:
    spider = make_spider(sim_server.base_url, keywords="退款", cookies="SUB=abc; SUBP=def")
    spider.state.add_feed("search", "退款", 1)
    request = spider.feed_request(FeedTask("search", "退款"), page=1, cursor=None)
    assert request.headers["Cookie"] == b"SUB=abc; SUBP=def"
    response = fetch(request.url, request, headers={"Cookie": "SUB=abc; SUBP=def"})
    assert '<span style=\\"color:red\\">' in response.text or "color:red" in response.text
    out = list(spider.parse_feed(response, task=FeedTask("search", "退款"), page=1))
    records = [r.cb_kwargs["record"] for r in _details(out)]
    assert records and all("<" not in r["title"] and "<" not in r["body"] for r in records)
    assert all(r["title"] == small_market.by_sn[r["sn"]].text.title for r in records)


def test_merchant_info_is_its_own_record(
    sim_server: Any, small_market: Any, make_spider: Any
) -> None:
    spider = make_spider(sim_server.base_url)
    merchant = max(small_market.merchants, key=lambda m: len(small_market.merchant_posts(m.couid)))
    (request,) = list(spider.on_feed_started(FeedTask("merchant", merchant.couid)))
    (item,) = list(spider.parse_company_info(fetch(request.url, request), couid=merchant.couid))
    assert isinstance(item, MerchantInfoItem)
    info = validate_merchant_info(item.record)
    assert (info.merchant_id, info.name) == (merchant.couid, merchant.name)
    assert info.complaints == len(small_market.merchant_posts(merchant.couid))
    # Fetched once per pass over the site.
    spider.state.extra_done("merchant_info", merchant.couid)
    assert list(spider.on_feed_started(FeedTask("merchant", merchant.couid))) == []


def test_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="couids"):
        HeimaoSpider(couids="12,abc")
    with pytest.raises(ValueError, match="details"):
        HeimaoSpider(details="sometimes")


def _records(out_dir: Path) -> list[dict[str, Any]]:
    return raw_records(out_dir)


def _crawl(
    data: Path, base_url: str, *extra: str, runner: str = "tousu"
) -> subprocess.CompletedProcess[str]:
    if runner == "tousu":
        return crawl_cli(data, "heimao", base_url, *extra)
    return scrapy_crawl(data, base_url, *extra)


@pytest.mark.parametrize("runner", ["tousu", "scrapy"])
def test_whole_crawl_gets_every_complaint_once_with_full_text(
    runner: str, sim_server: Any, small_market: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    done = _crawl(data, sim_server.base_url, runner=runner)
    assert done.returncode == 0, done.stderr[-3000:]
    records = _records(data / "raw" / "heimao")
    sns = [r["sn"] for r in records]
    assert len(sns) == len(set(sns)) == len(small_market.posts)
    assert all(not r["body_truncated"] for r in records)
    for record in records[:50]:
        post = small_market.by_sn[record["sn"]]
        assert record["body"] == "\n".join(
            line for line in post.text.body.split("\n") if line.strip()
        )
        assert record["merchant_id"] == post.merchant.couid
    (stats_file,) = (data / "raw" / "heimao").glob("*.stats.json")
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    assert stats["finish_reason"] == "finished"
    assert stats["stats"]["heimao/detail/ok"] == len(small_market.posts)
    infos = [
        json.loads(line)
        for path in (data / "raw" / "heimao" / "merchants").glob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    with_posts = {m.couid for m in small_market.merchants if small_market.merchant_posts(m.couid)}
    assert {i["merchant_id"] for i in infos} == with_posts and len(infos) == len(with_posts)


def test_past_the_page_cap_the_crawl_reaches_what_the_tabs_reach(
    small_market: Marketplace, tmp_path: Path
) -> None:
    with SimServer(small_market, ServerOptions(max_pages=2)) as server:
        done = _crawl(tmp_path / "data", server.base_url, "--max-pages", "2")
        assert done.returncode == 0, done.stderr[-3000:]
    got = {r["sn"] for r in _records(tmp_path / "data" / "raw" / "heimao")}
    expected = reachable(small_market, max_pages=2)
    without_tabs = {
        p.sn for couid in expected.merchants for p in small_market.merchant_posts(couid)[:20]
    }
    assert got == set(expected.sns)
    assert len(got) > len(without_tabs | {p.sn for p in small_market.newest_first[:20]})


def test_a_second_run_fetches_only_new_complaints(
    small_market: Marketplace, tmp_path: Path
) -> None:
    cutoff = sorted(p.created_at for p in small_market.posts)[300]
    data = tmp_path / "data"
    with SimServer(small_market, ServerOptions()) as server:
        server.app.set_as_of(cutoff)  # type: ignore[attr-defined]
        first = _crawl(data, server.base_url)
        assert first.returncode == 0, first.stderr[-3000:]
        assert len(_records(data / "raw" / "heimao")) == 300
        server.app.set_as_of(None)  # type: ignore[attr-defined]
        before = server.stats.get("feed", 0) + server.stats.get("merchant_feed", 0)
        second = _crawl(data, server.base_url)
        assert second.returncode == 0, second.stderr[-3000:]
        pages = server.stats.get("feed", 0) + server.stats.get("merchant_feed", 0) - before
        third = _crawl(data, server.base_url)
        assert third.returncode == 0, third.stderr[-3000:]
    records = _records(data / "raw" / "heimao")
    sns = [r["sn"] for r in records]
    assert len(sns) == len(set(sns)) == len(small_market.posts)
    assert "0 complaints written" in third.stdout
    first_pages = sum(
        json.loads(p.read_text())["stats"].get(f"heimao/pages/{kind}", 0)
        for p in sorted((data / "raw" / "heimao").glob("*.stats.json"))[:1]
        for kind in ("index", "merchant")
    )
    # Feeds walked before stop once pages bring nothing new.
    assert pages < first_pages
