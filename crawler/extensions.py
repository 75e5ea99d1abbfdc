"""Crawl extensions: the stats file written next to the output, and a progress bar."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from tqdm import tqdm

from crawler.spiders.base import ComplaintSpider


class CrawlStatsWriter:
    """Writes every crawl stat to ``<run>.stats.json`` when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Any, reason: str) -> None:
        if not isinstance(spider, ComplaintSpider) or self.crawler.stats is None:
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
    """Complaints written so far, on stderr when it is a terminal (``TOUSU_PROGRESS``)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.bar: tqdm[Any] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        if crawler.settings.getbool("TOUSU_PROGRESS") and sys.stderr.isatty():
            crawler.signals.connect(ext.opened, signal=signals.spider_opened)
            crawler.signals.connect(ext.scraped, signal=signals.item_scraped)
            crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self, spider: Any) -> None:
        self.bar = tqdm(desc=f"crawl {spider.name}", unit=" complaints", dynamic_ncols=True)

    def scraped(self, item: Any, spider: Any) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def closed(self, spider: Any) -> None:
        if self.bar is not None:
            self.bar.close()
