"""A seeded synthetic complaint marketplace for the local 黑猫投诉 simulator.

Notation: W weeks of history ending at ``end`` (exclusive, a Monday), N complaint records
(one ``sn`` each), M merchants. Everything is drawn from one ``random.Random(seed)`` so the
same configuration always yields the same site, byte for byte.

What it models, and why:
- Platforms (淘宝, 拼多多, 抖音, ...) are merchants too: their customer-service accounts draw a
  large share of complaints, under several ``cotitle`` variants (拼多多客户服务 / 拼多多 / 拼多多平台)
  so that merchant resolution has real work to do.
- Shops and service businesses have heavy-tailed sizes (log-normal weights), a sector that
  shapes their stories, and their own propensity for each label.
- About 3% of posts are filed against two merchants (usually a shop and its platform): two
  consecutive ``sn`` with the same text, as on the real site.
- Optionally (``near_duplicate_rate``, off by default) a complainant posts the same complaint
  again 1-30 days later with small edits (an opener such as 再次投诉, a follow-up sentence, a
  sentence dropped, a word swapped, a prefix on the title), against the same merchant or, for
  a platform, another of its accounts; the truth file records ``repost_of`` for each.
- Planted episodes, written to the truth file: exit scams (a rise of non-delivery, then
  no-customer-service and exit-scam complaints over 2-3 weeks, then silence) and one platform
  whose share of fake shipments rises steadily over the whole span.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from crawler.heimao_api import INDUSTRY_FIELDS
from crawler.sim.grammar import (
    ComposedPost,
    OtherTopic,
    PostSpec,
    Sector,
    compose_post,
    compose_reply,
    merchant_name,
)
from pipeline.contract import CHINA_TZ, ComplaintStatus
from pipeline.taxonomy import LABELS, Label

DEFAULT_END = date(2026, 11, 16)  # a Monday: the default span is whole ISO weeks
FIRST_SN = 17_380_000_000

# Platform key -> (cotitle variants, share of the platform's own-account complaints).
PLATFORMS: dict[str, tuple[tuple[str, ...], float]] = {
    "拼多多": (("拼多多客户服务", "拼多多", "拼多多平台"), 0.22),
    "淘宝": (("淘宝网", "淘宝"), 0.17),
    "抖音": (("抖音电商", "抖音"), 0.14),
    "京东": (("京东商城", "京东"), 0.10),
    "快手": (("快手电商", "快手"), 0.10),
    "天猫": (("天猫商城", "天猫"), 0.08),
    "微信小程序": (("微信支付", "腾讯微信"), 0.06),
    "闲鱼": (("闲鱼",), 0.05),
    "唯品会": (("唯品会",), 0.03),
    "得物": (("得物App", "得物"), 0.03),
    "美团": (("美团",), 0.02),
}
# Share of all complaints filed against platform accounts rather than shops.
PLATFORM_ACCOUNT_SHARE = 0.35

# Sector -> (industry field id, relative number of merchants, platforms it sells on
# with weights; None means offline or direct).
SECTORS: dict[Sector, tuple[int, float, dict[str | None, float]]] = {
    Sector.PHONE_PRESALE: (1, 0.6, {"微信小程序": 0.6, "拼多多": 0.2, "闲鱼": 0.2}),
    Sector.ELECTRONICS: (1, 1.2, {"京东": 0.3, "拼多多": 0.3, "淘宝": 0.25, "抖音": 0.15}),
    Sector.APPLIANCE: (1, 0.7, {"京东": 0.4, "天猫": 0.3, "拼多多": 0.3}),
    Sector.CLOTHING: (2, 1.6, {"淘宝": 0.3, "抖音": 0.25, "快手": 0.25, "拼多多": 0.2}),
    Sector.COSMETICS: (2, 1.0, {"抖音": 0.35, "快手": 0.25, "淘宝": 0.2, "得物": 0.2}),
    Sector.FOOD: (3, 1.0, {"拼多多": 0.35, "快手": 0.3, "抖音": 0.2, "美团": 0.15}),
    Sector.FURNITURE: (4, 0.6, {"天猫": 0.4, "淘宝": 0.3, "京东": 0.3}),
    Sector.RENOVATION: (4, 0.6, {None: 0.7, "美团": 0.3}),
    Sector.EDUCATION: (5, 0.5, {None: 0.6, "微信小程序": 0.4}),
    Sector.FITNESS: (7, 0.5, {None: 0.6, "美团": 0.4}),
    Sector.MEMBERSHIP: (7, 0.6, {"微信小程序": 0.5, None: 0.3, "抖音": 0.2}),
    Sector.TRAVEL: (8, 0.4, {None: 0.5, "美团": 0.3, "抖音": 0.2}),
}
PLATFORM_FIELD = 6
# Sectors in which a merchant can run off with prepayments: where planted scams live.
SCAM_SECTORS = (Sector.PHONE_PRESALE, Sector.RENOVATION, Sector.FITNESS, Sector.MEMBERSHIP)

# Background probability of each label for an average merchant.
BASE_LABEL_RATE: dict[Label, float] = {
    Label.FAKE_SHIPMENT: 0.13,
    Label.NO_CUSTOMER_SERVICE: 0.12,
    Label.REFUND_REFUSAL: 0.24,
    Label.EXIT_SCAM: 0.004,
}
# Services have no parcels: fake shipment is rare there.
SERVICE_SECTORS = (Sector.RENOVATION, Sector.EDUCATION, Sector.FITNESS, Sector.TRAVEL)

OTHER_TOPICS: tuple[tuple[OtherTopic, float], ...] = (
    (OtherTopic.QUALITY, 0.24),
    (OtherTopic.FALSE_AD, 0.14),
    (OtherTopic.DELIVERY_DELAY, 0.10),
    (OtherTopic.PRICING, 0.08),
    (OtherTopic.WRONG_ITEM, 0.09),
    (OtherTopic.DAMAGED_IN_TRANSIT, 0.08),
    (OtherTopic.AUTO_RENEWAL, 0.08),
    (OtherTopic.ACCOUNT, 0.06),
    (OtherTopic.COMPENSATION, 0.07),
    (OtherTopic.ATTITUDE, 0.06),
)

AUTHOR_TITLES = ("正义喵", "友爱喵", "机灵喵", "勇敢喵", "热心喵", "淡定喵", "可爱喵", "认真喵")
AVATAR = "https://n.sinaimg.cn/finance/235fa465/20230314/{n}.png"


@dataclass(frozen=True)
class SimConfig:
    """What the simulator generates. Validated on construction."""

    seed: int = 7
    weeks: int = 26
    end: date = DEFAULT_END
    complaints: int = 3000
    merchants: int = 300
    exit_scams: int = 2
    platform_rise: bool = True
    multi_merchant_rate: float = 0.03
    trap_rate: float = 0.12
    near_duplicate_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.weeks < 4:
            raise ValueError(f"weeks must be at least 4, got {self.weeks}")
        if self.end.weekday() != 0:
            raise ValueError(
                f"end must be a Monday (whole ISO weeks), got {self.end} ({self.end:%A})"
            )
        min_merchants = len(PLATFORMS) * 3 + 10
        if self.merchants < min_merchants:
            raise ValueError(f"merchants must be at least {min_merchants}, got {self.merchants}")
        if self.complaints < 100:
            raise ValueError(f"complaints must be at least 100, got {self.complaints}")
        if self.exit_scams and self.weeks < 10:
            raise ValueError("planted exit scams need at least 10 weeks of history")
        if not 0 <= self.multi_merchant_rate <= 0.5:
            raise ValueError(
                f"multi_merchant_rate must be in [0, 0.5], got {self.multi_merchant_rate}"
            )
        if not 0 <= self.near_duplicate_rate <= 0.3:
            raise ValueError(
                f"near_duplicate_rate must be in [0, 0.3], got {self.near_duplicate_rate}"
            )

    @property
    def start(self) -> date:
        return self.end - timedelta(weeks=self.weeks)

    def week_start(self, week: int) -> date:
        return self.start + timedelta(weeks=week)


@dataclass
class Merchant:
    couid: str
    name: str  # cotitle as the site shows it
    canonical: str  # the merchant (or platform) this account belongs to
    platform: str | None  # where it sells; for a platform account, the platform itself
    sector: Sector | None  # None for platform accounts (they get every sector)
    field: int
    weight: float
    is_platform: bool
    responsiveness: float  # probability of replying to a complaint
    label_rate: dict[Label, float]
    last_week: int | None = None  # silent after this week (planted exit scams)
    planted: str | None = None


@dataclass
class TimelineStep:
    status: str
    at: datetime
    actor: str
    text: str


@dataclass
class SimPost:
    sn: str
    post_id: int  # shared by the records of one post filed against several merchants
    merchant: Merchant
    created_at: datetime  # UTC
    labels: frozenset[Label]
    topic: OtherTopic | None
    trap: bool
    platform: str | None  # where the complainant bought
    text: ComposedPost
    status: ComplaintStatus
    timeline: list[TimelineStep]
    author: str
    avatar: str
    episode: str | None = None
    sld: str = ""
    votes: int = 0
    repost_of: int | None = None  # post_id of the post this one re-posts with small edits


@dataclass
class Episode:
    kind: str  # "exit_scam" | "platform_fake_shipment_rise"
    target: str  # merchant couid or platform key
    name: str
    start_week: int
    end_week: int
    weekly: dict[int, dict[str, int]] = field(default_factory=dict)


@dataclass
class _Draft:
    """A post before sns are assigned."""

    merchants: list[Merchant]
    created_at: datetime
    labels: frozenset[Label]
    topic: OtherTopic | None
    trap: bool
    platform: str | None
    spec: PostSpec
    episode: str | None
    repost_of: _Draft | None = None
    # Set once realized, for the re-posts that copy it.
    text: ComposedPost | None = None
    post_id: int = -1


class Marketplace:
    """The generated site content, indexed for serving."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        rng = random.Random(config.seed)
        self.merchants: list[Merchant] = _make_merchants(rng, config)
        self.episodes: list[Episode] = []
        drafts = _make_drafts(rng, config, self.merchants, self.episodes)
        self.posts: list[SimPost] = _realize(rng, config, drafts)
        self.by_sn: dict[str, SimPost] = {p.sn: p for p in self.posts}
        self.by_couid: dict[str, Merchant] = {m.couid: m for m in self.merchants}
        # Newest first, as every feed lists them.
        self.newest_first: list[SimPost] = sorted(self.posts, key=lambda p: p.sn, reverse=True)
        self._by_merchant: dict[str, list[SimPost]] = defaultdict(list)
        self._by_field: dict[int, list[SimPost]] = defaultdict(list)
        for post in self.newest_first:
            self._by_merchant[post.merchant.couid].append(post)
            self._by_field[post.merchant.field].append(post)

    def feed(self, field_id: int | None = None) -> list[SimPost]:
        return self.newest_first if field_id is None else self._by_field.get(field_id, [])

    def merchant_posts(self, couid: str) -> list[SimPost]:
        return self._by_merchant.get(couid, [])

    def company_info(self, couid: str) -> dict[str, str] | None:
        merchant = self.by_couid.get(couid)
        if merchant is None:
            return None
        posts = self.merchant_posts(couid)
        now = datetime.combine(self.config.end, datetime.min.time(), tzinfo=CHINA_TZ)
        recent = [p for p in posts if now - p.created_at <= timedelta(days=30)]
        replied = {ComplaintStatus.REPLIED, ComplaintStatus.COMPLETED}

        def count(items: list[SimPost], statuses: set[ComplaintStatus] | None = None) -> str:
            return str(sum(1 for p in items if statuses is None or p.status in statuses))

        done = {ComplaintStatus.COMPLETED}
        score = 1 + round(4 * merchant.responsiveness)
        return {
            "name": merchant.name,
            "avatar": "",
            "eval_points": str(score),
            "valid_amt": count(posts),
            "replied_amt": count(posts, replied),
            "completed_amt": count(posts, done),
            "valid30d": count(recent),
            "reply30d": count(recent, replied),
            "complete30d": count(recent, done),
        }

    def truth(self) -> dict[str, object]:
        """Everything the simulator planted, for tests and the demo's self-check."""
        cfg = self.config
        return {
            "config": {
                "seed": cfg.seed,
                "weeks": cfg.weeks,
                "start": cfg.start.isoformat(),
                "end": cfg.end.isoformat(),
                "complaints": cfg.complaints,
                "merchants": cfg.merchants,
                "exit_scams": cfg.exit_scams,
                "platform_rise": cfg.platform_rise,
                "multi_merchant_rate": cfg.multi_merchant_rate,
                "near_duplicate_rate": cfg.near_duplicate_rate,
            },
            "platforms": {key: list(names) for key, (names, _) in PLATFORMS.items()},
            "merchants": [
                {
                    "couid": m.couid,
                    "name": m.name,
                    "canonical": m.canonical,
                    "platform": m.platform,
                    "sector": m.sector.value if m.sector else None,
                    "field": m.field,
                    "is_platform": m.is_platform,
                    "planted": m.planted,
                }
                for m in self.merchants
            ],
            "episodes": [
                {
                    "kind": e.kind,
                    "target": e.target,
                    "name": e.name,
                    "start_week": _iso_week(cfg.week_start(e.start_week)),
                    "end_week": _iso_week(cfg.week_start(e.end_week)),
                    "start_date": cfg.week_start(e.start_week).isoformat(),
                    "weekly": {
                        _iso_week(cfg.week_start(w)): counts
                        for w, counts in sorted(e.weekly.items())
                    },
                }
                for e in self.episodes
            ],
            "posts": [
                {
                    "sn": p.sn,
                    "post_id": p.post_id,
                    "couid": p.merchant.couid,
                    "merchant": p.merchant.canonical,
                    "platform": p.platform,
                    "labels": sorted(label.value for label in p.labels),
                    "topic": p.topic.value if p.topic else None,
                    "trap": p.trap,
                    "created_at": p.created_at.isoformat(),
                    "episode": p.episode,
                    "pii": [list(item) for item in p.text.pii],
                    "repost_of": p.repost_of,
                }
                for p in self.posts
            ],
        }


