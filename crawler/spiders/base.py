"""What every complaint spider shares: output paths, politeness switching, and the feed walk
with its durable state.

A site spider subclasses :class:`ComplaintSpider`, sets ``name``, ``site`` and
``default_base_url``, and implements four hooks:

- :meth:`~ComplaintSpider.seed_feeds`: the feeds to walk (index feeds, merchants, searches);
- :meth:`~ComplaintSpider.feed_request`: the request for one page of a feed, whose callback
  is :meth:`~ComplaintSpider.parse_feed`;
- :meth:`~ComplaintSpider.read_feed_page`: a response turned into a :class:`FeedPage` (the
  page's records, whether there is a next page, feeds discovered on it), a
  :class:`FeedEnd` or a request to retry;
- :meth:`~ComplaintSpider.complete_record`: the requests that complete a listed record
  (detail pages), or the record itself.

The base class does the rest with a :class:`~crawler.state.CrawlState`: a new ``sn`` is
stored before its detail page is requested, each feed's position is saved with its page,
records listed by a killed run are fetched again on the next, feeds are walked a few at a
time (``<SITE>_CONCURRENT_FEEDS``), and a feed walked to its end before stops after
``TOUSU_STOP_AFTER_SEEN_PAGES`` pages with nothing new. Output goes to
``<data>/raw/<site>/<run_id>.jsonl`` through the item pipelines.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.state import CrawlState, ItemState, state_path
from pipeline.contract import Site
from pipeline.jsonl import recover_partial
from pipeline.settings import Paths

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
FEED_PRIORITY = 0
# Detail pages first: a page's complaints finish before the next page is fetched, which keeps
# memory flat and the next feed request (signed at creation) fresh.
DETAIL_PRIORITY = 10
INFO_PRIORITY = 5


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


def parse_ids(value: Any, name: str) -> list[str]:
    """A comma-separated list of numeric site ids (merchants), refused if one is not digits."""
    ids = parse_list(value)
    for item in ids:
        if not item.isdigit():
            raise ValueError(f"{name} must be digits, got {item!r}")
    return ids


def parse_cookies(value: str | None) -> dict[str, str]:
    """``"SUB=abc; SUBP=def"`` (as copied from a browser) -> ``{"SUB": "abc", "SUBP": "def"}``."""
    cookies: dict[str, str] = {}
    for part in (value or "").split(";"):
        name, sep, cookie = part.strip().partition("=")
        if sep and name.strip():
            cookies[name.strip()] = cookie.strip()
    return cookies


@dataclass(frozen=True)
class FeedTask:
    """One feed to walk page by page. ``kind`` and ``key`` are the site's (an index feed and
    its filter, a merchant id, a search keyword); ``tab`` is a listing filter of the feed."""

    kind: str
    key: str = ""
    tab: int = 1
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ident(self) -> tuple[str, str, int]:
        return (self.kind, self.key, self.tab)

    def __str__(self) -> str:
        text = self.kind + (f" {self.key}" if self.key else "")
        return text + (f" tab {self.tab}" if self.tab != 1 else "")


@dataclass
class FeedPage:
    """A list page read: its records (contract fields, body maybe only a summary)."""

    records: list[dict[str, Any]]
    has_next: bool
    cursor: dict[str, Any] | None = None
    discovered: list[FeedTask] = field(default_factory=list)
    capped: bool = False  # the site's depth cap ends this feed, not its real end


@dataclass(frozen=True)
class FeedEnd:
    """The feed stops here. ``walked``: it reached its real end. ``keep_open``: it failed
    and the next run should resume it (else it is done for this cycle)."""

    reason: str
    walked: bool = True
    keep_open: bool = False


class ComplaintSpider(scrapy.Spider):
    site: ClassVar[Site]
    default_base_url: ClassVar[str]
    settings_prefix: ClassVar[str]
    _base_url_arg: str | None = None
    _cookies_arg: str | None = None
    run_id: str
    out_dir: Path
    data_paths: Paths

    def __init__(self, *args: Any, base_url: str | None = None, **kwargs: Any) -> None:
        # run_id and polite are read in from_crawler; Scrapy would make them attributes.
        super().__init__(
            *args, **{k: v for k, v in kwargs.items() if k not in ("run_id", "polite")}
        )
        self._base_url_arg = base_url
        self.state: CrawlState | None = None
        self.queue: deque[FeedTask] = deque()
        self.active_feeds = 0
        self.quiet_pages: dict[tuple[str, str, int], int] = {}
        self.in_flight: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider: Self = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.run_id = str(kwargs.get("run_id") or settings.get("TOUSU_RUN_ID") or new_run_id())
        spider.data_paths = Paths.from_env(settings.get("TOUSU_DATA_DIR"))
        spider.out_dir = spider.data_paths.raw_site(cls.site.value)
        fast = settings.getbool("TOUSU_LOOPBACK_FAST")
        if "polite" in kwargs:
            fast = not parse_flag(kwargs["polite"], "polite")
        if fast and is_loopback(spider.base_url):
            # Spider priority: a -s on the command line still wins.
            crawler.settings.setdict(settings.getdict("LOOPBACK_FAST_SETTINGS"), priority="spider")
            logger.info("loopback target %s: politeness off", spider.base_url)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        return spider

    @property
    def base_url(self) -> str:
        """The ``base_url`` argument, else the ``<PREFIX>_BASE_URL`` setting, else the site."""
        if self._base_url_arg:
            return self._base_url_arg.rstrip("/")
        if getattr(self, "crawler", None) is not None:
            return str(self.crawler.settings.get(f"{self.settings_prefix}_BASE_URL")).rstrip("/")
        return self.default_base_url

    def login_cookies(self, env_var: str) -> dict[str, str]:
        """Login cookies: the ``cookies`` argument, else the ``<PREFIX>_COOKIES`` setting,
        else the environment variable ``env_var``; parsed from a ``k=v; k2=v2`` header."""
        text = self._cookies_arg or self.setting("COOKIES") or os.environ.get(env_var)
        return parse_cookies(text)

    # --- output paths ------------------------------------------------------------------------

    @property
    def output_path(self) -> Path:
        return self.out_dir / f"{self.run_id}.jsonl"

    @property
    def rejects_path(self) -> Path:
        return self.out_dir / f"{self.run_id}.rejects.jsonl"

    @property
    def stats_path(self) -> Path:
        return self.out_dir / f"{self.run_id}.stats.json"

    @property
    def merchants_path(self) -> Path:
        """Merchant-info records, one folder down so that ingest does not read them as
        complaints."""
        return self.out_dir / "merchants" / f"{self.run_id}.jsonl"

    # --- the durable state -------------------------------------------------------------------

    def ensure_state(self) -> CrawlState:
        """Open the state (once): recover what a killed run left, reconcile, begin this run."""
        if self.state is not None:
            return self.state
        path = state_path(self.data_paths, self.site.value, self.base_url, self.default_base_url)
        state = CrawlState(path)  # the lock first: never touch files a live crawl writes
        for folder in (self.out_dir, self.merchants_path.parent):
            for recovered in recover_partial(folder):
                logger.warning("recovered %s from an interrupted crawl", recovered)
        report = state.reconcile()
        state.begin_run(self.run_id, self.output_path, self.rejects_path)
        if state.begin_cycle(force=self.crawler.settings.getbool("TOUSU_RESTART_CYCLE")):
            logger.info("state %s: cycle %d starts", path, state.cycle)
        else:
            logger.info("state %s: resuming cycle %d", path, state.cycle)
        stats = self.crawler.stats
        stats.set_value("state/cycle", state.cycle)
        stats.set_value("state/reconciled_runs", report.runs)
        stats.set_value("state/reconciled_records", report.written + report.rejected)
        stats.set_value("state/known_at_start", sum(state.counts().values()))
        self.state = state
        return state

    def mark_written(self, sn: str, state: ItemState = ItemState.WRITTEN) -> None:
        self.in_flight.discard(sn)
        if self.state is not None:
            self.state.mark(sn, state)

    def _on_closed(self, spider: Any, reason: str) -> None:
        if spider is self and self.state is not None and not self.state.closed:
            self.state.close(clean=True)

    # --- hooks -------------------------------------------------------------------------------

    def seed_feeds(self) -> list[FeedTask]:
        raise NotImplementedError

    def feed_request(
        self, task: FeedTask, page: int, cursor: dict[str, Any] | None
    ) -> scrapy.Request:
        raise NotImplementedError

    def read_feed_page(
        self, response: Response, task: FeedTask, page: int
    ) -> FeedPage | FeedEnd | scrapy.Request:
        raise NotImplementedError

    def complete_record(self, record: dict[str, Any]) -> Iterator[Any]:
        yield record

    def on_feed_started(self, task: FeedTask) -> Iterator[Any]:
        """Requests to make when a feed starts (e.g. the merchant's info page)."""
        return iter(())

    def setting(self, name: str) -> Any:
        return self.crawler.settings.get(f"{self.settings_prefix}_{name}")

    # --- the walk ----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        state = self.ensure_state()
        for task in self.seed_feeds():
            state.add_feed(task.kind, task.key, task.tab, task.meta)
        self.queue.extend(FeedTask(f.kind, f.key, f.tab, f.meta) for f in state.open_feeds())
        pending = list(state.pending_records())
        stats = self.crawler.stats
        stats.set_value(f"{self.name}/resumed_records", len(pending))
        if pending:
            logger.info("%d listed complaints from an earlier run are fetched first", len(pending))
        logger.info("crawling %s: %d feeds to walk", self.base_url, len(self.queue))
        for record in pending:
            for request in self._complete(record):
                yield request
        for request in self._next_feeds():
            yield request

    def _complete(self, record: dict[str, Any]) -> Iterator[Any]:
        sn = str(record["sn"])
        if sn in self.in_flight:
            return
        self.in_flight.add(sn)
        yield from self.complete_record(record)

    def _next_feeds(self) -> Iterator[Any]:
        limit = max(1, int(self.setting("CONCURRENT_FEEDS") or 1))
        while self.queue and self.active_feeds < limit:
            task = self.queue.popleft()
            self.active_feeds += 1
            assert self.state is not None
            position = self.state.feed(task.kind, task.key, task.tab)
            page = position.next_page if position else 1
            cursor = position.cursor if position else None
            if position is not None and position.meta and not task.meta:
                task = FeedTask(task.kind, task.key, task.tab, position.meta)
            yield from self.on_feed_started(task)
            yield self.feed_request(task, page, cursor)

    def _finish_feed(self, task: FeedTask, reason: str) -> Iterator[Any]:
        self.active_feeds -= 1
        self.quiet_pages.pop(task.ident, None)
        self.crawler.stats.inc_value(f"{self.name}/feed_end/{reason}")
        logger.debug("%s done: %s", task, reason)
        yield from self._next_feeds()

    def parse_feed(self, response: Response, task: FeedTask, page: int) -> Iterator[Any]:
        assert self.state is not None
        outcome = self.read_feed_page(response, task, page)
        if isinstance(outcome, scrapy.Request):
            yield outcome
            return
        if isinstance(outcome, FeedEnd):
            # A feed that failed stays open: the next run tries it again from this page.
            if not outcome.keep_open:
                self.state.finish_feed(task.ident, walked=outcome.walked)
            yield from self._finish_feed(task, outcome.reason)
            return
        stats = self.crawler.stats
        stats.inc_value(f"{self.name}/pages/{task.kind}")
        for found in outcome.discovered:
            if self.state.add_feed(found.kind, found.key, found.tab, found.meta):
                self.queue.append(found)
                stats.inc_value(f"{self.name}/feeds_discovered/{found.kind}")
        new = []
        seen_here: set[str] = set()
        for record in outcome.records:
            sn = str(record.get("sn") or "")
            if not sn or sn in seen_here:
                continue
            seen_here.add(sn)
            if self.state.is_known(sn):
                stats.inc_value(f"{self.name}/items_seen_again")
            else:
                new.append(record)
        stats.inc_value(f"{self.name}/items_listed", len(new))
        position = self.state.feed(*task.ident)
        walked_before = position is not None and position.walked
        quiet = self.quiet_pages.get(task.ident, 0) + 1 if not new else 0
        self.quiet_pages[task.ident] = quiet
        stop_after = self.crawler.settings.getint("TOUSU_STOP_AFTER_SEEN_PAGES", 2)
        caught_up = walked_before and stop_after > 0 and quiet >= stop_after
        go_on = outcome.has_next and not caught_up
        self.state.record_page(
            task.ident,
            new,
            next_page=page + 1 if go_on else None,
            cursor=outcome.cursor,
            walked=not outcome.has_next,
        )
        for record in new:
            yield from self._complete(record)
        if go_on:
            yield self.feed_request(task, page + 1, outcome.cursor)
        elif caught_up:
            yield from self._finish_feed(task, "caught_up")
        else:
            yield from self._finish_feed(task, "page_cap" if outcome.capped else "end")

    def feed_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        task: FeedTask = request.cb_kwargs["task"]
        logger.error(
            "%s page %s failed: %s (the next run resumes this feed there)",
            task,
            request.cb_kwargs["page"],
            failure.value,
        )
        yield from self._finish_feed(task, "failed")

    def _on_idle(self) -> None:
        # Safety net: feeds still queued but nothing in flight (a callback raised, say).
        if self.queue:
            self.active_feeds = 0
            for request in self._next_feeds():
                self.crawler.engine.crawl(request)
            raise DontCloseSpider

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
