"""``tousu demo``: the whole pipeline on the local simulator, end to end.

Starts ``tousu sim serve`` in a child process on a free port, crawls it in this process,
stops it, runs every stage and prints a self-check against the simulator's planted truth.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.settings import Paths

# Marks a folder as the demo's own, so that recreating it can never delete anything else.
WORKSPACE_MARKER = ".tousu-demo-workspace"


class DemoWorkspaceError(RuntimeError):
    """The demo's folder exists but was not made by the demo."""


def reset_workspace(paths: Paths) -> None:
    """Empty the demo workspace, refusing a non-empty folder the demo did not create."""
    folder = paths.data_dir
    if folder.exists() and any(folder.iterdir()):
        if not (folder / WORKSPACE_MARKER).exists():
            raise DemoWorkspaceError(
                f"{folder} holds files the demo did not create; move them away or use another "
                "--data-dir (the demo recreates DATA_DIR/demo on every run)"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / WORKSPACE_MARKER).write_text("created by `tousu demo`; recreated on every run\n")


class SimProcess:
    """The simulator as a child process; the URL comes from its first stdout line."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tousu", "sim", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if " on http://" not in line:
            self.stop()
            raise RuntimeError(
                f"the simulator did not start (exit code {self.proc.returncode}): {line!r}"
            )
        self.base_url = line.rsplit(" on ", 1)[1].strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_demo(paths: Paths, *, complaints: int, seed: int, echo: Callable[[str], None]) -> Path:
    from crawler.runner import run_crawl
    from crawler.sim.check import check_against_truth
    from models.registry import load_labeler
    from pipeline.aggregate import run_aggregate
    from pipeline.ingest import run_ingest
    from pipeline.periods import Period
    from pipeline.predictions import run_label
    from pipeline.report.render import write_report
    from tousu.progress import bytes_bar, close_all, rows_bar

    started = time.monotonic()
    reset_workspace(paths)
    truth_path = paths.sim / "truth.json"
    echo(f"[1/6] starting the simulator ({complaints} complaints, seed {seed})")
    sim = SimProcess(
        ["--seed", str(seed), "--complaints", str(complaints), "--truth", str(truth_path)]
    )
    try:
        echo(f"[2/6] crawling {sim.base_url}")
        crawl = run_crawl(
            "heimao",
            data_dir=paths.data_dir,
            spider_args={"base_url": sim.base_url},
            settings={"LOG_LEVEL": "WARNING", "TOUSU_PROGRESS_INTERVAL": 5.0},
        )
    finally:
        sim.stop()
    echo(f"      {crawl.records} complaints in {crawl.output}")
    echo("[3/6] ingest")
    try:
        ingested = run_ingest(paths, progress=bytes_bar)
        echo(f"      {ingested.rows} complaints, {sum(ingested.rejected.values())} rejected")
        echo("[4/6] label")
        labeled = run_label(paths, load_labeler("weak", paths), progress=rows_bar("label"))
    finally:
        close_all()
    echo(f"      {dict(labeled.label_counts)} ({labeled.model_version})")
    echo("[5/6] aggregate")
    run_aggregate(paths)
    echo("[6/6] report")
    report = write_report(paths, Period("all", None, None))
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
        echo(
            f"  planted exit scam {planted.name} ({planted.start_week}..{planted.end_week}): "
            f"{during} in the exit-scam table for its episode weeks, {overall} over the whole span"
        )
    if check.rising_platform:
        where = f"#{check.rising_platform_rank}" if check.rising_platform_rank else "not listed"
        echo(
            f"  planted fake-shipment rise on {check.rising_platform}: {where} in the fake-shipment platform table"
        )
    echo(f"\ndemo finished in {time.monotonic() - started:.0f} s. Report: {report.resolve()}")
    return report
