"""Build a warehouse from a simulated marketplace without serving it: the records a complete
crawl would write (full detail text, timeline, status), then the real ingest, weak labeling
and aggregation. Faster than a crawl, and what the analytics tests need."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawler.sim.marketplace import Marketplace
from pipeline.aggregate import run_aggregate
from pipeline.ingest import run_ingest
from pipeline.labeling.labeler import WeakLabeler
from pipeline.predictions import run_label
from pipeline.settings import Paths
from tests.conftest import write_jsonl


def crawl_records(market: Marketplace) -> list[dict[str, Any]]:
    fetched = datetime.combine(market.config.end, datetime.min.time(), tzinfo=UTC).isoformat()
    records = []
    for post in market.posts:
        records.append(
            {
                "site": "heimao",
                "sn": post.sn,
                "url": f"https://tousu.sina.com.cn/complaint/view/{post.sn}/",
                "title": post.text.title,
                "body": post.text.body,
                "body_truncated": False,
                "merchant_name": post.merchant.name,
                "merchant_id": post.merchant.couid,
                "issue": ",".join(post.text.issue),
                "appeal": ",".join(post.text.appeal),
                "amount_yuan": post.text.amount,
                "status": int(post.status),
                "created_at": str(int(post.created_at.timestamp())),
                "fetched_at": fetched,
                "timeline": [
                    {
                        "status": step.status,
                        "at": step.at.isoformat(),
                        "actor": step.actor,
                        "text": step.text,
                    }
                    for step in post.timeline
                ],
            }
        )
    return records


def build_sim_warehouse(paths: Paths, market: Marketplace) -> Paths:
    write_jsonl(paths.raw_site("heimao") / "sim.jsonl", crawl_records(market))
    run_ingest(paths)
    run_label(paths, WeakLabeler())
    run_aggregate(paths)
    return paths
