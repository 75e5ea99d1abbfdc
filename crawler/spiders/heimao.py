"""黑猫投诉 spider: walks the index feeds and merchant feeds, then each complaint's detail page.

Arguments (``-a name=value``):
- ``base_url``: the site root (default ``HEIMAO_BASE_URL``; the demo passes the simulator's);
- ``couids``: comma-separated merchant ids to walk besides those discovered in the feeds;
- ``fields``: industry ids for index feeds (default ``HEIMAO_FIELDS``; ``none`` for none);
- ``index=0`` skips the index feeds, ``merchants=0`` does not follow discovered merchants,
  ``details=0`` keeps list summaries instead of fetching detail pages;
- ``max_pages``: pages per feed (default ``HEIMAO_MAX_PAGES``, the site's cap);
- ``polite=1`` keeps politeness on even against loopback.

Each complaint is emitted once per run (the same ``sn`` shows up in several feeds). A detail
page that cannot be fetched still yields the record with the list summary and
``body_truncated`` set: nothing seen is dropped.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler import heimao_api as api
from crawler.parsing.heimao import (
    FeedFormatError,
    merge_detail,
    parse_detail,
    parse_feed,
    record_from_item,
)
from crawler.spiders.base import ComplaintSpider, parse_flag, parse_list
from pipeline.contract import Site

logger = logging.getLogger(__name__)

MAX_SIGNATURE_RETRIES = 3
FEED_PRIORITY = 0
# Detail pages first: a page's complaints finish before the next page is fetched, which keeps
# memory flat and the next feed request (signed at creation) fresh.
DETAIL_PRIORITY = 10


@dataclass(frozen=True)
class FeedTask:
    """One feed to walk page by page: the index feed (optionally of one industry) or a
    merchant's received complaints."""

    kind: str  # "index" | "merchant"
    key: str = ""  # industry field id or couid

    def __str__(self) -> str:
        if self.kind == "index":
            return f"index feed{' field=' + self.key if self.key else ''}"
        return f"merchant {self.key}"


