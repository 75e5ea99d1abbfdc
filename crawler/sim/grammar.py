"""Composes synthetic 黑猫投诉 complaint posts whose labels are known by construction.

The simulator needs text that a classifier cannot learn by heart, yet whose truth is exact: a
post composed for ``{fake_shipment, no_customer_service}`` must say exactly those things per
``shared/docs/taxonomy.md`` and nothing that earns another label. The generator therefore works
in three layers, each with its own source of variety:

1. **Story** (``_Story``): facts fixed once per post and reused by every sentence, so the text
   stays coherent: the goods or prepaid service, the merchant, the venue (online shop or
   premises), dates on or before the posting date, durations computed from those dates, the
   amount, the courier, the register (casual, formal, angry), the sub-kind of each label event
   (never shipped versus fake tracking; refusal said versus procedural; shop gone versus
   premises empty), and the trap, if any.
2. **Beats**: the story is told as an ordered list of sentences: opener, label events in causal
   order (shipment, then refund, then silence, then vanishing), optional merchant excuses,
   escalations, feelings, warnings, demands and closings. Labels that occur together may be told
   in one combined sentence. Optional beats are added until the body reaches a length band drawn
   per post (terse, medium, long), which gives the required length mix.
3. **Surface**: every sentence is drawn from a phrase pool (``phrasebook*.py``) whose templates
   branch further through ``[a|b]`` alternatives and ``{slot}`` draws; then punctuation,
   paragraphing, colloquial tails, typos and emoji are applied, and personal data is planted
   last so that its exact substring survives.

Everything random goes through the ``random.Random`` passed in, and nothing iterates over a set,
so one seed and one spec always give the same post.
"""

from __future__ import annotations

import datetime
import math
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from crawler.sim import phrasebook as pb
from crawler.sim import phrasebook_labels as pbl
from crawler.sim import phrasebook_other as pbo
from pipeline.taxonomy import Label

__all__ = [
    "ComposedPost",
    "OtherTopic",
    "PostSpec",
    "Sector",
    "check_phrasebook",
    "compose_post",
    "compose_reply",
    "core_event",
    "id_check_digit",
    "luhn_ok",
    "merchant_name",
]


class Sector(StrEnum):
    """What the merchant sells; shapes goods, services, prices, venues and excuses."""

    PHONE_PRESALE = "phone_presale"
    ELECTRONICS = "electronics"
    APPLIANCE = "appliance"
    CLOTHING = "clothing"
    COSMETICS = "cosmetics"
    FOOD = "food"
    FURNITURE = "furniture"
    RENOVATION = "renovation"
    FITNESS = "fitness"
    EDUCATION = "education"
    MEMBERSHIP = "membership"
    TRAVEL = "travel"
    GENERAL = "general"
    TOYS = "toys"
    JEWELRY = "jewelry"
    PETS = "pets"
    SECONDHAND = "secondhand"
    TICKETS = "tickets"


class OtherTopic(StrEnum):
    """What an unlabeled ("other") complaint is about."""

    QUALITY = "quality"
    FALSE_AD = "false_ad"
    DELIVERY_DELAY = "delivery_delay"
    PRICING = "pricing"
    WRONG_ITEM = "wrong_item"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    AUTO_RENEWAL = "auto_renewal"
    ACCOUNT = "account"
    COMPENSATION = "compensation"
    ATTITUDE = "attitude"
    COUNTERFEIT = "counterfeit"
    WARRANTY = "warranty"
    SERVICE_QUALITY = "service_quality"
    HARASSMENT = "harassment"


@dataclass(frozen=True)
class PostSpec:
    """What to compose: the labels the text must express and the story's frame."""

    labels: frozenset[Label]
    topic: OtherTopic | None
    merchant: str
    platform: str | None
    mention_platform: bool
    sector: Sector
    created: datetime.date
    trap: bool = False


@dataclass(frozen=True)
class ComposedPost:
    """A composed complaint with the structured fields a 黑猫投诉 post carries."""

    title: str
    body: str
    issue: tuple[str, ...]
    appeal: tuple[str, ...]
    amount: float | None
    pii: tuple[tuple[str, str], ...]


# ----------------------------------------------------------------------------------------
# Template grammar: "{slot}" draws, "[a|b|]" alternatives. Compiled once per template string.
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Slot:
    name: str


@dataclass(frozen=True, slots=True)
class _Alt:
    options: tuple[tuple[_Part, ...], ...]


_Part = str | _Slot | _Alt
_Seq = tuple[_Part, ...]
_COMPILED: dict[str, _Seq] = {}


def _parse(text: str, pos: int, nested: bool) -> tuple[_Seq, int]:
    parts: list[_Part] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            parts.append("".join(buf))
            buf.clear()

    while pos < len(text):
        ch = text[pos]
        if ch == "{":
            end = text.index("}", pos)
            flush()
            parts.append(_Slot(text[pos + 1 : end]))
            pos = end + 1
        elif ch == "[":
            flush()
            options: list[_Seq] = []
            pos += 1
            while True:
                option, pos = _parse(text, pos, nested=True)
                options.append(option)
                if pos >= len(text):
                    raise ValueError(f"unclosed '[' in template {text!r}")
                pos += 1
                if text[pos - 1] == "]":
                    break
            parts.append(_Alt(tuple(options)))
        elif ch in "|]":
            if not nested:
                raise ValueError(f"stray {ch!r} in template {text!r}")
            break
        else:
            buf.append(ch)
            pos += 1
    flush()
    return tuple(parts), pos


def _compile(template: str) -> _Seq:
    seq = _COMPILED.get(template)
    if seq is None:
        seq, _ = _parse(template, 0, nested=False)
        _COMPILED[template] = seq
    return seq


def _slots_of(seq: _Seq) -> list[str]:
    found: list[str] = []
    for part in seq:
        if isinstance(part, _Slot):
            found.append(part.name)
        elif isinstance(part, _Alt):
            for option in part.options:
                found.extend(_slots_of(option))
    return found


