"""What is known about the model that labeled the posts: its kind, decision thresholds and
measured quality, found from the ``model_version`` in the predictions.

- ``weak-*``: the weak-supervision labeler. Its threshold is the label model's; its quality is
  the gold-dev figures the fit wrote into ``artifacts/weak/label_model.json``, when that file
  is the model that produced the version (the default weighted vote has none).
- ``clf-*`` (and its ``-onnx`` variants): the fine-tuned classifier or the student distilled
  from it (``artifacts/classifier`` or ``artifacts/student``). Thresholds from its
  ``classifier.json``, quality from ``metrics.json`` beside it, when their ``model_version``
  matches.
- Anything else, or no matching file: quality unmeasured, said as such.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.settings import Paths
from pipeline.taxonomy import LABELS

logger = logging.getLogger(__name__)

CLASSIFIER_META = "classifier.json"
CLASSIFIER_METRICS = "metrics.json"


@dataclass(frozen=True)
class LabelQuality:
    f1: float
    precision: float | None = None
    recall: float | None = None
    support: int | None = None


@dataclass(frozen=True)
class ModelQuality:
    """Figures measured on held-out gold posts."""

    macro_f1: float
    labels: dict[str, LabelQuality]
    posts: int | None  # gold posts measured on, when known
    source: str  # the file the figures come from
    what: str  # e.g. "gold dev"


@dataclass(frozen=True)
class ModelInfo:
    version: str
    kind: str  # "weak", "classifier" or "unknown"
    thresholds: dict[str, float] = field(default_factory=dict)
    quality: ModelQuality | None = None

    @property
    def measured(self) -> bool:
        return self.quality is not None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        logger.warning("cannot read %s: %s", path, exc)
        return None
    return data if isinstance(data, dict) else None


def _weak_info(paths: Paths, version: str) -> ModelInfo:
    from pipeline.labeling.labeler import WeakLabeler
    from pipeline.labeling.model import THRESHOLD

    thresholds = {label.value: THRESHOLD for label in LABELS}
    quality = None
    if paths.label_model.exists() and WeakLabeler.from_paths(paths).version == version:
        saved = _read_json(paths.label_model) or {}
        chosen = saved.get("selection", {}).get(saved.get("chosen", ""), {})
        if "dev_macro_f1" in chosen:
            quality = ModelQuality(
                macro_f1=float(chosen["dev_macro_f1"]),
                labels={k: LabelQuality(f1=float(v)) for k, v in chosen.get("dev_f1", {}).items()},
                posts=None,
                source=str(paths.label_model),
                what="gold dev",
            )
    return ModelInfo(version, "weak", thresholds, quality)


def _classifier_info(paths: Paths, version: str) -> ModelInfo:
    base = re.sub(r"-onnx.*$", "", version)
    # The classifier or the student distilled from it: whichever folder holds this version.
    found = [
        (folder, meta)
        for folder in (paths.classifier, paths.student)
        if (folder / CLASSIFIER_META).exists()
        and (meta := _read_json(folder / CLASSIFIER_META))
        and meta.get("model_version") == base
    ]
    if not found:
        return ModelInfo(version, "classifier")
    folder, meta = found[0]
    thresholds = {k: float(v) for k, v in (meta.get("thresholds") or {}).items()}
    metrics = _read_json(folder / CLASSIFIER_METRICS) or {}
    dev = metrics.get("dev") if metrics.get("model_version") == base else None
    quality = None
    if isinstance(dev, dict) and "macro_f1" in dev:
        quality = ModelQuality(
            macro_f1=float(dev["macro_f1"]),
            labels={
                name: LabelQuality(
                    f1=float(m["f1"]),
                    precision=float(m["precision"]),
                    recall=float(m["recall"]),
                    support=int(m["support"]),
                )
                for name, m in (dev.get("labels") or {}).items()
            },
            posts=int(dev["n"]) if "n" in dev else None,
            source=str(folder / CLASSIFIER_METRICS),
            what="gold dev",
        )
    return ModelInfo(version, "classifier", thresholds, quality)


def model_info(paths: Paths, version: str) -> ModelInfo:
    """Kind, thresholds and measured quality of the model called ``version``."""
    if version.startswith("weak-"):
        return _weak_info(paths, version)
    if version.startswith("clf-"):
        return _classifier_info(paths, version)
    return ModelInfo(version, "unknown")
