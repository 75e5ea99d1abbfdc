"""The reachability oracle: what the tab strategy reaches under a page cap."""

from __future__ import annotations

from typing import Any

from crawler.sim.reach import feed_window, reachable


def test_without_a_binding_cap_everything_is_reachable(small_market: Any) -> None:
    reach = reachable(small_market, max_pages=1000)
    assert reach.sns == {p.sn for p in small_market.posts} and reach.coverage(small_market) == 1.0


def test_tabs_reach_past_the_cap(small_market: Any) -> None:
    posts = small_market.newest_first
    window = feed_window(posts, max_pages=2)
    assert {p.sn for p in posts[:20]} < {p.sn for p in window}
    assert len({p.sn for p in window}) < len(posts)


def test_discovery_reaches_more_than_the_index_alone(small_market: Any) -> None:
    index_only = reachable(small_market, max_pages=2, follow=False)
    discovered = reachable(small_market, max_pages=2)
    everyone = reachable(
        small_market, max_pages=2, merchants=[m.couid for m in small_market.merchants]
    )
    assert index_only.sns < discovered.sns <= everyone.sns
    assert not index_only.merchants and discovered.merchants
