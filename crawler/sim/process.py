"""The simulator as a child process, and the scratch folders of the runs that start it.

``tousu demo`` and the crawl acceptance run both start ``tousu sim serve`` on a free port
(the URL comes from its first stdout line) and recreate a workspace folder on every run;
the workspace carries a marker file so that recreating it can never delete a folder someone
else filled (months of crawling under a mistyped ``--data-dir``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import IO


class WorkspaceError(RuntimeError):
    """The workspace folder exists and holds files the run did not create."""


def recreate_workspace(folder: Path, marker: str, owner: str, hint: str = "") -> None:
    """Empty ``folder`` (creating it), refusing a non-empty folder without ``marker``.

    ``owner`` names the run in the marker and in the error ("`tousu demo`"); ``hint`` ends
    the error with what the user can do instead.
    """
    if folder.exists() and any(folder.iterdir()):
        if not (folder / marker).exists():
            raise WorkspaceError(
                f"{folder} holds files {owner} did not create; move them away"
                + (f" or {hint}" if hint else "")
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / marker).write_text(f"created by {owner}; recreated on every run\n")


class SimProcess:
    """``tousu sim serve --port 0 ARGS`` as a child process; stderr goes to ``log_path``."""

    def __init__(self, args: list[str], log_path: Path | None = None) -> None:
        self._log: IO[str] | None = (
            log_path.open("w", encoding="utf-8") if log_path is not None else None
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tousu", "sim", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if " on http://" not in line:
            self.stop()
            where = f" (see {log_path})" if log_path is not None else ""
            raise RuntimeError(
                f"the simulator did not start (exit code {self.proc.returncode}): {line!r}{where}"
            )
        self.base_url = line.rsplit(" on ", 1)[1].strip()

    def stats(self) -> dict[str, int]:
        """The simulator's request counters (``/_sim/stats``): bans, errors, stalls."""
        with urllib.request.urlopen(f"{self.base_url}/_sim/stats", timeout=10) as response:
            loaded: dict[str, int] = json.loads(response.read())
        return loaded

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
