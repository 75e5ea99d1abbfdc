"""The first rules on the taxonomy's own examples and on its traps."""

from __future__ import annotations

import pytest

from pipeline.taxonomy import Label
from pipeline.weak_labels import Post, default_rules

F, N, R, E = Label.FAKE_SHIPMENT, Label.NO_CUSTOMER_SERVICE, Label.REFUND_REFUSAL, Label.EXIT_SCAM


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("下单半个月显示已发货，物流一直停在待揽收，问客服只有机器人回复", {F, N}),
        ("退货已签收十天，商家拒不退款，说包装拆了不能退", {R}),
        ("交了两万定金，装修公司办公室已经搬空，电话全部停机", {E, N}),
        ("快递路上压坏了，申请补发商家很快处理了", set()),
        ("预售款付了一个月没发货，小程序突然被封，店铺客服失联", {E, F, N}),
        ("申请退款后商家一拖再拖，现在店铺关了人也找不到", {E, R, N}),
    ],
)
def test_taxonomy_examples(text: str, labels: set[Label]) -> None:
    assert default_rules().score(Post(text)).labels == labels


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("本来以为商家跑路了，后来联系上了，已经退款了", {E, N, R}),
        ("担心商家跑路，所以来投诉一下发票的问题", {E}),
        ("商家没有跑路，只是发货慢了几天，最后收到了", {E, F}),
        ("如果不退款我就去12315投诉，现在只是想换货", {R}),
    ],
)
def test_feared_denied_or_resolved_is_not_labeled(text: str, absent: set[Label]) -> None:
    assert not default_rules().score(Post(text)).labels & absent


def test_factual_issue_tag_counts_loose_tag_does_not() -> None:
    rules = default_rules()
    assert R in rules.score(Post("想问一下情况", issue=("不予退款",))).labels
    assert not rules.score(Post("想问一下情况", issue=("退款问题", "服务欺诈"))).labels


def test_scores_are_probabilities_and_version_is_stable() -> None:
    rules = default_rules()
    result = rules.score(Post("商家跑路了"))
    assert all(0.0 < p < 1.0 for p in result.scores.values())
    assert result.scores[E] > 0.5 > result.scores[F]
    assert rules.version == default_rules().version and rules.version.startswith("rules-")
