"""The 电诉宝 spider against the simulator: complete records, personal data never stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler import diansubao_api as api
from crawler.sim.diansubao import DiansubaoView
from crawler.sim.server import ServerOptions, SimServer
from pipeline.contract import validate_record
from tests.conftest import crawl_cli, raw_records


def _records(data: Path) -> list[dict[str, Any]]:
    return raw_records(data / "raw" / "diansubao")


def test_crawl_keeps_every_complaint_and_no_personal_data(
    small_market: Any, tmp_path: Path
) -> None:
    view = DiansubaoView(small_market)
    data = tmp_path / "data"
    with SimServer(small_market, ServerOptions(site="diansubao")) as server:
        done = crawl_cli(data, "diansubao", server.base_url, "-s", "DIANSUBAO_PAGE_RECORD=37")
        assert done.returncode == 0, done.stderr[-3000:]
        assert server.stats["list"] == -(-len(view.posts) // 37)
    records = _records(data)
    by_id = {str(e.post_id): e for e in view.posts}
    assert sorted(r["sn"] for r in records) == sorted(by_id)
    for record in records:
        entry = by_id[record["sn"]]
        checked = validate_record(record)
        assert checked.merchant_name == entry.post.merchant.name
        assert checked.merchant_id == str(entry.company_id)
        assert (
            not checked.body_truncated
            and checked.body.split("\n")[0] == entry.post.text.body.split("\n")[0].strip()
        )
        assert checked.created_at.replace(microsecond=0) == entry.post.created_at.replace(
            microsecond=0
        )
        assert set(record["raw"]) <= set(api.KEPT_FIELDS)
    # Not a field, not a value: nothing personal anywhere the crawl wrote (state included).
    values = [
        v
        for person in view.personal()
        for k, v in person.items()
        if k in ("mobile", "idcard", "email", "concrete_area")
    ]
    for path in data.rglob("*"):
        if path.is_file():
            blob = path.read_bytes().decode("utf-8", errors="replace")
            assert not any(
                f'"{key}"' in blob for key in api.PERSONAL_FIELDS if key not in ("name",)
            ), path
            assert not any(value in blob for value in values), path
