"""Evaluation harness: gold labels vs predicted labels (and scores), one way for every labeler.

Notation: N posts, K = 4 labels, Y (gold) and Yhat (predicted) N x K indicator matrices, S the
predicted scores when present. Per label: precision, recall, F1, support (gold positives) and,
with scores, PR-AUC as average precision (the step-wise area scikit-learn reports) and the
expected calibration error (15 equal-width bins: sum over bins of |mean(y) - mean(s)| weighted
by the bin's share of posts; 0 means a score of 0.8 is right 80% of the time). Overall:
macro-F1 (mean of the K F1s), micro precision/recall/F1 (pooled over all N x K cells), and the
exact-match ratio (rows where Yhat equals Y). Division by zero gives 0, as in scikit-learn.

``worst_errors`` lists the most confident mistakes (false positives with the highest scores,
false negatives with the lowest) with their text, for reading rather than counting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.jsonl import iter_lines
from pipeline.taxonomy import LABELS, Label, parse_labels


@dataclass(frozen=True)
class LabelMetrics:
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int
    pr_auc: float | None
    ece: float | None = None


@dataclass(frozen=True)
class ErrorCase:
    id: str
    label: str
    kind: str  # "false_positive" | "false_negative"
    score: float | None
    title: str
    text: str


@dataclass
class EvalReport:
    n: int
    labels: dict[Label, LabelMetrics]
    macro_f1: float
    micro_precision: float
    micro_recall: float
    micro_f1: float
    exact_match: float
    errors: list[ErrorCase]

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "labels": {label.value: asdict(m) for label, m in self.labels.items()},
            "macro_f1": self.macro_f1,
            "micro": {
                "precision": self.micro_precision,
                "recall": self.micro_recall,
                "f1": self.micro_f1,
            },
            "exact_match": self.exact_match,
            "worst_errors": [asdict(e) for e in self.errors],
        }

    def table(self) -> str:
        lines = [
            f"{'label':<22}{'P':>7}{'R':>7}{'F1':>7}{'PR-AUC':>8}{'ECE':>7}{'support':>9}{'pred':>7}"
        ]
        for label, m in self.labels.items():
            auc = f"{m.pr_auc:.3f}" if m.pr_auc is not None else "-"
            ece = f"{m.ece:.3f}" if m.ece is not None else "-"
            lines.append(
                f"{label.value:<22}{m.precision:7.3f}{m.recall:7.3f}{m.f1:7.3f}{auc:>8}{ece:>7}{m.support:9d}{m.predicted:7d}"
            )
        lines.append(
            f"macro-F1 {self.macro_f1:.3f}   micro-F1 {self.micro_f1:.3f}   exact match {self.exact_match:.3f}   (n={self.n})"
        )
        return "\n".join(lines)


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def _f1(p: float, r: float) -> float:
    return _ratio(2 * p * r, p + r)


def average_precision(y_true: Sequence[bool], y_score: Sequence[float]) -> float | None:
    """Area under the precision-recall step curve, as scikit-learn's
    ``average_precision_score``: sum over distinct thresholds of (R_n - R_{n-1}) * P_n.
    None when there is no positive (recall is undefined)."""
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(y_score, dtype=np.float64)
    if not y.any():
        return None
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    # The last index of each run of equal scores: one threshold per distinct score.
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    previous = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - previous) * precision))


ECE_BINS = 15


def expected_calibration_error(
    p: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, bins: int = ECE_BINS
) -> float:
    """Expected calibration error of scores ``p`` against 0/1 outcomes ``y`` (pure)."""
    p_arr = np.asarray(p, dtype=np.float64)
    y_arr = np.asarray(y, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p_arr, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(float(y_arr[mask].mean()) - float(p_arr[mask].mean()))
    return total


def evaluate(
    gold: Sequence[frozenset[Label]],
    pred: Sequence[frozenset[Label]],
    scores: Sequence[Mapping[Label, float]] | None = None,
) -> EvalReport:
    """Metrics for aligned sequences of gold and predicted label sets (pure)."""
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} rows but predictions {len(pred)}")
    if scores is not None and len(scores) != len(gold):
        raise ValueError(f"scores have {len(scores)} rows but gold {len(gold)}")
    y = np.array([[label in g for label in LABELS] for g in gold], dtype=bool).reshape(
        len(gold), len(LABELS)
    )
    yhat = np.array([[label in p for label in LABELS] for p in pred], dtype=bool).reshape(
        len(pred), len(LABELS)
    )
    per: dict[Label, LabelMetrics] = {}
    for k, label in enumerate(LABELS):
        tp = int((y[:, k] & yhat[:, k]).sum())
        precision = _ratio(tp, int(yhat[:, k].sum()))
        recall = _ratio(tp, int(y[:, k].sum()))
        label_scores = [s[label] for s in scores] if scores is not None else None
        auc = average_precision(y[:, k].tolist(), label_scores) if label_scores else None
        ece = expected_calibration_error(label_scores, y[:, k]) if label_scores else None
        per[label] = LabelMetrics(
            precision,
            recall,
            _f1(precision, recall),
            int(y[:, k].sum()),
            int(yhat[:, k].sum()),
            auc,
            ece,
        )
    tp_all = int((y & yhat).sum())
    micro_p, micro_r = _ratio(tp_all, int(yhat.sum())), _ratio(tp_all, int(y.sum()))
    return EvalReport(
        n=len(gold),
        labels=per,
        macro_f1=float(np.mean([m.f1 for m in per.values()])),
        micro_precision=micro_p,
        micro_recall=micro_r,
        micro_f1=_f1(micro_p, micro_r),
        exact_match=_ratio(int((y == yhat).all(axis=1).sum()), len(gold)),
        errors=[],
    )


def worst_errors(
    records: Sequence[Mapping[str, Any]],
    gold: Sequence[frozenset[Label]],
    pred: Sequence[frozenset[Label]],
    scores: Sequence[Mapping[Label, float]] | None,
    *,
    key: str,
    limit: int,
) -> list[ErrorCase]:
    """The ``limit`` most confident mistakes, false positives and negatives interleaved."""
    cases: list[tuple[float, ErrorCase]] = []
    for i, record in enumerate(records):
        for label in LABELS:
            if (label in gold[i]) == (label in pred[i]):
                continue
            score = scores[i][label] if scores is not None else None
            fp = label in pred[i]
            # How wrong: a false positive at 0.99 is worse than one at 0.51, and vice versa.
            badness = (score if fp else 1.0 - score) if score is not None else 0.5
            text = str(record.get("body") or "")
            cases.append(
                (
                    badness,
                    ErrorCase(
                        id=str(record.get(key, i)),
                        label=label.value,
                        kind="false_positive" if fp else "false_negative",
                        score=score,
                        title=str(record.get("title") or ""),
                        text=text[:160] + ("…" if len(text) > 160 else ""),
                    ),
                )
            )
    cases.sort(key=lambda c: -c[0])
    return [case for _, case in cases[:limit]]


class EvaluationInputError(ValueError):
    """Gold or prediction files that cannot be evaluated; the message says which and why."""


def read_labeled(path: Path, key: str) -> dict[str, dict[str, Any]]:
    """Records of a JSON Lines file by ``key``, each with parsed ``labels`` (and ``scores``)."""
    records: dict[str, dict[str, Any]] = {}
    for line in iter_lines(path):
        where = f"{path} line {line.line_no}"
        try:
            record = json.loads(line.text or "")
        except json.JSONDecodeError as exc:
            raise EvaluationInputError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict) or key not in record:
            raise EvaluationInputError(
                f"{where}: no {key!r} field (choose the id field with --key)"
            )
        if "labels" not in record:
            raise EvaluationInputError(
                f"{where}: no 'labels' field (a list of label names, [] for none)"
            )
        try:
            record["labels"] = parse_labels(record["labels"])
        except ValueError as exc:
            raise EvaluationInputError(f"{where}: {exc}") from None
        if "scores" in record and record["scores"] is not None:
            try:
                record["scores"] = {Label(k): float(v) for k, v in record["scores"].items()}
            except (ValueError, AttributeError) as exc:
                raise EvaluationInputError(f"{where}: bad scores ({exc})") from None
        ident = str(record[key])
        if ident in records:
            raise EvaluationInputError(f"{where}: duplicate {key} {ident!r}")
        records[ident] = record
    return records


def run_evaluate(
    gold_path: Path, pred_path: Path, *, key: str = "id", worst: int = 20
) -> EvalReport:
    gold = read_labeled(gold_path, key)
    pred = read_labeled(pred_path, key)
    missing = sorted(set(gold) - set(pred))
    if missing:
        raise EvaluationInputError(
            f"{len(missing)} gold post(s) have no prediction in {pred_path} (first: {missing[:3]})"
        )
    ids = list(gold)
    gold_sets = [gold[i]["labels"] for i in ids]
    pred_sets = [pred[i]["labels"] for i in ids]
    has_scores = all(
        isinstance(pred[i].get("scores"), dict) and len(pred[i]["scores"]) == len(LABELS)
        for i in ids
    )
    scores = [pred[i]["scores"] for i in ids] if has_scores else None
    report = evaluate(gold_sets, pred_sets, scores)
    report.errors = worst_errors(
        [gold[i] for i in ids], gold_sets, pred_sets, scores, key=key, limit=worst
    )
    return report
