"""Training examples: gold posts with their labels, and weakly labeled posts with the label
model's probabilities as soft evidence (or, for a distilled student, a teacher's).

Every post becomes its title, body and the complainant's own structured fields (投诉问题 and
投诉要求, when present), cleaned as ingest cleans them: the taxonomy judges a complaint as a
whole, and this is the same text the classifier sees at prediction time. A weak example carries, per label, a target (p >= 0.5)
and a weight |2p - 1|: confident label-model votes count, coin flips do not.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.contract import split_tags
from pipeline.jsonl import iter_lines
from pipeline.labeling.labeler import WeakLabeler
from pipeline.taxonomy import LABELS, parse_labels
from pipeline.text import clean_text, clean_title


def post_text(record: dict[str, Any]) -> str:
    parts = [clean_title(str(record.get("title") or "")), clean_text(str(record.get("body") or ""))]
    for name, field_name in (("投诉问题", "issue"), ("投诉要求", "appeal")):
        values = record.get(field_name) or []
        tags = split_tags(values) if isinstance(values, str) else [str(v) for v in values]
        if tags:
            parts.append(f"{name}：{'，'.join(tags)}")
    return "\n".join(parts)


@dataclass(frozen=True)
class Example:
    text: str
    targets: tuple[float, ...]  # one per label, 0 or 1
    weights: tuple[float, ...]  # one per label
    source: str  # "gold" | "weak" | "teacher"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
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


def gold_examples(records: Iterable[dict[str, Any]]) -> list[Example]:
    out = []
    for record in records:
        labels = parse_labels(record.get("labels"))
        out.append(
            Example(
                text=post_text(record),
                targets=tuple(1.0 if label in labels else 0.0 for label in LABELS),
                weights=(1.0,) * len(LABELS),
                source="gold",
            )
        )
    return out


def weak_examples(
    records: Sequence[dict[str, Any]], labeler: WeakLabeler, *, weight: float
) -> list[Example]:
    out = []
    for record, result in zip(records, labeler.predict(records), strict=True):
        probs = [result.scores[label] for label in LABELS]
        out.append(
            Example(
                text=post_text(record),
                targets=tuple(1.0 if p >= 0.5 else 0.0 for p in probs),
                weights=tuple(weight * abs(2 * p - 1) for p in probs),
                source="weak",
            )
        )
    return out


def distilled_examples(
    gold: Sequence[Example],
    gold_probs: Sequence[Sequence[float]],
    unlabeled: Sequence[str],
    unlabeled_probs: Sequence[Sequence[float]],
    *,
    alpha: float,
    weight: float,
) -> list[Example]:
    """A student's examples from a teacher's calibrated probabilities.

    On gold posts the target is ``alpha`` x the gold label + (1 - alpha) x the teacher's
    probability (the gold label anchors it, the teacher says how clear-cut the post is); on
    unlabeled posts it is the teacher's probability, each label weighted ``weight``.
    """
    out = [
        Example(
            text=e.text,
            targets=tuple(
                alpha * t + (1 - alpha) * float(p) for t, p in zip(e.targets, probs, strict=True)
            ),
            weights=e.weights,
            source="gold",
        )
        for e, probs in zip(gold, gold_probs, strict=True)
    ]
    out.extend(
        Example(
            text=text,
            targets=tuple(float(p) for p in probs),
            weights=(weight,) * len(LABELS),
            source="teacher",
        )
        for text, probs in zip(unlabeled, unlabeled_probs, strict=True)
    )
    return out


def gold_label_matrix(examples: Sequence[Example]) -> list[list[bool]]:
    return [[t >= 0.5 for t in e.targets] for e in examples]


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (dynamic padding wastes little)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
