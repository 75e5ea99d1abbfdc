"""Shared fixtures: a small simulated marketplace, its server, and record builders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.settings import Paths

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "data")


@pytest.fixture
def real_data() -> Path:
    """The real recorded 黑猫投诉 material beside the checkout (evaluation only)."""
    if not SHARED_REAL.is_dir():
        pytest.skip(f"real evaluation data not found at {SHARED_REAL}")
    return SHARED_REAL


def make_record(**overrides: Any) -> dict[str, Any]:
    """A valid raw record as a crawler writes it; override any field."""
    record: dict[str, Any] = {
        "site": "heimao",
        "sn": "17390000001",
        "url": "https://tousu.sina.com.cn/complaint/view/17390000001/",
        "title": "付款后一直不发货",
        "body": "在拼多多买的手机，付款半个月了一直不发货，客服也不回消息。",
        "body_truncated": False,
        "merchant_name": "拼多多客户服务",
        "merchant_id": "6244211375",
        "issue": "虚假发货,客服不处理",
        "appeal": "退款",
        "amount_yuan": "2,399元",
        "status": 4,
        "created_at": "1777281432",
        "fetched_at": "2026-11-20T08:00:00+00:00",
    }
    record.update(overrides)
    return record


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(
                (row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n"
            )
    return path


@pytest.fixture(scope="session")
def small_market() -> Any:
    from crawler.sim.marketplace import Marketplace, SimConfig

    return Marketplace(SimConfig(seed=11, weeks=12, complaints=400, merchants=60, exit_scams=1))


@pytest.fixture
def sim_server(small_market: Any) -> Iterator[Any]:
    from crawler.sim.server import ServerOptions, SimServer

    with SimServer(small_market, ServerOptions()) as server:
        yield server
