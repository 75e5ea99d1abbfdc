from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from pipeline.gold import (
    Decision,
    GoldError,
    agreement,
    assign_splits,
    build,
    cohen_kappa,
    final_labels,
    load_parts,
)
from pipeline.taxonomy import Label
from tests.conftest import write_jsonl

COMBOS = [
    [],
    ["fake_shipment"],
    ["refund_refusal"],
    ["no_customer_service", "exit_scam"],
    ["no_customer_service"],
]


def _post(i: int, labels: list[str], body: str | None = None) -> dict[str, object]:
    rng = random.Random(i)
    return {
        "id": f"t-{i:04d}",
        "title": f"标题{i}",
        "body": body or "".join(rng.choice("退款发货客服跑路商家物流平台质量") for _ in range(60)),
        "merchant": "某店",
        "platform": None,
        "issue": ["退款问题"],
        "appeal": ["退款"],
        "amount": 10.0 * i,
        "date": "2025-05-01",
        "labels": labels,
        "hard_negative": not labels and i % 2 == 0,
        "note": "",
    }


def test_splits_are_stratified_seeded_and_disjoint_by_text(tmp_path: Path) -> None:
    rows = [_post(i, COMBOS[i % len(COMBOS)]) for i in range(200)]
    shared = "这是一段两个帖子共用的二十个字以上的文字内容，必须分到同一份里"
    rows[3]["body"] = "开头不同。" + shared
    rows[150]["body"] = shared + "结尾也不同。"
    write_jsonl(tmp_path / "parts" / "t.jsonl", rows)
    stats = build(tmp_path)
    splits = {
        s: [
            json.loads(x)
            for x in (tmp_path / "splits" / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        for s in ("train", "dev", "test")
    }
    assert sum(len(v) for v in splits.values()) == 200
    assert abs(len(splits["train"]) - 120) <= 5 and abs(len(splits["test"]) - 40) <= 5
    for split in splits.values():  # every combination appears in every split
        assert {tuple(p["labels"]) for p in split} == {tuple(c) for c in COMBOS}
    where = {p["id"]: s for s, ps in splits.items() for p in ps}
    assert where["t-0003"] == where["t-0150"]
    assert stats["all"]["positives"]["exit_scam"] == 40
    again = assign_splits(load_parts(tmp_path))
    assert {p.id: p.split for p in again} == where


def test_adjudication_overrides_author_labels(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "parts" / "t.jsonl", [_post(1, ["exit_scam"]), _post(2, [])])
    posts = final_labels(
        load_parts(tmp_path),
        {"t-0001": Decision(id="t-0001", labels=[Label.REFUND_REFUSAL], rule="r1")},
    )
    assert [p.labels for p in posts] == [[Label.REFUND_REFUSAL], []]
    with pytest.raises(GoldError, match="unknown ids"):
        final_labels(posts, {"nope": Decision(id="nope", labels=[])})


def test_bad_gold_lines_name_file_line_and_field(tmp_path: Path) -> None:
    bad = _post(1, ["scam"])
    write_jsonl(tmp_path / "parts" / "t.jsonl", [_post(0, []), bad])
    with pytest.raises(GoldError, match=r"t\.jsonl line 2: labels\.0"):
        load_parts(tmp_path)


def test_kappa_agrees_with_scikit_learn_and_lists_disagreements(tmp_path: Path) -> None:
    rng = random.Random(4)
    a = [rng.random() < 0.3 for _ in range(300)]
    b = [x if rng.random() < 0.85 else not x for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    write_jsonl(tmp_path / "parts" / "t.jsonl", [_post(1, ["exit_scam"]), _post(2, [])])
    second = {
        "t-0001": Decision(id="t-0001", labels=[Label.EXIT_SCAM, Label.NO_CUSTOMER_SERVICE]),
        "t-0002": Decision(id="t-0002", labels=[]),
    }
    result = agreement(load_parts(tmp_path), second)
    assert result["labels"]["exit_scam"]["kappa"] == 1.0
    assert result["disagreements"] == [
        {"id": "t-0001", "author": ["exit_scam"], "second": ["no_customer_service", "exit_scam"]}
    ]


def test_splits_stay_fixed_when_labels_change_or_posts_are_added(tmp_path: Path) -> None:
    rows = [_post(i, COMBOS[i % len(COMBOS)]) for i in range(100)]
    write_jsonl(tmp_path / "parts" / "t.jsonl", rows)
    build(tmp_path)
    first = {p.id: p.split for p in assign_splits(load_parts(tmp_path), existing=None)}
    kept = {
        json.loads(x)["id"]: s
        for s in ("train", "dev", "test")
        for x in (tmp_path / "splits" / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()
    }
    assert kept == first
    # Relabel a post and add new ones: old posts keep their split.
    write_jsonl(
        tmp_path / "adjudication.jsonl", [{"id": "t-0001", "labels": ["exit_scam"], "rule": "x"}]
    )
    write_jsonl(
        tmp_path / "parts" / "u.jsonl", [_post(i, COMBOS[i % len(COMBOS)]) for i in range(500, 540)]
    )
    build(tmp_path)
    after = {
        json.loads(x)["id"]: s
        for s in ("train", "dev", "test")
        for x in (tmp_path / "splits" / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()
    }
    assert {k: after[k] for k in kept} == kept
    assert len(after) == 140 and {after[f"t-{i:04d}"] for i in range(500, 540)} == {
        "train",
        "dev",
        "test",
    }
