"""The weak-supervision labeler: featurize once, vote, combine with the label model."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pipeline.labeling.features import Post, featurize
from pipeline.labeling.lfs import RuleSet, default_ruleset, vote_row
from pipeline.labeling.model import (
    THRESHOLD,
    LabelModel,
    StaleModelError,
    WeightedVote,
    as_votes,
    load_model,
    model_version,
)
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, LabelScore

logger = logging.getLogger(__name__)


class WeakLabeler:
    """Labeling functions + a label model, behind the ``Labeler`` interface."""

    def __init__(self, ruleset: RuleSet | None = None, model: LabelModel | None = None) -> None:
        self.ruleset = ruleset or default_ruleset()
        self.model = model or WeightedVote.default(self.ruleset)

    @classmethod
    def from_paths(cls, paths: Paths) -> WeakLabeler:
        """The fitted label model when one exists for the current rules, else the default vote."""
        ruleset = default_ruleset()
        if paths.label_model.exists():
            try:
                return cls(ruleset, load_model(paths.label_model, ruleset))
            except StaleModelError as exc:
                logger.warning("%s; using the default weighted vote", exc)
        return cls(ruleset)

    @property
    def version(self) -> str:
        return model_version(self.model, self.ruleset)

    def votes(self, records: Sequence[dict[str, Any]]) -> list[list[int]]:
        return [vote_row(self.ruleset, featurize(Post.from_record(r))) for r in records]

    def predict(self, records: Sequence[dict[str, Any]]) -> list[LabelScore]:
        if not records:
            return []
        probs = self.model.predict_proba(self.ruleset, as_votes(self.votes(records)))
        results = []
        for row in probs:
            scores = {label: float(p) for label, p in zip(LABELS, row, strict=True)}
            labels = frozenset(label for label, p in scores.items() if p >= THRESHOLD)
            results.append(LabelScore(labels=labels, scores=scores))
        return results
