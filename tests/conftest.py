"""Shared fixtures: a small simulated marketplace, its server, and record builders."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.settings import ARTIFACTS_DIR_ENV, DATA_DIR_ENV, Paths

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


def run_module(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` in a child process from the checkout, output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def crawl_cli(
    data_dir: Path, site: str, base_url: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``tousu --data-dir DATA crawl SITE --base-url URL EXTRA`` as a user runs it."""
    return run_module(
        "tousu", "--data-dir", str(data_dir), "crawl", site, "--base-url", base_url, *extra
    )


def scrapy_crawl(data_dir: Path, base_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl heimao`` straight, the way a Scrapy user runs the spider."""
    return run_module(
        "scrapy.cmdline",
        "crawl",
        "heimao",
        "-a",
        f"base_url={base_url}",
        "-s",
        f"TOUSU_DATA_DIR={data_dir}",
        *extra,
    )


def raw_records(folder: Path) -> list[dict[str, Any]]:
    """Every record of a crawl output folder's ``*.jsonl`` files (rejects left out)."""
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        if not path.name.endswith(".rejects.jsonl"):
            rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return rows


@pytest.fixture(autouse=True)
def _isolated_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run by a test never see the checkout's data or trained models (a developer's
    ``artifacts/classifier`` would otherwise change what ``--labeler auto`` picks)."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(ARTIFACTS_DIR_ENV, str(tmp_path / "artifacts"))


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "data", tmp_path / "artifacts")


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
