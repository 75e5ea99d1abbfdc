"""黑猫投诉 as the simulator serves it, over a :class:`Marketplace`.

Behaviour copied from the real site (design.md):
- ``/api/index/feed``, ``/api/company/received_complaints`` and ``/api/index/s`` check the
  signature and refuse a wrong one (code 10010) or a timestamp older than the signature TTL
  (code 10011);
- feeds list newest first, 10 items a page; the pager reports every item but pages past
  ``max_pages`` answer code 10019, as the real site does after about 50 pages. Each ``type``
  tab (1 all, 2 replied, 3 completed; see :mod:`crawler.heimao_api`) is capped on its own;
- the index feed takes an unsigned ``field`` (industry) filter;
- the keyword search needs the Weibo login cookies ``SUB`` and ``SUBP`` (else code 10017);
  it matches titles, texts and merchant names and highlights the keywords;
- ``/api/company/info`` is unsigned;
- ``/complaint/view/{sn}/?sld=...`` is the detail page; a wrong or missing ``sld`` gets 404.
  Mobile user agents get the mobile markup, as do ``mobile_share`` of the complaints.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from typing import Any

from crawler import heimao_api as api
from crawler.sim.marketplace import Marketplace, SimPost
from crawler.sim.pages import (
    NOT_FOUND_PAGE,
    detail_page,
    list_item,
    mobile_detail_page,
    search_item,
)
from crawler.sim.server import ServerOptions, SimRequest, SimResponse
from pipeline.contract import ComplaintStatus

_DETAIL = re.compile(r"^/complaint/view/(\d+)/?$")
_MOBILE_UA = re.compile(r"Mobile|iPhone|Android", re.IGNORECASE)
_TAB_STATUSES: dict[int, frozenset[ComplaintStatus] | None] = {
    api.TYPE_ALL: None,
    api.TYPE_REPLIED: frozenset({ComplaintStatus.REPLIED, ComplaintStatus.COMPLETED}),
    api.TYPE_COMPLETED: frozenset({ComplaintStatus.COMPLETED}),
}


def tab_posts(posts: list[SimPost], tab: int) -> list[SimPost]:
    """The posts a ``type`` tab lists (newest first, like ``posts``)."""
    statuses = _TAB_STATUSES[tab]
    return posts if statuses is None else [p for p in posts if p.status in statuses]


def search_posts(market: Marketplace, keywords: list[str]) -> list[SimPost]:
    """Posts whose title, text or merchant name holds every keyword, newest first."""
    return [
        p
        for p in market.newest_first
        if all(k in p.text.title or k in p.text.body or k in p.merchant.name for k in keywords)
    ]


class HeimaoSite:
    def __init__(
        self,
        market: Marketplace,
        options: ServerOptions,
        clock: Callable[[], float],
        count: Callable[[str], None],
    ) -> None:
        self.market = market
        self.options = options
        self.clock = clock
        self.count = count
        # Tab and search listings are computed once per key (until the clock below moves).
        self._lists: dict[tuple[str, str, int], list[SimPost]] = {}
        self.as_of: datetime | None = None

    def set_as_of(self, when: datetime | None) -> None:
        """Show the site as it was at ``when`` (complaints filed later are not there yet);
        None shows everything. Lets tests watch new complaints arrive between crawls."""
        self.as_of = when
        self._lists.clear()

    def _visible(self, posts: list[SimPost]) -> list[SimPost]:
        when = self.as_of
        return posts if when is None else [p for p in posts if p.created_at < when]

    def handle(self, request: SimRequest) -> SimResponse:
        route = request.path.rstrip("/") or "/"
        if route == api.FEED_PATH:
            self.count("feed")
            return self._feed(request)
        if route == api.MERCHANT_FEED_PATH:
            self.count("merchant_feed")
            return self._merchant_feed(request)
        if route == api.SEARCH_PATH:
            self.count("search")
            return self._search(request)
        if route == api.COMPANY_INFO_PATH:
            self.count("company_info")
            return self._company_info(request)
        if (match := _DETAIL.match(request.path)) is not None:
            self.count("detail")
            return self._detail(match.group(1), request)
        self.count("not_found")
        return SimResponse.html(NOT_FOUND_PAGE, HTTPStatus.NOT_FOUND)

    # --- endpoints ---------------------------------------------------------------------------

    def _feed(self, request: SimRequest) -> SimResponse:
        query = request.query
        refused = self._check_signature(query, api.FEED_SIGNED)
        if refused is not None:
            return refused
        field_text = query.get("field", "")
        tab = _tab(query)
        if tab is None or (field_text and not field_text.isdigit()):
            return self._status(api.CODE_BAD_REQUEST, "参数错误")
        key = ("feed", field_text, tab)
        if key not in self._lists:
            posts = self.market.feed(int(field_text) if field_text else None)
            self._lists[key] = tab_posts(self._visible(posts), tab)
        return self._page(self._lists[key], request, "lists", date_timestamp=False)

    def _merchant_feed(self, request: SimRequest) -> SimResponse:
        query = request.query
        refused = self._check_signature(query, api.MERCHANT_FEED_SIGNED)
        if refused is not None:
            return refused
        tab = _tab(query)
        if tab is None:
            return self._status(api.CODE_BAD_REQUEST, "参数错误")
        couid = query.get("couid", "")
        key = ("merchant", couid, tab)
        if key not in self._lists:
            self._lists[key] = tab_posts(self._visible(self.market.merchant_posts(couid)), tab)
        return self._page(self._lists[key], request, "complaints", date_timestamp=True)

    def _search(self, request: SimRequest) -> SimResponse:
        query = request.query
        refused = self._check_signature(query, api.SEARCH_SIGNED)
        if refused is not None:
            return refused
        cookies = request.cookies()
        if not all(cookies.get(name) for name in api.LOGIN_COOKIES):
            self.count("search_login_required")
            return self._status(api.CODE_LOGIN_REQUIRED, "请先登录")
        keywords = query.get("keywords", "").split()
        if not keywords:
            return self._status(api.CODE_BAD_REQUEST, "参数错误")
        key = ("search", " ".join(keywords), api.TYPE_ALL)
        if key not in self._lists:
            self._lists[key] = self._visible(search_posts(self.market, keywords))
        return self._page(self._lists[key], request, "lists", keywords=keywords)

    def _company_info(self, request: SimRequest) -> SimResponse:
        info = self.market.company_info(request.query.get("couid", ""))
        if info is None:
            return self._status(api.CODE_PAGE_NOT_FOUND, "商家不存在")
        return self._ok(info)

    def _detail(self, sn: str, request: SimRequest) -> SimResponse:
        post = self.market.by_sn.get(sn)
        if post is None or request.query.get("sld", "") != post.sld or not self._visible([post]):
            self.count("detail_refused")
            return SimResponse.html(NOT_FOUND_PAGE, HTTPStatus.NOT_FOUND)
        if _MOBILE_UA.search(request.headers.get("User-Agent", "")) or self._mobile_by_sn(sn):
            self.count("detail_mobile")
            return SimResponse.html(mobile_detail_page(post))
        return SimResponse.html(detail_page(post, request.host))

    # --- helpers -----------------------------------------------------------------------------

    def _mobile_by_sn(self, sn: str) -> bool:
        if not self.options.mobile_share:
            return False
        digest = hashlib.md5(f"mobile:{sn}".encode(), usedforsecurity=False).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.options.mobile_share

    def _page(
        self,
        posts: list[SimPost],
        request: SimRequest,
        key: str,
        *,
        date_timestamp: bool = False,
        keywords: list[str] | None = None,
    ) -> SimResponse:
        options = self.options
        try:
            page = int(request.query.get("page", "1"))
            size = int(request.query.get("page_size", str(api.PAGE_SIZE)))
        except ValueError:
            return self._status(api.CODE_BAD_REQUEST, "参数错误")
        size = max(1, min(size, options.page_size_cap))
        page_amount = max(1, math.ceil(len(posts) / size))
        if page < 1 or page > min(page_amount, options.max_pages):
            return self._status(api.CODE_PAGE_NOT_FOUND, "页面不存在")
        window = posts[(page - 1) * size : page * size]
        if keywords is not None:
            items = [search_item(p, request.host, keywords) for p in window]
        else:
            items = [list_item(p, request.host, date_timestamp=date_timestamp) for p in window]
        pager = {
            "current": page,
            "page_amount": page_amount,
            "item_count": len(posts),
            "next": page + 1 if page < page_amount else 0,
        }
        return self._ok({key: items, "pager": pager})

    def _check_signature(
        self, query: dict[str, str], signed: tuple[str, ...]
    ) -> SimResponse | None:
        ts, rs, signature = query.get("ts", ""), query.get("rs", ""), query.get("signature", "")
        if not (ts.isdigit() and len(ts) == 13 and len(rs) == 16) or any(
            k not in query for k in signed
        ):
            self.count("bad_signature")
            return self._status(api.CODE_BAD_SIGNATURE, "签名错误")
        if api.sign(ts, rs, [query[k] for k in signed]) != signature:
            self.count("bad_signature")
            return self._status(api.CODE_BAD_SIGNATURE, "签名错误")
        if abs(self.clock() - int(ts) / 1000.0) > self.options.signature_ttl_s:
            self.count("stale_signature")
            return self._status(api.CODE_STALE_SIGNATURE, "请求已过期")
        return None

    def _ok(self, data: Any) -> SimResponse:
        return SimResponse.json(
            {
                "result": {
                    "status": {"code": api.CODE_OK, "msg": "成功"},
                    "timestamp": self._now(),
                    "data": data,
                }
            }
        )

    def _status(self, code: int, msg: str) -> SimResponse:
        return SimResponse.json(
            {"result": {"status": {"code": code, "msg": msg}, "timestamp": self._now(), "data": {}}}
        )

    def _now(self) -> str:
        return time.strftime("%a %b %d %H:%M:%S +0800 %Y", time.localtime(self.clock()))


def _tab(query: dict[str, str]) -> int | None:
    text = query.get("type", "")
    if not text.isdigit() or int(text) not in _TAB_STATUSES:
        return None
    return int(text)
