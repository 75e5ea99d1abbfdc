"""Charts for the report, as inline SVG.

Text stays text in the SVG (``svg.fonttype = none``), so Chinese labels render with whatever
CJK font the reader's browser has, and the report needs no font on the machine that builds
it. When a CJK font is installed matplotlib uses it to measure labels; otherwise its
missing-glyph warnings are silenced, since the browser draws the glyphs anyway.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei"]
PALETTE = ["#1f6fb2", "#e4572e", "#29a36a", "#f2a541", "#8e5ea2", "#6c757d"]

plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "font.family": "sans-serif",
        "font.sans-serif": [*CJK_FONTS, "DejaVu Sans"],
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "font.size": 10,
    }
)


def _svg(fig: plt.Figure) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        warnings.filterwarnings("ignore", message=r"findfont: Font family .* not found")
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    # Drop the XML prolog and DOCTYPE: the SVG is inlined into HTML.
    return text[text.index("<svg") :]


def weekly_lines(
    weeks: Sequence[date],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    ylabel: str = "投诉数",
) -> str:
    """One line per series over the weeks (a series per platform, or per label)."""
    fig, ax = plt.subplots(figsize=(8.0, 3.2))
    for i, (name, values) in enumerate(series.items()):
        ax.plot(
            weeks,
            values,
            label=name,
            color=PALETTE[i % len(PALETTE)],
            linewidth=1.8,
            marker="o",
            markersize=2.5,
        )
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    if series:
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=min(3, len(series)))
    fig.autofmt_xdate()
    return _svg(fig)


def stacked_weekly(
    weeks: Sequence[date], series: Mapping[str, Sequence[int]], *, title: str
) -> str:
    """Stacked bars of weekly counts per series."""
    fig, ax = plt.subplots(figsize=(8.0, 3.2))
    bottom = [0] * len(weeks)
    for i, (name, values) in enumerate(series.items()):
        ax.bar(weeks, values, bottom=bottom, width=5.5, label=name, color=PALETTE[i % len(PALETTE)])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(title)
    ax.set_ylabel("投诉数")
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=min(5, len(series)))
    fig.autofmt_xdate()
    return _svg(fig)
