"""The complaint-text grammar: truth per spec, variety, lengths, personal data, determinism."""

from __future__ import annotations

import datetime
import itertools
import random
import re

import pytest

from crawler.sim import phrasebook as pb
from crawler.sim.grammar import (
    ComposedPost,
    OtherTopic,
    PostSpec,
    Sector,
    check_phrasebook,
    compose_post,
    compose_reply,
    core_event,
    id_check_digit,
    luhn_ok,
    merchant_name,
)
from pipeline.taxonomy import Label

SUBSETS = [frozenset(c) for r in range(5) for c in itertools.combinations(Label, r)]
PLATFORMS: tuple[str | None, ...] = (*pb.PLATFORM_NAMES, None)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Wording that expresses a label. A non-trap post must not contain a marker of a label it does
# not carry (traps may, by design, for exactly one absent label).
MARKERS: dict[Label, tuple[str, ...]] = {
    Label.FAKE_SHIPMENT: _words("不发货 没发货 未发货 虚假发货 待揽收 空包 假单号 空单号 揽收记录"),
    Label.NO_CUSTOMER_SERVICE: _words(
        "联系不上 联系不到 机器人 自动回复 不回消息 已读不回 无人接听 没人接 打不通 失联 拉黑 "
        "石沉大海 装死 不理人 没人回 停机 空号 不处理 没回音 不回复 没人理"
    ),
    Label.REFUND_REFUSAL: _words("不退 不给退 拒绝退款 拒不退款 退款难 不予退 没退"),
    Label.EXIT_SCAM: _words("跑路 卷款 人去楼空 倒闭 闭店 搬空 破产 店铺关闭 关门 停业"),
}


def make_spec(rng: random.Random, labels: frozenset[Label], trap: bool = False) -> PostSpec:
    sector = rng.choice(list(Sector))
    platform = rng.choice(PLATFORMS)
    return PostSpec(
        labels=labels,
        topic=rng.choice(list(OtherTopic)),
        merchant=merchant_name(rng, sector, platform),
        platform=platform,
        mention_platform=platform is not None and rng.random() < 0.6,
        sector=sector,
        created=datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randrange(700)),
        trap=trap,
    )


@pytest.fixture(scope="module")
def corpus() -> list[tuple[PostSpec, ComposedPost]]:
    rng = random.Random(2024)
    specs = [make_spec(rng, SUBSETS[i % 16], trap=rng.random() < 0.2) for i in range(3000)]
    return [(spec, compose_post(rng, spec)) for spec in specs]


def test_phrasebook_templates_parse_and_name_known_slots() -> None:
    assert check_phrasebook() == []


def test_same_seed_same_post() -> None:
    spec = make_spec(random.Random(1), frozenset({Label.EXIT_SCAM, Label.FAKE_SHIPMENT}))
    assert compose_post(random.Random(9), spec) == compose_post(random.Random(9), spec)
    assert compose_reply(random.Random(9), spec, resolved=True) == compose_reply(
        random.Random(9), spec, resolved=True
    )
    assert compose_post(random.Random(9), spec) != compose_post(random.Random(10), spec)


@pytest.mark.parametrize("labels", SUBSETS, ids=lambda s: "+".join(sorted(s)) or "none")
def test_every_label_subset_composes(labels: frozenset[Label]) -> None:
    rng = random.Random(len(labels))
    for i in range(60):
        post = compose_post(rng, make_spec(rng, labels, trap=i % 3 == 0))
        assert post.body.strip() and 4 <= len(post.title) <= 50
        assert 1 <= len(post.issue) <= 4 and 1 <= len(post.appeal) <= 3


def test_variety(corpus: list[tuple[PostSpec, ComposedPost]]) -> None:
    assert len({p.body for _, p in corpus}) > 0.99 * len(corpus)
    assert len({p.title for _, p in corpus}) > 0.9 * len(corpus)


@pytest.mark.parametrize("label", list(Label))
def test_each_label_core_event_has_many_forms(label: Label) -> None:
    rng = random.Random(5)
    clauses = {core_event(rng, make_spec(rng, frozenset({label})), label) for _ in range(600)}
    assert len(clauses) > 400


