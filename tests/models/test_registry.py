from __future__ import annotations

from pathlib import Path

import pytest

from models.registry import load_labeler
from pipeline.settings import Paths
from pipeline.taxonomy import Label


def test_rules_labeler_labels_records(tmp_path: Path) -> None:
    labeler = load_labeler("weak", Paths(tmp_path))
    (result,) = labeler.predict(
        [{"title": "商家跑路", "body": "小程序被封，客服失联", "issue": ["商家跑路"]}]
    )
    assert result.labels == {Label.EXIT_SCAM, Label.NO_CUSTOMER_SERVICE}
    assert labeler.version.startswith("weak-")


def test_unknown_labeler_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="available: auto, weak, classifier, onnx, student"):
        load_labeler("bert", Paths(tmp_path))


def test_a_missing_student_is_a_clear_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tousu.cli import cli

    source = tmp_path / "in.jsonl"
    source.write_text('{"title": "退款", "body": "商家拒绝退款"}\n', encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "predict",
            "--in",
            str(source),
            "--out",
            str(tmp_path / "out.jsonl"),
            "--labeler",
            "student",
        ],
        env={"TOUSU_ARTIFACTS_DIR": str(tmp_path / "artifacts")},
    )
    assert result.exit_code == 1
    assert "no classifier in" in result.output and "tousu model distill" in result.output
