"""The fine-tuned classifier as a :class:`~pipeline.predictions.Labeler` (PyTorch path).

Loads an artifact written by :mod:`models.train`: logits from the encoder in length-sorted
batches, per-label temperature scaling, per-label thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.calibration import labels_from_probs, sigmoid
from models.data import post_text
from models.layout import ARTIFACT_FILE
from pipeline.taxonomy import LABELS, LabelScore


class ArtifactError(FileNotFoundError):
    """No usable classifier artifact: say how to make one."""


def read_artifact(folder: Path) -> dict[str, Any]:
    meta = folder / ARTIFACT_FILE
    if not meta.exists():
        raise ArtifactError(
            f"no classifier in {folder}: train one with `tousu model train` (`make train`); "
            "the fast student is made from it by `tousu model distill` (`make distill`)"
        )
    data: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
    if data.get("labels") != [label.value for label in LABELS]:
        raise ArtifactError(
            f"{meta} was trained for labels {data.get('labels')}, not {[label.value for label in LABELS]}"
        )
    return data


class Scorer:
    """Shared post-processing: calibrated probabilities and thresholds from logits."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta
        self.temperatures = np.array([meta["temperatures"][label.value] for label in LABELS])
        self.thresholds = [float(meta["thresholds"][label.value]) for label in LABELS]
        self.max_length = int(meta["max_length"])

    @property
    def version(self) -> str:
        return str(self.meta["model_version"])

    def results(self, logits: np.ndarray) -> list[LabelScore]:
        probs = sigmoid(logits / self.temperatures)
        labels = labels_from_probs(probs, self.thresholds)
        return [
            LabelScore(
                labels=chosen,
                scores={label: float(p) for label, p in zip(LABELS, row, strict=True)},
            )
            for chosen, row in zip(labels, probs, strict=True)
        ]


class ClassifierLabeler(Scorer):
    def __init__(self, folder: Path, *, batch_size: int = 32, threads: int = 2) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        super().__init__(read_artifact(folder))
        torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForSequenceClassification.from_pretrained(folder)
        self.model.eval()
        self.batch_size = batch_size

    def predict(self, records: Sequence[dict[str, Any]]) -> list[LabelScore]:
        from models.encoder import batched_logits

        if not records:
            return []
        texts = [post_text(r) for r in records]
        logits = batched_logits(
            self.model,
            self.tokenizer,
            texts,
            max_length=self.max_length,
            batch_size=self.batch_size,
        )
        return self.results(logits)
