"""Label models: combine the LFs' votes for each label into a probability.

Votes are an N x J matrix V with entries in {+1, -1, 0}; each label k owns the columns of its
J_k LFs. Two models, both fitted and applied per label:

``WeightedVote``: p = sigmoid(b + sum_j w_j * V_ij). With the default weights (positive LFs
1.3, negative 1.6, tags 1.0, bias -0.5) one positive hit gives p ~ 0.69 and a hit cancelled by
a negative LF p ~ 0.31. ``WeightedVote.fit`` instead sets w_j to the log-odds of LF j's accuracy
on labeled posts (the classic accuracy-weighted vote) and b to the prior log-odds.

``DawidSkene``: a generative model fitted by EM without labels. y ~ Bernoulli(pi); given y,
each LF's vote is drawn independently from its own categorical over {+1, -1, 0}. EM starts from
the weighted vote's posteriors and alternates posteriors and (smoothed) counts.

A post gets label k when p_k >= 0.5. Both models save to and load from one JSON file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.labeling.lfs import NEGATIVE, POSITIVE, DeniedLF, FieldLF, RuleSet
from pipeline.taxonomy import LABELS, Label

THRESHOLD = 0.5
DEFAULT_WEIGHT = {"positive": 1.3, "negative": 1.6, "field": 1.0}
DEFAULT_BIAS = -0.5
SMOOTHING = 1.0  # add-one counts keep EM away from 0/1 probabilities
VOTE_VALUES = (POSITIVE, NEGATIVE, 0)

Votes = NDArray[np.int8]
Probs = NDArray[np.float64]


def as_votes(rows: Sequence[Sequence[int]] | Votes) -> Votes:
    return np.asarray(rows, dtype=np.int8).reshape(len(rows), -1)


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-x))


def _default_weights(ruleset: RuleSet, label: Label) -> list[float]:
    weights = []
    for i in ruleset.columns(label):
        lf = ruleset.lfs[i]
        if isinstance(lf, FieldLF):
            weights.append(DEFAULT_WEIGHT["field"])
        elif isinstance(lf, DeniedLF) or lf.vote == NEGATIVE:
            weights.append(DEFAULT_WEIGHT["negative"])
        else:
            weights.append(DEFAULT_WEIGHT["positive"])
    return weights


@dataclass
class WeightedVote:
    kind = "weighted_vote"
    lf_names: list[str]
    weights: dict[Label, list[float]]
    bias: dict[Label, float]

    @classmethod
    def default(cls, ruleset: RuleSet) -> WeightedVote:
        return cls(
            lf_names=[lf.name for lf in ruleset.lfs],
            weights={label: _default_weights(ruleset, label) for label in LABELS},
            bias=dict.fromkeys(LABELS, DEFAULT_BIAS),
        )

    @classmethod
    def fit(cls, ruleset: RuleSet, votes: Votes, gold: NDArray[np.bool_]) -> WeightedVote:
        """Accuracy-weighted vote from labeled posts (``gold``: N x K)."""
        weights: dict[Label, list[float]] = {}
        bias: dict[Label, float] = {}
        for k, label in enumerate(LABELS):
            y = gold[:, k]
            ws = []
            for j in ruleset.columns(label):
                v = votes[:, j]
                active = v != 0
                correct = ((v == POSITIVE) & y) | ((v == NEGATIVE) & ~y)
                acc = (correct[active].sum() + 1.0) / (active.sum() + 2.0)
                # Votes are +/-1, so the log-odds of accuracy is the weight on each vote.
                ws.append(float(max(0.0, np.log(acc / (1.0 - acc)))))
            weights[label] = ws
            prior = (y.sum() + 1.0) / (len(y) + 2.0)
            bias[label] = float(np.log(prior / (1.0 - prior)))
        return cls([lf.name for lf in ruleset.lfs], weights, bias)

    def predict_proba(self, ruleset: RuleSet, votes: Votes) -> Probs:
        out = np.zeros((votes.shape[0], len(LABELS)))
        for k, label in enumerate(LABELS):
            cols = list(ruleset.columns(label))
            w = np.asarray(self.weights[label])
            out[:, k] = _sigmoid(self.bias[label] + votes[:, cols].astype(np.float64) @ w)
        return out

    def params(self) -> dict[str, Any]:
        return {
            "weights": {label.value: self.weights[label] for label in LABELS},
            "bias": {label.value: self.bias[label] for label in LABELS},
        }


@dataclass
class DawidSkene:
    kind = "dawid_skene"
    lf_names: list[str]
    prior: dict[Label, float]
    # cond[label][j] = [[P(+1|y=1), P(-1|y=1), P(0|y=1)], [same given y=0]]
    cond: dict[Label, list[list[list[float]]]]
    iterations: int = 0

    @classmethod
    def fit(
        cls, ruleset: RuleSet, votes: Votes, *, max_iter: int = 100, tol: float = 1e-6
    ) -> DawidSkene:
        init = WeightedVote.default(ruleset).predict_proba(ruleset, votes)
        prior: dict[Label, float] = {}
        cond: dict[Label, list[list[list[float]]]] = {}
        used = 0
        for k, label in enumerate(LABELS):
            v = votes[:, list(ruleset.columns(label))]
            onehot = np.stack([(v == value) for value in VOTE_VALUES], axis=2).astype(np.float64)
            q = init[:, k]
            for used in range(1, max_iter + 1):  # noqa: B007 - reported as iterations
                pi = (q.sum() + SMOOTHING) / (len(q) + 2 * SMOOTHING)
                pos = np.einsum("i,ijv->jv", q, onehot) + SMOOTHING
                neg = np.einsum("i,ijv->jv", 1.0 - q, onehot) + SMOOTHING
                pos /= pos.sum(axis=1, keepdims=True)
                neg /= neg.sum(axis=1, keepdims=True)
                q_next = _ds_posterior(onehot, pi, pos, neg)
                change = float(np.max(np.abs(q_next - q))) if len(q) else 0.0
                q = q_next
                if change < tol:
                    break
            prior[label] = float(pi)
            cond[label] = [[pos[j].tolist(), neg[j].tolist()] for j in range(v.shape[1])]
        return cls([lf.name for lf in ruleset.lfs], prior, cond, used)

    def predict_proba(self, ruleset: RuleSet, votes: Votes) -> Probs:
        out = np.zeros((votes.shape[0], len(LABELS)))
        for k, label in enumerate(LABELS):
            v = votes[:, list(ruleset.columns(label))]
            onehot = np.stack([(v == value) for value in VOTE_VALUES], axis=2).astype(np.float64)
            table = np.asarray(self.cond[label])
            out[:, k] = _ds_posterior(onehot, self.prior[label], table[:, 0, :], table[:, 1, :])
        return out

    def params(self) -> dict[str, Any]:
        return {
            "prior": {label.value: self.prior[label] for label in LABELS},
            "cond": {label.value: self.cond[label] for label in LABELS},
            "iterations": self.iterations,
        }


def _ds_posterior(
    onehot: NDArray[np.float64], pi: float, pos: NDArray[np.float64], neg: NDArray[np.float64]
) -> NDArray[np.float64]:
    log_pos = np.log(pi) + np.einsum("ijv,jv->i", onehot, np.log(pos))
    log_neg = np.log(1.0 - pi) + np.einsum("ijv,jv->i", onehot, np.log(neg))
    return _sigmoid(log_pos - log_neg)


LabelModel = WeightedVote | DawidSkene


def model_version(model: LabelModel, ruleset: RuleSet) -> str:
    """Changes when the rules or the fitted parameters change."""
    blob = json.dumps(model.params(), sort_keys=True).encode() + ruleset.version.encode()
    return f"weak-{model.kind}-{hashlib.sha1(blob, usedforsecurity=False).hexdigest()[:10]}"


def save_model(
    model: LabelModel, ruleset: RuleSet, path: Path, *, extra: dict[str, Any] | None = None
) -> None:
    payload = {
        "kind": model.kind,
        "rules_version": ruleset.version,
        "lf_names": model.lf_names,
        "params": model.params(),
        **(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


class StaleModelError(ValueError):
    """The saved model was fitted for other rules."""


def load_model(path: Path, ruleset: RuleSet) -> LabelModel:
    payload = json.loads(path.read_text(encoding="utf-8"))
    names = [lf.name for lf in ruleset.lfs]
    if payload["lf_names"] != names or payload["rules_version"] != ruleset.version:
        raise StaleModelError(
            f"{path} was fitted for rules {payload['rules_version']}, not the current {ruleset.version}: "
            "refit it with `tousu weak fit`"
        )
    params = payload["params"]
    if payload["kind"] == WeightedVote.kind:
        return WeightedVote(
            names,
            {label: params["weights"][label.value] for label in LABELS},
            {label: params["bias"][label.value] for label in LABELS},
        )
    if payload["kind"] == DawidSkene.kind:
        return DawidSkene(
            names,
            {label: params["prior"][label.value] for label in LABELS},
            {label: params["cond"][label.value] for label in LABELS},
            params.get("iterations", 0),
        )
    raise ValueError(f"{path}: unknown label model kind {payload['kind']!r}")
