"""Scores that mean what they say: per-label temperature scaling, thresholds, and calibration
error (pure numpy/scipy; no torch here).

Notation: z the N x K logits on gold dev, y the N x K gold indicators. Temperature T_k minimizes
the binary cross-entropy of sigmoid(z_k / T_k) against y_k (one scalar per label, so ranking
and PR-AUC are unchanged). The decision threshold t_k then maximizes F1 on dev among
calibrated probabilities (ties go to the threshold nearest 0.5). Expected calibration error
uses 15 equal-width bins: sum over bins of |mean(y) - mean(p)| weighted by the bin's share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

from pipeline.evaluate import expected_calibration_error
from pipeline.taxonomy import LABELS, Label

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)

FloatArray = NDArray[np.float64]


def sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def _bce(p: FloatArray, y: FloatArray) -> float:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def fit_temperature(logits: FloatArray, y: FloatArray) -> float:
    """The temperature (0.05 .. 20) minimizing the NLL of one label's logits."""
    result = minimize_scalar(
        lambda log_t: _bce(sigmoid(logits / np.exp(log_t)), y),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(result.x))


def best_threshold(p: FloatArray, y: FloatArray) -> tuple[float, float]:
    """(threshold, F1) maximizing F1; ties go to the threshold nearest 0.5."""
    best = (0.5, -1.0)
    positives = y.sum()
    for t in THRESHOLD_GRID:
        pred = p >= t
        tp = float((pred & (y > 0.5)).sum())
        denom = pred.sum() + positives
        f1 = 2 * tp / denom if denom else 0.0
        if f1 > best[1] + 1e-12 or (
            abs(f1 - best[1]) <= 1e-12 and abs(t - 0.5) < abs(best[0] - 0.5)
        ):
            best = (float(t), f1)
    return best


@dataclass(frozen=True)
class Calibration:
    temperatures: tuple[float, ...]
    thresholds: tuple[float, ...]
    ece_before: tuple[float, ...]
    ece_after: tuple[float, ...]

    def probabilities(self, logits: FloatArray) -> FloatArray:
        return sigmoid(logits / np.asarray(self.temperatures))

    def decide(self, probs: FloatArray) -> NDArray[np.bool_]:
        return probs >= np.asarray(self.thresholds)


def calibrate(logits: FloatArray, y: FloatArray) -> Calibration:
    temperatures, thresholds, before, after = [], [], [], []
    for k in range(logits.shape[1]):
        t = fit_temperature(logits[:, k], y[:, k])
        raw, calibrated = sigmoid(logits[:, k]), sigmoid(logits[:, k] / t)
        temperatures.append(t)
        thresholds.append(best_threshold(calibrated, y[:, k])[0])
        before.append(expected_calibration_error(raw, y[:, k]))
        after.append(expected_calibration_error(calibrated, y[:, k]))
    return Calibration(tuple(temperatures), tuple(thresholds), tuple(before), tuple(after))


def labels_from_probs(probs: FloatArray, thresholds: Sequence[float]) -> list[frozenset[Label]]:
    t = np.asarray(thresholds)
    return [
        frozenset(label for label, hit in zip(LABELS, row, strict=True) if hit)
        for row in probs >= t
    ]
