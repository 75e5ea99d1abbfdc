"""Fit the label model and choose it on gold dev (``tousu weak fit``).

Candidates: the default weighted vote, the accuracy-weighted vote fitted on gold train, and a
Dawid-Skene model fitted by EM on unlabeled posts (gold train's texts without their labels plus
any crawled posts given). The one with the best macro-F1 on gold dev is saved, with every
candidate's dev figures, so the choice can be read back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.evaluate import EvalReport, evaluate
from pipeline.jsonl import iter_lines
from pipeline.labeling.features import Post, featurize
from pipeline.labeling.lfs import RuleSet, default_ruleset, vote_row
from pipeline.labeling.model import (
    THRESHOLD,
    DawidSkene,
    LabelModel,
    Votes,
    WeightedVote,
    as_votes,
    model_version,
    save_model,
)
from pipeline.settings import Paths
from pipeline.taxonomy import LABELS, parse_labels


@dataclass
class Candidate:
    name: str
    model: LabelModel
    dev: EvalReport


@dataclass
class FitResult:
    chosen: Candidate
    candidates: list[Candidate]
    path: Path
    version: str


def read_records(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in iter_lines(path):
        try:
            record = json.loads(line.text or "")
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} line {line.line_no}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path} line {line.line_no}: not a JSON object")
        records.append(record)
    return records


def votes_for(
    ruleset: RuleSet,
    records: Iterable[dict[str, Any]],
    advance: Callable[[int], None] | None = None,
) -> Votes:
    rows = []
    for record in records:
        rows.append(vote_row(ruleset, featurize(Post.from_record(record))))
        if advance:
            advance(1)
    return as_votes(rows) if rows else np.zeros((0, len(ruleset.lfs)), dtype=np.int8)


def gold_matrix(records: Sequence[dict[str, Any]]) -> NDArray[np.bool_]:
    sets = [parse_labels(r.get("labels")) for r in records]
    return np.array([[label in s for label in LABELS] for s in sets], dtype=bool).reshape(
        len(sets), len(LABELS)
    )


def predicted_sets(probs: NDArray[np.float64]) -> list[frozenset[Any]]:
    return [
        frozenset(label for label, p in zip(LABELS, row, strict=True) if p >= THRESHOLD)
        for row in probs
    ]


def dev_report(
    model: LabelModel, ruleset: RuleSet, votes: Votes, gold: NDArray[np.bool_]
) -> EvalReport:
    probs = model.predict_proba(ruleset, votes)
    gold_sets = [
        frozenset(label for label, g in zip(LABELS, row, strict=True) if g) for row in gold
    ]
    scores = [dict(zip(LABELS, map(float, row), strict=True)) for row in probs]
    return evaluate(gold_sets, predicted_sets(probs), scores)


def run_weak_fit(
    paths: Paths,
    *,
    train: Path,
    dev: Path,
    unlabeled: Sequence[Path] = (),
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> FitResult:
    ruleset = default_ruleset()
    train_records = read_records(train)
    dev_records = read_records(dev)
    extra = [r for path in unlabeled for r in read_records(path)]
    advance = progress(len(train_records) + len(dev_records) + len(extra)) if progress else None
    train_votes = votes_for(ruleset, train_records, advance)
    dev_votes = votes_for(ruleset, dev_records, advance)
    extra_votes = votes_for(ruleset, extra, advance)
    train_gold, dev_gold = gold_matrix(train_records), gold_matrix(dev_records)
    models: list[tuple[str, LabelModel]] = [
        ("weighted_vote_default", WeightedVote.default(ruleset)),
        ("weighted_vote_fitted", WeightedVote.fit(ruleset, train_votes, train_gold)),
        ("dawid_skene", DawidSkene.fit(ruleset, np.vstack([train_votes, extra_votes]))),
    ]
    candidates = [
        Candidate(name, model, dev_report(model, ruleset, dev_votes, dev_gold))
        for name, model in models
    ]
    # Ties go to the earlier, simpler model.
    chosen = max(candidates, key=lambda c: (round(c.dev.macro_f1, 6), -candidates.index(c)))
    selection = {
        c.name: {
            "dev_macro_f1": c.dev.macro_f1,
            "dev_f1": {label.value: m.f1 for label, m in c.dev.labels.items()},
        }
        for c in candidates
    }
    save_model(
        chosen.model,
        ruleset,
        paths.label_model,
        extra={"chosen": chosen.name, "selection": selection, "train": str(train), "dev": str(dev)},
    )
    return FitResult(chosen, candidates, paths.label_model, model_version(chosen.model, ruleset))