class _Expander:
    """Renders templates against fixed story variables, drawing any other slot from a pool."""

    def __init__(
        self, rng: random.Random, pools: Mapping[str, tuple[str, ...]], variables: dict[str, str]
    ) -> None:
        self.rng = rng
        self.pools = pools
        self.vars = variables

    def say(self, template: str) -> str:
        return self._render(_compile(template), 0)

    def pick(self, pool: str) -> str:
        return self.pick_from(self.pools[pool])

    def pick_from(self, pool: tuple[str, ...]) -> str:
        # rng.random() indexing instead of rng.choice(): the same determinism, and about twice
        # as fast on this hot path (every alternative and slot draw goes through here).
        return self.say(pool[int(self.rng.random() * len(pool))])

    def _render(self, seq: _Seq, depth: int) -> str:
        if depth > 8:  # a pool that reaches itself would recurse forever; fail loudly instead
            raise RecursionError("template slots nest too deeply")
        rand = self.rng.random
        out: list[str] = []
        for part in seq:
            if type(part) is str:
                out.append(part)
            elif type(part) is _Slot:
                value = self.vars.get(part.name)
                if value is None:
                    pool = self.pools[part.name]
                    template = pool[int(rand() * len(pool))]
                    value = self._render(_compile(template), depth + 1)
                out.append(value)
            else:
                assert isinstance(part, _Alt)
                options = part.options
                out.append(self._render(options[int(rand() * len(options))], depth))
        return "".join(out)


# ----------------------------------------------------------------------------------------
# Pools: base pools from the three phrasebooks, extended per sector, overridden per register.
# ----------------------------------------------------------------------------------------


def _merge_base() -> dict[str, tuple[str, ...]]:
    base: dict[str, tuple[str, ...]] = {}
    for source in (pb.POOLS, pbl.POOLS, pbo.POOLS, pbo.REPLY_POOLS):
        for key, pool in source.items():
            if key in base:
                raise ValueError(f"pool {key!r} defined twice in the phrasebooks")
            base[key] = pool
    return base


_BASE_POOLS = _merge_base()
_POOL_CACHE: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}
_SVC_FALLBACK: tuple[str, ...] = ("会员", "VIP会员", "店铺会员", "年度会员", "会员服务", "月卡会员")


def _pools(sector: str, style: str) -> dict[str, tuple[str, ...]]:
    """Pools for one sector and register; sector entries extend base pools of the same name."""
    key = (sector, style)
    cached = _POOL_CACHE.get(key)
    if cached is None:
        cached = dict(_BASE_POOLS)
        for name, extra in pb.SECTOR_POOLS[sector].items():
            cached[name] = cached.get(name, ()) + extra
        cached.setdefault("svc", _SVC_FALLBACK)
        cached.update(pb.STYLE_POOLS.get(style, {}))
        _POOL_CACHE[key] = cached
    return cached


# Variables every story defines; any other slot name must be a pool.
_STORY_VARS = frozenset(
    (
        *("m", "g", "svc", "obj", "amt", "pay", "since", "since1", "d0", "d1", "d2"),
        *("courier", "where", "shop", "place", "venue", "promise", "rest", "plat", "refund"),
    )
)


def check_phrasebook() -> list[str]:
    """Problems in the phrase data: templates that do not parse or name an unknown slot."""
    problems: list[str] = []
    for sector in Sector:
        for style in ("casual", "formal", "angry"):
            pools = _pools(sector.value, style)
            for name, pool in pools.items():
                if not pool:
                    problems.append(f"{sector}/{style}: pool {name!r} is empty")
                for template in pool:
                    try:
                        seq = _compile(template)
                    except (ValueError, IndexError) as exc:
                        problems.append(f"{name}: {exc}")
                        continue
                    for slot in _slots_of(seq):
                        if slot not in _STORY_VARS and slot not in pools and slot != "v":
                            problems.append(f"{sector}: {name}: unknown slot {slot!r}")
    return sorted(set(problems))


# ----------------------------------------------------------------------------------------
# Numbers, dates and durations as complainants write them.
# ----------------------------------------------------------------------------------------

_CN_DIGITS = "零一二三四五六七八九"


def _cn_small(n: int) -> str:
    """1..99 in Chinese numerals (十二, 二十三), for durations and round sums."""
    if n < 10:
        return "两" if n == 2 else _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else _CN_DIGITS[tens]
    return head + "十" + (_CN_DIGITS[ones] if ones else "")


def _dur_text(rng: random.Random, days: int) -> str:
    """A duration phrase consistent with a real number of days."""
    choices: list[str]
    if days <= 2:
        choices = ["两天", "两三天", "两天多"]
    elif days <= 4:
        choices = ["三四天", "好几天", f"{days}天", f"{_cn_small(days)}天"]
    elif days <= 6:
        choices = ["五六天", "快一个星期", f"{days}天", "快一周"]
    elif days <= 9:
        choices = ["一个星期", "一周多", "七八天", f"{days}天", "一个多星期"]
    elif days <= 13:
        choices = ["十来天", "十多天", "一个多星期", f"{days}天", "快两周"]
    elif days <= 17:
        choices = ["半个月", "两个星期", "半个多月", f"{days}天", "两周多"]
    elif days <= 25:
        choices = [
            "二十来天",
            "二十多天",
            "三个星期",
            f"{days}天",
            "快二十天" if days < 20 else "二十几天",
        ]
    elif days <= 34:
        choices = ["快一个月", "一个月", "将近一个月", f"{days}天", "一个来月"]
    elif days <= 50:
        choices = ["一个多月", f"{_cn_small(days // 10)}十多天", "一个多月", f"{days}天"]
        if days >= 42:
            choices.append("一个半月")
    elif days <= 65:
        choices = ["快两个月", "两个月", "五十多天" if days < 60 else "六十多天", "近两个月"]
    elif days <= 80:
        choices = ["两个多月", "两个多月", "七十多天" if days >= 70 else "六十多天"]
    elif days <= 100:
        choices = ["快三个月", "三个月", "两个半月", "将近三个月"]
    elif days <= 140:
        choices = ["三个多月", "四个月", "一百多天", "三四个月"]
    else:
        choices = ["小半年", "五个多月", "半年", "大半年"]
    return rng.choice(choices)


def _date_text(rng: random.Random, day: datetime.date, created: datetime.date) -> str:
    """A date as written in a post: absolute in several shapes, sometimes relative."""
    delta = (created - day).days
    if day.year != created.year:
        forms = [
            f"{day.year}年{day.month}月{day.day}日",
            f"去年{day.month}月{day.day}号",
            f"{day.year}.{day.month}.{day.day}",
            f"去年{day.month}月份",
            f"{day.year}年{day.month}月{day.day}号",
        ]
        return rng.choice(forms)
    forms = [
        f"{day.month}月{day.day}日",
        f"{day.month}月{day.day}号",
        f"{day.month}.{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.month}月{day.day}日",
        f"{day.month}/{day.day}",
    ]
    if rng.random() < 0.3:
        if delta == 1:
            forms = ["昨天"]
        elif delta == 2:
            forms = ["前天"]
        elif 3 <= delta <= 6:
            forms = ["前几天", f"{_cn_small(delta)}天前"]
        elif 7 <= delta <= 13:
            forms = ["上周", "上个星期", "一周前"]
        elif created.month - day.month == 1:
            forms = ["上个月", f"上个月{day.day}号", "上月"]
        elif created.month == day.month:
            forms = [f"这个月{day.day}号", f"本月{day.day}日"]
        else:
            part = "初" if day.day <= 10 else ("中旬" if day.day <= 20 else "底")
            forms = [f"{day.month}月{part}", f"{day.month}月份"]
    return rng.choice(forms)


