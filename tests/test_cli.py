from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import REPO
from tousu.cli import cli

COMMANDS = (
    "sim",
    "crawl",
    "ingest",
    "label",
    "aggregate",
    "report",
    "demo",
    "predict",
    "evaluate",
    "weak",
    "gold",
    "model",
)


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", result.output, re.MULTILINE), command


def test_light_commands_do_not_load_heavy_stacks(tmp_path: Path) -> None:
    # `tousu --help` and `tousu ingest` must not import torch, nor the crawler's Twisted stack.
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from tousu.cli import cli\n"
        "assert CliRunner().invoke(cli, ['--help']).exit_code == 0\n"
        f"r = CliRunner().invoke(cli, ['--data-dir', {str(tmp_path)!r}, 'ingest'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('torch', 'scrapy', 'twisted', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_missing_input_says_which_stage_to_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tousu", "--data-dir", str(tmp_path), "label"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 2
    assert "run `tousu ingest` first" in done.stderr and "Traceback" not in done.stderr


def test_bad_period_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "report", "--period", "someday"])
    assert result.exit_code == 1 and "unknown period 'someday'" in result.output


def test_make_help_lists_every_target() -> None:
    done = subprocess.run(
        ["make", "-s", "help"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 0
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert phony is not None
    listed = {line.split()[0] for line in done.stdout.splitlines()[1:] if line.strip()}
    assert set(phony.group(1).split()) == listed
    assert all(len(line.split(None, 1)) == 2 for line in done.stdout.splitlines()[1:])
