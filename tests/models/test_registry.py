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
    with pytest.raises(ValueError, match="available: auto, weak, classifier, onnx"):
        load_labeler("bert", Paths(tmp_path))