# Promised shipping windows and their length in days; only windows that have passed are used.
_PROMISES: tuple[tuple[str, int], ...] = (
    ("48小时内", 2),
    ("72小时内", 3),
    ("3天内", 3),
    ("三天内", 3),
    ("5天内", 5),
    ("7天内", 7),
    ("一周内", 7),
    ("10天内", 10),
    ("15天内", 15),
    ("半个月内", 15),
    ("下单后三天内", 3),
    ("付款后48小时", 2),
    ("二十天内", 20),
    ("一个月内", 30),
)


def _nice_price(rng: random.Random, lo: int, hi: int, service: bool) -> float:
    """A price as shops set them: log-uniform in range, with typical endings (9, 99, 00, .9)."""
    value = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    base = max(1, int(value))
    roll = rng.random()
    if service and roll < 0.5:
        step = 1000 if base >= 5000 else 100
        price = float(max(step, round(base / step) * step))
        if rng.random() < 0.3:
            price -= 20.0 if price > 100 else 1.0  # 3980, 2980 style
    elif roll < 0.35:
        price = float(base - base % 10 + 9)
    elif roll < 0.6 and base >= 200:
        price = float(base - base % 100 + 99)
    elif roll < 0.75 and base < 600:
        price = base + rng.choice((0.9, 0.5, 0.8, 0.99))
    elif roll < 0.85:
        price = float(round(base, -1) or base)
    else:
        price = float(base)
    return round(price, 2)


def _amount_text(rng: random.Random, amount: float) -> str:
    if amount != int(amount):
        return rng.choice((f"{amount:.2f}元", f"{amount:g}元", f"￥{amount:g}", f"{amount:g}块"))
    n = int(amount)
    forms = [f"{n}元", f"{n}元", f"{n}块", f"{n}块钱", f"￥{n}", f"{n}元钱", f"{n}RMB"]
    if n >= 10000 and n % 1000 == 0:
        wan = n / 10000
        forms += [f"{wan:g}万元", f"{wan:g}万"]
        if n % 10000 == 0 and n // 10000 < 100:
            forms.append(f"{_cn_small(n // 10000)}万块")
    elif n >= 1000 and n % 1000 == 0 and n < 10000:
        forms += [f"{_cn_small(n // 1000)}千块", f"{n // 1000}千元"]
    return rng.choice(forms)


def _approx_text(rng: random.Random, amount: float) -> str:
    """A remaining balance as people say it: 三千多, 1200多块."""
    n = int(amount)
    if n >= 10000:
        return rng.choice((f"{_cn_small(n // 10000)}万多", f"{n // 1000 * 1000}多元"))
    if n >= 1000:
        return rng.choice((f"{_cn_small(n // 1000)}千多", f"{n // 100 * 100}多块", f"{n}元"))
    if n >= 100:
        return rng.choice((f"{_cn_small(n // 100)}百多", f"{n}块"))
    return f"{max(n, 1)}块"


