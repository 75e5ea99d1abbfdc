"""Compare what the pipeline produced with what the simulator planted.

Used by the demo to print an honest self-check and by the end-to-end tests: crawl coverage,
label quality against the planted labels, where each planted exit-scam merchant ranks in the
exit-scam ranking (whole span and its own episode weeks), when the early warning first put it
on the watchlist, and whether the platform with rising fake shipments was flagged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pipeline.alerts import AlertResult, detect_alerts
from pipeline.ranking import Unit, rank_period
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
    rank: int | None  # position in the exit-scam merchant ranking, None if not ranked
    episode_rank: int | None  # the same, over the episode's weeks only
    first_alert_week: str | None  # ISO week it first stood on the watchlist, None if never
    alert_delay_weeks: int | None  # weeks from the episode's start to that alert


@dataclass(frozen=True)
class TruthCheck:
    planted_complaints: int
    crawled: int
    full_body: int
    quality: dict[Label, LabelQuality]
    planted: list[PlantedMerchant]
    rising_platform: str | None
    rising_platform_rank: int | None  # in the fake-shipment platform ranking
    rising_platform_alert_week: str | None  # first week its fake-shipment trend was flagged
    watchlist: list[str]  # every merchant the early warning flagged
    platform_alerts: list[tuple[str, str]]  # (platform, label) trends flagged

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


def _iso(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def check_against_truth(paths: Paths, truth_path: Path) -> TruthCheck:
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
    scam_names = _ranked(paths, None, None, "merchant", Label.EXIT_SCAM)
    alerts = detect_alerts(paths, with_examples=False)
    merchants = {m["couid"]: m for m in truth["merchants"]}
    planted = []
    rising, rising_rank, rising_alert = None, None, None
    for episode in truth["episodes"]:
        if episode["kind"] == "exit_scam":
            name = merchants[episode["target"]]["canonical"]
            first = date.fromisoformat(episode["start_date"])
            end = first + timedelta(weeks=len(episode["weekly"]))
            alert_week = _first_alert(alerts, name)
            planted.append(
                PlantedMerchant(
                    name=name,
                    couid=episode["target"],
                    start_week=episode["start_week"],
                    end_week=episode["end_week"],
                    rank=_rank(name, scam_names),
                    episode_rank=_rank(
                        name, _ranked(paths, first, end, "merchant", Label.EXIT_SCAM)
                    ),
                    first_alert_week=_iso(alert_week) if alert_week else None,
                    alert_delay_weeks=(alert_week - first).days // 7 if alert_week else None,
                )
            )
        elif episode["kind"] == "platform_fake_shipment_rise":
            rising = episode["target"]
            platforms = _ranked(paths, None, None, "platform", Label.FAKE_SHIPMENT)
            rising_rank = _rank(rising, platforms)
            flagged = [
                a.first_alert_week
                for a in alerts.platforms
                if a.platform == rising and a.label == Label.FAKE_SHIPMENT.value
            ]
            rising_alert = _iso(flagged[0]) if flagged else None
    return TruthCheck(
        planted_complaints=len(truth["posts"]),
        crawled=int(crawled),
        full_body=int(full_body),
        quality=quality,
        planted=planted,
        rising_platform=rising,
        rising_platform_rank=rising_rank,
        rising_platform_alert_week=rising_alert,
        watchlist=[m.merchant for m in alerts.merchants],
        platform_alerts=[(a.platform, a.label) for a in alerts.platforms],
    )


def _rank(name: str, names: list[str]) -> int | None:
    return names.index(name) + 1 if name in names else None


def _ranked(
    paths: Paths, start: date | None, end: date | None, unit: Unit, label: Label
) -> list[str]:
    """Names in ranking order (ranked units only: at least the minimum volume)."""
    return [u.name for u in rank_period(paths, start, end, unit)[label].ranked]


def _first_alert(alerts: AlertResult, merchant: str) -> date | None:
    for m in alerts.merchants:
        if m.merchant == merchant:
            return m.first_alert_week
    return None
