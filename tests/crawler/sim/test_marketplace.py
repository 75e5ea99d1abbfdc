from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from crawler.sim.marketplace import Marketplace, SimConfig
from pipeline.contract import CHINA_TZ
from pipeline.taxonomy import Label


def test_same_seed_same_site(small_market: Any) -> None:
    again = Marketplace(small_market.config)
    assert json.dumps(again.truth(), sort_keys=True) == json.dumps(
        small_market.truth(), sort_keys=True
    )
    other = Marketplace(SimConfig(seed=12, weeks=12, complaints=400, merchants=60, exit_scams=1))
    assert [p.text.body for p in other.posts[:20]] != [p.text.body for p in small_market.posts[:20]]


def test_exact_count_and_rising_sns(small_market: Any) -> None:
    posts = small_market.posts
    assert len(posts) == 400 == len({p.sn for p in posts})
    assert all(len(p.sn) == 11 and p.sn.isdigit() for p in posts)
    by_sn = sorted(posts, key=lambda p: p.sn)
    assert [p.created_at for p in by_sn] == sorted(p.created_at for p in posts)
    start, end = small_market.config.start, small_market.config.end
    assert all(start <= p.created_at.astimezone(CHINA_TZ).date() < end for p in posts)


def test_multi_merchant_posts_have_consecutive_sns() -> None:
    market = Marketplace(
        SimConfig(
            seed=5, weeks=12, complaints=1500, merchants=80, exit_scams=0, multi_merchant_rate=0.1
        )
    )
    groups: dict[int, list[Any]] = defaultdict(list)
    for post in market.posts:
        groups[post.post_id].append(post)
    multi = [g for g in groups.values() if len(g) > 1]
    assert len(multi) > 40
    for group in multi:
        sns = sorted(int(p.sn) for p in group)
        assert sns == list(range(sns[0], sns[0] + len(group)))
        assert len({p.text.body for p in group}) == 1 and len({p.text.title for p in group}) == 1
        assert len({p.merchant.couid for p in group}) == len(group)
        assert any(p.merchant.is_platform for p in group)


def test_planted_exit_scam_rises_then_goes_silent() -> None:
    market = Marketplace(SimConfig(seed=3, exit_scams=2))
    scams = [e for e in market.episodes if e.kind == "exit_scam"]
    assert len(scams) == 2 and len({e.target for e in scams}) == 2
    for episode in scams:
        posts = market.merchant_posts(episode.target)
        weeks = sorted(episode.weekly)
        assert 3 <= len(weeks) <= 4
        # Non-delivery or refunds first, vanishing later.
        assert Label.EXIT_SCAM.value not in episode.weekly[weeks[0]]
        assert episode.weekly[weeks[-1]].get(Label.EXIT_SCAM.value, 0) > 0
        volumes = [episode.weekly[w]["posts"] for w in weeks]
        assert max(volumes[1:]) > volumes[0]
        # Silence after the episode: nothing filed later than its last week.
        last_day = market.config.week_start(episode.end_week + 1)
        assert all(p.created_at.astimezone(CHINA_TZ).date() < last_day for p in posts)
        assert sum(Label.EXIT_SCAM in p.labels for p in posts) >= 10


def test_platform_fake_shipment_share_rises() -> None:
    market = Marketplace(SimConfig(seed=3, complaints=4000))
    weeks = market.config.weeks

    def share(lo: int, hi: int) -> float:
        posts = [
            p
            for p in market.posts
            if p.platform == "快手"
            and market.config.week_start(lo)
            <= p.created_at.astimezone(CHINA_TZ).date()
            < market.config.week_start(hi)
        ]
        return sum(Label.FAKE_SHIPMENT in p.labels for p in posts) / len(posts)

    assert share(weeks * 2 // 3, weeks) > share(0, weeks // 3) + 0.15


def test_no_episodes_when_disabled() -> None:
    market = Marketplace(SimConfig(seed=3, exit_scams=0, platform_rise=False))
    assert market.episodes == []
    assert sum(Label.EXIT_SCAM in p.labels for p in market.posts) < 30


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weeks": 2}, "weeks"),
        ({"merchants": 5}, "merchants"),
        ({"complaints": 10}, "complaints"),
        ({"multi_merchant_rate": 0.9}, "multi_merchant_rate"),
    ],
)
def test_config_is_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimConfig(**kwargs)


def test_company_info_counts_match_posts(small_market: Any) -> None:
    merchant = max(small_market.merchants, key=lambda m: len(small_market.merchant_posts(m.couid)))
    info = small_market.company_info(merchant.couid)
    posts = small_market.merchant_posts(merchant.couid)
    assert info["name"] == merchant.name and int(info["valid_amt"]) == len(posts)
    assert int(info["completed_amt"]) <= int(info["replied_amt"]) <= len(posts)
    assert small_market.company_info("0") is None