def sld_for(seed: int, sn: str) -> str:
    """The 32-hex ``sld`` token a detail page needs; stable per seed and sn."""
    return hashlib.md5(f"{seed}:{sn}".encode(), usedforsecurity=False).hexdigest()


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# --- merchants -----------------------------------------------------------------------------


def _couid(rng: random.Random, used: set[str]) -> str:
    while True:
        couid = str(rng.randrange(1_000_000_000, 9_999_999_999))
        if couid not in used:
            used.add(couid)
            return couid


def _make_merchants(rng: random.Random, cfg: SimConfig) -> list[Merchant]:
    used: set[str] = set()
    merchants: list[Merchant] = []
    platform_total = PLATFORM_ACCOUNT_SHARE
    for key, (names, share) in PLATFORMS.items():
        # The main account takes most; variants split the rest.
        splits = [0.75] + [0.25 / (len(names) - 1)] * (len(names) - 1) if len(names) > 1 else [1.0]
        for name, split in zip(names, splits, strict=True):
            merchants.append(
                Merchant(
                    couid=_couid(rng, used),
                    name=name,
                    canonical=key,
                    platform=key,
                    sector=None,
                    field=PLATFORM_FIELD,
                    weight=platform_total * share * split,
                    is_platform=True,
                    responsiveness=rng.uniform(0.55, 0.9),
                    label_rate=dict(BASE_LABEL_RATE),
                )
            )
    n_shops = cfg.merchants - len(merchants)
    sectors = list(SECTORS)
    sector_weights = [SECTORS[s][1] for s in sectors]
    names_seen: set[str] = set()
    shops: list[Merchant] = []
    for _ in range(n_shops):
        sector = rng.choices(sectors, sector_weights)[0]
        field_id, _, platform_weights = SECTORS[sector]
        platform = rng.choices(list(platform_weights), list(platform_weights.values()))[0]
        name = merchant_name(rng, sector, platform)
        while name in names_seen:
            name = merchant_name(rng, sector, platform)
        names_seen.add(name)
        rates = {
            label: min(0.8, base * rng.lognormvariate(0.0, 0.5))
            for label, base in BASE_LABEL_RATE.items()
        }
        if sector in SERVICE_SECTORS:
            rates[Label.FAKE_SHIPMENT] *= 0.1
        if sector not in SCAM_SECTORS:
            rates[Label.EXIT_SCAM] *= 0.3
        shops.append(
            Merchant(
                couid=_couid(rng, used),
                name=name,
                canonical=name,
                platform=platform,
                sector=sector,
                field=field_id,
                weight=rng.lognormvariate(0.0, 1.1),
                is_platform=False,
                responsiveness=rng.betavariate(2.0, 1.5),
                label_rate=rates,
            )
        )
    shop_total = sum(m.weight for m in shops)
    for shop in shops:
        shop.weight *= (1 - platform_total) / shop_total
    merchants.extend(shops)
    assert all(f in INDUSTRY_FIELDS for f in {m.field for m in merchants})
    return merchants