def test_length_mix(corpus: list[tuple[PostSpec, ComposedPost]]) -> None:
    lengths = [len(p.body) for _, p in corpus]
    assert 0.15 < sum(n < 80 for n in lengths) / len(lengths) < 0.25
    assert 0.33 < sum(80 <= n <= 150 for n in lengths) / len(lengths) < 0.47
    assert 0.33 < sum(n > 150 for n in lengths) / len(lengths) < 0.47
    over = sum(len(p.body.encode()) > 445 for _, p in corpus) / len(corpus)
    assert 0.33 < over < 0.47


def test_platform_named_exactly_when_asked(corpus: list[tuple[PostSpec, ComposedPost]]) -> None:
    for spec, post in corpus:
        text = post.title + post.body
        if spec.mention_platform and spec.platform:
            assert spec.platform in text
        else:
            assert not [m for m in pb.PLATFORM_MARKERS if m in text], text


def test_absent_labels_leave_no_trace(corpus: list[tuple[PostSpec, ComposedPost]]) -> None:
    from crawler.sim.phrasebook_labels import ISSUE_FACT

    for spec, post in corpus:
        if spec.trap:
            continue
        text = post.title + post.body
        for label in set(Label) - spec.labels:
            assert not [m for m in MARKERS[label] if m in text], (label, text)
            assert not set(post.issue) & set(ISSUE_FACT[label.value]), (label, post.issue)


def test_traps_carry_a_foreign_keyword(corpus: list[tuple[PostSpec, ComposedPost]]) -> None:
    # A trap uses a word of a label the spec lacks (跑路, 虚假发货, 客服只会说抱歉, 退款已到账).
    hints = {
        Label.EXIT_SCAM: ("跑路", "卷款", "卷钱"),
        Label.FAKE_SHIPMENT: ("虚假发货", "空包", "假单号", "不发货", "补发"),
        Label.NO_CUSTOMER_SERVICE: ("联系不上", "失联", "不理人", "倒是", "有人接", "回得", "都回"),
        Label.REFUND_REFUSAL: ("退款", "退回来", "退钱", "退了"),
    }
    traps = [(s, p) for s, p in corpus if s.trap and len(s.labels) < 3]
    hits = sum(
        any(h in p.body for lab in set(Label) - s.labels for h in hints[lab]) for s, p in traps
    )
    assert hits > 0.9 * len(traps)


def test_personal_data_is_planted_verbatim(corpus: list[tuple[PostSpec, ComposedPost]]) -> None:
    assert id_check_digit("11010519491231002") == "X"  # known answers for the checkers
    assert luhn_ok("4539578763621486") and not luhn_ok("4539578763621487")
    with_pii = [p for _, p in corpus if p.pii]
    assert 0.1 < len(with_pii) / len(corpus) < 0.2
    kinds = {k for p in with_pii for k, _ in p.pii}
    assert {"phone", "order_no", "name"} <= kinds
    for post in with_pii:
        for kind, value in post.pii:
            assert value in post.title or value in post.body
            if kind == "id_card":
                assert len(value) == 18 and value[-1] == id_check_digit(value[:17])
            elif kind == "bank_card":
                assert len(value) in (16, 19) and luhn_ok(value)
            elif kind == "phone":
                assert re.fullmatch(r"1\d{10}", re.sub(r"^\+86|[ -]", "", value))


def test_amounts_plausible(corpus: list[tuple[PostSpec, ComposedPost]]) -> None:
    amounts = [p.amount for _, p in corpus]
    assert 0.08 < sum(a is None for a in amounts) / len(amounts) < 0.22
    assert all(0 < a <= 100_000 for a in amounts if a is not None)


def test_story_dates_not_after_posting(corpus: list[tuple[PostSpec, ComposedPost]]) -> None:
    for spec, post in corpus:
        for year, month, day in re.findall(r"(20\d\d)年(\d{1,2})月(\d{1,2})[日号]", post.body):
            assert datetime.date(int(year), int(month), int(day)) <= spec.created


def test_replies_and_merchant_names() -> None:
    rng = random.Random(3)
    for labels in SUBSETS:
        spec = make_spec(rng, labels)
        assert compose_reply(rng, spec, resolved=True)
        assert compose_reply(rng, spec, resolved=False)
    names = [
        merchant_name(rng, rng.choice(list(Sector)), rng.choice(PLATFORMS)) for _ in range(500)
    ]
    assert all(names) and len(set(names)) > 450
    assert not [n for n in names if any(p in n for p in pb.PLATFORM_NAMES)]
