"""Acceptance: a simulator crawl with planted multi-merchant posts, re-posts and personal data,
ingested, scored against the simulator's truth file.

The simulator serves in-process and ``tousu crawl heimao`` runs in a subprocess, as in
``tests/test_end_to_end.py``, so the records are exactly what the crawler writes (list
summaries, detail pages, timelines, raw payloads).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pytest

from crawler.sim.marketplace import Marketplace, SimConfig
from crawler.sim.server import ServerOptions, SimServer
from pipeline.ingest import IngestSummary, run_ingest
from pipeline.pii import find_pii
from pipeline.settings import Paths
from tests.conftest import crawl_cli

CONFIG = SimConfig(
    seed=21,
    weeks=12,
    complaints=1200,
    merchants=80,
    exit_scams=0,
    multi_merchant_rate=0.2,
    near_duplicate_rate=0.1,
)


@dataclass
class Crawled:
    truth: dict[str, Any]
    paths: Paths
    summary: IngestSummary
    rows: list[dict[str, Any]]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    market = Marketplace(CONFIG)
    paths = Paths(tmp_path_factory.mktemp("grouping") / "data")
    with SimServer(market, ServerOptions()) as server:
        done = crawl_cli(paths.data_dir, "heimao", server.base_url)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = run_ingest(paths)
    rows = (
        duckdb.sql(f"SELECT * FROM read_parquet('{paths.complaints}')").to_arrow_table().to_pylist()
    )
    yield Crawled(market.truth(), paths, summary, rows)


def _pairs(groups: Iterable[list[str]]) -> set[tuple[str, str]]:
    return {pair for g in groups for pair in itertools.combinations(sorted(g), 2)}


def _precision_recall(
    predicted: dict[str, str], true: dict[str, Any]
) -> tuple[float, float, int, int]:
    """Pairwise precision and recall of a grouping of records (sn -> group)."""
    by_pred: dict[str, list[str]] = defaultdict(list)
    by_true: dict[Any, list[str]] = defaultdict(list)
    for sn, group in predicted.items():
        by_pred[group].append(sn)
        by_true[true[sn]].append(sn)
    pred, gold = _pairs(by_pred.values()), _pairs(by_true.values())
    hits = len(pred & gold)
    return hits / len(pred), hits / len(gold), len(pred), len(gold)


def _truth_clusters(truth: dict[str, Any]) -> dict[int, int]:
    """post_id -> post_id of the earliest post it re-posts (itself when none)."""
    repost_of = {p["post_id"]: p["repost_of"] for p in truth["posts"]}

    def root(post: int) -> int:
        while repost_of[post] is not None:
            post = repost_of[post]
        return post

    return {post: root(post) for post in repost_of}


def test_the_crawl_covers_the_planted_site(crawled: Crawled) -> None:
    assert len(crawled.rows) == len(crawled.truth["posts"]) == CONFIG.complaints
    reposts = [p for p in crawled.truth["posts"] if p["repost_of"] is not None]
    multi = Counter(p["post_id"] for p in crawled.truth["posts"])
    assert len(reposts) >= 40 and sum(n > 1 for n in multi.values()) >= 40


def test_multi_merchant_posts_are_grouped(crawled: Crawled) -> None:
    true_post = {p["sn"]: p["post_id"] for p in crawled.truth["posts"]}
    predicted = {r["sn"]: r["post_id"] for r in crawled.rows}
    precision, recall, n_pred, n_true = _precision_recall(predicted, true_post)
    assert n_true >= 40
    assert precision >= 0.95 and recall >= 0.95, (precision, recall, n_pred, n_true)


def test_near_duplicates_are_grouped(crawled: Crawled) -> None:
    clusters = _truth_clusters(crawled.truth)
    true_cluster = {p["sn"]: clusters[p["post_id"]] for p in crawled.truth["posts"]}
    predicted = {r["sn"]: r["dup_group"] for r in crawled.rows}
    precision, recall, n_pred, n_true = _precision_recall(predicted, true_cluster)
    assert n_true >= 80
    assert precision >= 0.95 and recall >= 0.95, (precision, recall, n_pred, n_true)


def test_counting_units_follow_the_truth(crawled: Crawled) -> None:
    clusters = _truth_clusters(crawled.truth)
    posts = crawled.truth["posts"]
    true_complaints = len({clusters[p["post_id"]] for p in posts})
    true_pairs = len({(clusters[p["post_id"]], p["merchant"]) for p in posts})
    primary = sum(r["is_dup_primary"] for r in crawled.rows)
    ranked = sum(r["counts_in_rankings"] for r in crawled.rows)
    assert abs(primary - true_complaints) <= 0.02 * true_complaints
    assert abs(ranked - true_pairs) <= 0.02 * true_pairs


def test_no_planted_personal_data_survives(crawled: Crawled) -> None:
    by_sn = {r["sn"]: r for r in crawled.rows}
    checked = 0
    for post in crawled.truth["posts"]:
        if not post["pii"]:
            continue
        row = by_sn[post["sn"]]
        stored = json.dumps(row, ensure_ascii=False, default=str)
        planted = Counter(kind for kind, _ in post["pii"])
        for kind, value in post["pii"]:
            checked += 1
            assert value not in stored, (post["sn"], kind, value)
        for kind, n in planted.items():
            assert row["pii"][kind] >= n, (post["sn"], kind, row["pii"])
    assert checked >= 100
    # The stored text holds nothing the masker would still find.
    for row in crawled.rows:
        for text in (row["title"], row["body"], row["title_original"], row["body_original"]):
            assert not find_pii(text, protect=(row["sn"],)), text
    # What must survive does: sn, amounts, the merchant's name.
    assert all(r["sn"] in r["url"] for r in crawled.rows)
    assert sum(r["amount_yuan"] is not None for r in crawled.rows) > 0.7 * len(crawled.rows)
    assert sum(r["title_original"] is None for r in crawled.rows) == 0


def test_simulated_reposts_are_small_edits_of_an_earlier_post(crawled: Crawled) -> None:
    posts = crawled.truth["posts"]
    first = {}
    for p in posts:
        first.setdefault(p["post_id"], p)
    by_sn = {r["sn"]: r for r in crawled.rows}
    for post in posts:
        if post["repost_of"] is None:
            continue
        original = first[post["repost_of"]]
        assert int(post["sn"]) > int(original["sn"]) + 20
        assert post["created_at"] > original["created_at"]
        assert post["merchant"] == original["merchant"]  # the same merchant, maybe another account
        assert post["labels"] == original["labels"]
        a, b = by_sn[original["sn"]], by_sn[post["sn"]]
        assert (a["title"], a["body"]) != (b["title"], b["body"])
