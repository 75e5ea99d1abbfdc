from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_recall_fscore_support,
)

from pipeline.evaluate import (
    EvaluationInputError,
    average_precision,
    evaluate,
    expected_calibration_error,
    run_evaluate,
)
from pipeline.taxonomy import LABELS, Label
from tests.conftest import write_jsonl


def _random_case(
    seed: int, n: int = 300
) -> tuple[list[frozenset[Label]], list[frozenset[Label]], list[dict[Label, float]]]:
    rng = random.Random(seed)
    gold, pred, scores = [], [], []
    for _ in range(n):
        g = frozenset(label for label in LABELS if rng.random() < 0.3)
        s = {
            label: round(min(1.0, max(0.0, (0.6 if label in g else 0.3) + rng.gauss(0, 0.25))), 2)
            for label in LABELS
        }
        gold.append(g)
        scores.append(s)
        pred.append(frozenset(label for label in LABELS if s[label] >= 0.5))
    return gold, pred, scores


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_agree_with_scikit_learn(seed: int) -> None:
    gold, pred, scores = _random_case(seed)
    report = evaluate(gold, pred, scores)
    y = [[label in g for label in LABELS] for g in gold]
    yhat = [[label in p for label in LABELS] for p in pred]
    p, r, f, support = precision_recall_fscore_support(y, yhat, zero_division=0)
    for k, label in enumerate(LABELS):
        m = report.labels[label]
        assert (m.precision, m.recall, m.f1, m.support) == pytest.approx(
            (p[k], r[k], f[k], support[k])
        )
        expected_ap = average_precision_score([row[k] for row in y], [s[label] for s in scores])
        assert m.pr_auc == pytest.approx(expected_ap)
    assert report.macro_f1 == pytest.approx(f1_score(y, yhat, average="macro", zero_division=0))
    assert report.micro_f1 == pytest.approx(f1_score(y, yhat, average="micro", zero_division=0))
    assert report.exact_match == pytest.approx(accuracy_score(y, yhat))


def test_average_precision_with_ties_and_no_positives() -> None:
    y, s = [1, 0, 1, 0, 1], [0.9, 0.9, 0.5, 0.5, 0.1]
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))
    assert average_precision([0, 0], [0.2, 0.8]) is None


def test_expected_calibration_error_by_hand() -> None:
    # Two bins: scores 0.9 right half the time (|0.5 - 0.9| * 1/2), 0.1 never (|0 - 0.1| * 1/2).
    assert expected_calibration_error([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0]) == pytest.approx(0.25)
    assert expected_calibration_error([1.0, 0.0, 1.0], [1, 0, 1]) == pytest.approx(0.0)
    report = evaluate(
        [frozenset({Label.EXIT_SCAM}), frozenset()],
        [frozenset({Label.EXIT_SCAM}), frozenset({Label.EXIT_SCAM})],
        [{label: 0.9 for label in LABELS}, {label: 0.9 for label in LABELS}],
    )
    assert report.labels[Label.EXIT_SCAM].ece == pytest.approx(0.4)
    assert report.labels[Label.FAKE_SHIPMENT].ece == pytest.approx(0.9)
    assert evaluate([frozenset()], [frozenset()]).labels[Label.EXIT_SCAM].ece is None


def test_nothing_predicted_counts_as_zero_not_an_error() -> None:
    report = evaluate([frozenset({Label.EXIT_SCAM})], [frozenset()])
    assert (
        report.labels[Label.EXIT_SCAM].precision == 0.0 and report.labels[Label.EXIT_SCAM].f1 == 0.0
    )


def test_run_evaluate_files_and_worst_errors(tmp_path: Path) -> None:
    gold = write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {"id": "a", "title": "空包", "body": "物流一直不动", "labels": ["fake_shipment"]},
            {"id": "b", "title": "质量差", "body": "做工很差", "labels": []},
        ],
    )

    def scores(fs: float, ex: float) -> dict[str, float]:
        return {
            "fake_shipment": fs,
            "no_customer_service": 0.1,
            "refund_refusal": 0.1,
            "exit_scam": ex,
        }

    pred = write_jsonl(
        tmp_path / "pred.jsonl",
        [
            {"id": "b", "labels": ["exit_scam"], "scores": scores(0.1, 0.97)},
            {"id": "a", "labels": ["fake_shipment", "exit_scam"], "scores": scores(0.9, 0.6)},
        ],
    )
    report = run_evaluate(gold, pred)
    assert report.n == 2 and report.labels[Label.FAKE_SHIPMENT].f1 == 1.0
    assert [(e.id, e.kind, e.label) for e in report.errors] == [
        ("b", "false_positive", "exit_scam"),
        ("a", "false_positive", "exit_scam"),
    ]
    assert report.errors[0].title == "质量差"
    json.dumps(report.to_json())


def test_clear_errors_for_bad_inputs(tmp_path: Path) -> None:
    gold = write_jsonl(
        tmp_path / "gold.jsonl",
        [{"id": "a", "labels": ["fake_shipment"]}, {"id": "b", "labels": []}],
    )
    with pytest.raises(EvaluationInputError, match="1 gold post"):
        run_evaluate(gold, write_jsonl(tmp_path / "p1.jsonl", [{"id": "a", "labels": []}]))
    with pytest.raises(EvaluationInputError, match="unknown label"):
        run_evaluate(
            gold,
            write_jsonl(
                tmp_path / "p2.jsonl", [{"id": "a", "labels": ["scam"]}, {"id": "b", "labels": []}]
            ),
        )
    with pytest.raises(EvaluationInputError, match="no 'sn' field"):
        run_evaluate(gold, gold, key="sn")
