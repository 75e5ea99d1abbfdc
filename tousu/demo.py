"""``tousu demo``: the whole pipeline on the local simulator, end to end.

Starts ``tousu sim serve`` in a child process on a free port, crawls it in this process,
stops it, runs every stage and prints a self-check against the simulator's planted truth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from crawler.sim.process import SimProcess, recreate_workspace
from pipeline.settings import Paths

# Marks a folder as the demo's own, so that recreating it can never delete anything else.
WORKSPACE_MARKER = ".tousu-demo-workspace"


def reset_workspace(paths: Paths) -> None:
    """Empty the demo workspace, refusing a non-empty folder the demo did not create."""
    recreate_workspace(
        paths.data_dir,
        WORKSPACE_MARKER,
        "`tousu demo`",
        hint="use another --data-dir (the demo recreates DATA_DIR/demo on every run)",
    )


def run_demo(
    paths: Paths,
    *,
    complaints: int,
    seed: int,
    echo: Callable[[str], None],
    labeler: str = "classifier",
) -> Path:
    """Run every stage; ``labeler`` "classifier" trains the default model first if there is
    none (once: the artifact lives under artifacts/, outside the demo's workspace)."""
    from crawler.runner import run_crawl
    from crawler.sim.check import check_against_truth
    from models.registry import load_labeler
    from models.run import ensure_classifier
    from pipeline.aggregate import run_aggregate
    from pipeline.alerts import run_alerts
    from pipeline.export import run_export
    from pipeline.ingest import run_ingest
    from pipeline.periods import Period
    from pipeline.predictions import run_label
    from pipeline.report.render import write_report
    from tousu.progress import bytes_bar, close_all, rows_bar, steps_bar

    started = time.monotonic()
    reset_workspace(paths)
    truth_path = paths.sim / "truth.json"
    echo(f"[1/8] starting the simulator ({complaints} complaints, seed {seed})")
    sim = SimProcess(
        ["--seed", str(seed), "--complaints", str(complaints), "--truth", str(truth_path)]
    )
    try:
        echo(f"[2/8] crawling {sim.base_url}")
        crawl = run_crawl(
            "heimao",
            data_dir=paths.data_dir,
            spider_args={"base_url": sim.base_url},
            settings={"LOG_LEVEL": "WARNING", "TOUSU_PROGRESS_INTERVAL": 5.0},
        )
    finally:
        sim.stop()
    echo(f"      {crawl.records} complaints in {crawl.output}")
    echo("[3/8] ingest")
    try:
        ingested = run_ingest(paths, progress=bytes_bar)
        echo(f"      {ingested.rows} complaints, {sum(ingested.rejected.values())} rejected")
        echo(f"[4/8] label ({labeler})")
        if labeler == "classifier":
            ensure_classifier(paths, progress=steps_bar, echo=lambda line: echo(f"      {line}"))
        chosen = load_labeler("auto" if labeler == "classifier" else labeler, paths)
        labeled = run_label(paths, chosen, progress=rows_bar("label"))
    finally:
        close_all()
    echo(f"      {dict(labeled.label_counts)} ({labeled.model_version})")
    echo("[5/8] aggregate")
    run_aggregate(paths)
    echo("[6/8] alerts")
    alerts = run_alerts(paths)
    echo(
        f"      {alerts.merchants} merchant(s) on the watchlist, {alerts.platforms} platform "
        f"trend(s) flagged ({alerts.watchlist})"
    )
    echo("[7/8] report")
    report = write_report(paths, Period("all", None, None))
    echo(f"      {report.html}" + (f" and {report.pdf}" if report.pdf else ""))
    echo("[8/8] export the labeled dataset")
    dataset = run_export(paths, paths.data_dir / "dataset")
    echo(f"      {dataset.rows} posts in {dataset.out}")
    check = check_against_truth(paths, truth_path)
    echo("")
    echo("self-check against the simulator's planted truth:")
    echo(
        f"  crawl coverage: {check.crawled}/{check.planted_complaints} ({check.coverage:.1%}), "
        f"{check.full_body} with the full body from the detail page"
    )
    for label, q in check.quality.items():
        echo(
            f"  {label.value:<20} P {q.precision:.2f}  R {q.recall:.2f}  F1 {q.f1:.2f}  (n={q.support})"
        )
    echo(f"  macro-F1 of the labels against the planted truth: {check.macro_f1:.3f}")
    for planted in check.planted:
        overall = f"#{planted.rank}" if planted.rank else "not listed"
        during = f"#{planted.episode_rank}" if planted.episode_rank else "not listed"
        watch = (
            f"on the watchlist from {planted.first_alert_week} "
            f"({planted.alert_delay_weeks} week(s) after the episode began)"
            if planted.first_alert_week
            else "NOT on the watchlist"
        )
        echo(
            f"  planted exit scam {planted.name} ({planted.start_week}..{planted.end_week}): "
            f"{during} in the exit-scam table for its episode weeks, {overall} over the whole "
            f"span; {watch}"
        )
    if check.rising_platform:
        where = f"#{check.rising_platform_rank}" if check.rising_platform_rank else "not listed"
        flagged = (
            f"its rising share flagged from {check.rising_platform_alert_week}"
            if check.rising_platform_alert_week
            else "its rise NOT flagged"
        )
        echo(
            f"  planted fake-shipment rise on {check.rising_platform}: {where} in the "
            f"fake-shipment platform table; {flagged}"
        )
    planted_names = {p.name for p in check.planted}
    others = [name for name in check.watchlist if name not in planted_names]
    echo(
        f"  watchlist: {len(check.watchlist)} merchant(s), {len(others)} not planted"
        + (f" ({', '.join(others)})" if others else "")
    )
    echo(
        f"\ndemo finished in {time.monotonic() - started:.0f} s. "
        f"PDF: {report.pdf.resolve() if report.pdf else '-'}\nReport: {report.html.resolve()}"
    )
    return report.html
