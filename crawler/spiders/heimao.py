"""黑猫投诉 spider: index feeds, industry feeds, merchant feeds and keyword searches, then each
complaint's detail page; merchant info as its own records.

Arguments (``-a name=value``):
- ``base_url``: the site root (default ``HEIMAO_BASE_URL``; the demo passes the simulator's);
- ``couids``: comma-separated merchant ids to walk besides those discovered in the feeds;
- ``fields``: industry ids for index feeds (default ``HEIMAO_FIELDS``; ``none`` for none);
- ``keywords``: comma-separated search keywords; the search needs Weibo login cookies
  (``SUB``/``SUBP``) from ``cookies=`` / ``HEIMAO_COOKIES`` / ``$TOUSU_HEIMAO_COOKIES``;
- ``index=0`` skips the index feeds, ``merchants=0`` does not follow discovered merchants,
  ``details=0`` keeps list summaries instead of fetching detail pages, ``info=0`` skips
  merchant info, ``tabs=0`` never walks the replied/completed tabs;
- ``max_pages``: pages per feed (default ``HEIMAO_MAX_PAGES``, the site's cap);
- ``polite=1`` keeps politeness on even against loopback.

Getting past the ~50-page cap: every feed is first walked in its ``type=1`` (all) tab; when
the pager shows more pages than the cap, the feed's replied and completed tabs
(``type=2``/``3``, see :mod:`crawler.heimao_api`) are walked too, and every merchant found in
any feed gets its own feeds. What stays out of reach: the oldest unreplied complaints of a
merchant (or industry) with more than the cap's worth of them.

A detail page that cannot be fetched still yields the record with the list summary and
``body_truncated`` set; a desktop page without the text is tried once in mobile markup.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler import heimao_api as api
from crawler.items import MerchantInfoItem
from crawler.parsing.heimao import (
    FeedFormatError,
    merchant_info_record,
    merge_detail,
    parse_detail,
    parse_feed,
    record_from_item,
)
from crawler.spiders.base import (
    DETAIL_PRIORITY,
    FEED_PRIORITY,
    INFO_PRIORITY,
    ComplaintSpider,
    FeedEnd,
    FeedPage,
    FeedTask,
    parse_flag,
    parse_ids,
    parse_list,
)
from pipeline.contract import Site

logger = logging.getLogger(__name__)

MAX_SIGNATURE_RETRIES = 3
COOKIES_ENV = "TOUSU_HEIMAO_COOKIES"
MOBILE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 "
    "tousu-complaint-research/0.1"
)
LOGIN_HELP = (
    "黑猫投诉 keyword search needs a logged-in Weibo session (status code 10017): copy the SUB "
    "and SUBP cookies of tousu.sina.com.cn from a logged-in browser and pass them as "
    "--cookies 'SUB=...; SUBP=...' or in ${env}; the other feeds go on without them"
)


class HeimaoSpider(ComplaintSpider):
    name = "heimao"
    site = Site.HEIMAO
    default_base_url = api.SITE_URL
    settings_prefix = "HEIMAO"

    def __init__(
        self,
        base_url: str | None = None,
        couids: str | None = None,
        fields: str | None = None,
        keywords: str | None = None,
        cookies: str | None = None,
        index: str | bool = True,
        merchants: str | bool = True,
        details: str | bool = True,
        info: str | bool = True,
        tabs: str | bool = True,
        max_pages: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url=base_url, **kwargs)
        self._fields_arg = fields
        self._max_pages_arg = max_pages
        self._cookies_arg = cookies
        self.walk_index = parse_flag(index, "index")
        self.follow_merchants = parse_flag(merchants, "merchants")
        self.fetch_details = parse_flag(details, "details")
        self.fetch_info = parse_flag(info, "info")
        self.walk_tabs = parse_flag(tabs, "tabs")
        self.seed_couids = parse_ids(couids, "couids")
        self.keywords = parse_list(keywords)
        self._login_warned = False

    @property
    def max_pages(self) -> int:
        value = self._max_pages_arg or self.crawler.settings.getint(
            "HEIMAO_MAX_PAGES", api.MAX_FEED_PAGES
        )
        pages = int(value)
        if pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {pages}")
        return pages

    @property
    def cookie_header(self) -> str | None:
        """Login cookies: the argument, else the ``HEIMAO_COOKIES`` setting, else the env."""
        cookies = self.login_cookies(COOKIES_ENV)
        return api.login_cookie_header(cookies) if cookies else None

    def _fields(self) -> list[str]:
        if self._fields_arg is not None:
            return (
                [] if self._fields_arg.strip().lower() == "none" else parse_list(self._fields_arg)
            )
        fields = self.crawler.settings.getlist("HEIMAO_FIELDS", sorted(api.INDUSTRY_FIELDS))
        return [str(f) for f in fields]

    # --- feeds -------------------------------------------------------------------------------

    def seed_feeds(self) -> list[FeedTask]:
        tasks = []
        if self.walk_index:
            tasks.append(FeedTask("index"))
            tasks.extend(FeedTask("index", field) for field in self._fields())
        tasks.extend(FeedTask("merchant", couid) for couid in self.seed_couids)
        tasks.extend(FeedTask("search", keyword) for keyword in self.keywords)
        if self.keywords and self.cookie_header is None:
            logger.warning(
                "keyword search without login cookies will be refused: %s",
                LOGIN_HELP.format(env=COOKIES_ENV),
            )
        return tasks

    def feed_request(
        self, task: FeedTask, page: int, cursor: dict[str, Any] | None, attempt: int = 0
    ) -> scrapy.Request:
        headers = {}
        if task.kind == "index":
            field = int(task.key) if task.key else None
            url = api.feed_url(self.base_url, page=page, field=field, type_=task.tab)
        elif task.kind == "merchant":
            url = api.merchant_feed_url(self.base_url, couid=task.key, page=page, type_=task.tab)
        elif task.kind == "search":
            url = api.search_url(self.base_url, keywords=task.key, page=page)
            if self.cookie_header:
                headers["Cookie"] = self.cookie_header
        else:
            raise ValueError(f"unknown 黑猫投诉 feed kind {task.kind!r}")
        return scrapy.Request(
            url,
            callback=self.parse_feed,
            errback=self.feed_failed,
            cb_kwargs={"task": task, "page": page},
            headers=headers,
            meta={"signature_attempt": attempt, "signed_at": _signed_at(url)},
            priority=FEED_PRIORITY,
            dont_filter=True,  # every signed URL is unique; we track what was seen ourselves
        )

    def resign(self, request: scrapy.Request) -> scrapy.Request:
        """The request with a fresh signature (see ``ResignMiddleware``)."""
        url = api.resign_url(request.url)
        meta = dict(request.meta)
        meta["signed_at"] = _signed_at(url)
        return request.replace(url=url, meta=meta)

    def read_feed_page(
        self, response: Response, task: FeedTask, page: int
    ) -> FeedPage | FeedEnd | scrapy.Request:
        stats = self.crawler.stats
        try:
            feed = parse_feed(response.json())
        except (ValueError, FeedFormatError) as exc:
            logger.error("%s page %d: unreadable response (%s)", task, page, exc)
            return FeedEnd("bad_response", walked=False, keep_open=True)
        if feed.code in (api.CODE_BAD_SIGNATURE, api.CODE_STALE_SIGNATURE):
            attempt = int(response.meta.get("signature_attempt", 0)) + 1
            stats.inc_value("heimao/signature_rejected")
            if attempt <= MAX_SIGNATURE_RETRIES:
                stats.inc_value("signature/resigned_after_refusal")
                return self.feed_request(task, page, None, attempt)
            logger.error("%s page %d: signature refused %d times", task, page, attempt)
            return FeedEnd("signature_refused", walked=False, keep_open=True)
        if feed.code == api.CODE_PAGE_NOT_FOUND:
            return FeedEnd("page_cap" if page > 1 else "empty")
        if feed.code == api.CODE_LOGIN_REQUIRED:
            if task.kind == "search":
                logger.error("%s: %s", task, LOGIN_HELP.format(env=COOKIES_ENV))
            else:
                logger.error("%s: the site asks for a login (code 10017)", task)
            return FeedEnd("login_required", walked=False)
        if feed.code != api.CODE_OK:
            logger.warning("%s page %d: status code %d %s", task, page, feed.code, feed.msg)
            return FeedEnd(f"code_{feed.code}", walked=False, keep_open=True)
        fetched_at = self.now()
        records = [
            record_from_item(item, page_url=response.url, fetched_at=fetched_at)
            for item in feed.items
        ]
        pager = feed.pager
        more = bool(feed.items and pager is not None and pager.next)
        capped = more and page >= self.max_pages
        discovered: list[FeedTask] = []
        if self.follow_merchants:
            discovered.extend(
                FeedTask("merchant", r["merchant_id"]) for r in records if r["merchant_id"]
            )
        beyond_cap = pager is not None and pager.page_amount > self.max_pages
        if page == 1 and beyond_cap and task.tab == api.TYPE_ALL and task.kind != "search":
            if self.walk_tabs:
                discovered.extend(FeedTask(task.kind, task.key, tab) for tab in api.FEED_TYPES[1:])
            stats.inc_value("heimao/feeds_over_cap")
        return FeedPage(
            records=records, has_next=more and not capped, discovered=discovered, capped=capped
        )

    # --- merchant info -----------------------------------------------------------------------

    def on_feed_started(self, task: FeedTask) -> Iterator[Any]:
        if task.kind != "merchant" or not self.fetch_info or task.tab != api.TYPE_ALL:
            return
        assert self.state is not None
        if self.state.extra_needed("merchant_info", task.key):
            yield scrapy.Request(
                api.company_info_url(self.base_url, task.key),
                callback=self.parse_company_info,
                errback=self.info_failed,
                cb_kwargs={"couid": task.key},
                priority=INFO_PRIORITY,
                dont_filter=True,
            )

    def parse_company_info(self, response: Response, couid: str) -> Iterator[Any]:
        try:
            feed = parse_feed(response.json())
            data = response.json()["result"]["data"]
        except (ValueError, KeyError, TypeError, FeedFormatError) as exc:
            logger.warning("merchant %s info: unreadable response (%s)", couid, exc)
            self.crawler.stats.inc_value("heimao/merchant_info/bad_response")
            return
        if feed.code != api.CODE_OK or not isinstance(data, dict):
            self.crawler.stats.inc_value(f"heimao/merchant_info/code_{feed.code}")
            return
        yield MerchantInfoItem(merchant_info_record(data, couid=couid, fetched_at=self.now()))

    def info_failed(self, failure: Failure) -> None:
        self.crawler.stats.inc_value("heimao/merchant_info/failed")
        logger.warning("merchant info %s failed: %s", failure.request.url, failure.value)

    # --- detail pages ------------------------------------------------------------------------

    def complete_record(self, record: dict[str, Any]) -> Iterator[Any]:
        if self.fetch_details and record.get("url"):
            yield self._detail_request(record, mobile=False)
        else:
            yield record

    def _detail_request(self, record: dict[str, Any], *, mobile: bool) -> scrapy.Request:
        headers = {"User-Agent": MOBILE_USER_AGENT} if mobile else {}
        return scrapy.Request(
            record["url"],
            callback=self.parse_detail,
            errback=self.detail_failed,
            cb_kwargs={"record": record},
            headers=headers,
            meta={"mobile": mobile},
            priority=DETAIL_PRIORITY,
            dont_filter=True,
        )

    def parse_detail(self, response: Response, record: dict[str, Any]) -> Iterator[Any]:
        detail = parse_detail(response.text)
        stats = self.crawler.stats
        if detail.body is None:
            if not response.meta.get("mobile"):
                stats.inc_value("heimao/detail/no_body_desktop")
                yield self._detail_request(record, mobile=True)
                return
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
        stats.inc_value(f"heimao/detail/{detail.markup}")
        yield merge_detail(record, detail)

    def detail_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        self.crawler.stats.inc_value("heimao/detail/failed")
        logger.warning(
            "detail page %s failed (%s); keeping the summary", request.url, failure.value
        )
        yield request.cb_kwargs["record"]


def _signed_at(url: str) -> float | None:
    ms = api.signed_at_ms(url)
    return ms / 1000.0 if ms is not None else None
