"""Acceptance of the analytics on simulated marketplaces: the records a complete crawl would
write go through the real ingest, weak labeling, aggregation, alerts, report and export.

- With planted episodes (the demo's configuration, seed 7: two exit-scam merchants and a
  platform whose fake-shipment share rises), both exit scams are on the watchlist within a
  week of their episode's start, the platform is flagged, and nothing else is.
- With none planted, the watchlist stays empty.
- The report renders as HTML (opened in headless Chromium) and as PDF, and the exported
  dataset loads with ``datasets`` and holds no phone or id number.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.sim.check import check_against_truth
from crawler.sim.marketplace import Marketplace, SimConfig
from pipeline.alerts import detect_alerts
from pipeline.export import run_export
from pipeline.periods import parse_period
from pipeline.report.render import write_report
from pipeline.settings import Paths
from tests.pipeline.sim_warehouse import build_sim_warehouse

SECTIONS = ("本期概览", "平台对比", "商家预警名单", "漏斗图", "数据质量附录", "方法说明")
# Independent of the export's own check: mainland mobiles and 18-character resident ids.
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Paths, Marketplace, Path]:
    market = Marketplace(SimConfig(seed=7))
    root = tmp_path_factory.mktemp("planted")
    truth = root / "truth.json"
    truth.write_text(json.dumps(market.truth(), ensure_ascii=False), encoding="utf-8")
    paths = Paths(root / "data", root / "artifacts", root / "gold")
    return build_sim_warehouse(paths, market), market, truth


def test_planted_exit_scams_and_rising_platform_are_flagged(
    planted: tuple[Paths, Marketplace, Path],
) -> None:
    paths, _, truth = planted
    check = check_against_truth(paths, truth)
    assert len(check.planted) == 2
    for merchant in check.planted:
        # On the watchlist in the episode's first or second week.
        assert merchant.alert_delay_weeks is not None, merchant
        assert 0 <= merchant.alert_delay_weeks <= 1, merchant
        assert merchant.rank is not None and merchant.rank <= 3, merchant
    assert sorted(check.watchlist) == sorted(m.name for m in check.planted)
    assert check.rising_platform == "快手"
    assert check.rising_platform_alert_week is not None
    assert check.rising_platform_rank == 1
    assert ("快手", "fake_shipment") in check.platform_alerts


def test_watchlist_examples_do_not_depend_on_the_predictions_row_order(
    planted: tuple[Paths, Marketplace, Path], tmp_path: Path
) -> None:
    # Examples read each record's labels at its row number when predictions line up with
    # the complaints, and join on (site, sn) when they do not: the same posts either way.
    paths, _, _ = planted
    shuffled = Paths(tmp_path / "data", paths.artifacts_dir, paths.gold_dir)
    shutil.copytree(paths.processed, shuffled.processed)
    table = pq.read_table(paths.predictions)
    order = np.random.default_rng(0).permutation(table.num_rows)
    pq.write_table(table.take(order), shuffled.predictions)

    def examples(where: Paths) -> dict[str, list[tuple[str, list[str]]]]:
        result = detect_alerts(where)
        return {m.merchant: [(e.sn, e.labels) for e in m.examples] for m in result.merchants}

    lined_up = examples(paths)
    assert lined_up and all(lined_up.values())
    assert examples(shuffled) == lined_up


def test_no_planted_episodes_no_alerts(tmp_path: Path) -> None:
    market = Marketplace(SimConfig(seed=7, exit_scams=0, platform_rise=False))
    paths = build_sim_warehouse(Paths(tmp_path / "data", tmp_path / "artifacts"), market)
    result = detect_alerts(paths)
    assert result.merchant_tests > 10_000
    assert [m.merchant for m in result.merchants] == []
    assert [(a.platform, a.label) for a in result.platforms] == []


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("headless Chromium is not installed (Debian package: chromium)")


def _chromium_run(html: Path, tmp: Path, *args: str) -> None:
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        *args,
        html.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def _pdf_pages(pdf: Path, pages: int) -> list[tuple[str, Any]]:
    """Text and a PNG-rendered image (numpy RGB) of the first pages."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    out = []
    for i in range(min(pages, len(document))):
        page = document[i]
        text = page.get_textpage().get_text_range()
        out.append((text, np.asarray(page.render(scale=1.5).to_pil().convert("RGB"))))
    return out


def _pdf_fonts(pdf: Path) -> set[str]:
    """The fonts a PDF embeds (its object streams are compressed)."""
    data = pdf.read_bytes()
    chunks = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return {
        name.decode("latin-1")
        for chunk in chunks
        for name in re.findall(rb"/BaseFont\s*/([A-Za-z0-9+_-]+)", chunk)
    }


