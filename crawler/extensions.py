"""Crawl extensions: the stats file written next to the output, and a progress bar."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.asyncio import create_looping_call
from tqdm import tqdm

from crawler.spiders.base import ComplaintSpider


class CrawlStatsWriter:
    """Writes every crawl stat to ``<run>.stats.json``: every ``TOUSU_STATS_INTERVAL``
    seconds while the crawl runs (so that a killed run leaves its figures, with
    ``finish_reason`` null), and when the spider closes. Each write replaces the file whole."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.task: Any = None
        self.spider: ComplaintSpider | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler, crawler.settings.getfloat("TOUSU_STATS_INTERVAL", 30.0))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        if isinstance(spider, ComplaintSpider) and self.interval > 0:
            self.spider = spider
            self.task = create_looping_call(self.write, None)
            self.task.start(self.interval, now=False)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        if isinstance(spider, ComplaintSpider):
            self.spider = spider
            self.write(reason)

    def write(self, reason: str | None) -> None:
        spider = self.spider
        if spider is None or self.crawler.stats is None:
            return
        stats = {k: _jsonable(v) for k, v in sorted(self.crawler.stats.get_stats().items())}
        payload = {
            "site": spider.site.value,
            "spider": spider.name,
            "run_id": spider.run_id,
            "base_url": spider.base_url,
            "finish_reason": reason,
            "written_at": datetime.now(UTC).isoformat(),
            "stats": stats,
        }
        spider.out_dir.mkdir(parents=True, exist_ok=True)
        tmp = spider.stats_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(spider.stats_path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


class ProgressBar:
    """Complaints written so far (``TOUSU_PROGRESS``): a bar when stderr is a terminal, else a
    plain line every ``TOUSU_PROGRESS_INTERVAL`` seconds, so piped runs and CI logs show it too.
    Progress is display, not logging: it shows whatever ``LOG_LEVEL`` is."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.bar: tqdm[Any] | None = None
        self.task: Any = None
        self.count = 0
        self.started = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler, crawler.settings.getfloat("TOUSU_PROGRESS_INTERVAL", 10.0))
        if crawler.settings.getbool("TOUSU_PROGRESS"):
            crawler.signals.connect(ext.opened, signal=signals.spider_opened)
            crawler.signals.connect(ext.scraped, signal=signals.item_scraped)
            crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self, spider: Any) -> None:
        self.started = time.monotonic()
        if sys.stderr.isatty():
            self.bar = tqdm(desc=f"crawl {spider.name}", unit=" complaints", dynamic_ncols=True)
        else:
            self.task = create_looping_call(self.log)
            self.task.start(self.interval, now=False)

    def scraped(self, item: Any, spider: Any) -> None:
        if not isinstance(item, dict):
            return  # merchant info, not a complaint
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)

    def log(self) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        tqdm.write(
            f"crawled {self.count} complaints ({self.count / elapsed:.0f}/s)", file=sys.stderr
        )

    def closed(self, spider: Any) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.task is not None and self.task.running:
            self.task.stop()
