"""Report tests read model artifacts (the quality annex) and some write them: keep both in the
test's own folder, never the checkout's ``artifacts/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import Paths


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "data", tmp_path / "artifacts", tmp_path / "gold")
