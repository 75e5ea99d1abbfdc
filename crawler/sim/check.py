"""Compare what the pipeline produced with what the simulator planted.

Used by the demo to print an honest self-check and by the end-to-end tests: crawl coverage,
label quality against the planted labels, and where each planted exit-scam merchant ranks in
the report's exit-scam table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pipeline.periods import Period
from pipeline.report.data import build_report_data
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, Label
from pipeline.warehouse import connect, sql_path


@dataclass(frozen=True)
class LabelQuality:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class PlantedMerchant:
    name: str
    couid: str
    start_week: str
    end_week: str
    rank: int | None  # position in the exit-scam merchant table, None if absent
    episode_rank: int | None  # the same, in a report for the episode's weeks only


@dataclass(frozen=True)
class TruthCheck:
    planted_complaints: int
    crawled: int
    full_body: int
    quality: dict[Label, LabelQuality]
    planted: list[PlantedMerchant]
    rising_platform: str | None
    rising_platform_rank: int | None  # in the fake-shipment platform table

    @property
    def coverage(self) -> float:
        return self.crawled / self.planted_complaints if self.planted_complaints else 0.0

    @property
    def macro_f1(self) -> float:
        return sum(q.f1 for q in self.quality.values()) / len(self.quality)


def load_truth(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        truth: dict[str, Any] = json.load(handle)
    return truth


def check_against_truth(paths: Paths, truth_path: Path, period: Period | None = None) -> TruthCheck:
    truth = load_truth(truth_path)
    con = connect()
    con.execute("CREATE TABLE truth (sn VARCHAR, labels VARCHAR[])")
    con.executemany(
        "INSERT INTO truth VALUES (?, ?)", [(p["sn"], p["labels"]) for p in truth["posts"]]
    )
    crawled, full_body = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT body_truncated) "
        f"FROM read_parquet({sql_path(paths.complaints)}) c JOIN truth USING (sn)"
    ).fetchone()
    quality = {}
    for label in LABELS:
        tp, fp, fn = con.execute(
            f"""
            SELECT count(*) FILTER (WHERE list_contains(t.labels, $1) AND list_contains(p.labels, $1)),
                   count(*) FILTER (WHERE NOT list_contains(t.labels, $1) AND list_contains(p.labels, $1)),
                   count(*) FILTER (WHERE list_contains(t.labels, $1) AND NOT list_contains(p.labels, $1))
            FROM read_parquet({sql_path(paths.predictions)}) p JOIN truth t USING (sn)
            """,
            [label.value],
        ).fetchone()
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        quality[label] = LabelQuality(precision, recall, f1, int(tp + fn))
    report = build_report_data(paths, period or Period("all", None, None))
    sections = {s.label: s for s in report.sections}
    scam_names = [row.name for row in sections[Label.EXIT_SCAM].merchants]
    merchants = {m["couid"]: m for m in truth["merchants"]}
    planted = []
    rising, rising_rank = None, None
    for episode in truth["episodes"]:
        if episode["kind"] == "exit_scam":
            name = merchants[episode["target"]]["canonical"]
            first = date.fromisoformat(episode["start_date"])
            weeks = Period("episode", first, first + timedelta(weeks=len(episode["weekly"])))
            planted.append(
                PlantedMerchant(
                    name=name,
                    couid=episode["target"],
                    start_week=episode["start_week"],
                    end_week=episode["end_week"],
                    rank=_rank(name, scam_names),
                    episode_rank=_rank(name, _exit_scam_merchants(paths, weeks)),
                )
            )
        elif episode["kind"] == "platform_fake_shipment_rise":
            rising = episode["target"]
            platforms = [row.name for row in sections[Label.FAKE_SHIPMENT].platforms]
            rising_rank = _rank(rising, platforms)
    return TruthCheck(
        planted_complaints=len(truth["posts"]),
        crawled=int(crawled),
        full_body=int(full_body),
        quality=quality,
        planted=planted,
        rising_platform=rising,
        rising_platform_rank=rising_rank,
    )


def _rank(name: str, names: list[str]) -> int | None:
    return names.index(name) + 1 if name in names else None


def _exit_scam_merchants(paths: Paths, period: Period) -> list[str]:
    sections = build_report_data(paths, period).sections
    return [row.name for s in sections if s.label is Label.EXIT_SCAM for row in s.merchants]
