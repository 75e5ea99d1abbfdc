"""Run a spider in this process (``tousu crawl``): project settings plus overrides."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SETTINGS_MODULE = "crawler.settings"


@dataclass(frozen=True)
class CrawlResult:
    output: Path
    records: int  # complaints written by this run (duplicates of earlier runs excluded)
    rejected: int
    finish_reason: str
    stats_path: Path
    stats: dict[str, Any]


def run_crawl(
    spider_name: str,
    *,
    data_dir: Path,
    spider_args: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> CrawlResult:
    """Crawl until the spider finishes; returns where the records went and the stats.

    Twisted's reactor runs once per process, so call this at most once per process.
    """
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    project = get_project_settings()
    project.set("TOUSU_DATA_DIR", str(data_dir), priority="cmdline")
    for key, value in (settings or {}).items():
        project.set(key, value, priority="cmdline")
    # Scrapy installs its own root log handler (honouring LOG_LEVEL); drop the caller's so
    # that lines are not printed twice.
    for handler in list(logging.root.handlers):
        logging.root.removeHandler(handler)
    process = CrawlerProcess(project)
    spidercls = process.spider_loader.load(spider_name)
    crawler = process.create_crawler(spidercls)
    process.crawl(crawler, **(spider_args or {}))
    process.start()
    spider = crawler.spider
    stats_path: Path = spider.stats_path
    payload = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.exists() else {}
    stats: dict[str, Any] = payload.get("stats", {})
    rejected = sum(int(v) for k, v in stats.items() if k.startswith("item_rejected/"))
    return CrawlResult(
        output=spider.output_path,
        records=int(stats.get("tousu/records_written", 0)),
        rejected=rejected,
        finish_reason=str(payload.get("finish_reason", "unknown")),
        stats_path=stats_path,
        stats=stats,
    )
