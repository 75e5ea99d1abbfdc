"""Tiny locally-built models and small labeled files for the model tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_jsonl


@pytest.fixture(scope="session")
def labeled_sim_posts() -> list[dict[str, Any]]:
    """Simulated posts with their planted labels, standing in for gold in tests."""
    from crawler.sim.marketplace import Marketplace, SimConfig

    market = Marketplace(SimConfig(seed=21, weeks=12, complaints=1400, merchants=80, exit_scams=1))
    seen, rows = set(), []
    for post in market.posts:
        if post.post_id not in seen:
            seen.add(post.post_id)
            rows.append(
                {
                    "id": post.sn,
                    "title": post.text.title,
                    "body": post.text.body,
                    "labels": sorted(label.value for label in post.labels),
                }
            )
    return rows


@pytest.fixture(scope="session")
def gold_files(
    tmp_path_factory: pytest.TempPathFactory, labeled_sim_posts: list[dict[str, Any]]
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gold")
    rows = labeled_sim_posts
    return {
        "train": write_jsonl(root / "train.jsonl", rows[:900]),
        "dev": write_jsonl(root / "dev.jsonl", rows[900:1100]),
        "test": write_jsonl(root / "test.jsonl", rows[1100:1300]),
    }


@pytest.fixture(scope="session")
def tiny_base(
    tmp_path_factory: pytest.TempPathFactory, labeled_sim_posts: list[dict[str, Any]]
) -> Path:
    from models.tiny import build_tiny_model

    texts = [r["title"] + "\n" + r["body"] for r in labeled_sim_posts]
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "base", texts)
