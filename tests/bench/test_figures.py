from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.figures import median_run, write_figures


def test_median_run_is_one_run_with_the_spread_of_its_key() -> None:
    runs = [{"s": 3.0, "x": "a"}, {"s": 1.0, "x": "b"}, {"s": 2.0, "x": "c"}, {"s": 4.0, "x": "d"}]
    assert median_run(runs, "s") == {"s": 2.0, "x": "c", "s_min": 1.0, "s_max": 4.0}
    with pytest.raises(ValueError, match="no runs"):
        median_run([], "s")


def test_figures_are_written_whole(tmp_path: Path) -> None:
    out = tmp_path / "bench" / "x.json"
    write_figures(out, {"名": 1})
    assert json.loads(out.read_text(encoding="utf-8")) == {"名": 1}
    assert [p.name for p in out.parent.iterdir()] == ["x.json"]