# ----------------------------------------------------------------------------------------
# Personal data generators (all values are random and fictional).
# ----------------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """GB 11643 check character of an 18-digit resident ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def luhn_ok(number: str) -> bool:
    """Whether a digit string passes the Luhn check (bank card numbers)."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _gen_phone(rng: random.Random) -> str:
    prefix = rng.choice(pb.MOBILE_PREFIXES)
    mid, end = _digits(rng, 4), _digits(rng, 4)
    shape = rng.random()
    if shape < 0.45:
        return f"{prefix}{mid}{end}"
    if shape < 0.7:
        return f"{prefix} {mid} {end}"
    if shape < 0.9:
        return f"{prefix}-{mid}-{end}"
    return f"+86 {prefix}{mid}{end}"


def _gen_order_no(rng: random.Random, ordered: datetime.date) -> str:
    shape = rng.random()
    if shape < 0.35:
        return rng.choice("123") + _digits(rng, 18)
    if shape < 0.6:
        return f"{ordered:%y%m%d}-{_digits(rng, 15)}"
    if shape < 0.8:
        return rng.choice("23") + _digits(rng, 11)
    if shape < 0.9:
        return f"DD{ordered:%Y%m%d}{_digits(rng, 6)}"
    return "E" + _digits(rng, 18)


def _gen_tracking(rng: random.Random, courier: str) -> str:
    prefix, n = rng.choice(pb.TRACKING_FORMATS.get(courier, (("YT", 13),)))
    return prefix + _digits(rng, n)


def _gen_name(rng: random.Random) -> str:
    given = rng.choice(pb.GIVEN_CHARS)
    if rng.random() < 0.6:
        given += rng.choice(pb.GIVEN_CHARS)
    return rng.choice(pb.SURNAMES) + given


def _gen_id_card(rng: random.Random, created: datetime.date) -> str:
    born = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(16000))
    born = min(born, created - datetime.timedelta(days=18 * 366))
    first17 = f"{rng.choice(pb.ID_REGIONS)}{born:%Y%m%d}{_digits(rng, 3)}"
    return first17 + id_check_digit(first17)


def _gen_bank_card(rng: random.Random) -> str:
    length = rng.choice((16, 19, 19))
    payload = rng.choice(pb.BANK_BINS) + _digits(rng, length - 7)
    for check in string.digits:
        if luhn_ok(payload + check):
            return payload + check
    raise AssertionError("unreachable: one Luhn digit always fits")


def _gen_wechat(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return "wxid_" + "".join(
            rng.choice(string.ascii_lowercase + string.digits) for _ in range(10)
        )
    head = rng.choice(string.ascii_letters)
    tail = "".join(
        rng.choice(string.ascii_letters + string.digits + "_") for _ in range(rng.randint(5, 12))
    )
    return head + tail


def _gen_qq(rng: random.Random) -> str:
    return rng.choice("123456789") + _digits(rng, rng.randint(5, 9))


def _gen_email(rng: random.Random) -> str:
    if rng.random() < 0.3:
        local = _gen_qq(rng)
        return f"{local}@qq.com"
    letters = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))
    return f"{letters}{_digits(rng, rng.randint(0, 4))}@{rng.choice(pb.EMAIL_DOMAINS)}"


_PII_KINDS: tuple[tuple[str, float], ...] = (
    ("phone", 0.26),
    ("order_no", 0.26),
    ("tracking_no", 0.12),
    ("name", 0.11),
    ("wechat", 0.07),
    ("qq", 0.06),
    ("id_card", 0.04),
    ("bank_card", 0.04),
    ("email", 0.04),
)


# ----------------------------------------------------------------------------------------
# The story.
# ----------------------------------------------------------------------------------------

_CODE = {
    Label.EXIT_SCAM: "es",
    Label.FAKE_SHIPMENT: "fs",
    Label.NO_CUSTOMER_SERVICE: "ncs",
    Label.REFUND_REFUSAL: "rr",
}
_LABEL_OF = {code: label for label, code in _CODE.items()}
_CAUSAL = ("fs", "rr", "ncs", "es")  # order in which the events happen in a story
# Combined sentences: label codes they cover -> (pool, pool for fake-tracking stories or None).
_COMBOS: dict[tuple[str, ...], tuple[str, str | None]] = {
    ("fs", "ncs"): ("combo_fs_ncs", "combo_fs_ncs_track"),
    ("rr", "ncs"): ("combo_ncs_rr", "combo_ncs_rr"),
    ("fs", "es"): ("combo_es_fs", None),
    ("rr", "es"): ("combo_es_rr", "combo_es_rr"),
    ("fs", "ncs", "es"): ("combo_es_fs_ncs", None),
    ("rr", "ncs", "es"): ("combo_es_ncs_rr", "combo_es_ncs_rr"),
}
_SERVICE_VENUE_SECTORS = frozenset(
    ("renovation", "fitness", "education", "membership", "travel", "cosmetics", "pets")
)
# Sectors that sell prepaid cards, where a closure leaves a balance (卡里还剩三千多).
_CARD_SECTORS = frozenset(("fitness", "membership", "cosmetics", "pets", "education"))
_END_PUNCT = "。！？!?.…~）)"
_TERSE_MAX, _MEDIUM_MAX = 80, 150
# Sentences that already open with a time word or connector take no extra connector.
_TIME_WORDS = (
    "现在", "最近", "后来", "之后", "然后", "再", "接着", "从", "到最后", "最后", "后面",
    "那", "这两天", "这", "如今", "目前", "今天", "前", "没过", "结果", "可", "但", "而且",
)  # fmt: skip


class _Story:
    """Per-post facts and the rules that turn them into sentences."""

    def __init__(self, rng: random.Random, spec: PostSpec) -> None:
        self.rng = rng
        self.spec = spec
        self.codes: tuple[str, ...] = tuple(c for c in _CAUSAL if _LABEL_OF[c] in spec.labels)
        self.topic: str | None = None
        if not self.codes:
            self.topic = (spec.topic or OtherTopic.QUALITY).value
        sector = spec.sector.value
        data = pb.SECTORS[sector]
        has_svc = "svc" in pb.SECTOR_POOLS[sector]

        roll = rng.random()
        self.style = "formal" if roll < 0.22 else ("angry" if roll < 0.36 else "casual")
        self.kind = self._choose_kind(data, has_svc)
        self.offline = self._choose_offline(data, sector)
        self.fs_kind = "noship"
        if "fs" in self.codes:
            if rng.random() < 0.4:
                self.fs_kind = "track"
            elif rng.random() < data.presale_share:
                self.fs_kind = "presale"
        self.pools = _pools(sector, self.style)
        self.ex = _Expander(rng, self.pools, {})
        # Goods in hand allow return-based refusals (退货签收不退款); a never-shipped order or a
        # prepaid service does not, so those pools are only mixed in here.
        self.arrived = self.kind == "goods" and "fs" not in self.codes
        extra = "_goods" if self.arrived else ("_svc" if self.kind == "service" else "")
        self.rr_said = self._merged("rr_said", extra)
        self.rr_sys = self._merged("rr_sys", "_goods" if self.arrived else "")
        self.rr_short = self._merged("rr_short", "_goods" if self.arrived else "")
        self.t_rr = self._merged("t_rr", "_goods" if self.arrived else "")
        self.combo_ncs_rr = self._merged("combo_ncs_rr", "_goods" if self.arrived else "")
        self._fill_vars(data)
        self.trap_pool, self.trap_label = self._choose_trap()

    # -- frame ----------------------------------------------------------------------------
    def _merged(self, base: str, suffix: str) -> tuple[str, ...]:
        pool = self.pools[base]
        if suffix and base + suffix in self.pools:
            pool = pool + self.pools[base + suffix]
        return pool

    def _choose_kind(self, data: pb.SectorData, has_svc: bool) -> str:
        if "fs" in self.codes:
            return "goods"  # only goods can be shipped
        if self.topic is not None:
            need = pbo.TOPIC_KIND[self.topic]
            if need != "any":
                return need
        share = data.service_share if has_svc else 0.0
        return "service" if self.rng.random() < share else "goods"

    def _choose_offline(self, data: pb.SectorData, sector: str) -> bool:
        if self.kind == "service" and sector in _SERVICE_VENUE_SECTORS:
            return self.rng.random() < data.offline_share  # a gym bought on 美团 is still a gym
        if self.spec.platform is None:
            return self.rng.random() < data.offline_share
        return False

    def _choose_amount(self, data: pb.SectorData) -> float:
        if self.kind == "service" and data.service_price[1] > 0:
            lo, hi = data.service_price
        elif self.kind == "service":
            lo, hi = 15, 399  # generic memberships in goods sectors
        else:
            lo, hi = pb.PRICE_HINTS.get(self.ex.vars["g"], data.goods_price)
        return _nice_price(self.rng, lo, hi, self.kind == "service")

    def _story_span(self) -> tuple[int, int]:
        """How long before posting the purchase happened, in days."""
        codes = self.codes
        if "es" in codes:
            return (25, 210) if self.kind == "service" else (15, 120)
        if "fs" in codes or "rr" in codes:
            return (10, 90)
        if codes:
            return (5, 45)
        if self.topic == "auto_renewal":
            return (20, 200)
        return (4, 70)

    def _fill_vars(self, data: pb.SectorData) -> None:
        rng, spec, ex = self.rng, self.spec, self.ex
        v = ex.vars
        v["m"] = spec.merchant
        named = spec.mention_platform and spec.platform is not None
        # Escalations say 申请了拼多多介入; a mini-program has no operator of its own name.
        v["plat"] = spec.platform if named and spec.platform else "平台"
        if v["plat"] == "微信小程序":
            v["plat"] = "微信平台"
        v["place"] = ex.pick("place")
        v["g"] = ex.pick("g")
        v["svc"] = ex.pick("svc")
        v["obj"] = v["g"] if self.kind == "goods" else v["svc"]
        v["courier"] = rng.choice(pb.COURIERS)
        self.amount = self._choose_amount(data)  # after the goods: prices follow the product
        if self.kind == "goods":
            v["pay"] = ex.pick("pay_goods")
            v["refund"] = rng.choice(("退款", "退款", "退货退款"))
        else:
            v["pay"] = ex.pick("pay_svc") if "pay_svc" in self.pools else "费用"
            v["refund"] = ex.pick("refund_svc") if "refund_svc" in self.pools else "退款"
        if named and spec.platform is not None:
            v["where"] = ex.say(
                rng.choice(pb.PLATFORM_WHERE.get(spec.platform, pb.PLATFORM_WHERE_DEFAULT))
            )
            default_shop = (*pb.SHOP_UNNAMED, f"{spec.platform}店铺")
            v["shop"] = ex.say(rng.choice(pb.PLATFORM_SHOP.get(spec.platform, default_shop)))
        else:
            where_pool = pb.WHERE_OFFLINE if self.offline else pb.WHERE_ONLINE_UNNAMED
            v["where"] = ex.say(rng.choice(where_pool))
            v["shop"] = ex.say(rng.choice(pb.SHOP_UNNAMED))
        v["venue"] = v["place"] if self.offline else v["shop"]
        v["amt"] = _amount_text(rng, self.amount)
        v["rest"] = _approx_text(rng, self.amount * rng.uniform(0.3, 0.95))

        lo, hi = self._story_span()
        created = spec.created
        span = rng.randint(lo, hi)
        r1 = rng.randint(max(1, span // 4), max(1, span - 2))
        r2 = rng.randint(0, max(0, r1 - 1))
        self.ordered = created - datetime.timedelta(days=span)
        dates = (self.ordered, created - datetime.timedelta(days=r1))
        v["d0"] = _date_text(rng, dates[0], created)
        v["d1"] = _date_text(rng, dates[1], created)
        v["d2"] = _date_text(rng, created - datetime.timedelta(days=r2), created)
        v["since"] = _dur_text(rng, span)
        v["since1"] = _dur_text(rng, r1)
        windows = [text for text, days in _PROMISES if days <= span - 3] or ["48小时内"]
        v["promise"] = rng.choice(windows)

    def _choose_trap(self) -> tuple[str | None, Label | None]:
        if not self.spec.trap:
            return None, None
        codes, topic = self.codes, self.topic
        options: list[tuple[str, Label]] = []
        if "es" not in codes:
            options.append(("trap_es_alive", Label.EXIT_SCAM))
            if "ncs" not in codes:
                options.append(("trap_es_contact", Label.EXIT_SCAM))
        if "fs" not in codes and self.kind == "goods":
            options.append(("trap_fs_arrived", Label.FAKE_SHIPMENT))
            if "ncs" not in codes and topic != "damaged_in_transit":
                options.append(("trap_fs_damage", Label.FAKE_SHIPMENT))
        if "fs" not in codes and self.kind == "service":
            options.append(("trap_fs_gift", Label.FAKE_SHIPMENT))
        if "ncs" not in codes:
            pool = "trap_ncs_before" if "es" in codes else "trap_ncs"
            options.append((pool, Label.NO_CUSTOMER_SERVICE))
        if "fs" in codes and "rr" not in codes:
            options.append(("trap_rr_ship", Label.REFUND_REFUSAL))
        if not {"rr", "fs", "es"} & set(codes):
            options.append(("trap_rr_paid", Label.REFUND_REFUSAL))
            goods_topics = (None, "quality", "wrong_item", "warranty", "counterfeit")
            if self.kind == "goods" and topic in goods_topics:
                options.append(("trap_rr_exchange", Label.REFUND_REFUSAL))
        if not options:
            return None, None
        pool, label = self.rng.choice(options)
        return pool, label

    # -- beats ----------------------------------------------------------------------------
    def _es_pool(self) -> str:
        rng = self.rng
        if rng.random() < 0.3:
            return "es_generic"
        if self.offline:
            if self.kind == "service" and rng.random() < 0.6:
                card = self.spec.sector.value in _CARD_SECTORS and rng.random() < 0.5
                return "es_card" if card else "es_offline_svc"
            return "es_offline"
        return "es_online"

    def _fs_pool(self) -> str:
        return "fs_" + self.fs_kind

    def _rr_reason(self) -> str:
        if "fs" in self.codes:
            return "rr_reason_fs"
        return "rr_reason_goods" if self.kind == "goods" else "rr_reason_svc"

    def _pick_combo(self) -> tuple[tuple[str, ...], str] | None:
        """A combined sentence for a contiguous run of this story's labels, if one fits."""
        codes = self.codes
        fitting: list[tuple[tuple[str, ...], str]] = []
        for run, (pool, track_pool) in _COMBOS.items():
            if not all(c in codes for c in run):
                continue
            idx = [codes.index(c) for c in run]
            if idx != list(range(idx[0], idx[0] + len(run))):
                continue  # another event sits between them in the story
            chosen = track_pool if "fs" in run and self.fs_kind == "track" else pool
            if chosen is None:
                continue
            fitting.append((run, chosen))
        if not fitting:
            return None
        return self.rng.choice(fitting)

    def events(self, full: bool) -> list[str]:
        """The label (or topic) events in causal order, full sentences."""
        rng, ex, codes = self.rng, self.ex, self.codes
        out: list[str] = []
        if self.topic is not None:
            out.append(ex.pick(f"o_{self.topic}"))
            if rng.random() < (0.55 if full else 0.3):
                out.append(ex.pick(f"o_{self.topic}_follow"))
            return out
        combo = self._pick_combo() if len(codes) >= 2 and rng.random() < 0.35 else None
        covered: tuple[str, ...] = combo[0] if combo else ()
        combo_done = False
        said = False  # a merchant answer has been narrated, so later silence reads "later"
        if "es" in codes and "fs" not in codes and "rr" not in codes and self.kind == "goods":
            out.append(ex.pick("es_bg_goods"))
        if codes == ("ncs",) and rng.random() < 0.7:
            out.append(ex.pick("ncs_reason"))
        ncs_in_es = "es" in codes and "ncs" in codes and "ncs" not in covered and rng.random() < 0.4
        for code in codes:
            if code in covered:
                if combo is not None and not combo_done:
                    if "rr" in covered and rng.random() < 0.7:
                        out.append(ex.pick(self._rr_reason()))
                    combo_pool = self.combo_ncs_rr if combo[1] == "combo_ncs_rr" else None
                    out.append(ex.pick_from(combo_pool) if combo_pool else ex.pick(combo[1]))
                    combo_done = True
                continue
            if code == "fs":
                out.append(ex.pick(self._fs_pool()))
                if full and rng.random() < 0.45:
                    pool = "fs_excuse_track" if self.fs_kind == "track" else "fs_excuse"
                    out.append(ex.pick(pool))
                    said = True
            elif code == "rr":
                if rng.random() < (0.8 if full else 0.5):
                    out.append(ex.pick(self._rr_reason()))
                procedural = rng.random() < (0.6 if "ncs" in codes and not said else 0.3)
                out.append(ex.pick_from(self.rr_sys if procedural else self.rr_said))
                said = said or not procedural
            elif code == "ncs":
                if ncs_in_es:
                    continue  # told by the es_ncs sentence below
                out.append(ex.pick("ncs_later" if said else "ncs"))
            else:
                out.append(ex.pick("es_ncs" if ncs_in_es else self._es_pool()))
        return out

    def short_events(self) -> list[str]:
        """Terse forms of the events, one short clause each."""
        rng, ex, codes = self.rng, self.ex, self.codes
        if self.topic is not None:
            if rng.random() < 0.35:
                return [ex.pick(f"o_{self.topic}")]
            return [ex.pick(f"o_{self.topic}_short")]
        if len(codes) == 1 and rng.random() < 0.4:
            return self.events(full=False)
        # With both es and ncs present, one clause may say both (商家跑路，联系不上).
        ncs_in_es = "es" in codes and "ncs" in codes and rng.random() < 0.35
        out: list[str] = []
        for code in codes:
            if code == "fs":
                kind = "track" if self.fs_kind == "track" else "noship"
                if self.fs_kind == "presale" and rng.random() < 0.6:
                    kind = "presale"
                out.append(ex.pick(f"fs_short_{kind}"))
            elif code == "rr":
                out.append(ex.pick_from(self.rr_short))
            elif code == "ncs":
                if not ncs_in_es:
                    out.append(ex.pick("ncs_short"))
            elif ncs_in_es:
                out.append(ex.pick("es_ncs_short"))
            else:
                extra = "es_short_offline" if self.offline else "es_short_online"
                out.append(ex.pick(rng.choice(("es_short", extra))))
        return out

    def _hook(self) -> str:
        """A one-line summary that some complainants put first."""
        ex = self.ex
        if self.topic is not None:
            return ex.pick(f"o_{self.topic}_short")
        return self._title_short(self.rng.choice(self.codes))

    def _detail_pools(self) -> list[str]:
        pools = ["detail"]
        for code in self.codes:
            if code == "fs":
                pools.append("fs_detail_track" if self.fs_kind == "track" else "fs_detail_noship")
            else:
                pools.append(f"{code}_detail")
        if self.topic is not None:
            pools += [f"o_{self.topic}_follow", f"o_{self.topic}"]
        return pools

    def _draw_distinct(self, pool_names: list[str], k: int) -> list[str]:
        """Up to k sentences from the named pools, never the same template twice.

        Two beats from one template (已经打了12315 ... 已经拨打了12315) read like a machine.
        """
        return [self.ex.say(t) for t in self._templates_distinct(pool_names, k)]

    def _templates_distinct(self, pool_names: list[str], k: int) -> list[str]:
        pairs = [(name, t) for name in dict.fromkeys(pool_names) for t in self.pools[name]]
        return [t for _, t in self.rng.sample(pairs, min(k, len(pairs)))]

    def optional_beats(self, long: bool) -> list[tuple[str, str]]:
        """Optional (role, template) beats in random order; the caller renders what fits."""
        rng, codes = self.rng, self.codes
        demand_pools = [f"demand_{c}" for c in codes]
        if self.topic is not None:
            demand_pools.append(f"demand_{self.topic}")
        demand_pools.append("demand")
        esc_pools = ["esc"]
        if "es" in codes:
            esc_pools.append("esc_es")
        if ("fs" in codes or "rr" in codes) and not self.offline:
            esc_pools.append("esc_platform")
        repeat = 2 if long else 1
        beats: list[tuple[str, str]] = []
        for role, pools in (
            ("emo", ["emo"]),
            ("demand", demand_pools),
            ("esc", esc_pools),
            ("warn", ["warn"]),
        ):
            beats += [(role, t) for t in self._templates_distinct(pools, repeat)]
        beats.append(
            ("close", rng.choice(self.pools["close_f" if self.style == "formal" else "close_c"]))
        )
        if long:
            beats.append(("bg", rng.choice(self.pools["bg"])))
        rng.shuffle(beats)
        return beats

    def opener(self, terse: bool) -> str:
        ex = self.ex
        if terse:
            return ex.pick("open_short_goods" if self.kind == "goods" else "open_short_svc")
        if self.topic == "account" and self.rng.random() < 0.7:
            return ex.pick("open_account")
        base = "open_goods" if self.kind == "goods" else "open_svc"
        if self.style == "formal" and self.rng.random() < 0.75:
            base += "_f"
        return ex.pick(base)

    # -- surface --------------------------------------------------------------------------
    def _tail(self, sentence: str) -> str:
        """Colloquial particles and sentence punctuation."""
        rng = self.rng
        if self.style != "formal" and rng.random() < 0.12:
            tail = rng.choice(self.pools["tail"])
            if tail in ("...", "。。。", "？？"):
                return sentence + tail
            sentence += tail
        if self.style == "angry":
            return sentence + rng.choice(("！", "！", "！！", "。", "！！！"))
        return sentence + rng.choice(
            ("。", "。", "。", "。", "！", "，" if self.style != "formal" else "。")
        )

    def render(self, parts: list[tuple[str, str]], paragraphs: int) -> str:
        """Join (role, sentence) beats into paragraphs with connectors and punctuation."""
        rng = self.rng
        sentences: list[str] = []
        event_seen = False
        for role, text in parts:
            text = text.strip("，。 ")
            if role == "event":
                if event_seen and rng.random() < 0.4 and not text.startswith(_TIME_WORDS):
                    text = rng.choice(self.pools["conn"]) + rng.choice(("，", "", "")) + text
                event_seen = True
            sentences.append(self._tail(text))
        # Cut into paragraphs at beat boundaries, keeping each paragraph non-empty.
        cuts = sorted(rng.sample(range(1, len(sentences)), min(paragraphs - 1, len(sentences) - 1)))
        paras: list[str] = []
        start = 0
        for cut in [*cuts, len(sentences)]:
            para = "".join(sentences[start:cut])
            if para.endswith("，"):
                para = para[:-1] + "。"
            paras.append(para)
            start = cut
        return "\n".join(paras)

    def terse_body(self) -> str:
        rng = self.rng
        parts: list[str] = []
        if self.spec.mention_platform or rng.random() < 0.5:
            parts.append(self.opener(terse=True))
        parts.extend(self.short_events())
        if self.trap_pool is not None:
            parts.insert(rng.randint(1, len(parts)), self.ex.pick(self.trap_pool))
        if rng.random() < 0.3:
            parts.append(self.ex.pick("terse_tail"))
        sep = rng.choice(("，", "，", "，", " ", "。"))
        end = rng.choice(("。", "！", "", "！！", "。", "…"))
        return sep.join(p.strip("，。 ") for p in parts) + end

    def full_body(self, long: bool) -> str:
        rng = self.rng
        parts: list[tuple[str, str]] = [("open", self.opener(terse=False))]
        if rng.random() < 0.15:
            parts.insert(0, ("hook", self._hook()))
        events = [("event", e) for e in self.events(full=True)]
        if long:
            count = rng.choice((0, 1, 1, 2, 3))
            events += [("detail", t) for t in self._draw_distinct(self._detail_pools(), count)]
        if self.trap_pool is not None:
            events.insert(rng.randint(0, len(events)), ("trap", self.ex.pick(self.trap_pool)))
        parts.extend(events)
        core_len = sum(len(t) + 1 for _, t in parts)
        # Long posts aim anywhere from just over the band edge to several paragraphs.
        target = int(rng.triangular(155, 560, 210)) if long else rng.randint(82, 140)
        for role, template in self.optional_beats(long):
            if core_len >= target:
                break
            text = self.ex.say(template)
            if not long and core_len + len(text) + 1 > _MEDIUM_MAX - 4:
                continue
            if role == "bg":
                parts.insert(1 + (parts[0][0] == "hook"), (role, text))
            else:
                parts.append((role, text))
            core_len += len(text) + 1
        paragraphs = rng.choice((1, 2, 2, 3, 3, 4)) if long else rng.choice((1,) * 6 + (2,))
        return self.render(parts, paragraphs)

    # -- title, tags ----------------------------------------------------------------------
    def title(self) -> str:
        rng, ex, codes = self.rng, self.ex, self.codes
        for _ in range(6):
            if self.topic is not None:
                core = ex.pick(f"t_{self.topic}")
            elif rng.random() < 0.1:
                core = ex.pick("t_generic")
            elif len(codes) >= 2 and rng.random() < 0.35:
                first, second = rng.sample(codes, 2)
                first, second = sorted((first, second), key=_CAUSAL.index)
                joint = rng.choice(("，", "，", " ", "、", "！"))
                core = self._title_short(first) + joint + self._title_short(second)
            else:
                code = rng.choice(codes)
                if code == "rr":
                    core = ex.pick_from(self.t_rr)
                else:
                    core = ex.pick(f"t_fs_{self.fs_kind}" if code == "fs" else f"t_{code}")
            pre = ex.pick("t_pre") if rng.random() < 0.55 else ""
            if (
                self.spec.mention_platform
                and self.spec.platform
                and not pre
                and rng.random() < 0.15
            ):
                pre = self.spec.platform + rng.choice(("商家", "店铺", "", "上的"))
            suf = ex.pick("t_suf") if rng.random() < 0.5 else ""
            # Never name the merchant or the goods twice (【X】X拒绝退款, X的手机手机质量差).
            if any(w in pre and w in core for w in (self.spec.merchant, *self._objects())):
                pre = ""
            title = (pre + core + suf).strip()
            if 6 <= len(title) <= 40:
                return title
            if len(core) >= 6 and len(core) <= 40:
                return core
        return (core + "，求处理")[:40]

    def _objects(self) -> tuple[str, str]:
        return self.ex.vars["g"], self.ex.vars["svc"]

    def _title_short(self, code: str) -> str:
        if code == "rr":
            return self.ex.pick_from(self.rr_short)
        if code == "fs":
            pool = "fs_short_track" if self.fs_kind == "track" else "fs_short_noship"
        elif code == "es":
            pool = "es_short"
        else:
            pool = f"{code}_short"
        return self.ex.pick(pool)

    def issue_tags(self) -> tuple[str, ...]:
        rng = self.rng
        tags: list[str] = []
        for code in self.codes:
            label = _LABEL_OF[code].value
            if rng.random() < 0.55:
                tags.append(rng.choice(pbl.ISSUE_FACT[label]))
            if rng.random() < 0.5:
                tags.append(rng.choice(pbl.ISSUE_LOOSE[label]))
        if self.topic is not None and rng.random() < 0.8:
            tags.append(rng.choice(pbo.ISSUE_TOPIC[self.topic]))
        if self.trap_label is not None and rng.random() < 0.3:
            tags.append(rng.choice(pbl.ISSUE_FACT[self.trap_label.value]))  # a wrong tag
        if not tags or rng.random() < 0.4:
            tags.append(rng.choice(pbl.ISSUE_GENERIC))
        unique = list(dict.fromkeys(tags))
        rng.shuffle(unique)
        return tuple(unique[: rng.randint(1, 4)])

    def appeals(self) -> tuple[str, ...]:
        rng = self.rng
        fitting: list[str] = [a for c in self.codes for a in pbl.APPEAL_FOR[_LABEL_OF[c].value]]
        if self.topic is not None:
            fitting.extend(pbo.APPEAL_TOPIC[self.topic])
        picked: list[str] = []
        for _ in range(rng.choice((1, 1, 2, 2, 2, 3))):
            pool = fitting if rng.random() < 0.8 else pbo.APPEAL_GENERIC
            picked.append(rng.choice(pool))
        return tuple(dict.fromkeys(picked))


