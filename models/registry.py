"""Choose the labeler for ``tousu label`` and ``tousu predict`` by name.

``auto`` takes the best that exists: the classifier in ONNX int8, else the PyTorch
classifier, else the weak-supervision labeler (rules + label model). ``student`` is the
4-layer model distilled from the classifier (``tousu model distill``), chosen by name only:
it is three times faster and as good on gold test, but on text unlike gold (the simulator's)
it lost 7 points of macro-F1 where the classifier lost none, and unfamiliar text is what a
crawl brings. It is the choice for bulk relabeling where speed matters.
"""

from __future__ import annotations

from pipeline.labeling.labeler import WeakLabeler
from pipeline.predictions import Labeler
from pipeline.settings import Paths

LABELERS = ("auto", "weak", "classifier", "onnx", "student")


def resolve(name: str, paths: Paths) -> str:
    if name != "auto":
        return name
    from models.layout import ARTIFACT_FILE, INT8_FILE, ONNX_DIR

    if (paths.classifier / ONNX_DIR / INT8_FILE).exists():
        return "onnx"
    if (paths.classifier / ARTIFACT_FILE).exists():
        return "classifier"
    return "weak"


def load_labeler(name: str, paths: Paths) -> Labeler:
    """The labeler called ``name``; ``paths`` locates fitted or trained artifacts."""
    if name not in LABELERS:
        raise ValueError(f"unknown labeler {name!r}; available: {', '.join(LABELERS)}")
    chosen = resolve(name, paths)
    if chosen == "weak":
        return WeakLabeler.from_paths(paths)
    if chosen == "classifier":
        from models.classifier import ClassifierLabeler

        return ClassifierLabeler(paths.classifier)
    from models.onnx_export import OnnxLabeler

    return OnnxLabeler(paths.student if chosen == "student" else paths.classifier)
