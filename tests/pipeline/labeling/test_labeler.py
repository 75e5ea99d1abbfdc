"""The weak labeler (default weighted vote) on the taxonomy's own examples and its traps."""

from __future__ import annotations

import pytest

from pipeline.labeling.labeler import WeakLabeler
from pipeline.taxonomy import Label

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
    assert _labels(text) == labels


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
    assert not _labels(text) & absent


def test_factual_issue_tag_counts_loose_tag_does_not() -> None:
    labeler = WeakLabeler()
    factual, loose = labeler.predict(
        [
            {"title": "想问一下情况", "body": "", "issue": ["不予退款"]},
            {"title": "想问一下情况", "body": "", "issue": "退款问题,服务欺诈"},
        ]
    )
    assert R in factual.labels
    assert not loose.labels


def test_body_denial_beats_a_contradicting_tag() -> None:
    (result,) = WeakLabeler().predict(
        [{"title": "投诉", "body": "倒不是商家跑路了，店还开着，就是发货慢", "issue": ["商家跑路"]}]
    )
    assert E not in result.labels


def test_scores_are_probabilities_and_version_is_stable() -> None:
    labeler = WeakLabeler()
    (result,) = labeler.predict([{"title": "商家跑路了", "body": ""}])
    assert all(0.0 < p < 1.0 for p in result.scores.values())
    assert result.scores[E] > 0.5 > result.scores[F]
    assert labeler.version == WeakLabeler().version and labeler.version.startswith(
        "weak-weighted_vote-"
    )


def _labels(text: str) -> set[Label]:
    (result,) = WeakLabeler().predict([{"title": "", "body": text}])
    return set(result.labels)