# --- posts ---------------------------------------------------------------------------------


def _draw_labels(rng: random.Random, rates: dict[Label, float]) -> frozenset[Label]:
    labels = {label for label in LABELS if rng.random() < rates[label]}
    # Complainants who report a vanished merchant have usually also tried to reach it.
    if Label.EXIT_SCAM in labels and rng.random() < 0.6:
        labels.add(Label.NO_CUSTOMER_SERVICE)
    return frozenset(labels)


def _draw_topic(rng: random.Random) -> OtherTopic:
    topics = [topic for topic, _ in OTHER_TOPICS]
    weights = [weight for _, weight in OTHER_TOPICS]
    return rng.choices(topics, weights)[0]


def _random_time(rng: random.Random, day0: date, days: int = 7) -> datetime:
    """A posting time within ``days`` from ``day0``, weighted to waking hours (China time)."""
    day = day0 + timedelta(days=rng.randrange(days))
    hour = min(23, max(0, int(rng.gauss(14, 4.5))))
    local = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60))
    return local.replace(tzinfo=CHINA_TZ).astimezone(UTC)


def _spec(
    rng: random.Random,
    labels: frozenset[Label],
    merchant: Merchant,
    created: datetime,
    trap: bool,
) -> tuple[PostSpec, str | None, OtherTopic | None]:
    topic = None if labels else _draw_topic(rng)
    if merchant.is_platform:
        platform = merchant.platform
        sector = rng.choice([s for s in SECTORS if s not in SERVICE_SECTORS] + [Sector.GENERAL])
        shop = merchant_name(rng, sector, platform)
        mention = True
    else:
        platform = merchant.platform
        sector = merchant.sector or Sector.GENERAL
        shop = merchant.name
        mention = platform is not None and rng.random() < 0.75
    spec = PostSpec(
        labels=labels,
        topic=topic,
        merchant=shop,
        platform=platform,
        mention_platform=mention,
        sector=sector,
        created=created.astimezone(CHINA_TZ).date(),
        trap=trap,
    )
    return spec, platform, topic