# ----------------------------------------------------------------------------------------
# Noise and personal data.
# ----------------------------------------------------------------------------------------

_TYPO_SWAPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("的", ("得", "地")),
    ("得", ("的",)),
    ("在", ("再",)),
    ("再", ("在",)),
    ("已经", ("以经",)),
)


def _noise(rng: random.Random, text: str, protected: tuple[str, ...]) -> str:
    """Typos, sloppy punctuation and emoji, as real posts have them.

    ``protected`` strings (platform and merchant names) must survive verbatim: a typo inside
    得物 would silently drop the platform mention the spec asked for.
    """
    if rng.random() < 0.15:
        src, dsts = rng.choice(_TYPO_SWAPS)
        idx = text.find(src, rng.randrange(max(1, len(text))))
        if idx < 0:
            idx = text.find(src)
        if idx >= 0:
            typo = text[:idx] + rng.choice(dsts) + text[idx + len(src) :]
            if all(typo.count(p) == text.count(p) for p in protected):
                text = typo
    roll = rng.random()
    if roll < 0.06:
        text = text.replace("，", ",")
    elif roll < 0.12:
        text = text.replace("，", " ", rng.randint(1, 3))
    elif roll < 0.17:
        text = text.replace("。", "。。", 1)
    elif roll < 0.21:
        text = text.replace("！", "！！！", 1)
    elif roll < 0.25 and text.endswith("。"):
        text = text[:-1]
    if rng.random() < 0.07:
        emoji = rng.choice(pb.POOLS["emoji"]) * rng.choice((1, 1, 2, 3))
        text = text + emoji if rng.random() < 0.6 else text.replace("！", "！" + emoji, 1)
    return text


