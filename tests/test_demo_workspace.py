from __future__ import annotations

from pathlib import Path

import pytest

from crawler.sim.process import WorkspaceError
from pipeline.settings import Paths
from tousu.demo import WORKSPACE_MARKER, reset_workspace


def test_demo_never_deletes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "demo" / "raw" / "heimao" / "months-of-crawling.jsonl"
    precious.parent.mkdir(parents=True)
    precious.write_text("{}\n")
    with pytest.raises(WorkspaceError, match="did not create"):
        reset_workspace(Paths(tmp_path / "demo"))
    assert precious.exists()


def test_demo_recreates_its_own_workspace(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "demo")
    reset_workspace(paths)
    (paths.data_dir / "old-output.txt").write_text("stale")
    reset_workspace(paths)
    assert sorted(p.name for p in paths.data_dir.iterdir()) == [WORKSPACE_MARKER]