def _weekly_volume(cfg: SimConfig, total: int, rng: random.Random) -> list[int]:
    # A mild upward trend with noise: complaint sites grow.
    raw = [(1.0 + 0.4 * w / cfg.weeks) * rng.uniform(0.85, 1.15) for w in range(cfg.weeks)]
    scale = total / sum(raw)
    counts = [int(x * scale) for x in raw]
    for i in range(total - sum(counts)):
        counts[i % cfg.weeks] += 1
    return counts


def _plant_exit_scams(
    rng: random.Random, cfg: SimConfig, merchants: list[Merchant], episodes: list[Episode]
) -> list[_Draft]:
    candidates = [m for m in merchants if m.sector in SCAM_SECTORS and not m.is_platform]
    # Mid-sized businesses: big enough to hurt many buyers, small enough to vanish.
    candidates.sort(key=lambda m: m.weight)
    pool = candidates[len(candidates) // 3 : len(candidates) * 5 // 6] or candidates
    chosen: list[Merchant] = []
    for m in rng.sample(pool, len(pool)):
        if len(chosen) == cfg.exit_scams:
            break
        if all(m.sector != c.sector for c in chosen) or len(pool) < 4 * cfg.exit_scams:
            chosen.append(m)
    drafts: list[_Draft] = []
    # Episodes start in the second half so history precedes them and silence follows.
    lo, hi = max(4, cfg.weeks // 3), cfg.weeks - 5
    for merchant in chosen:
        start = rng.randint(lo, hi)
        length = rng.choice((2, 3))
        merchant.planted = "exit_scam"
        merchant.last_week = start + length
        episode = Episode("exit_scam", merchant.couid, merchant.name, start, start + length)
        # Week by week: non-delivery first, then silence and vanishing.
        plan = [
            [({Label.FAKE_SHIPMENT}, 0.6), ({Label.FAKE_SHIPMENT, Label.REFUND_REFUSAL}, 0.4)],
            [
                ({Label.FAKE_SHIPMENT, Label.NO_CUSTOMER_SERVICE}, 0.5),
                ({Label.EXIT_SCAM, Label.FAKE_SHIPMENT, Label.NO_CUSTOMER_SERVICE}, 0.3),
                ({Label.REFUND_REFUSAL, Label.NO_CUSTOMER_SERVICE}, 0.2),
            ],
            [
                ({Label.EXIT_SCAM, Label.FAKE_SHIPMENT, Label.NO_CUSTOMER_SERVICE}, 0.5),
                ({Label.EXIT_SCAM, Label.NO_CUSTOMER_SERVICE}, 0.3),
                ({Label.EXIT_SCAM, Label.REFUND_REFUSAL, Label.NO_CUSTOMER_SERVICE}, 0.2),
            ],
            [({Label.EXIT_SCAM, Label.NO_CUSTOMER_SERVICE}, 0.7), ({Label.EXIT_SCAM}, 0.3)],
        ]
        volumes = [rng.randint(3, 5), rng.randint(6, 9), rng.randint(9, 13), rng.randint(5, 8)]
        if length == 2:
            plan = [plan[0], plan[2], plan[3]]
            volumes = [volumes[0] + 2, volumes[2], volumes[3]]
        if merchant.sector in SERVICE_SECTORS:
            # A renovation firm or gym does not ship parcels: it stops turning up and
            # stops answering instead.
            plan = [
                [(set(s) - {Label.FAKE_SHIPMENT} or {Label.REFUND_REFUSAL}, w) for s, w in week]
                for week in plan
            ]
        for offset, (week_plan, volume) in enumerate(zip(plan, volumes, strict=True)):
            week = start + offset
            counts: dict[str, int] = defaultdict(int)
            for _ in range(volume):
                sets, weights = zip(*week_plan, strict=True)
                labels = frozenset(rng.choices(sets, weights)[0])
                created = _random_time(rng, cfg.week_start(week))
                spec, platform, topic = _spec(rng, labels, merchant, created, trap=False)
                targets = [merchant]
                if platform and rng.random() < 0.15:
                    targets.append(_platform_account(rng, merchants, platform))
                drafts.append(
                    _Draft(targets, created, labels, topic, False, platform, spec, "exit_scam")
                )
                counts["posts"] += 1
                for label in labels:
                    counts[label.value] += 1
            episode.weekly[week] = dict(counts)
        episodes.append(episode)
    return drafts


def _platform_account(rng: random.Random, merchants: list[Merchant], platform: str) -> Merchant:
    accounts = [m for m in merchants if m.is_platform and m.canonical == platform]
    return rng.choices(accounts, [m.weight for m in accounts])[0]


def _make_drafts(
    rng: random.Random, cfg: SimConfig, merchants: list[Merchant], episodes: list[Episode]
) -> list[_Draft]:
    drafts = _plant_exit_scams(rng, cfg, merchants, episodes) if cfg.exit_scams else []
    rise_platform = "快手" if cfg.platform_rise else None
    rise_episode = (
        Episode("platform_fake_shipment_rise", "快手", "快手", 0, cfg.weeks - 1)
        if rise_platform
        else None
    )
    used = sum(len(d.merchants) for d in drafts)
    volumes = _weekly_volume(cfg, cfg.complaints - used, rng)
    for week, volume in enumerate(volumes):
        active = [m for m in merchants if m.last_week is None or week <= m.last_week]
        # Planted scam merchants post only through their episode once it has begun.
        active = [m for m in active if not (m.planted and week >= _episode_start(episodes, m))]
        weights = [m.weight for m in active]
        if rise_platform:
            # The rising platform also grows in volume, by half over the span.
            boost = 1.0 + 0.5 * week / cfg.weeks
            weights = [
                w * boost if m.platform == rise_platform else w
                for m, w in zip(active, weights, strict=True)
            ]
        counts: dict[str, int] = defaultdict(int)
        remaining = volume
        while remaining > 0:
            merchant = rng.choices(active, weights)[0]
            rates = merchant.label_rate
            if rise_platform and merchant.platform == rise_platform:
                rates = dict(rates)
                rates[Label.FAKE_SHIPMENT] = 0.10 + 0.35 * week / max(1, cfg.weeks - 1)
            labels = _draw_labels(rng, rates)
            created = _random_time(rng, cfg.week_start(week))
            trap = rng.random() < cfg.trap_rate
            spec, platform, topic = _spec(rng, labels, merchant, created, trap)
            targets = [merchant]
            if (
                remaining >= 2
                and not merchant.is_platform
                and platform in PLATFORMS
                and rng.random() < cfg.multi_merchant_rate
            ):
                targets.append(_platform_account(rng, merchants, platform))
            episode = (
                "platform_fake_shipment_rise"
                if rise_platform and platform == rise_platform
                else None
            )
            draft = _Draft(targets, created, labels, topic, trap, platform, spec, episode)
            drafts.append(draft)
            remaining -= len(targets)
            if (
                cfg.near_duplicate_rate
                and remaining >= 1
                and not merchant.planted
                and rng.random() < cfg.near_duplicate_rate
            ):
                repost = _repost(rng, cfg, merchants, draft)
                if repost is not None:
                    drafts.append(repost)
                    remaining -= 1
            if episode:
                counts["posts"] += 1
                for label in labels:
                    counts[label.value] += 1
        if rise_episode is not None:
            rise_episode.weekly[week] = dict(counts)
    if rise_episode is not None:
        episodes.append(rise_episode)
    return drafts


# Small edits a complainant makes when posting the same complaint again.
REPOST_OPENERS = (
    "再次投诉：",
    "第二次投诉了，",
    "上次投诉没有结果，",
    "重新投诉一下，",
    "之前投诉过，",
)
REPOST_CLOSERS = (
    "到现在还是没有处理结果。",
    "已经过去这么久了，商家依旧没有回应。",
    "希望平台尽快介入处理！",
    "请尽快处理，谢谢。",
)
REPOST_TITLE_PREFIXES = ("再次投诉：", "【二次投诉】", "求助：", "还是没解决：")
REPOST_SWAPS = (
    ("商家", "店家"),
    ("客服", "售后"),
    ("一直", "始终"),
    ("现在", "目前"),
    ("联系", "联络"),
    ("退款", "退钱"),
)


def _repost(
    rng: random.Random, cfg: SimConfig, merchants: list[Merchant], original: _Draft
) -> _Draft | None:
    """The same complaint posted again later, against the same merchant or, for a platform,
    maybe another of its accounts; None when the span ends first."""
    created = original.created_at + timedelta(days=rng.uniform(1, 30))
    end = datetime.combine(cfg.end, datetime.min.time(), tzinfo=CHINA_TZ).astimezone(UTC)
    if created >= end:
        return None
    merchant = original.merchants[0]
    if merchant.is_platform and rng.random() < 0.5:
        others = [
            m
            for m in merchants
            if m.is_platform and m.canonical == merchant.canonical and m.couid != merchant.couid
        ]
        if others:
            merchant = rng.choice(others)
    return _Draft(
        [merchant],
        created,
        original.labels,
        original.topic,
        original.trap,
        original.platform,
        original.spec,
        original.episode,
        repost_of=original,
    )


def _edit_repost(rng: random.Random, text: ComposedPost) -> ComposedPost:
    """One or two small edits of a post's text; the planted personal data that survives."""
    title, body = text.title, text.body
    for edit in rng.sample(("opener", "closer", "drop", "swap", "title"), rng.choice((1, 2))):
        if edit == "swap":
            present = [(a, b) for a, b in REPOST_SWAPS if a in body]
            if present:
                old, new = rng.choice(present)
                body = body.replace(old, new, 1)
                continue
            edit = "closer"
        if edit == "drop":
            sentences = [s for s in body.split("。") if s]
            if len(sentences) >= 3:
                sentences.pop(rng.randrange(1, len(sentences)))
                body = "。".join(sentences) + ("。" if body.endswith("。") else "")
                continue
            edit = "opener"
        if edit == "opener":
            body = rng.choice(REPOST_OPENERS) + body
        elif edit == "closer":
            body = body.rstrip() + ("" if body.rstrip().endswith(("。", "！", "？")) else "。")
            body += rng.choice(REPOST_CLOSERS)
        elif edit == "title":
            title = rng.choice(REPOST_TITLE_PREFIXES) + title
    pii = tuple((kind, value) for kind, value in text.pii if value in body or value in title)
    return ComposedPost(
        title=title,
        body=body,
        issue=text.issue,
        appeal=text.appeal,
        amount=text.amount,
        pii=pii,
    )


def _episode_start(episodes: list[Episode], merchant: Merchant) -> int:
    for episode in episodes:
        if episode.target == merchant.couid:
            return episode.start_week
    return 10**9


def _realize(rng: random.Random, cfg: SimConfig, drafts: list[_Draft]) -> list[SimPost]:
    """Compose texts, assign rising sns in time order and derive statuses and timelines."""
    drafts.sort(key=lambda d: d.created_at)
    end = datetime.combine(cfg.end, datetime.min.time(), tzinfo=CHINA_TZ).astimezone(UTC)
    posts: list[SimPost] = []
    sn = FIRST_SN + rng.randrange(10_000)
    for post_id, draft in enumerate(drafts):
        if draft.repost_of is not None and draft.repost_of.text is not None:
            text = _edit_repost(rng, draft.repost_of.text)
        else:
            text = compose_post(rng, draft.spec)
        draft.text, draft.post_id = text, post_id
        author_n = rng.randrange(len(AUTHOR_TITLES))
        for i, merchant in enumerate(draft.merchants):
            sn += 1 if i else rng.randint(1, 60)  # other complaints on the site fill the gaps
            created = draft.created_at + timedelta(seconds=i)
            status, timeline = _lifecycle(rng, draft, merchant, created, end, text)
            posts.append(
                SimPost(
                    sn=str(sn),
                    post_id=post_id,
                    merchant=merchant,
                    created_at=created,
                    labels=draft.labels,
                    topic=draft.topic,
                    trap=draft.trap,
                    platform=draft.platform,
                    text=text,
                    status=status,
                    timeline=timeline,
                    author=AUTHOR_TITLES[author_n],
                    avatar=AVATAR.format(n=author_n % 5 + 1),
                    episode=draft.episode,
                    sld=sld_for(cfg.seed, str(sn)),
                    votes=int(rng.paretovariate(1.5)) - 1,
                    repost_of=draft.repost_of.post_id if draft.repost_of else None,
                )
            )
    return posts


def _lifecycle(
    rng: random.Random,
    draft: _Draft,
    merchant: Merchant,
    created: datetime,
    end: datetime,
    text: ComposedPost,
) -> tuple[ComplaintStatus, list[TimelineStep]]:
    """Status and timeline as of the end of the span, from the merchant's responsiveness."""
    author = "匿名"
    timeline = [TimelineStep("发起投诉", created, author, text.body)]
    assigned = created + timedelta(hours=rng.uniform(2, 48))
    if assigned > end:
        return ComplaintStatus.PENDING_ASSIGNMENT, timeline
    timeline.append(
        TimelineStep("投诉已分配", assigned, "黑猫投诉", f"已分配至商家【{merchant.name}】处理")
    )
    vanished = merchant.planted == "exit_scam" and draft.episode == "exit_scam"
    replies = not vanished and rng.random() < merchant.responsiveness
    reply_at = assigned + timedelta(days=rng.uniform(0.5, 12))
    if not replies or reply_at > end:
        closed = not replies and (end - created).days > 60 and rng.random() < 0.15
        return (ComplaintStatus.CLOSED if closed else ComplaintStatus.PROCESSING), timeline
    resolved = rng.random() < 0.65
    timeline.append(
        TimelineStep(
            "商家已回复", reply_at, merchant.name, compose_reply(rng, draft.spec, resolved=resolved)
        )
    )
    done_at = reply_at + timedelta(days=rng.uniform(1, 15))
    if done_at > end or rng.random() < 0.3:
        return ComplaintStatus.REPLIED, timeline
    verdict = "问题已解决，满意" if resolved else "商家回复不满意，但已不想再继续"
    timeline.append(TimelineStep("投诉已完成", done_at, author, verdict))
    return ComplaintStatus.COMPLETED, timeline
