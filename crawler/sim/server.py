"""The simulator's HTTP server: one complaint site over a :class:`Marketplace`, on loopback.

The site itself is an app (``ServerOptions.site``): 黑猫投诉 (:mod:`crawler.sim.heimao_site`),
聚投诉 (:mod:`crawler.sim.jutousu`) or 电诉宝 (:mod:`crawler.sim.diansubao`). Around it the
server adds what a real site does to a crawler, each optional:

- a rate limit: a client that sends more than ``rate_limit_per_min`` requests in a minute is
  banned for ``ban_seconds``, every request meanwhile answering HTTP 456 (黑猫投诉's ban);
- failures: a share ``error_rate`` of requests answers a random 500/502/503, and a share
  ``stall_rate`` stalls ``stall_seconds`` before answering (a crawler with a shorter timeout
  sees a timeout). Drawn from ``fault_seed``, so a run's failures are reproducible.

``/_sim/stats`` (simulator only, never limited) returns request counters, so tests can see
what a crawler did.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from crawler import heimao_api as api
from crawler.sim.marketplace import Marketplace
from crawler.sim.pages import BANNED_PAGE

logger = logging.getLogger(__name__)

SITES = ("heimao", "jutousu", "diansubao")
ERROR_STATUSES = (500, 502, 503)
ERROR_PAGE = b"<html><body><h1>Service Unavailable</h1></body></html>"


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 0
    site: str = "heimao"
    max_pages: int = api.MAX_FEED_PAGES
    page_size_cap: int = api.PAGE_SIZE
    signature_ttl_s: float = 300.0
    rate_limit_per_min: int | None = None
    ban_seconds: float = 600.0
    error_rate: float = 0.0
    stall_rate: float = 0.0
    stall_seconds: float = 5.0
    fault_seed: int = 0
    # 黑猫投诉: share of desktop detail requests answered in mobile markup (by sn).
    mobile_share: float = 0.0
    # 聚投诉: the session cookie every request must carry ("name=value"; None: no login),
    # and after how many requests that session expires (None: never).
    login_cookie: str | None = None
    session_requests: int | None = None

    def __post_init__(self) -> None:
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the simulator serves loopback only, not {self.host!r}")
        if self.site not in SITES:
            raise ValueError(f"unknown site {self.site!r}; choose one of {', '.join(SITES)}")
        if self.rate_limit_per_min is not None and self.rate_limit_per_min < 1:
            raise ValueError("rate_limit_per_min must be at least 1")
        for name in ("error_rate", "stall_rate", "mobile_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.error_rate + self.stall_rate > 0.9:
            raise ValueError("error_rate + stall_rate above 0.9 leaves nothing to crawl")
        if self.login_cookie is not None and "=" not in self.login_cookie:
            raise ValueError(f"login_cookie must be name=value, got {self.login_cookie!r}")


@dataclass(frozen=True)
class SimRequest:
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    host: str  # host:port as the client addressed it

    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                jar[name.strip()] = value.strip()
        return jar


@dataclass(frozen=True)
class SimResponse:
    status: int
    body: bytes
    content_type: str

    @classmethod
    def json(cls, payload: Any) -> SimResponse:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return cls(HTTPStatus.OK, body, "application/json; charset=utf-8")

    @classmethod
    def html(cls, page: str, status: int = HTTPStatus.OK) -> SimResponse:
        return cls(status, page.encode("utf-8"), "text/html; charset=utf-8")


class SiteApp(Protocol):
    """One simulated site: answers a request, counting what it served under ``count``."""

    def handle(self, request: SimRequest) -> SimResponse: ...


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


class FaultInjector:
    """Decides, reproducibly, which requests fail and how."""

    def __init__(self, error_rate: float, stall_rate: float, seed: int) -> None:
        self.error_rate = error_rate
        self.stall_rate = stall_rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> tuple[str, int]:
        """("error", status), ("stall", 0) or ("ok", 0)."""
        if not (self.error_rate or self.stall_rate):
            return ("ok", 0)
        with self._lock:
            roll = self._rng.random()
            status = self._rng.choice(ERROR_STATUSES)
        if roll < self.error_rate:
            return ("error", status)
        if roll < self.error_rate + self.stall_rate:
            return ("stall", 0)
        return ("ok", 0)


def make_app(
    market: Marketplace,
    options: ServerOptions,
    clock: Callable[[], float],
    count: Callable[[str], None],
) -> SiteApp:
    if options.site == "jutousu":
        from crawler.sim.jutousu import JutousuSite

        return JutousuSite(market, options, count)
    if options.site == "diansubao":
        from crawler.sim.diansubao import DiansubaoSite

        return DiansubaoSite(market, options, count)
    from crawler.sim.heimao_site import HeimaoSite

    return HeimaoSite(market, options, clock, count)


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
        self.faults = FaultInjector(options.error_rate, options.stall_rate, options.fault_seed)
        self.app = make_app(market, options, clock, self.count)
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
    protocol_version = "HTTP/1.1"  # keep-alive, like the real sites behind their CDNs
    # Headers and body go out in separate writes: without this, Nagle's algorithm holds the
    # body until the client's delayed ACK (tens of ms a response on a kept-alive connection).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        server = self.server
        if parts.path == "/_sim/stats":
            with server.stats_lock:
                payload = dict(server.stats)
            self._send(SimResponse.json(payload))
            return
        if server.limiter is not None and not server.limiter.allow(self.client_address[0]):
            server.count("banned_456")
            self._send(SimResponse.html(BANNED_PAGE, api.HTTP_BANNED))
            return
        fault, status = server.faults.draw()
        if fault == "error":
            server.count(f"fault_{status}")
            self._send(SimResponse(status, ERROR_PAGE, "text/html; charset=utf-8"))
            return
        if fault == "stall":
            server.count("fault_stall")
            time.sleep(server.options.stall_seconds)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        request = SimRequest(
            path=parts.path,
            query=query,
            # Title-cased names: clients differ ("User-agent", "User-Agent").
            headers={k.title(): v for k, v in self.headers.items()},
            host=self.headers.get("Host") or self._host(),
        )
        self._send(server.app.handle(request))

    def _host(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def _send(self, response: SimResponse) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a stalled answer past its timeout): nothing to do.
            self.close_connection = True


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
    def app(self) -> SiteApp:
        return self.httpd.app

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