def _chart_pixels(image: Any) -> int:
    """Pixels in the charts' blue (#1f6fb2, the first series and the bars)."""
    target = np.array([0x1F, 0x6F, 0xB2])
    return int((np.abs(image.astype(int) - target).sum(axis=2) < 40).sum())


def test_report_renders_in_chromium_and_as_pdf(
    planted: tuple[Paths, Marketplace, Path], tmp_path: Path
) -> None:
    paths, _, _ = planted
    files = write_report(paths, parse_period("all"), tmp_path / "report.html")
    assert files.pdf is not None and files.pdf.stat().st_size > 50_000
    # Chromium lays the HTML out: its own print of it holds the section titles as text, and
    # a screenshot of the first screens shows the charts.
    screenshot = tmp_path / "screen.png"
    _chromium_run(files.html, tmp_path, f"--screenshot={screenshot}", "--window-size=1280,2600")
    chromium_pdf = tmp_path / "chromium.pdf"
    _chromium_run(files.html, tmp_path, f"--print-to-pdf={chromium_pdf}", "--no-pdf-header-footer")
    from PIL import Image

    shot = np.asarray(Image.open(screenshot).convert("RGB"))
    assert shot.shape[:2] == (2600, 1280)
    assert _chart_pixels(shot) > 5_000
    printed = " ".join(text for text, _ in _pdf_pages(chromium_pdf, 40))
    for title in SECTIONS:
        assert title in printed, title
    # WeasyPrint's PDF: the first pages carry the titles and, on page 2, the charts.
    pages = _pdf_pages(files.pdf, 3)
    assert "网购投诉监测报告" in pages[0][0] and "本期概览" in pages[0][0]
    assert "投诉量与类别构成" in pages[1][0]
    assert _chart_pixels(pages[1][1]) > 5_000
    # The Chinese text is set in a CJK font that the PDF embeds (not boxes).
    assert any("CJK" in font for font in _pdf_fonts(files.pdf)), _pdf_fonts(files.pdf)
    for i, (_, image) in enumerate(pages):
        Image.fromarray(image).save(tmp_path / f"page{i + 1}.png")


def test_exported_dataset_loads_and_holds_no_personal_numbers(
    planted: tuple[Paths, Marketplace, Path], tmp_path: Path
) -> None:
    paths, market, _ = planted
    out = tmp_path / "dataset"
    summary = run_export(paths, out)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets

    files = {split: str(out / "data" / f"{split}.parquet") for split in summary.rows}
    loaded = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf"))
    assert {split: loaded[split].num_rows for split in loaded} == summary.rows
    assert sum(summary.rows.values()) == len({p.post_id for p in market.posts})
    assert loaded["train"].num_rows > 0.7 * sum(summary.rows.values())
    # One row per post; a post filed against two merchants names both.
    ids = [i for split in loaded for i in loaded[split]["id"]]
    assert len(ids) == len(set(ids))
    assert any(len(m) == 2 for m in loaded["train"]["merchants"])
    # Near-duplicate clusters never straddle splits.
    groups = {split: set(loaded[split]["dup_group"]) for split in loaded}
    assert not (groups["train"] & groups["test"]) and not (groups["train"] & groups["validation"])
    # No phone or id number anywhere, although the simulator wrote some into the posts.
    planted_pii = [value for p in market.posts for kind, value in p.text.pii]
    assert any(PHONE.search(v) for v in planted_pii)
    for split in ("train", "validation", "test"):
        table = pq.read_table(out / "data" / f"{split}.parquet")
        # Every text column but the complaint numbers (11 digits from 17..., shaped like a
        # mobile number, and public on the site).
        for column in set(table.column_names) - {"id", "sn", "dup_group"}:
            kind = table.schema.field(column).type
            if not (pa.types.is_string(kind) or pa.types.is_list(kind)):
                continue
            for value in table.column(column).to_pylist():
                text = json.dumps(value, ensure_ascii=False)
                assert not PHONE.search(text), (column, text)
                assert not ID_NUMBER.search(text), (column, text)
    card = (out / "README.md").read_text(encoding="utf-8")
    header = card.split("---")[1]
    for key in ("language:", "license:", "task_categories:", "size_categories:", "- zh"):
        assert key in header, key
    for section in ("## Collection", "## Labeling", "## Personal data", "## Biases"):
        assert section in card, section
    assert "## Limitations" in card and "## Maintenance" in card
    labels = Counter(label for split in loaded for row in loaded[split]["labels"] for label in row)
    assert set(labels) <= {"fake_shipment", "no_customer_service", "refund_refusal", "exit_scam"}
    assert json.loads((out / "thresholds.json").read_text())["models"][0]["thresholds"]
