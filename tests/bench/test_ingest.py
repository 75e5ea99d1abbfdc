from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bench.ingest import ingest_lines, summarize_runs
from tests.conftest import make_record, write_jsonl


def _run(posts_per_s: float, rss: float, seconds: float) -> dict[str, Any]:
    return {
        "posts_per_s": posts_per_s,
        "posts_per_cpu_s": posts_per_s / 2,
        "peak_rss_mb": rss,
        "seconds": seconds,
    }


def test_the_median_run_is_the_figure_with_its_spread_and_the_worst_memory() -> None:
    runs = [_run(4100.0, 480.0, 4.9), _run(2750.0, 500.0, 7.3), _run(3300.0, 490.0, 6.1)]
    size = summarize_runs(1, runs)
    assert size["posts_per_s"] == 3300.0 and size["seconds"] == 6.1  # one run's own figures
    assert (size["posts_per_s_min"], size["posts_per_s_max"]) == (2750.0, 4100.0)
    assert size["posts_per_cpu_s_median"] == 1650.0
    assert size["peak_rss_mb"] == 500.0  # memory: the highest peak of any run
    assert size["scale"] == 1 and size["runs"] == runs


def test_an_even_count_takes_the_lower_middle_run() -> None:
    size = summarize_runs(4, [_run(3000.0, 1, 1), _run(2000.0, 1, 2)])
    assert size["posts_per_s"] == 2000.0


def test_the_counted_child_ingests_exactly_the_first_lines(tmp_path: Path) -> None:
    raw = write_jsonl(tmp_path / "raw.jsonl", [make_record(sn=f"1739000000{i}") for i in range(5)])
    ingest_lines(raw, 3, tmp_path / "work")
    part = pq.read_table(tmp_path / "work" / "part.parquet")
    assert part.column("sn").to_pylist() == ["17390000000", "17390000001", "17390000002"]
