"""The simulator's HTTP server: 黑猫投诉's endpoints over a :class:`Marketplace`, on loopback.

Behaviour copied from the real site (design.md):
- ``/api/index/feed`` and ``/api/company/received_complaints`` check the signature and refuse a
  wrong one (code 10010) or a timestamp older than the signature TTL (code 10011);
- feeds list newest first, 10 items a page; the pager reports every item but pages past
  ``max_pages`` answer code 10019, as the real site does after about 50 pages;
- ``/api/company/info`` is unsigned;
- ``/complaint/view/{sn}/?sld=...`` is the detail page; a wrong or missing ``sld`` gets 404;
- with a rate limit set, a client that sends more than that many requests in a minute is
  banned for ``ban_seconds``: every request meanwhile answers HTTP 456.

``/_sim/stats`` (simulator only) returns request counters, so tests can see what a crawler did.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawler import heimao_api as api
from crawler.sim.marketplace import Marketplace, SimPost
from crawler.sim.pages import BANNED_PAGE, NOT_FOUND_PAGE, detail_page, list_item

logger = logging.getLogger(__name__)

_DETAIL = re.compile(r"^/complaint/view/(\d+)/?$")


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 0
    max_pages: int = api.MAX_FEED_PAGES
    page_size_cap: int = api.PAGE_SIZE
    signature_ttl_s: float = 300.0
    rate_limit_per_min: int | None = None
    ban_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the simulator serves loopback only, not {self.host!r}")
        if self.rate_limit_per_min is not None and self.rate_limit_per_min < 1:
            raise ValueError("rate_limit_per_min must be at least 1")


class RateLimiter:
    """Sliding one-minute window per client; going over bans the client for a while."""

    def __init__(self, per_minute: int, ban_seconds: float, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.ban_seconds = ban_seconds
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._banned_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = self.clock()
        with self._lock:
            if self._banned_until.get(client, 0.0) > now:
                return False
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - 60.0:
                hits.popleft()
            hits.append(now)
            if len(hits) > self.per_minute:
                self._banned_until[client] = now + self.ban_seconds
                hits.clear()
                return False
            return True


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, market: Marketplace, options: ServerOptions, clock: Callable[[], float] = time.time
    ) -> None:
        self.market = market
        self.options = options
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self.stats_lock = threading.Lock()
        self.limiter = (
            RateLimiter(options.rate_limit_per_min, options.ban_seconds, clock)
            if options.rate_limit_per_min
            else None
        )
        super().__init__((options.host, options.port), _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def count(self, key: str) -> None:
        with self.stats_lock:
            self.stats[key] += 1


class _Handler(BaseHTTPRequestHandler):
    server: SimHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the real site behind its CDN

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        server = self.server
        if parts.path == "/_sim/stats":
            with server.stats_lock:
                self._json(dict(server.stats))
            return
        if server.limiter is not None and not server.limiter.allow(self.client_address[0]):
            server.count("banned_456")
            self._send(api.HTTP_BANNED, BANNED_PAGE.encode(), "text/html; charset=utf-8")
            return
        route = parts.path.rstrip("/") or "/"
        if route == api.FEED_PATH:
            server.count("feed")
            self._feed(query)
        elif route == api.MERCHANT_FEED_PATH:
            server.count("merchant_feed")
            self._merchant_feed(query)
        elif route == api.COMPANY_INFO_PATH:
            server.count("company_info")
            self._company_info(query)
        elif (match := _DETAIL.match(parts.path)) is not None:
            server.count("detail")
            self._detail(match.group(1), query.get("sld", ""))
        else:
            server.count("not_found")
            self._send(HTTPStatus.NOT_FOUND, NOT_FOUND_PAGE.encode(), "text/html; charset=utf-8")

    # --- endpoints ---------------------------------------------------------------------------

    def _feed(self, query: dict[str, str]) -> None:
        if not self._check_signature(query, api.FEED_SIGNED):
            return
        field_text = query.get("field", "")
        if query.get("type") != "1" or (field_text and not field_text.isdigit()):
            self._status(api.CODE_BAD_REQUEST, "参数错误")
            return
        posts = self.server.market.feed(int(field_text) if field_text else None)
        self._page(posts, query, "lists", date_timestamp=False)

    def _merchant_feed(self, query: dict[str, str]) -> None:
        if not self._check_signature(query, api.MERCHANT_FEED_SIGNED):
            return
        if query.get("type") != "1":
            self._status(api.CODE_BAD_REQUEST, "参数错误")
            return
        posts = self.server.market.merchant_posts(query.get("couid", ""))
        self._page(posts, query, "complaints", date_timestamp=True)

    def _company_info(self, query: dict[str, str]) -> None:
        info = self.server.market.company_info(query.get("couid", ""))
        if info is None:
            self._status(api.CODE_PAGE_NOT_FOUND, "商家不存在")
            return
        self._ok(info)

    def _detail(self, sn: str, sld: str) -> None:
        post = self.server.market.by_sn.get(sn)
        if post is None or sld != post.sld:
            self.server.count("detail_refused")
            self._send(HTTPStatus.NOT_FOUND, NOT_FOUND_PAGE.encode(), "text/html; charset=utf-8")
            return
        page = detail_page(post, self.headers.get("Host", self._host()))
        self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8")

    # --- helpers -----------------------------------------------------------------------------

    def _page(
        self, posts: list[SimPost], query: dict[str, str], key: str, *, date_timestamp: bool
    ) -> None:
        options = self.server.options
        try:
            page = int(query.get("page", "1"))
            size = int(query.get("page_size", str(api.PAGE_SIZE)))
        except ValueError:
            self._status(api.CODE_BAD_REQUEST, "参数错误")
            return
        size = max(1, min(size, options.page_size_cap))
        page_amount = max(1, math.ceil(len(posts) / size))
        if page < 1 or page > min(page_amount, options.max_pages):
            self._status(api.CODE_PAGE_NOT_FOUND, "页面不存在")
            return
        host = self.headers.get("Host", self._host())
        items = [
            list_item(p, host, date_timestamp=date_timestamp)
            for p in posts[(page - 1) * size : page * size]
        ]
        pager = {
            "current": page,
            "page_amount": page_amount,
            "item_count": len(posts),
            "next": page + 1 if page < page_amount else 0,
        }
        self._ok({key: items, "pager": pager})

    def _check_signature(self, query: dict[str, str], signed: tuple[str, ...]) -> bool:
        ts, rs, signature = query.get("ts", ""), query.get("rs", ""), query.get("signature", "")
        if not (ts.isdigit() and len(ts) == 13 and len(rs) == 16) or any(
            k not in query for k in signed
        ):
            self.server.count("bad_signature")
            self._status(api.CODE_BAD_SIGNATURE, "签名错误")
            return False
        if api.sign(ts, rs, [query[k] for k in signed]) != signature:
            self.server.count("bad_signature")
            self._status(api.CODE_BAD_SIGNATURE, "签名错误")
            return False
        if abs(self.server.clock() - int(ts) / 1000.0) > self.server.options.signature_ttl_s:
            self.server.count("stale_signature")
            self._status(api.CODE_STALE_SIGNATURE, "请求已过期")
            return False
        return True

    def _host(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def _ok(self, data: Any) -> None:
        self._json(
            {
                "result": {
                    "status": {"code": api.CODE_OK, "msg": "成功"},
                    "timestamp": self._now(),
                    "data": data,
                }
            }
        )

    def _status(self, code: int, msg: str) -> None:
        self._json(
            {"result": {"status": {"code": code, "msg": msg}, "timestamp": self._now(), "data": {}}}
        )

    def _now(self) -> str:
        return time.strftime("%a %b %d %H:%M:%S +0800 %Y", time.localtime(self.server.clock()))

    def _json(self, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(HTTPStatus.OK, body, "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SimServer:
    """Run the simulator in a background thread (tests) or in the foreground (the CLI)."""

    def __init__(
        self,
        market: Marketplace,
        options: ServerOptions | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.httpd = SimHTTPServer(market, options or ServerOptions(), clock)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self.httpd.base_url

    @property
    def stats(self) -> dict[str, int]:
        with self.httpd.stats_lock:
            return dict(self.httpd.stats)

    def start(self) -> SimServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="tousu-sim", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
