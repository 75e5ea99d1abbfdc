"""Baseline: TF-IDF over character n-grams and jieba words, one logistic regression per label.

Character 1-3-grams catch phrasing without segmentation errors; jieba words (the project's
tokenizer and user dictionary) add whole domain terms. Class weights are balanced and each
label's threshold is tuned on gold dev, as for the classifier, so the comparison is fair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from models.calibration import best_threshold
from pipeline.labeling.features import tokenizer
from pipeline.taxonomy import LABELS, LabelScore


def _words(text: str) -> list[str]:
    return [w for w in tokenizer().lcut(text) if w.strip()]


@dataclass
class TfidfBaseline:
    chars: TfidfVectorizer
    words: TfidfVectorizer
    models: list[LogisticRegression]
    thresholds: list[float]
    version: str = "tfidf-baseline"

    @classmethod
    def fit(
        cls,
        train_texts: Sequence[str],
        train_y: np.ndarray,
        dev_texts: Sequence[str],
        dev_y: np.ndarray,
    ) -> TfidfBaseline:
        chars = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=200_000
        )
        words = TfidfVectorizer(analyzer=_words, min_df=2, sublinear_tf=True)
        x = hstack([chars.fit_transform(train_texts), words.fit_transform(train_texts)]).tocsr()
        models = [
            LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000).fit(x, train_y[:, k])
            for k in range(len(LABELS))
        ]
        baseline = cls(chars, words, models, [0.5] * len(LABELS))
        dev_p = baseline.proba(dev_texts)
        baseline.thresholds = [
            best_threshold(dev_p[:, k], dev_y[:, k].astype(np.float64))[0]
            for k in range(len(LABELS))
        ]
        return baseline

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        x = hstack([self.chars.transform(texts), self.words.transform(texts)]).tocsr()
        return np.column_stack([m.predict_proba(x)[:, 1] for m in self.models])

    def predict_texts(self, texts: Sequence[str]) -> list[LabelScore]:
        probs = self.proba(texts)
        return [
            LabelScore(
                labels=frozenset(
                    label
                    for label, p, t in zip(LABELS, row, self.thresholds, strict=True)
                    if p >= t
                ),
                scores={label: float(p) for label, p in zip(LABELS, row, strict=True)},
            )
            for row in probs
        ]

    def predict(self, records: Sequence[dict[str, Any]]) -> list[LabelScore]:
        from models.data import post_text

        return self.predict_texts([post_text(r) for r in records])
