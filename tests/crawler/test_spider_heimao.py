"""The heimao spider: callbacks on real simulator responses, and whole crawls."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler import heimao_api as api
from crawler import settings as project_settings
from crawler.spiders.heimao import DETAIL_PRIORITY, FeedTask, HeimaoSpider
from pipeline.contract import validate_record
from tests.conftest import REPO


def fetch(url: str, request: Request | None = None) -> TextResponse:
    """Wrap the bytes a URL returns in the Response a callback would get."""
    with urllib.request.urlopen(url, timeout=10) as raw:
        body, content_type = raw.read(), raw.headers.get("Content-Type", "")
    cls = HtmlResponse if "html" in content_type else TextResponse
    return cls(url=url, body=body, encoding="utf-8", request=request or Request(url))


def make_spider(base_url: str, **kwargs: Any) -> HeimaoSpider:
    settings = {k: v for k, v in vars(project_settings).items() if k.isupper()}
    # get_crawler freezes settings, so the loopback switch (which edits them) stays off here.
    settings.update(HEIMAO_FIELDS=[], HEIMAO_CONCURRENT_FEEDS=1, TOUSU_LOOPBACK_FAST=False)
    crawler = get_crawler(HeimaoSpider, settings)
    spider = HeimaoSpider.from_crawler(crawler, base_url=base_url, **kwargs)
    crawler.spider = spider
    return spider


def test_feed_page_schedules_details_next_page_and_merchants(sim_server: Any) -> None:
    spider = make_spider(sim_server.base_url)
    task = FeedTask("index")
    spider.active_feeds = 1
    out = list(
        spider.parse_feed(fetch(api.feed_url(sim_server.base_url, page=1)), task=task, page=1)
    )
    details = [r for r in out if isinstance(r, Request) and r.priority == DETAIL_PRIORITY]
    pages = [r for r in out if isinstance(r, Request) and r.callback == spider.parse_feed]
    assert (
        len(details) == 10 and len(pages) == 1 and pages[0].cb_kwargs == {"task": task, "page": 2}
    )
    assert all("/complaint/view/" in r.url and "sld=" in r.url for r in details)
    # Merchants found on the page wait their turn (one feed at a time).
    assert spider.pending and all(t.kind == "merchant" for t in spider.pending)
    # Seen again in another feed: not emitted twice.
    again = list(
        spider.parse_feed(fetch(api.feed_url(sim_server.base_url, page=1)), task=task, page=1)
    )
    assert not [r for r in again if isinstance(r, Request) and r.priority == DETAIL_PRIORITY]
    assert spider.crawler.stats.get_value("heimao/items_seen_again") == 10


def test_detail_completes_the_record(sim_server: Any, small_market: Any) -> None:
    spider = make_spider(sim_server.base_url)
    out = list(
        spider.parse_feed(
            fetch(api.feed_url(sim_server.base_url, page=1)), task=FeedTask("index"), page=1
        )
    )
    request = next(r for r in out if isinstance(r, Request) and r.priority == DETAIL_PRIORITY)
    (record,) = list(spider.parse_detail(fetch(request.url, request), **request.cb_kwargs))
    post = small_market.by_sn[record["sn"]]
    assert record["body_truncated"] is False
    assert record["body"] == "\n".join(line for line in post.text.body.split("\n") if line.strip())
    assert record["timeline"][0]["status"] == "发起投诉"
    assert validate_record(record).amount_yuan == post.text.amount


def test_failed_detail_keeps_the_summary(sim_server: Any) -> None:
    spider = make_spider(sim_server.base_url)
    out = list(
        spider.parse_feed(
            fetch(api.feed_url(sim_server.base_url, page=1)), task=FeedTask("index"), page=1
        )
    )
    request = next(r for r in out if isinstance(r, Request) and r.priority == DETAIL_PRIORITY)
    failure = Failure(ConnectionRefusedError("gone"))
    failure.request = request  # type: ignore[attr-defined]
    (record,) = list(spider.detail_failed(failure))
    assert record["sn"] == request.cb_kwargs["record"]["sn"] and record["body"]
    assert spider.crawler.stats.get_value("heimao/detail/failed") == 1


def test_refused_signature_is_retried_fresh_then_given_up(sim_server: Any) -> None:
    spider = make_spider(sim_server.base_url)
    spider.active_feeds = 1
    spider.pending.append(FeedTask("merchant", "123"))
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
    # The feed ends and the next pending feed starts instead.
    assert [r.cb_kwargs["task"] for r in given_up] == [FeedTask("merchant", "123")]
    assert spider.crawler.stats.get_value("heimao/feed_end/signature_refused") == 1


def test_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="couids"):
        HeimaoSpider(couids="12,abc")
    with pytest.raises(ValueError, match="details"):
        HeimaoSpider(details="sometimes")


def _records(out_dir: Path) -> list[dict[str, Any]]:
    (output,) = [p for p in out_dir.glob("*.jsonl") if not p.name.endswith(".rejects.jsonl")]
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("runner", ["tousu", "scrapy"])
def test_whole_crawl_gets_every_complaint_once_with_full_text(
    runner: str, sim_server: Any, small_market: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    if runner == "tousu":
        cmd = [
            sys.executable,
            "-m",
            "tousu",
            "--data-dir",
            str(data),
            "crawl",
            "heimao",
            "--base-url",
            sim_server.base_url,
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "scrapy.cmdline",
            "crawl",
            "heimao",
            "-a",
            f"base_url={sim_server.base_url}",
            "-s",
            f"TOUSU_DATA_DIR={data}",
        ]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
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
