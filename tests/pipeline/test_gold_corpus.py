"""The project's gold corpus itself: it parses, meets its minimums, and its splits are fixed,
complete and disjoint by text."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from pipeline.gold import SPLITS, agreement, final_labels, load_decisions, load_parts
from pipeline.taxonomy import LABELS
from tests.conftest import REPO

GOLD = REPO / "gold"
MIN_POSITIVES, MIN_NONE, MIN_SECOND = 250, 300, 300


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict[str, object]]]:
    return {
        s: [
            json.loads(x)
            for x in (GOLD / "splits" / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        for s in SPLITS
    }


def test_parts_parse_and_meet_the_minimums() -> None:
    posts = final_labels(load_parts(GOLD), load_decisions(GOLD / "adjudication.jsonl"))
    assert len(posts) >= 1500
    counts = Counter(label for p in posts for label in p.labels)
    assert all(counts[label] >= MIN_POSITIVES for label in LABELS), counts
    none = [p for p in posts if not p.labels]
    assert len(none) >= MIN_NONE
    assert sum(p.hard_negative for p in none) > len(none) / 2  # most are hard negatives


def test_splits_hold_every_post_once_with_final_labels(
    splits: dict[str, list[dict[str, object]]],
) -> None:
    posts = {
        p.id: p for p in final_labels(load_parts(GOLD), load_decisions(GOLD / "adjudication.jsonl"))
    }
    ids = [r["id"] for rows in splits.values() for r in rows]
    assert sorted(ids) == sorted(posts)  # type: ignore[type-var]
    for rows in splits.values():
        for r in rows:
            assert r["labels"] == [label.value for label in posts[str(r["id"])].labels]


def test_splits_are_disjoint_by_text(splits: dict[str, list[dict[str, object]]]) -> None:
    owner: dict[str, str] = {}
    for split, rows in splits.items():
        for r in rows:
            text = re.sub(r"\s+", "", str(r["body"]))
            for i in range(len(text) - 19):
                assert owner.setdefault(text[i : i + 20], split) == split, (
                    r["id"],
                    text[i : i + 20],
                )


def test_second_annotation_covers_enough_posts_and_is_adjudicated() -> None:
    second = load_decisions(GOLD / "annotation2.jsonl")
    assert len(second) >= MIN_SECOND
    result = agreement(load_parts(GOLD), second)
    adjudicated = set(load_decisions(GOLD / "adjudication.jsonl"))
    assert {d["id"] for d in result["disagreements"]} <= adjudicated
    recorded = json.loads((GOLD / "agreement.json").read_text(encoding="utf-8"))
    assert recorded["labels"] == result["labels"]
