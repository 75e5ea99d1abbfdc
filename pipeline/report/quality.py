"""The data-quality annex: how complete the crawl was, what ingest refused or folded, and
which model labeled the posts with what measured quality.

Read from what the stages leave behind: crawl stats files (``raw/<site>/<run>.stats.json``),
crawler rejects (``<run>.rejects.jsonl``), the ingest manifest, the complaints and
predictions tables, and the model artifacts (:mod:`pipeline.model_info`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.aggregate import UNKNOWN_PLATFORM
from pipeline.jsonl import iter_lines
from pipeline.model_info import ModelInfo, model_info
from pipeline.settings import Paths
from pipeline.warehouse import connect, sql_path

logger = logging.getLogger(__name__)

# Detail-page outcomes that are failures (``detail/ok`` counts successes, and
# ``detail/desktop`` / ``detail/mobile`` split them by page kind).
DETAIL_FAILURES = frozenset(
    {"failed", "no_body", "no_body_desktop", "sn_mismatch", "no_post_key", "no_content"}
)


@dataclass(frozen=True)
class CrawlRun:
    site: str
    run_id: str
    finish_reason: str | None  # None: the crawl was killed before it finished
    started: str | None
    items: int
    pages: int
    http_errors: int  # responses with a 4xx/5xx status
    retries: int
    details_ok: int
    details_failed: int
    rejected: int  # records the crawler refused (its rejects file)
    elapsed_s: float | None


@dataclass(frozen=True)
class SiteCoverage:
    site: str
    records: int
    full_text: int  # with the detail page's full body, not the list summary
    first: date | None
    last: date | None


@dataclass(frozen=True)
class IngestFigures:
    files: int
    lines: int
    loaded: int
    rejected: dict[str, int]  # reason -> lines
    pii: dict[str, int]  # kind -> items masked
    rows: int  # complaint records in the table
    sn_duplicates: int  # records read again (same site and sn) and folded
    posts: int
    multi_merchant_posts: int
    dup_clusters: int  # near-duplicate clusters of more than one post
    reposts: int  # posts folded into an earlier post of their cluster
    unknown_platform: int  # records whose platform is 未知


@dataclass
class DataQuality:
    crawls: list[CrawlRun] = field(default_factory=list)
    coverage: list[SiteCoverage] = field(default_factory=list)
    ingest: IngestFigures | None = None
    models: list[tuple[ModelInfo, int]] = field(default_factory=list)  # model, posts labeled


def _int(stats: dict[str, Any], key: str) -> int:
    value = stats.get(key, 0)
    return int(value) if isinstance(value, int | float) else 0


def crawl_run(stats_path: Path) -> CrawlRun | None:
    """One crawl's figures from its stats file (None if unreadable)."""
    try:
        payload = json.loads(stats_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        logger.warning("skipping unreadable crawl stats %s: %s", stats_path, exc)
        return None
    stats: dict[str, Any] = payload.get("stats", {})
    site = str(payload.get("site") or stats_path.parent.name)
    prefix = f"{site}/"
    status_prefix = "downloader/response_status_count/"
    errors = sum(
        _int(stats, k)
        for k in stats
        if k.startswith(status_prefix)
        and k[len(status_prefix) :].isdigit()
        and int(k[len(status_prefix) :]) >= 400
    )
    detail = {
        k[len(prefix) + 7 :]: _int(stats, k) for k in stats if k.startswith(prefix + "detail/")
    }
    rejects = stats_path.with_name(stats_path.name.replace(".stats.json", ".rejects.jsonl"))
    rejected = sum(1 for _ in iter_lines(rejects)) if rejects.exists() else 0
    elapsed = stats.get("elapsed_time_seconds")
    return CrawlRun(
        site=site,
        run_id=str(payload.get("run_id") or stats_path.name.split(".")[0]),
        finish_reason=payload.get("finish_reason"),
        started=stats.get("start_time"),
        # Complaint records (the crawler also writes merchant-info records).
        items=_int(stats, "tousu/records_written")
        or _int(stats, "item_scraped_count") - _int(stats, "tousu/merchant_info_written"),
        pages=sum(_int(stats, k) for k in stats if k.startswith(prefix + "pages/")),
        http_errors=errors,
        retries=_int(stats, "retry/count"),
        details_ok=detail.get("ok", 0),
        details_failed=sum(n for key, n in detail.items() if key in DETAIL_FAILURES),
        rejected=rejected,
        elapsed_s=float(elapsed) if isinstance(elapsed, int | float) else None,
    )


def _ingest_figures(paths: Paths) -> IngestFigures | None:
    if not paths.complaints.exists():
        return None
    lines = loaded = files = 0
    rejected: Counter[str] = Counter()
    pii: Counter[str] = Counter()
    if paths.ingest_manifest.exists():
        try:
            manifest = json.loads(paths.ingest_manifest.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            manifest = {}
        for entry in manifest.get("files", {}).values():
            files += 1
            lines += int(entry.get("lines", 0))
            loaded += int(entry.get("loaded", 0))
            rejected.update(entry.get("rejected") or {})
            pii.update(entry.get("pii") or {})
    con = connect()
    row = con.execute(
        f"""
        SELECT count(*), count(DISTINCT post_id),
               count(*) FILTER (WHERE is_post_primary AND post_size > 1),
               count(DISTINCT dup_group) FILTER (WHERE dup_size > 1),
               count(*) FILTER (WHERE is_post_primary AND NOT is_dup_primary),
               count(*) FILTER (WHERE coalesce(platform, '{UNKNOWN_PLATFORM}') = '{UNKNOWN_PLATFORM}')
        FROM read_parquet({sql_path(paths.complaints)})
        """
    ).fetchone()
    rows, posts, multi, clusters, reposts, unknown = (int(x) for x in row)
    return IngestFigures(
        files=files,
        lines=lines,
        loaded=loaded,
        rejected=dict(rejected.most_common()),
        pii={k: v for k, v in pii.most_common() if v},
        rows=rows,
        sn_duplicates=max(loaded - rows, 0),
        posts=posts,
        multi_merchant_posts=multi,
        dup_clusters=clusters,
        reposts=reposts,
        unknown_platform=unknown,
    )


def collect_quality(paths: Paths) -> DataQuality:
    quality = DataQuality()
    if paths.raw.is_dir():
        for stats_path in sorted(paths.raw.glob("*/*.stats.json")):
            run = crawl_run(stats_path)
            if run is not None:
                quality.crawls.append(run)
    quality.ingest = _ingest_figures(paths)
    con = connect()
    if paths.complaints.exists():
        for site, records, full, first, last in con.execute(
            f"""
            SELECT site, count(*), count(*) FILTER (WHERE NOT body_truncated),
                   CAST(min(timezone('Asia/Shanghai', created_at)) AS DATE),
                   CAST(max(timezone('Asia/Shanghai', created_at)) AS DATE)
            FROM read_parquet({sql_path(paths.complaints)}) GROUP BY site ORDER BY site
            """
        ).fetchall():
            quality.coverage.append(SiteCoverage(site, int(records), int(full), first, last))
    if paths.predictions.exists():
        for version, posts in con.execute(
            f"""SELECT model_version, count(*) FROM read_parquet({sql_path(paths.predictions)})
                GROUP BY 1 ORDER BY 2 DESC"""
        ).fetchall():
            quality.models.append((model_info(paths, str(version)), int(posts)))
    return quality
