"""Downloader middlewares that keep a long crawl alive: ban cool-downs, retry backoff and
fresh signatures.

- :class:`BanCooldownMiddleware`: an HTTP 456 (the site's IP ban) pauses the whole domain
  for ``TOUSU_BAN_COOLDOWN`` seconds, doubling on bans that follow each other up to
  ``TOUSU_BAN_COOLDOWN_MAX``, then retries the request; it never gives up, so a crawl left
  running for days waits out any ban.
- :class:`BackoffRetryMiddleware`: Scrapy's retry (403/429/5xx, timeouts, dropped
  connections; ``RETRY_TIMES``) with exponential backoff: the n-th retry of a request waits
  ``TOUSU_RETRY_BACKOFF * 2**(n-1)`` seconds (+-25 %, capped at ``TOUSU_RETRY_BACKOFF_MAX``)
  without holding up other requests.
- :class:`ResignMiddleware`: a signed request that waited longer than
  ``TOUSU_RESIGN_AFTER`` seconds (backoff, cool-down, a long queue) is signed afresh just
  before it is sent, through the spider's ``resign(request)``.

Everything is counted in the crawl stats (``ban/*``, ``retry/*``, ``signature/*``).
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.utils.asyncio import call_later, sleep

logger = logging.getLogger(__name__)


def backoff_seconds(
    attempt: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Wait before retry number ``attempt`` (1-based): exponential, jittered, capped."""
    jitter = (rng or random).uniform(0.75, 1.25)
    return float(min(cap, base * 2.0 ** max(0, attempt - 1)) * jitter)


def cooldown_seconds(consecutive_bans: int, base: float, cap: float) -> float:
    """Pause after the n-th ban in a row: doubles each time, up to ``cap``."""
    return float(min(cap, base * 2.0 ** max(0, consecutive_bans - 1)))


class BanCooldownMiddleware:
    """Pause a domain after a ban (HTTP 456), then carry on where it stopped."""

    def __init__(self, crawler: Crawler, *, cooldown: float, cooldown_max: float) -> None:
        self.crawler = crawler
        self.cooldown = cooldown
        self.cooldown_max = max(cooldown, cooldown_max)
        self.ban_codes = {int(c) for c in crawler.settings.getlist("TOUSU_BAN_HTTP_CODES", [456])}
        self.paused_until: dict[str, float] = {}
        self.consecutive: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        return cls(
            crawler,
            cooldown=settings.getfloat("TOUSU_BAN_COOLDOWN", 1200.0),
            cooldown_max=settings.getfloat("TOUSU_BAN_COOLDOWN_MAX", 7200.0),
        )

    def _slot_key(self, request: Request) -> str:
        engine = self.crawler.engine
        assert engine is not None
        return str(engine.downloader.get_slot_key(request))

    async def process_request(self, request: Request) -> None:
        key = self._slot_key(request)
        remaining = self.paused_until.get(key, 0.0) - time.monotonic()
        if remaining > 0:
            await sleep(remaining)
        return None

    def process_response(self, request: Request, response: Response) -> Request | Response:
        key = self._slot_key(request)
        stats = self.crawler.stats
        assert stats is not None
        if response.status not in self.ban_codes:
            if response.status < 400:
                self.consecutive.pop(key, None)
            return response
        stats.inc_value(f"ban/http_{response.status}")
        now = time.monotonic()
        if self.paused_until.get(key, 0.0) <= now:
            # A new ban, not a request that was already on its way when the first one came.
            count = self.consecutive.get(key, 0) + 1
            self.consecutive[key] = count
            pause = cooldown_seconds(count, self.cooldown, self.cooldown_max)
            self.paused_until[key] = now + pause
            self._hold_slot(key, pause)
            stats.inc_value("ban/pauses")
            stats.inc_value("ban/pause_seconds", pause)
            logger.warning(
                "%s answered HTTP %d (banned, %d in a row): pausing the domain for %.0f s",
                key,
                response.status,
                count,
                pause,
            )
        retry = request.copy()
        retry.dont_filter = True
        retry.meta["ban_retries"] = int(request.meta.get("ban_retries", 0)) + 1
        return retry

    def _hold_slot(self, key: str, pause: float) -> None:
        """Keep the requests already queued in the domain's download slot from going out.

        Requests still to come wait in :meth:`process_request`; these are past it. Scrapy's
        slot processes its queue only when no timer is pending on it, so a timer for the
        length of the pause holds the queue (the downloader's own delay timer is replaced).
        """
        engine = self.crawler.engine
        assert engine is not None
        downloader = engine.downloader
        slot = downloader.slots.get(key)
        if slot is None:
            return
        if slot.latercall is not None:
            slot.latercall.cancel()
        slot.latercall = call_later(pause, downloader._latercall, slot)


class BackoffRetryMiddleware(RetryMiddleware):  # type: ignore[misc]
    """Scrapy's RetryMiddleware, with an exponential wait before each retry."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.backoff = settings.getfloat("TOUSU_RETRY_BACKOFF", 2.0)
        self.backoff_max = settings.getfloat("TOUSU_RETRY_BACKOFF_MAX", 300.0)

    def _retry(self, request: Request, reason: Any) -> Request | None:
        retry: Request | None = super()._retry(request, reason)
        if retry is not None and self.backoff > 0:
            wait = backoff_seconds(int(retry.meta["retry_times"]), self.backoff, self.backoff_max)
            retry.meta["retry_not_before"] = time.monotonic() + wait
            stats = self.crawler.stats
            stats.inc_value("retry/backoff_seconds", wait)
        return retry

    async def process_request(self, request: Request) -> None:
        not_before = request.meta.get("retry_not_before")
        if not_before is not None:
            remaining = float(not_before) - time.monotonic()
            if remaining > 0:
                await sleep(remaining)
        return None


class ResignMiddleware:
    """Re-sign requests whose signature got old while they waited."""

    def __init__(self, crawler: Crawler, max_age: float) -> None:
        self.crawler = crawler
        self.max_age = max_age

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawler.settings.getfloat("TOUSU_RESIGN_AFTER", 120.0))

    def process_request(self, request: Request) -> Request | None:
        signed_at = request.meta.get("signed_at")
        if signed_at is None or time.time() - float(signed_at) <= self.max_age:
            return None
        spider = self.crawler.spider
        resign = getattr(spider, "resign", None)
        if resign is None:
            return None
        fresh: Request | None = resign(request)
        if fresh is None:
            return None
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("signature/resigned_before_send")
        # Returned to the scheduler, it comes back through here with a fresh signature.
        return fresh
