"""The resume acceptance: a hostile simulator, a crawl SIGKILLed twice and resumed, every
complaint written exactly once with its full text (see crawler/sim/acceptance.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.sim.acceptance import AcceptanceConfig, run_acceptance

SMALL = {"complaints": 400, "merchants": 60, "weeks": 12, "seed": 11}


@pytest.mark.parametrize(
    ("site", "overrides"),
    [
        ("heimao", {"rate_limit": 600}),
        ("jutousu", {"rate_limit": 900}),
        ("diansubao", {"rate_limit": 20, "page_record": 8}),
    ],
)
def test_killed_twice_and_resumed_loses_nothing_and_writes_nothing_twice(
    site: str, overrides: dict[str, int], tmp_path: Path
) -> None:
    config = AcceptanceConfig(site=site, **SMALL, **overrides)  # type: ignore[arg-type]
    result = run_acceptance(config, tmp_path / "acceptance")
    assert result.kills == 2 and [r["killed"] for r in result.runs] == [True, True, False]
    assert result.runs[-1]["exit_code"] == 0
    assert result.unique == result.expected == result.written_lines, result.summary()
    assert not (result.missing or result.extra or result.duplicates), result.summary()
    assert not result.not_full_body and result.bad_lines == 0 and not result.part_files_left
    assert result.stats["ban/pauses"] > 0 and result.stats["retry/count"] > 0, result.summary()
    assert not result.personal_data_found
    assert result.ok


@pytest.mark.slow
def test_full_size_heimao_acceptance(tmp_path: Path) -> None:
    result = run_acceptance(AcceptanceConfig.for_site("heimao"), tmp_path / "acceptance")
    assert result.expected == 10_000
    assert result.ok, result.summary()


@pytest.mark.slow
@pytest.mark.parametrize("site", ["jutousu", "diansubao"])
def test_full_size_acceptance_of_the_smaller_sites(site: str, tmp_path: Path) -> None:
    config = AcceptanceConfig.for_site(site)
    result = run_acceptance(config, tmp_path / "acceptance")
    assert result.expected == 2_000
    assert result.ok, result.summary()
