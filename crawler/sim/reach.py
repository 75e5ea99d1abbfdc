"""What a 黑猫投诉 crawler can reach on a simulated site, computed from the marketplace alone.

The feeds a crawler can list are capped at ``max_pages`` pages each; the spider walks a
feed's replied and completed tabs when the feed is longer than the cap, and the feeds of
every merchant it meets (see :mod:`crawler.spiders.heimao`). This module replays that
strategy on the marketplace (no HTTP), so tests and reports can say which complaints are
reachable at all, by discovery alone or with every merchant given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from crawler import heimao_api as api
from crawler.sim.heimao_site import tab_posts
from crawler.sim.marketplace import Marketplace, SimPost


@dataclass(frozen=True)
class Reach:
    sns: frozenset[str]
    merchants: frozenset[str]  # couids whose feeds were walked

    def coverage(self, market: Marketplace) -> float:
        return len(self.sns) / len(market.posts) if market.posts else 0.0


def feed_window(
    posts: list[SimPost], max_pages: int, page_size: int = api.PAGE_SIZE
) -> list[SimPost]:
    """The posts of a feed a crawler sees: its tabs, each cut at the cap."""
    cap = max_pages * page_size
    seen = list(posts[:cap])
    if len(posts) > cap:
        for tab in api.FEED_TYPES[1:]:
            seen.extend(tab_posts(posts, tab)[:cap])
    return seen


def reachable(
    market: Marketplace,
    *,
    max_pages: int = api.MAX_FEED_PAGES,
    fields: Iterable[int] = tuple(api.INDUSTRY_FIELDS),
    index: bool = True,
    merchants: Iterable[str] = (),
    follow: bool = True,
) -> Reach:
    """Complaints reachable from the index feeds (and ``fields``), the given ``merchants``
    and, with ``follow``, every merchant met on the way."""
    sns: set[str] = set()
    walked: set[str] = set()
    todo = list(merchants)
    if index:
        for field in (None, *fields):
            for post in feed_window(market.feed(field), max_pages):
                sns.add(post.sn)
                if follow:
                    todo.append(post.merchant.couid)
    while todo:
        couid = todo.pop()
        if couid in walked:
            continue
        walked.add(couid)
        for post in feed_window(market.merchant_posts(couid), max_pages):
            sns.add(post.sn)
            if follow and post.merchant.couid not in walked:
                todo.append(post.merchant.couid)
    return Reach(sns=frozenset(sns), merchants=frozenset(walked))
