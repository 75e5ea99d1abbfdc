"""Charts for the report, as PNG at print resolution (``DPI``), embedded as data URIs.

Images look the same in a browser, in WeasyPrint's PDF and on paper, whatever fonts the
reader has. Their Chinese text needs a CJK font on the machine that draws them: the first of
``CJK_FONTS`` that fontconfig or matplotlib can find (Debian: ``fonts-noto-cjk``). Without
one the charts still draw, with empty boxes for Chinese, and :func:`cjk_font` says so.
"""

from __future__ import annotations

import base64
import io
import logging
import warnings
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from functools import cache

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager

from pipeline.ranking import FUNNEL_LEVELS, Funnel, LabelRanking, funnel_limits

logger = logging.getLogger(__name__)

DPI = 200
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei")
# File names of those fonts, for a matplotlib font cache built before they were installed.
_CJK_FILES = ("NotoSansCJK", "NotoSansSC", "SourceHanSans", "wqy-zenhei")
PALETTE = ["#1f6fb2", "#e4572e", "#29a36a", "#f2a541", "#8e5ea2", "#6c757d"]
GREY = "#9aa5b1"


@cache
def cjk_font() -> str | None:
    """The CJK font family the charts use, registering its file with matplotlib if needed."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FONTS:
        if family in known:
            return family
    for path in font_manager.findSystemFonts():
        if any(part in path for part in _CJK_FILES):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError):
                continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FONTS:
        if family in known:
            return family
    logger.warning(
        "no CJK font found (looked for %s): chart text in Chinese will show as boxes; "
        "install one, e.g. `apt-get install fonts-noto-cjk`",
        ", ".join(CJK_FONTS),
    )
    return None


def _style() -> None:
    family = cjk_font()
    plt.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [*([family] if family else []), "DejaVu Sans"],
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.unicode_minus": False,
        }
    )


def _png(fig: plt.Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        warnings.filterwarnings("ignore", message=r"findfont: Font family .* not found")
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _week_axis(ax: plt.Axes, weeks: Sequence[date]) -> None:
    if len(weeks) > 1:
        ax.set_xlim(weeks[0], weeks[-1])
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def volume_bars(weeks: Sequence[date], volume: Sequence[int], *, title: str) -> str:
    """Weekly complaint volume."""
    _style()
    fig, ax = plt.subplots(figsize=(7.6, 2.6))
    ax.bar(weeks, volume, width=5.5, color=PALETTE[0])
    ax.set_title(title)
    ax.set_ylabel("投诉数")
    _week_axis(ax, weeks)
    return _png(fig)


def weekly_lines(
    weeks: Sequence[date],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    ylabel: str,
    percent: bool = False,
) -> str:
    """One line per series over the weeks (gaps where a value is None)."""
    _style()
    fig, ax = plt.subplots(figsize=(7.6, 2.8))
    for i, (name, values) in enumerate(series.items()):
        y = np.array([np.nan if v is None else v for v in values], dtype=float)
        if percent:
            y = 100 * y
        ax.plot(
            weeks,
            y,
            label=name,
            color=PALETTE[i % len(PALETTE)],
            linewidth=1.6,
            marker="o",
            markersize=2.5,
        )
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    if series:
        # Beside the plot, never over the lines.
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5, frameon=False)
    _week_axis(ax, weeks)
    return _png(fig)


def funnel_plot(ranking: LabelRanking, *, title: str, annotate: int = 3) -> str:
    """Share against volume per unit, with the pooled rate and its 95% / 99.8% limits; the
    units above the 99.8% limit with the most complaints are named."""
    _style()
    fig, ax = plt.subplots(figsize=(7.6, 3.6))
    units = ranking.units
    n = np.array([u.n for u in units], dtype=float)
    share = np.array([100 * u.share for u in units])
    colors = [
        PALETTE[1]
        if u.funnel is Funnel.ABOVE_998
        else PALETTE[3]
        if u.funnel is Funnel.ABOVE_95
        else GREY
        for u in units
    ]
    ax.scatter(n, share, s=10, c=colors, alpha=0.75, linewidths=0)
    if len(n):
        grid = np.unique(np.geomspace(1, max(n.max(), 2), 200).round())
        p0 = ranking.pooled_rate
        for level, style in zip(FUNNEL_LEVELS, ("--", "-"), strict=True):
            low, high = funnel_limits(p0, grid, level)
            tag = f"{100 * level:g}% 控制限"
            ax.plot(grid, 100 * high, style, color="#444", linewidth=0.9, label=tag)
            ax.plot(grid, 100 * low, style, color="#444", linewidth=0.9)
        ax.axhline(100 * p0, color=PALETTE[0], linewidth=1.0, label=f"总体占比 {100 * p0:.1f}%")
        ax.set_xscale("log")
        flagged = sorted(
            (u for u in units if u.funnel is Funnel.ABOVE_998), key=lambda u: (-u.k, u.name)
        )
        for j, u in enumerate(flagged[:annotate]):
            # Staggered so that neighbouring names do not print over each other.
            ax.annotate(
                u.name[:12],
                (u.n, 100 * u.share),
                xytext=(5, 4 - 10 * j),
                textcoords="offset points",
                fontsize=7,
            )
        ax.legend(loc="upper right", fontsize=7.5, frameon=False)
    ax.set_title(title)
    ax.set_xlabel("投诉量（对数刻度）")
    ax.set_ylabel("占比（%）")
    ax.set_ylim(0, 100)
    return _png(fig)


def watch_panels(
    panels: Sequence[tuple[str, Sequence[date], Mapping[str, Sequence[int]], Sequence[date]]],
    *,
    title: str,
    columns: int = 2,
) -> str:
    """Small multiples: per alerted merchant, weekly counts of the watched labels, with its
    alert weeks shaded. Each panel is (name, weeks, label -> counts, alert weeks)."""
    _style()
    rows = max(1, -(-len(panels) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(7.6, 1.9 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (name, weeks, series, alerts) in zip(axes.flat, panels, strict=False):
        for i, (label, counts) in enumerate(series.items()):
            ax.plot(weeks, counts, color=PALETTE[i % len(PALETTE)], linewidth=1.4, label=label)
        for week in alerts:
            if weeks and weeks[0] <= week <= weeks[-1]:
                ax.axvspan(week, week + timedelta(days=7), color=PALETTE[1], alpha=0.15, lw=0)
        ax.set_title(name[:20], fontsize=8.5)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=6.5)
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=5))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
        _week_axis(ax, weeks)
    if panels:
        axes.flat[0].legend(loc="upper left", fontsize=6.5, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _png(fig)