def _plant_pii(
    rng: random.Random, story: _Story, body: str, title: str
) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    kinds: list[str] = []
    weights = [w for _, w in _PII_KINDS]
    names = [k for k, _ in _PII_KINDS]
    for _ in range(1 if rng.random() < 0.75 else 2):
        kind = rng.choices(names, weights)[0]
        shipped = story.kind == "goods" and ("fs" not in story.codes or story.fs_kind == "track")
        if kind == "tracking_no" and not shipped:
            kind = "order_no"  # a tracking number only exists once something was "shipped"
        if kind not in kinds:
            kinds.append(kind)
    planted: list[tuple[str, str]] = []
    created = story.spec.created
    for kind in kinds:
        value = {
            "phone": lambda: _gen_phone(rng),
            "order_no": lambda: _gen_order_no(rng, story.ordered),
            "tracking_no": lambda: _gen_tracking(rng, story.ex.vars["courier"]),
            "name": lambda: _gen_name(rng),
            "wechat": lambda: _gen_wechat(rng),
            "qq": lambda: _gen_qq(rng),
            "id_card": lambda: _gen_id_card(rng, created),
            "bank_card": lambda: _gen_bank_card(rng),
            "email": lambda: _gen_email(rng),
        }[kind]()
        if kind == "order_no" and rng.random() < 0.15 and len(title) + len(value) < 44:
            title = (
                rng.choice(("订单", "订单号", "")) + value + rng.choice(("：", " ", "，")) + title
            )
            planted.append((kind, value))
            continue
        intro_pool = pb.WECHAT_INTRO_NAMED if story.spec.mention_platform else pb.WECHAT_INTRO_PLAIN
        story.ex.vars["intro"] = rng.choice(intro_pool)
        story.ex.vars["v"] = "\x00"  # placeholder, replaced verbatim below
        sentence = story.ex.pick_from(pb.PII_TEMPLATES[kind]).replace("\x00", value)
        paras = body.split("\n")
        idx = rng.randrange(len(paras))
        para = paras[idx]
        if para and para[-1] not in _END_PUNCT:
            para += "。"
        paras[idx] = para + sentence + rng.choice(("。", "。", "", "！"))
        body = "\n".join(paras)
        planted.append((kind, value))
    return body, title, tuple(planted)


