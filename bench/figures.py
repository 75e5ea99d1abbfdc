"""What every benchmark does with its figures: pick the median of repeated runs, and write
the figures file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def median_run(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run whose ``key`` is the median (the lower middle of an even count), with that
    run's own figures, plus ``<key>_min`` and ``<key>_max`` over all runs."""
    if not runs:
        raise ValueError("no runs to take the median of")
    ordered = sorted(runs, key=lambda r: r[key])
    return {
        **ordered[(len(ordered) - 1) // 2],
        f"{key}_min": ordered[0][key],
        f"{key}_max": ordered[-1][key],
    }


def write_figures(path: Path, figures: dict[str, Any]) -> None:
    """The figures as readable JSON, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
