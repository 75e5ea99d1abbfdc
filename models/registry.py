"""Choose the labeler for ``tousu label`` and ``tousu predict`` by name."""

from __future__ import annotations

from pipeline.labeling.labeler import WeakLabeler
from pipeline.predictions import Labeler
from pipeline.settings import Paths

LABELERS = ("weak",)


def load_labeler(name: str, paths: Paths) -> Labeler:
    """The labeler called ``name``; ``paths`` locates fitted or trained artifacts."""
    if name == "weak":
        return WeakLabeler.from_paths(paths)
    raise ValueError(f"unknown labeler {name!r}; available: {', '.join(LABELERS)}")
