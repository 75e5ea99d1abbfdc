"""Label models on votes with planted LF accuracies, and the per-rule summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.labeling.lfs import NEGATIVE, POSITIVE, RuleSet, TokenLF, default_ruleset
from pipeline.labeling.model import (
    DawidSkene,
    StaleModelError,
    WeightedVote,
    load_model,
    save_model,
)
from pipeline.labeling.summary import lf_summary
from pipeline.taxonomy import LABELS


def _ruleset() -> RuleSet:
    """Three LFs per label: a precise one, a noisy one, and a negative one."""
    lfs = []
    for label in LABELS:
        lfs += [
            TokenLF(f"{label.value}:precise", label, POSITIVE, frozenset()),
            TokenLF(f"{label.value}:noisy", label, POSITIVE, frozenset()),
            TokenLF(f"{label.value}:against", label, NEGATIVE, frozenset()),
        ]
    by_label = {label: tuple(range(3 * k, 3 * k + 3)) for k, label in enumerate(LABELS)}
    return RuleSet(tuple(lfs), version="planted", by_label=by_label)


def _planted(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random((n, len(LABELS))) < 0.3
    votes = np.zeros((n, 3 * len(LABELS)), dtype=np.int8)
    for k in range(len(LABELS)):
        yk = y[:, k]
        # precise: fires on 60% of positives, 2% of negatives
        votes[:, 3 * k] = np.where(rng.random(n) < np.where(yk, 0.6, 0.02), POSITIVE, 0)
        # noisy: fires on 50% of positives, 25% of negatives
        votes[:, 3 * k + 1] = np.where(rng.random(n) < np.where(yk, 0.5, 0.25), POSITIVE, 0)
        # against: fires on 40% of negatives, 3% of positives
        votes[:, 3 * k + 2] = np.where(rng.random(n) < np.where(yk, 0.03, 0.4), NEGATIVE, 0)
    return votes, y


def _f1(pred: np.ndarray, y: np.ndarray) -> float:
    tp = (pred & y).sum()
    return float(2 * tp / (pred.sum() + y.sum()))


def test_fitted_models_learn_which_rules_to_trust() -> None:
    ruleset = _ruleset()
    votes, y = _planted()
    fitted = WeightedVote.fit(ruleset, votes, y)
    for label in LABELS:
        precise, noisy, _ = fitted.weights[label]
        assert precise > noisy + 1.0
    ds = DawidSkene.fit(ruleset, votes)
    for label in LABELS:
        cond = ds.cond[label]
        # P(precise fires | y=1) high, P(precise fires | y=0) tiny; the noisy one in between.
        assert cond[0][0][0] > 0.5 > cond[1][1][0] > cond[0][1][0]
        assert abs(ds.prior[label] - 0.3) < 0.05
    for model in (fitted, ds):
        probs = model.predict_proba(ruleset, votes)
        assert min(_f1(probs[:, k] >= 0.5, y[:, k]) for k in range(len(LABELS))) > 0.7


def test_save_load_and_stale_rules(tmp_path: Path) -> None:
    ruleset = default_ruleset()
    model = WeightedVote.default(ruleset)
    path = tmp_path / "m.json"
    save_model(model, ruleset, path)
    loaded = load_model(path, ruleset)
    assert isinstance(loaded, WeightedVote) and loaded.weights == model.weights
    with pytest.raises(StaleModelError, match="tousu weak fit"):
        load_model(path, _ruleset())


def test_summary_counts_by_hand() -> None:
    ruleset = _ruleset()
    votes = np.zeros((4, 12), dtype=np.int8)
    votes[:, 0:3] = [[1, 1, 0], [1, 0, -1], [0, 1, -1], [0, 0, 0]]
    gold = np.zeros((4, 4), dtype=bool)
    gold[:, 0] = [True, True, False, False]
    stats = {s.name: s for s in lf_summary(ruleset, votes, gold)}
    precise = stats["fake_shipment:precise"]
    assert (precise.polarity, precise.coverage, precise.overlap, precise.conflict) == (
        "+",
        0.5,
        0.5,
        0.25,
    )
    assert (precise.accuracy, precise.votes) == (1.0, 2)
    against = stats["fake_shipment:against"]
    assert (against.polarity, against.conflict, against.accuracy) == ("-", 0.5, 0.5)
    assert stats["exit_scam:precise"].polarity == "" and stats["exit_scam:precise"].accuracy is None
