"""What every complaint spider shares: where it writes, its run id, and politeness switching.

A site spider subclasses :class:`ComplaintSpider`, sets ``name`` and ``site``, and implements
its own walk. Output goes to ``<data>/raw/<site>/<run_id>.jsonl`` through the item pipelines.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler

from pipeline.contract import Site
from pipeline.settings import Paths

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, filesystem-safe run id: the UTC start time."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


def parse_flag(value: Any, name: str) -> bool:
    """Spider arguments arrive as strings from the command line: ``0/1/true/false/yes/no``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"spider argument {name}={value!r} is not a yes/no value (use 1 or 0)")


def parse_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


class ComplaintSpider(scrapy.Spider):
    site: ClassVar[Site]
    base_url: str
    run_id: str
    out_dir: Path

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider: Self = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.run_id = str(kwargs.get("run_id") or settings.get("TOUSU_RUN_ID") or new_run_id())
        spider.out_dir = Paths.from_env(settings.get("TOUSU_DATA_DIR")).raw_site(cls.site.value)
        fast = settings.getbool("TOUSU_LOOPBACK_FAST")
        if "polite" in kwargs:
            fast = not parse_flag(kwargs["polite"], "polite")
        if fast and is_loopback(spider.base_url):
            # Spider priority: a -s on the command line still wins.
            crawler.settings.setdict(settings.getdict("LOOPBACK_FAST_SETTINGS"), priority="spider")
            logger.info("loopback target %s: politeness off", spider.base_url)
        return spider

    @property
    def output_path(self) -> Path:
        return self.out_dir / f"{self.run_id}.jsonl"

    @property
    def rejects_path(self) -> Path:
        return self.out_dir / f"{self.run_id}.rejects.jsonl"

    @property
    def stats_path(self) -> Path:
        return self.out_dir / f"{self.run_id}.stats.json"
