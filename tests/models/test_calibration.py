from __future__ import annotations

import numpy as np
import pytest

from models.calibration import best_threshold, calibrate, fit_temperature, sigmoid
from pipeline.evaluate import expected_calibration_error


def test_temperature_recovers_a_planted_overconfidence() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, 20_000)
    y = (rng.random(20_000) < sigmoid(true_logits)).astype(float)
    overconfident = 3.0 * true_logits  # a model three times too sure of itself
    assert fit_temperature(overconfident, y) == pytest.approx(3.0, rel=0.1)
    before = expected_calibration_error(sigmoid(overconfident), y)
    after = expected_calibration_error(sigmoid(overconfident / 3.0), y)
    assert after < 0.02 < before


def test_best_threshold_and_ties_prefer_the_middle() -> None:
    p = np.array([0.1, 0.35, 0.4, 0.8, 0.9])
    y = np.array([0, 1, 1, 1, 1.0])
    threshold, f1 = best_threshold(p, y)
    assert f1 == 1.0 and 0.1 < threshold <= 0.35
    calibration = calibrate(
        np.log(
            np.array([[0.9, 0.1], [0.2, 0.8], [0.8, 0.3], [0.1, 0.7]])
            / (1 - np.array([[0.9, 0.1], [0.2, 0.8], [0.8, 0.3], [0.1, 0.7]]))
        ),
        np.array([[1, 0], [0, 1], [1, 0], [0, 1.0]]),
    )
    assert len(calibration.thresholds) == 2 and all(t > 0 for t in calibration.temperatures)
