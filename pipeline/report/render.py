"""Render :class:`ReportData` to one self-contained HTML file (styles and charts inline).

Jinja2 autoescaping is on: every text that came from a complaint (titles, merchant names)
is escaped, so a title holding ``<script>`` shows as text. Only the SVG charts we draw
ourselves are marked safe (matplotlib escapes the text inside them).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from pipeline.periods import Period
from pipeline.report import charts
from pipeline.report.data import ReportData, build_report_data
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS
from pipeline.warehouse import atomic_output

_ZH_DIGITS = "零一二三四五六七八九十"


def _zh_num(n: int) -> str:
    if 0 <= n <= 10:
        return _ZH_DIGITS[n]
    if n < 20:
        return "十" + _ZH_DIGITS[n - 10]
    return str(n)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
    )
    env.filters["pct"] = lambda x: f"{100 * x:.1f}%"
    env.filters["zh_num"] = _zh_num
    env.filters["iso_week"] = lambda d: "{}-W{:02d}".format(*d.isocalendar()[:2])
    return env


def render_html(data: ReportData) -> str:
    weeks: list[date] = data.weeks
    volume = charts.stacked_weekly(weeks, {"投诉总数": data.volume_weekly}, title="每周投诉量")
    by_label = charts.weekly_lines(
        weeks, {label.zh: data.label_weekly[label] for label in LABELS}, title="各类别每周投诉数"
    )
    trends = {
        s.label.value: Markup(
            charts.weekly_lines(weeks, s.trend, title=f"{s.label.zh}：主要平台每周投诉数")
        )
        for s in data.sections
        if s.trend
    }
    template = _environment().get_template("report.html.j2")
    return template.render(
        d=data,
        charts={"volume": Markup(volume), "labels": Markup(by_label), "trends": trends},
    )


def write_report(paths: Paths, period: Period, out: Path | None = None) -> Path:
    """Build and write the report for ``period``; returns its path."""
    data = build_report_data(paths, period)
    target = out or paths.reports / f"report-{period.key}.html"
    with atomic_output(target) as tmp:
        tmp.write_text(render_html(data), encoding="utf-8")
    return target
