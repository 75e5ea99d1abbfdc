from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline import export
from pipeline.export import ExportError, run_export, size_category, split_of
from pipeline.ingest import run_ingest
from pipeline.labeling.labeler import WeakLabeler
from pipeline.predictions import run_label
from pipeline.settings import Paths
from tests.conftest import make_record, write_jsonl

PHONE = "13912345678"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    # Artifacts in the test's own folder: the export reads the labeling model's files.
    return Paths(tmp_path / "data", tmp_path / "artifacts", tmp_path / "gold")


@pytest.fixture
def warehouse(paths: Paths) -> Paths:
    rows = [
        make_record(sn=f"173900001{i:02d}", title=f"第{i}单不发货", body=f"付款{i}天了一直不发货")
        for i in range(30)
    ]
    write_jsonl(paths.raw_site("heimao") / "run.jsonl", rows)
    run_ingest(paths)
    run_label(paths, WeakLabeler())
    return paths


def _leak_phone_into_table(paths: Paths) -> None:
    """As if ingest had missed a phone number in one post."""
    con = duckdb.connect()
    table = paths.complaints
    con.execute(
        f"""COPY (SELECT * REPLACE (CASE WHEN sn = '17390000105'
                                    THEN body || '，商家电话 {PHONE}' ELSE body END AS body)
                  FROM read_parquet('{table}'))
            TO '{table}.tmp' (FORMAT parquet)"""
    )
    Path(f"{table}.tmp").replace(table)


def test_splits_are_stable_and_near_80_10_10() -> None:
    keys = [f"heimao:{17390000000 + i}" for i in range(20_000)]
    counts = Counter(split_of(k) for k in keys)
    assert counts["train"] / 20_000 == pytest.approx(0.8, abs=0.015)
    assert counts["validation"] / 20_000 == pytest.approx(0.1, abs=0.01)
    assert split_of(keys[7]) == split_of(keys[7])


@pytest.mark.parametrize(
    ("n", "bucket"), [(999, "n<1K"), (1_000, "1K<n<10K"), (25_000, "10K<n<100K")]
)
def test_size_categories(n: int, bucket: str) -> None:
    assert size_category(n) == bucket


def test_export_masks_what_ingest_missed(warehouse: Paths, tmp_path: Path) -> None:
    _leak_phone_into_table(warehouse)
    summary = run_export(warehouse, tmp_path / "ds")
    assert summary.masked_now == 1
    assert sum(summary.rows.values()) == 30
    bodies = [
        body
        for split in summary.rows
        for body in pq.read_table(tmp_path / "ds" / "data" / f"{split}.parquet")["body"].to_pylist()
    ]
    assert not any(PHONE in b for b in bodies)
    assert any("[PHONE]" in b for b in bodies)


def test_export_refuses_to_publish_a_phone_number(
    warehouse: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _leak_phone_into_table(warehouse)
    # A masker that misses the number: the export's own scan must stop it.
    monkeypatch.setattr(export, "mask_text", lambda text, protect=(): (text, []))
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("an earlier export", encoding="utf-8")
    with pytest.raises(ExportError, match="phone or id"):
        run_export(warehouse, out)
    # Nothing was written, and the earlier export is intact.
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert not list(tmp_path.glob(".ds.tmp*"))


def test_export_needs_labels(paths: Paths, tmp_path: Path) -> None:
    write_jsonl(paths.raw_site("heimao") / "run.jsonl", [make_record()])
    run_ingest(paths)
    with pytest.raises(FileNotFoundError, match="tousu label"):
        run_export(paths, tmp_path / "ds")
