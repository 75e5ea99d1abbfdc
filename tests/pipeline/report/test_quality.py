from __future__ import annotations

import json
from pathlib import Path

from pipeline.ingest import run_ingest
from pipeline.labeling.labeler import WeakLabeler
from pipeline.labeling.model import save_model
from pipeline.model_info import model_info
from pipeline.predictions import run_label
from pipeline.report.quality import collect_quality, crawl_run
from pipeline.settings import Paths
from tests.conftest import make_record, write_jsonl


def test_crawl_run_reads_the_stats_file(tmp_path: Path) -> None:
    stats = tmp_path / "run1.stats.json"
    stats.write_text(
        json.dumps(
            {
                "site": "heimao",
                "run_id": "run1",
                "finish_reason": None,
                "stats": {
                    "item_scraped_count": 130,
                    "tousu/records_written": 120,
                    "tousu/merchant_info_written": 10,
                    "heimao/pages/index": 7,
                    "heimao/pages/merchant": 5,
                    "heimao/detail/ok": 110,
                    "heimao/detail/desktop": 110,
                    "heimao/detail/failed": 4,
                    "heimao/detail/no_body": 6,
                    "downloader/response_status_count/200": 240,
                    "downloader/response_status_count/456": 3,
                    "downloader/response_status_count/503": 2,
                    "retry/count": 5,
                    "elapsed_time_seconds": 42.5,
                },
            }
        ),
        encoding="utf-8",
    )
    write_jsonl(tmp_path / "run1.rejects.jsonl", [{"reason": "bad"}, {"reason": "bad"}])
    run = crawl_run(stats)
    assert run is not None
    assert (run.items, run.pages, run.details_ok, run.details_failed) == (120, 12, 110, 10)
    assert (run.http_errors, run.retries, run.rejected) == (5, 5, 2)
    assert run.finish_reason is None and run.elapsed_s == 42.5
    (tmp_path / "broken.stats.json").write_text("{not json", encoding="utf-8")
    assert crawl_run(tmp_path / "broken.stats.json") is None


def test_quality_annex_figures_and_the_model_measured_or_not(paths: Paths) -> None:
    raw = paths.raw_site("heimao") / "run.jsonl"
    write_jsonl(
        raw,
        [
            make_record(sn="17390000001", body="一直不发货，电话13812345678"),
            make_record(sn="17390000001", body="一直不发货，电话13812345678"),  # fetched twice
            make_record(sn="17390000002", body="商家拒不退款"),
            "{broken json",
        ],
    )
    run_ingest(paths)
    run_label(paths, WeakLabeler())
    quality = collect_quality(paths)
    ingest = quality.ingest
    assert ingest is not None
    assert (ingest.lines, ingest.loaded, ingest.rows, ingest.sn_duplicates) == (4, 3, 2, 1)
    assert ingest.rejected == {"invalid_json": 1}
    assert ingest.pii.get("phone", 0) >= 1
    (site,) = quality.coverage
    assert (site.site, site.records, site.full_text) == ("heimao", 2, 2)
    ((model, posts),) = quality.models
    assert posts == 2 and model.kind == "weak"
    # The default weighted vote was never measured on gold posts.
    assert not model.measured and model.thresholds["exit_scam"] == 0.5


def test_model_info_finds_the_weak_label_models_dev_figures(paths: Paths) -> None:
    labeler = WeakLabeler()
    save_model(
        labeler.model,
        labeler.ruleset,
        paths.label_model,
        extra={
            "chosen": "weighted_vote_default",
            "selection": {
                "weighted_vote_default": {
                    "dev_macro_f1": 0.81,
                    "dev_f1": {"fake_shipment": 0.8, "exit_scam": 0.9},
                }
            },
        },
    )
    info = model_info(paths, WeakLabeler.from_paths(paths).version)
    assert info.quality is not None and info.quality.macro_f1 == 0.81
    assert info.quality.labels["exit_scam"].f1 == 0.9
    # Another version (older rules, another fit) is not credited with these figures.
    assert model_info(paths, "weak-weighted_vote-0000000000").quality is None


def test_model_info_reads_the_classifier_artifact(paths: Paths) -> None:
    folder = paths.classifier
    folder.mkdir(parents=True)
    (folder / "classifier.json").write_text(
        json.dumps({"model_version": "clf-abc", "thresholds": {"exit_scam": 0.35}})
    )
    dev = {
        "n": 300,
        "macro_f1": 0.88,
        "labels": {"exit_scam": {"precision": 0.9, "recall": 0.8, "f1": 0.847, "support": 40}},
    }
    (folder / "metrics.json").write_text(json.dumps({"model_version": "clf-abc", "dev": dev}))
    info = model_info(paths, "clf-abc-onnx-int8")
    assert info.kind == "classifier" and info.thresholds == {"exit_scam": 0.35}
    assert info.quality is not None and info.quality.posts == 300
    assert info.quality.labels["exit_scam"].support == 40
    assert model_info(paths, "clf-other").quality is None
    assert model_info(paths, "something-else").kind == "unknown"
