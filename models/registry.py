"""Choose the labeler for ``tousu label`` by name."""

from __future__ import annotations

from pipeline.predictions import Labeler, RuleLabeler
from pipeline.settings import Paths

LABELERS = ("rules",)


def load_labeler(name: str, paths: Paths) -> Labeler:
    """The labeler called ``name``. ``paths`` locates trained artifacts for model labelers."""
    if name == "rules":
        return RuleLabeler()
    raise ValueError(f"unknown labeler {name!r}; available: {', '.join(LABELERS)}")
