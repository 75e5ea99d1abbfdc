from __future__ import annotations

from typing import Any

from bench.aggregate import RUN_FIGURES, summarize_runs


def _run(total: float, peak: int) -> dict[str, Any]:
    figures: dict[str, Any] = dict.fromkeys(RUN_FIGURES, 1.0)
    figures.update(total_s=total, peak_rss_bytes=peak, watchlist=[f"run {total}"])
    return figures


def test_the_median_run_is_the_figure_with_the_highest_peak_memory() -> None:
    result = summarize_runs([_run(70.0, 2), _run(44.0, 3), _run(52.0, 1)])
    assert result["total_s"] == 52.0 and result["watchlist"] == ["run 52.0"]
    assert (result["total_s_min"], result["total_s_max"]) == (44.0, 70.0)
    assert result["peak_rss_bytes"] == 3
    assert [r["total_s"] for r in result["runs"]] == [70.0, 44.0, 52.0]
    assert "watchlist" not in result["runs"][0]
