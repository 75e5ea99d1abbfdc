"""The whole pipeline on a small simulator crawl, through the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from parsel import Selector

from crawler.sim.check import check_against_truth
from pipeline.settings import Paths
from tests.conftest import REPO
from tousu.cli import cli


def test_crawl_ingest_label_aggregate_report(
    sim_server: Any, small_market: Any, tmp_path: Path
) -> None:
    paths = Paths(tmp_path / "data")
    truth = tmp_path / "truth.json"
    truth.write_text(
        __import__("json").dumps(small_market.truth(), ensure_ascii=False), encoding="utf-8"
    )
    crawl = subprocess.run(
        [
            sys.executable,
            "-m",
            "tousu",
            "--data-dir",
            str(paths.data_dir),
            "crawl",
            "heimao",
            "--base-url",
            sim_server.base_url,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    runner = CliRunner()
    for args in (["ingest"], ["label"], ["aggregate"], ["report", "--period", "all"]):
        result = runner.invoke(cli, ["--data-dir", str(paths.data_dir), *args])
        assert result.exit_code == 0, (args, result.output)
    check = check_against_truth(paths, truth)
    assert check.coverage == 1.0 and check.full_body == check.crawled
    assert check.macro_f1 > 0.75
    (planted,) = check.planted
    assert planted.rank is not None and planted.rank <= 5
    assert planted.episode_rank is not None and planted.episode_rank <= 5
    html = (paths.reports / "report-all.html").read_text(encoding="utf-8")
    names = (
        Selector(text=html)
        .css('table.merchants[data-label="exit_scam"] td.merchant::text')
        .getall()
    )
    assert planted.name in names[:5]


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tousu",
            "--data-dir",
            str(data),
            "demo",
            "--complaints",
            "800",
            "--seed",
            "3",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "[6/6] report" in out and "Report: " in out
    report = Path(out.rsplit("Report: ", 1)[1].strip())
    assert report.is_file() and report.is_relative_to(data.resolve())
    planted = [line for line in out.splitlines() if "planted exit scam" in line]
    assert len(planted) == 2
    ranks = [re.findall(r"#(\d+)", line) for line in planted]
    # Ranked in the episode's weeks and over the whole span.
    assert all(len(r) == 2 and max(map(int, r)) <= 5 for r in ranks), planted
