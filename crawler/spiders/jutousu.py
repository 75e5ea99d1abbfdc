"""聚投诉 spider: the index list and merchant lists, then each post's full text.

Arguments (``-a name=value``): ``base_url`` (default ``JUTOUSU_BASE_URL``), ``merchants``
(comma-separated merchant ids to walk besides those discovered), ``cookies`` (the logged-in
session's cookies as a browser sends them; else the ``JUTOUSU_COOKIES`` setting or
``$TOUSU_JUTOUSU_COOKIES``), ``index=0``, ``follow=0`` (do not walk discovered merchants),
``details=0``, ``max_pages``, ``polite=1``.

A post's full text takes two requests: the detail page for its post key, then
``getPostContent``. When the site answers its login page the session is gone: the crawl
stops with ``login_required`` and a message saying what to do; everything seen so far is
kept and the next run resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler import jutousu_api as api
from crawler.parsing.jutousu import (
    LoginRequiredError,
    check_login,
    merge_post,
    parse_index_page,
    parse_merchant_page,
    parse_post_content,
    parse_post_key,
    record_from_list_item,
)
from crawler.spiders.base import (
    DETAIL_PRIORITY,
    FEED_PRIORITY,
    ComplaintSpider,
    FeedEnd,
    FeedPage,
    FeedTask,
    parse_flag,
    parse_ids,
)
from pipeline.contract import Site

logger = logging.getLogger(__name__)

COOKIES_ENV = "TOUSU_JUTOUSU_COOKIES"
LOGIN_HELP = (
    "聚投诉 answered its login page (登录聚投诉): the session cookie is missing or expired. "
    "Log in at ts.21cn.com in a browser, copy its cookies into --cookies '...' or "
    f"${COOKIES_ENV}, and run again: what was collected is kept and the crawl resumes"
)


class JutousuSpider(ComplaintSpider):
    name = "jutousu"
    site = Site.JUTOUSU
    default_base_url = api.SITE_URL
    settings_prefix = "JUTOUSU"

    def __init__(
        self,
        base_url: str | None = None,
        merchants: str | None = None,
        cookies: str | None = None,
        index: str | bool = True,
        follow: str | bool = True,
        details: str | bool = True,
        max_pages: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url=base_url, **kwargs)
        self._cookies_arg = cookies
        self.walk_index = parse_flag(index, "index")
        self.follow_merchants = parse_flag(follow, "follow")
        self.fetch_details = parse_flag(details, "details")
        self.max_pages = int(max_pages) if max_pages else 0
        self.seed_merchants = parse_ids(merchants, "merchants")

    @property
    def cookie_header(self) -> str | None:
        cookies = self.login_cookies(COOKIES_ENV)
        return "; ".join(f"{k}={v}" for k, v in cookies.items()) if cookies else None

    def _request(self, url: str, **kwargs: Any) -> scrapy.Request:
        headers = {"Cookie": self.cookie_header} if self.cookie_header else {}
        return scrapy.Request(url, headers=headers, dont_filter=True, **kwargs)

    def _check_login(self, response: Response) -> None:
        try:
            check_login(response.text)
        except LoginRequiredError:
            self.crawler.stats.inc_value("jutousu/login_required")
            logger.error("%s", LOGIN_HELP)
            raise CloseSpider("login_required") from None

    # --- feeds -------------------------------------------------------------------------------

    def seed_feeds(self) -> list[FeedTask]:
        if self.cookie_header is None:
            logger.warning("no 聚投诉 session cookie given: %s", LOGIN_HELP)
        tasks = [FeedTask("index")] if self.walk_index else []
        tasks.extend(FeedTask("merchant", merchant) for merchant in self.seed_merchants)
        return tasks

    def feed_request(
        self, task: FeedTask, page: int, cursor: dict[str, Any] | None
    ) -> scrapy.Request:
        if task.kind == "index":
            url = api.index_url(self.base_url, page)
        else:
            offset = (cursor or {}).get("offset", 0)
            url = api.merchant_url(self.base_url, task.key, page, offset)
        return self._request(
            url,
            callback=self.parse_feed,
            errback=self.feed_failed,
            cb_kwargs={"task": task, "page": page},
            priority=FEED_PRIORITY,
        )

    def read_feed_page(
        self, response: Response, task: FeedTask, page: int
    ) -> FeedPage | FeedEnd | scrapy.Request:
        self._check_login(response)
        try:
            payload = response.json()
            listing = (
                parse_index_page(payload) if task.kind == "index" else parse_merchant_page(payload)
            )
        except ValueError as exc:
            logger.error("%s page %d: unreadable response (%s)", task, page, exc)
            return FeedEnd("bad_response", walked=False, keep_open=True)
        fetched_at = self.now()
        name = str(task.meta.get("name") or "")
        records = [
            record_from_list_item(
                item,
                base_url=self.base_url,
                fetched_at=fetched_at,
                merchant_name=name,
                merchant_id=task.key if task.kind == "merchant" else None,
            )
            for item in listing.items
        ]
        discovered = []
        if self.follow_merchants:
            discovered = [
                FeedTask(
                    "merchant", str(item["merchantId"]), meta={"name": item.get("merchantName", "")}
                )
                for item in listing.items
                if item.get("merchantId")
            ]
        capped = listing.has_more and bool(self.max_pages) and page >= self.max_pages
        cursor = {"offset": listing.offset} if listing.offset is not None else None
        return FeedPage(
            records=records,
            has_next=listing.has_more and not capped,
            cursor=cursor,
            discovered=discovered,
            capped=capped,
        )

    # --- the full text -----------------------------------------------------------------------

    def complete_record(self, record: dict[str, Any]) -> Iterator[Any]:
        if not self.fetch_details or not record.get("url"):
            yield record
            return
        yield self._request(
            record["url"],
            callback=self.parse_show,
            errback=self.detail_failed,
            cb_kwargs={"record": record},
            priority=DETAIL_PRIORITY,
        )

    def parse_show(self, response: Response, record: dict[str, Any]) -> Iterator[Any]:
        self._check_login(response)
        key = parse_post_key(response.text)
        if key is None:
            self.crawler.stats.inc_value("jutousu/detail/no_post_key")
            logger.warning("%s has no post key; keeping the short topic", response.url)
            yield record
            return
        yield self._request(
            api.content_url(self.base_url, key),
            callback=self.parse_content,
            errback=self.detail_failed,
            cb_kwargs={"record": record},
            priority=DETAIL_PRIORITY + 1,
        )

    def parse_content(self, response: Response, record: dict[str, Any]) -> Iterator[Any]:
        self._check_login(response)
        try:
            post = parse_post_content(response.json())
        except ValueError:
            post = None
        if post is None:
            self.crawler.stats.inc_value("jutousu/detail/no_content")
            logger.warning("%s holds no post; keeping the short topic", response.url)
            yield record
            return
        self.crawler.stats.inc_value("jutousu/detail/ok")
        yield merge_post(record, post)

    def detail_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        self.crawler.stats.inc_value("jutousu/detail/failed")
        logger.warning("%s failed (%s); keeping the short topic", request.url, failure.value)
        yield request.cb_kwargs["record"]
