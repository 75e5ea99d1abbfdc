"""`tousu weak fit`, `tousu predict` and `tousu evaluate` on small labeled files."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pipeline.labeling.labeler import WeakLabeler
from pipeline.settings import Paths
from tests.conftest import write_jsonl
from tousu.cli import cli

POSTS = [
    ("下单半个月一直不发货，物流显示待揽收", ["fake_shipment"]),
    ("付款后店铺关闭了，老板失联，卷款跑路", ["exit_scam", "no_customer_service"]),
    ("退货已签收，商家拒不退款", ["refund_refusal"]),
    ("客服一直不回消息，只有机器人", ["no_customer_service"]),
    ("衣服质量太差，洗一次就掉色", []),
    ("快递晚了三天才收到，有点慢", []),
    ("本来以为商家跑路了，后来联系上了，已经退款了", []),
    ("申请退款被驳回，说已经超过七天", ["refund_refusal"]),
]


def _gold(path: Path, start: int) -> Path:
    rows = [
        {"id": f"g{start + i}", "title": "投诉", "body": body, "labels": labels}
        for i, (body, labels) in enumerate(POSTS)
    ]
    return write_jsonl(path, rows)


def test_weak_fit_saves_the_best_model_on_dev(tmp_path: Path) -> None:
    paths = Paths(
        tmp_path / "data", artifacts_dir=tmp_path / "artifacts", gold_dir=tmp_path / "gold"
    )
    train, dev = _gold(tmp_path / "train.jsonl", 0), _gold(tmp_path / "dev.jsonl", 100)
    env = {"TOUSU_ARTIFACTS_DIR": str(paths.artifacts_dir)}
    result = CliRunner().invoke(
        cli,
        [
            "--data-dir",
            str(paths.data_dir),
            "weak",
            "fit",
            "--train",
            str(train),
            "--dev",
            str(dev),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("dev macro-F1") == 3 and result.output.count("*") == 1
    saved = json.loads(paths.label_model.read_text(encoding="utf-8"))
    assert saved["chosen"] in saved["selection"] and len(saved["selection"]) == 3
    labeler = WeakLabeler.from_paths(paths)
    assert labeler.version.startswith(f"weak-{saved['kind']}-")


def test_predict_keeps_fields_and_rejects_bad_lines_then_evaluate(tmp_path: Path) -> None:
    gold = _gold(tmp_path / "gold.jsonl", 0)
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": f"g{i}", "title": "投诉", "body": body, "source": "test"}
            for i, (body, _) in enumerate(POSTS)
        ]
        + ["not json", {"id": "x", "title": "", "body": ""}],
    )
    out = tmp_path / "pred.jsonl"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["--data-dir", str(tmp_path / "d"), "predict", "--in", str(source), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "8 records written" in result.output and "2 rejected" in result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"g{i}" for i in range(8)] and all(
        r["source"] == "test" for r in rows
    )
    assert rows[0]["labels"] == ["fake_shipment"] and set(rows[0]["scores"]) == {
        "fake_shipment",
        "no_customer_service",
        "refund_refusal",
        "exit_scam",
    }
    rejects = [
        json.loads(line)
        for line in out.with_name("pred.jsonl.rejects.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    assert [(r["line"], r["reason"].split(":")[0]) for r in rejects] == [
        (9, "invalid_json"),
        (10, "no_text"),
    ]
    result = runner.invoke(cli, ["evaluate", "--gold", str(gold), "--pred", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.with_name("pred.jsonl.metrics.json").read_text(encoding="utf-8"))
    assert metrics["n"] == 8 and metrics["macro_f1"] > 0.8
    assert "macro-F1" in result.output
