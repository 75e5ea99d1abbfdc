"""Bans, retries and fresh signatures: the pure rules, then whole crawls on a hostile simulator."""

from __future__ import annotations

import json
import random
import subprocess
import time
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.middlewares import ResignMiddleware, backoff_seconds, cooldown_seconds
from crawler.sim.server import ServerOptions, SimServer
from crawler.spiders.heimao import HeimaoSpider
from tests.conftest import scrapy_crawl


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    rng = random.Random(0)
    waits = [backoff_seconds(n, 2.0, 30.0, rng) for n in (1, 2, 3, 4, 10)]
    for n, wait in zip((1, 2, 3, 4), waits, strict=False):
        assert 0.75 * 2.0 * 2 ** (n - 1) <= wait <= 1.25 * 2.0 * 2 ** (n - 1)
    assert waits[-1] <= 1.25 * 30.0


def test_cooldown_doubles_on_repeated_bans_up_to_the_cap() -> None:
    assert [cooldown_seconds(n, 600, 3600) for n in (1, 2, 3, 4)] == [600, 1200, 2400, 3600]


def test_only_old_signatures_are_renewed() -> None:
    settings = {k: v for k, v in vars(project_settings).items() if k.isupper()}
    settings.update(TOUSU_RESIGN_AFTER=60.0, TOUSU_LOOPBACK_FAST=False)
    crawler = get_crawler(HeimaoSpider, settings)
    spider = HeimaoSpider.from_crawler(crawler, base_url="http://127.0.0.1:9")
    crawler.spider = spider
    middleware = ResignMiddleware.from_crawler(crawler)
    request = spider.feed_request(spider.seed_feeds()[0], page=4, cursor=None)
    assert middleware.process_request(request) is None
    stale = request.replace(meta={**request.meta, "signed_at": time.time() - 300})
    fresh = middleware.process_request(stale)
    assert isinstance(fresh, Request) and fresh.url != stale.url and "page=4" in fresh.url
    assert fresh.meta["signed_at"] > time.time() - 5
    assert crawler.stats.get_value("signature/resigned_before_send") == 1


def _crawl(data: Path, base_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return scrapy_crawl(data, base_url, *extra)


def _stats(data: Path) -> dict[str, Any]:
    (path,) = (data / "raw" / "heimao").glob("*.stats.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["stats"]
    return loaded


def _written(data: Path) -> list[str]:
    sns = []
    for path in (data / "raw" / "heimao").glob("*.jsonl"):
        if not path.name.endswith(".rejects.jsonl"):
            sns += [
                json.loads(line)["sn"] for line in path.read_text(encoding="utf-8").splitlines()
            ]
    return sns


def test_a_ban_pauses_the_domain_and_the_crawl_carries_on(
    small_market: Any, tmp_path: Path
) -> None:
    options = ServerOptions(rate_limit_per_min=40, ban_seconds=1.0)
    with SimServer(small_market, options) as server:
        started = time.monotonic()
        done = _crawl(
            tmp_path / "data",
            server.base_url,
            *("-a", "fields=none", "-a", "merchants=0", "-a", "tabs=0", "-a", "max_pages=6"),
            *("-s", "TOUSU_BAN_COOLDOWN=1.5"),
        )
        elapsed = time.monotonic() - started
        sim = server.stats
    assert done.returncode == 0, done.stderr[-3000:]
    stats = _stats(tmp_path / "data")
    pauses = stats["ban/pauses"]
    assert pauses >= 1 and stats["ban/pause_seconds"] >= 1.5 * pauses
    assert elapsed >= 1.5 * pauses
    # Nothing is sent while paused: the only 456s are requests already on their way when
    # the ban came (at most the concurrency of the crawl, 16, per ban).
    assert sim["banned_456"] == stats["ban/http_456"] <= 16 * pauses
    sns = _written(tmp_path / "data")
    assert len(sns) == len(set(sns)) == 60


def test_5xx_and_timeouts_are_retried_until_nothing_is_missing(
    small_market: Any, tmp_path: Path
) -> None:
    options = ServerOptions(error_rate=0.15, stall_rate=0.03, stall_seconds=1.5, fault_seed=3)
    with SimServer(small_market, options) as server:
        done = _crawl(
            tmp_path / "data",
            server.base_url,
            *("-s", "DOWNLOAD_TIMEOUT=0.7", "-s", "RETRY_TIMES=10"),
        )
        sim = server.stats
    assert done.returncode == 0, done.stderr[-3000:]
    stats = _stats(tmp_path / "data")
    assert stats["retry/count"] >= sum(v for k, v in sim.items() if k.startswith("fault_5")) > 0
    assert any("TimeoutError" in k for k in stats if k.startswith("retry/reason_count/"))
    assert stats["retry/backoff_seconds"] > 0
    sns = _written(tmp_path / "data")
    assert len(sns) == len(set(sns)) == len(small_market.posts)
    assert stats["heimao/detail/ok"] == len(small_market.posts)


def test_requests_that_waited_out_a_ban_are_signed_afresh(
    small_market: Any, tmp_path: Path
) -> None:
    # Signatures live 1.5 s here; the pause after a ban is 2.5 s.
    options = ServerOptions(rate_limit_per_min=3, ban_seconds=1.0, signature_ttl_s=1.5)
    with SimServer(small_market, options) as server:
        done = _crawl(
            tmp_path / "data",
            server.base_url,
            *("-a", "fields=none", "-a", "merchants=0", "-a", "max_pages=3", "-a", "details=0"),
            *("-s", "TOUSU_BAN_COOLDOWN=2.5", "-s", "TOUSU_RESIGN_AFTER=1"),
        )
    assert done.returncode == 0, done.stderr[-3000:]
    stats = _stats(tmp_path / "data")
    assert stats["ban/pauses"] >= 1
    renewed = stats.get("signature/resigned_before_send", 0) + stats.get(
        "signature/resigned_after_refusal", 0
    )
    assert renewed >= 1
    assert stats.get("heimao/feed_end/signature_refused", 0) == 0


def test_the_defaults_are_polite() -> None:
    settings = project_settings
    assert settings.CONCURRENT_REQUESTS_PER_DOMAIN == 1 and settings.AUTOTHROTTLE_ENABLED
    # The shortest delay Scrapy can draw, and AutoThrottle never goes below DOWNLOAD_DELAY.
    assert settings.DOWNLOAD_DELAY * (1 - settings.DOWNLOAD_DELAY_JITTER) >= 2.0
    assert "tousu" in settings.USER_AGENT and "research" in settings.USER_AGENT
    assert settings.TOUSU_BAN_COOLDOWN >= 600 and 456 in settings.TOUSU_BAN_HTTP_CODES
    assert {403, 429, 500, 502, 503} <= set(settings.RETRY_HTTP_CODES)
    assert (
        settings.DOWNLOADER_MIDDLEWARES["scrapy.downloadermiddlewares.retry.RetryMiddleware"]
        is None
    )
