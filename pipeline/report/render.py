"""Render :class:`ReportData` to one self-contained HTML file (styles and charts inline) and,
from the same HTML, a PDF (WeasyPrint).

Jinja2 autoescaping is on: every text that came from a complaint (titles, merchant and
platform names) is escaped, so a title holding ``<script>`` shows as text in the HTML and in
the PDF. Charts are PNG data URIs we draw ourselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pipeline.alerts import WATCH_LABELS
from pipeline.periods import Period
from pipeline.ranking import Funnel
from pipeline.report import charts
from pipeline.report.data import ReportData, build_report_data
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, Label
from pipeline.warehouse import atomic_output

logger = logging.getLogger(__name__)

_ZH_DIGITS = "零一二三四五六七八九十"
WATCH_PANELS = 8

FUNNEL_ZH = {
    Funnel.ABOVE_998: "高于99.8%控制限",
    Funnel.ABOVE_95: "高于95%控制限",
    Funnel.WITHIN: "控制限内",
    Funnel.BELOW_95: "低于95%控制限",
    Funnel.BELOW_998: "低于99.8%控制限",
}
FUNNEL_MARK = {Funnel.ABOVE_998: "▲", Funnel.ABOVE_95: "△"}


def _zh_num(n: int) -> str:
    if 0 <= n <= 10:
        return _ZH_DIGITS[n]
    if n < 20:
        return "十" + _ZH_DIGITS[n - 10]
    return str(n)


def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def _change(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.1f}%"


def _iso_week(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    env.filters["change"] = _change
    env.filters["zh_num"] = _zh_num
    env.filters["iso_week"] = _iso_week
    env.filters["yuan"] = lambda x: "—" if x is None else f"{x:,.0f}元"
    env.filters["qfmt"] = lambda q: f"{q:.1e}" if q < 0.001 else f"{q:.3f}"
    env.filters["label_zh"] = lambda name: (
        Label(name).zh if name in Label._value2member_map_ else name
    )
    env.globals.update(FUNNEL_ZH=FUNNEL_ZH, FUNNEL_MARK=FUNNEL_MARK, LABELS=LABELS)
    return env


def _charts(data: ReportData) -> dict[str, object]:
    weeks = data.weeks
    out: dict[str, object] = {
        "volume": charts.volume_bars(weeks, data.volume_weekly, title="每周投诉量"),
        "shares": charts.weekly_lines(
            weeks,
            {label.zh: data.label_share_weekly[label] for label in LABELS},
            title="各类别每周占比",
            ylabel="占比（%）",
            percent=True,
        ),
        "funnels": {
            s.label.value: charts.funnel_plot(s.merchant_ranking, title=f"{s.label.zh}：商家漏斗图")
            for s in data.sections
            if s.merchant_ranking.units
        },
        "trends": {
            s.label.value: charts.weekly_lines(
                weeks,
                s.trend,
                title=f"{s.label.zh}：主要平台每周占比",
                ylabel="占比（%）",
                percent=True,
            )
            for s in data.sections
            if s.trend
        },
    }
    panels = [
        (
            m.merchant,
            m.weeks,
            {label.zh: m.counts[label.value] for label in WATCH_LABELS},
            m.alert_weeks,
        )
        for m in data.alerts.merchants[:WATCH_PANELS]
    ]
    if panels:
        out["watch"] = charts.watch_panels(panels, title="预警商家：每周投诉数（阴影为预警周）")
    return out


def render_html(data: ReportData) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(
        d=data, charts=_charts(data), watch_labels=WATCH_LABELS, cjk_font=charts.cjk_font()
    )


class PdfUnavailableError(RuntimeError):
    """WeasyPrint cannot run here (its system libraries are missing)."""


def html_to_pdf(html: str, target: Path) -> None:
    """Print the report to PDF with WeasyPrint (its fonts come from fontconfig)."""
    try:
        from weasyprint import HTML  # heavy: imported only when a PDF is asked for
    except OSError as exc:  # Pango or HarfBuzz missing: WeasyPrint loads them at import
        raise PdfUnavailableError(
            f"cannot print the PDF ({exc}): install WeasyPrint's libraries (Debian: "
            "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0, and fonts-noto-cjk for "
            "Chinese), or pass --no-pdf; the HTML report was written"
        ) from None
    # WeasyPrint and fontTools narrate every layout step at INFO: keep them for -v (DEBUG).
    if not logger.isEnabledFor(logging.DEBUG):
        for name in ("weasyprint", "fontTools"):
            logging.getLogger(name).setLevel(logging.WARNING)
    HTML(string=html, base_url=str(target.parent)).write_pdf(target)


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path | None


def write_report(
    paths: Paths, period: Period, out: Path | None = None, *, pdf: bool = True
) -> ReportFiles:
    """Build the report for ``period`` and write it as HTML (``out`` or
    ``reports/report-<period>.html``) and, with ``pdf``, as a PDF beside it."""
    data = build_report_data(paths, period)
    html = render_html(data)
    target = out or paths.reports / f"report-{period.key}.html"
    with atomic_output(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    pdf_path = None
    if pdf:
        pdf_path = target.with_suffix(".pdf")
        with atomic_output(pdf_path) as tmp:
            html_to_pdf(html, tmp)
    return ReportFiles(target, pdf_path)
