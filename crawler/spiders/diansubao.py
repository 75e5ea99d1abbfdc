"""电诉宝 spider: the complaint list, page by page, newest first.

Arguments (``-a name=value``): ``base_url`` (default ``DIANSUBAO_BASE_URL``),
``page_record`` (records a page, default ``DIANSUBAO_PAGE_RECORD``), ``max_pages``,
``polite=1``. A list record holds the whole complaint, so there are no detail pages. The
complainant's personal data the list carries is dropped here, field by field (see
:mod:`crawler.parsing.diansubao`), before anything is stored.
"""

from __future__ import annotations

import logging
from typing import Any

import scrapy
from scrapy.http import Response

from crawler import diansubao_api as api
from crawler.parsing.diansubao import parse_list_page, record_from_item
from crawler.spiders.base import FEED_PRIORITY, ComplaintSpider, FeedEnd, FeedPage, FeedTask
from pipeline.contract import Site

logger = logging.getLogger(__name__)


class DiansubaoSpider(ComplaintSpider):
    name = "diansubao"
    site = Site.DIANSUBAO
    default_base_url = api.SITE_URL
    settings_prefix = "DIANSUBAO"

    def __init__(
        self,
        base_url: str | None = None,
        page_record: str | int | None = None,
        max_pages: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url=base_url, **kwargs)
        self._page_record_arg = page_record
        self.max_pages = int(max_pages) if max_pages else 0
        if page_record is not None and not 1 <= int(page_record) <= api.MAX_PAGE_RECORD:
            raise ValueError(f"page_record must be in 1..{api.MAX_PAGE_RECORD}, got {page_record}")

    @property
    def page_record(self) -> int:
        return int(self._page_record_arg or self.crawler.settings.getint("DIANSUBAO_PAGE_RECORD"))

    def seed_feeds(self) -> list[FeedTask]:
        return [FeedTask("complain")]

    def feed_request(
        self, task: FeedTask, page: int, cursor: dict[str, Any] | None
    ) -> scrapy.Request:
        return scrapy.Request(
            api.list_url(self.base_url, page, self.page_record),
            callback=self.parse_feed,
            errback=self.feed_failed,
            cb_kwargs={"task": task, "page": page},
            priority=FEED_PRIORITY,
            dont_filter=True,
        )

    def read_feed_page(
        self, response: Response, task: FeedTask, page: int
    ) -> FeedPage | FeedEnd | scrapy.Request:
        try:
            listing = parse_list_page(response.json())
        except ValueError as exc:
            logger.error("%s page %d: unreadable response (%s)", task, page, exc)
            return FeedEnd("bad_response", walked=False, keep_open=True)
        fetched_at = self.now()
        records = [
            record_from_item(item, base_url=self.base_url, fetched_at=fetched_at)
            for item in listing.items
        ]
        more = bool(listing.items) and page < listing.total
        capped = more and bool(self.max_pages) and page >= self.max_pages
        return FeedPage(records=records, has_next=more and not capped, capped=capped)