# ----------------------------------------------------------------------------------------
# Public API.
# ----------------------------------------------------------------------------------------


def compose_post(rng: random.Random, spec: PostSpec) -> ComposedPost:
    """Compose one complaint post expressing exactly ``spec.labels`` (see module docstring)."""
    story = _Story(rng, spec)
    roll = rng.random()
    band = "terse" if roll < 0.2 else ("medium" if roll < 0.6 else "long")
    body = ""
    for _ in range(5):  # redraw a few times when the draw misses its length band
        if band == "terse":
            body = story.terse_body()
            if len(body) < _TERSE_MAX:
                break
        else:
            body = story.full_body(long=band == "long")
            n = len(body)
            if (band == "medium" and _TERSE_MAX <= n <= _MEDIUM_MAX) or (
                band == "long" and n > _MEDIUM_MAX
            ):
                break
    protected = (*pb.PLATFORM_NAMES, spec.merchant)
    body = _noise(rng, body, protected)
    title = story.title()
    if rng.random() < 0.3:
        title = _noise(rng, title, protected)
    pii: tuple[tuple[str, str], ...] = ()
    if rng.random() < 0.15:
        body, title, pii = _plant_pii(rng, story, body, title)
    amount = None if rng.random() < 0.15 else story.amount
    return ComposedPost(
        title=title,
        body=body,
        issue=story.issue_tags(),
        appeal=story.appeals(),
        amount=amount,
        pii=pii,
    )