class HeimaoSpider(ComplaintSpider):
    name = "heimao"
    site = Site.HEIMAO

    def __init__(
        self,
        base_url: str | None = None,
        couids: str | None = None,
        fields: str | None = None,
        index: str | bool = True,
        merchants: str | bool = True,
        details: str | bool = True,
        max_pages: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**{k: v for k, v in kwargs.items() if k not in ("run_id", "polite")})
        self._base_url_arg = base_url
        self._fields_arg = fields
        self._max_pages_arg = max_pages
        self.walk_index = parse_flag(index, "index")
        self.follow_merchants = parse_flag(merchants, "merchants")
        self.fetch_details = parse_flag(details, "details")
        self.seed_couids = parse_list(couids)
        for couid in self.seed_couids:
            if not couid.isdigit():
                raise ValueError(f"couids must be digits, got {couid!r}")
        self.seen_sns: set[str] = set()
        self.known_couids: set[str] = set()
        self.pending: deque[FeedTask] = deque()
        self.active_feeds = 0

    @property
    def base_url(self) -> str:  # type: ignore[override]
        if self._base_url_arg:
            return self._base_url_arg.rstrip("/")
        if getattr(self, "crawler", None) is not None:
            return str(self.crawler.settings.get("HEIMAO_BASE_URL")).rstrip("/")
        return api.SITE_URL

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> HeimaoSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    @property
    def max_pages(self) -> int:
        value = self._max_pages_arg or self.crawler.settings.getint(
            "HEIMAO_MAX_PAGES", api.MAX_FEED_PAGES
        )
        pages = int(value)
        if pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {pages}")
        return pages

    def _fields(self) -> list[str]:
        if self._fields_arg is not None:
            return (
                [] if self._fields_arg.strip().lower() == "none" else parse_list(self._fields_arg)
            )
        fields = self.crawler.settings.getlist("HEIMAO_FIELDS", sorted(api.INDUSTRY_FIELDS))
        return [str(f) for f in fields]

    # --- the walk ----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.walk_index:
            self.pending.append(FeedTask("index"))
            self.pending.extend(FeedTask("index", field) for field in self._fields())
        for couid in self.seed_couids:
            self._add_merchant(couid)
        logger.info("crawling %s: %d feeds queued", self.base_url, len(self.pending))
        for request in self._next_feeds():
            yield request

    def _add_merchant(self, couid: str) -> None:
        if couid and couid not in self.known_couids:
            self.known_couids.add(couid)
            self.pending.append(FeedTask("merchant", couid))
            self.crawler.stats.inc_value("heimao/merchants_discovered")

    def _next_feeds(self) -> Iterator[scrapy.Request]:
        limit = self.crawler.settings.getint("HEIMAO_CONCURRENT_FEEDS", 1)
        while self.pending and self.active_feeds < max(1, limit):
            task = self.pending.popleft()
            self.active_feeds += 1
            yield self._feed_request(task, page=1)

    def _finish_feed(self, task: FeedTask, reason: str) -> Iterator[scrapy.Request]:
        self.active_feeds -= 1
        self.crawler.stats.inc_value(f"heimao/feed_end/{reason}")
        logger.debug("%s done: %s", task, reason)
        yield from self._next_feeds()

    def _feed_request(self, task: FeedTask, page: int, attempt: int = 0) -> scrapy.Request:
        if task.kind == "index":
            field = int(task.key) if task.key else None
            url = api.feed_url(self.base_url, page=page, field=field)
        else:
            url = api.merchant_feed_url(self.base_url, couid=task.key, page=page)
        return scrapy.Request(
            url,
            callback=self.parse_feed,
            errback=self.feed_failed,
            cb_kwargs={"task": task, "page": page},
            meta={"signature_attempt": attempt},
            priority=FEED_PRIORITY,
            dont_filter=True,  # every signed URL is unique; we track what was seen ourselves
        )

    def parse_feed(self, response: Response, task: FeedTask, page: int) -> Iterator[Any]:
        stats = self.crawler.stats
        try:
            feed = parse_feed(response.json())
        except (ValueError, FeedFormatError) as exc:
            logger.error("%s page %d: unreadable response (%s)", task, page, exc)
            yield from self._finish_feed(task, "bad_response")
            return
        if feed.code in (api.CODE_BAD_SIGNATURE, api.CODE_STALE_SIGNATURE):
            attempt = int(response.meta.get("signature_attempt", 0)) + 1
            stats.inc_value("heimao/signature_rejected")
            if attempt <= MAX_SIGNATURE_RETRIES:
                # Signed at creation: a request that waited too long is re-signed afresh.
                yield self._feed_request(task, page, attempt)
            else:
                logger.error("%s page %d: signature refused %d times", task, page, attempt)
                yield from self._finish_feed(task, "signature_refused")
            return
        if feed.code == api.CODE_PAGE_NOT_FOUND:
            yield from self._finish_feed(task, "page_cap")
            return
        if feed.code == api.CODE_LOGIN_REQUIRED:
            logger.error("%s: the site asks for a login (code 10017)", task)
            yield from self._finish_feed(task, "login_required")
            return
        if feed.code != api.CODE_OK:
            logger.warning("%s page %d: status code %d %s", task, page, feed.code, feed.msg)
            yield from self._finish_feed(task, f"code_{feed.code}")
            return
        stats.inc_value(f"heimao/pages/{task.kind}")
        fetched_at = datetime.now(UTC)
        for item in feed.items:
            yield from self._handle_item(item, response.url, fetched_at)
        pager = feed.pager
        if feed.items and pager is not None and pager.next and page < self.max_pages:
            yield self._feed_request(task, page + 1)
        else:
            reason = "max_pages" if feed.items and page >= self.max_pages else "end"
            yield from self._finish_feed(task, reason)

    def _handle_item(
        self, item: dict[str, Any], page_url: str, fetched_at: datetime
    ) -> Iterator[Any]:
        stats = self.crawler.stats
        record = record_from_item(item, page_url=page_url, fetched_at=fetched_at)
        sn = record["sn"]
        if sn and sn in self.seen_sns:
            stats.inc_value("heimao/items_seen_again")
            return
        self.seen_sns.add(sn)
        stats.inc_value("heimao/items_listed")
        if self.follow_merchants and record["merchant_id"]:
            self._add_merchant(record["merchant_id"])
        if self.fetch_details and record["url"]:
            yield scrapy.Request(
                record["url"],
                callback=self.parse_detail,
                errback=self.detail_failed,
                cb_kwargs={"record": record},
                priority=DETAIL_PRIORITY,
            )
        else:
            yield record

    def parse_detail(self, response: Response, record: dict[str, Any]) -> Iterator[Any]:
        detail = parse_detail(response.text)
        stats = self.crawler.stats
        if detail.body is None:
            stats.inc_value("heimao/detail/no_body")
            logger.warning(
                "detail page %s has no complaint text; keeping the summary", response.url
            )
            yield record
            return
        if detail.sn and detail.sn != record["sn"]:
            stats.inc_value("heimao/detail/sn_mismatch")
            logger.warning(
                "detail page %s is for sn %s, not %s", response.url, detail.sn, record["sn"]
            )
            yield record
            return
        stats.inc_value("heimao/detail/ok")
        yield merge_detail(record, detail)

    def detail_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        self.crawler.stats.inc_value("heimao/detail/failed")
        logger.warning(
            "detail page %s failed (%s); keeping the summary", request.url, failure.value
        )
        yield request.cb_kwargs["record"]

    def feed_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        task: FeedTask = request.cb_kwargs["task"]
        logger.error("%s page %s failed: %s", task, request.cb_kwargs["page"], failure.value)
        yield from self._finish_feed(task, "failed")

    def _on_idle(self) -> None:
        # Safety net: feeds still pending but nothing in flight (a callback raised, say).
        if self.pending:
            self.active_feeds = 0
            for request in self._next_feeds():
                self.crawler.engine.crawl(request)
            raise DontCloseSpider
