"""`tousu crawl` refuses options that do not apply to the chosen site before crawling."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tousu.cli import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diansubao", "--cookies", "a=b"], "--cookies does not apply to `tousu crawl diansubao`"),
        (["jutousu", "--couids", "123"], "--couids does not apply to `tousu crawl jutousu`"),
        (["heimao", "--merchants", "123"], "--merchants does not apply to `tousu crawl heimao`"),
        (["diansubao", "--no-details"], "--details does not apply"),
        (["heimao", "--cooldown", "0"], "--cooldown must be positive"),
    ],
)
def test_options_that_do_not_apply_are_refused(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "crawl", *args])
    assert result.exit_code == 1 and message in result.output
    assert not (tmp_path / "raw").exists() and not (tmp_path / "state").exists()