def core_event(rng: random.Random, spec: PostSpec, label: Label) -> str:
    """One full core-event clause for ``label`` in the story of ``spec`` (variety metrics)."""
    story = _Story(rng, spec)
    ex = story.ex
    code = _CODE[label]
    if code == "fs":
        return ex.pick(story._fs_pool())
    if code == "rr":
        return ex.pick_from(story.rr_said + story.rr_sys)
    if code == "ncs":
        return ex.pick("ncs")
    return ex.pick(story._es_pool())


def compose_reply(rng: random.Random, spec: PostSpec, *, resolved: bool) -> str:
    """The merchant's reply on the detail-page timeline."""
    story = _Story(rng, spec)
    ex = story.ex
    if resolved:
        codes = story.codes
        primary = next((c for c in ("rr", "fs", "es", "ncs") if c in codes), None)
        key = f"r_resolved_{_LABEL_OF[primary].value}" if primary else "r_resolved_other"
        middle = ex.pick(key)
    else:
        middle = ex.pick("r_stock")
    return ex.pick("r_greet") + middle + "。" + ex.pick("r_sign")


def merchant_name(rng: random.Random, sector: Sector, platform: str | None) -> str:
    """A plausible fictional shop or company name (never a real brand's official store)."""
    words = pb.SECTOR_POOLS[sector.value]["mw"]
    prefix = rng.choice(pb.MERCHANT_PREFIX)
    word = rng.choice(words)
    service_suffix = pb.SERVICE_SUFFIX.get(sector.value)
    if platform is None or rng.random() < 0.15:
        city = rng.choice(pb.CITY_PREFIX) if rng.random() < 0.45 else ""
        if service_suffix and rng.random() < 0.75:
            return city + prefix + rng.choice(service_suffix)
        return city + prefix + word + rng.choice(pb.COMPANY_SUFFIX)
    shape = rng.random()
    if shape < 0.6:
        return prefix + word + rng.choice(pb.ONLINE_SUFFIX)
    if shape < 0.8:
        return prefix + rng.choice(pb.ONLINE_SUFFIX)
    if shape < 0.9:
        return prefix + word
    return prefix + rng.choice(string.ascii_uppercase) + word + rng.choice(pb.ONLINE_SUFFIX)
