from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.ingest import run_ingest
from pipeline.resolve import UNKNOWN_PLATFORM, Resolution, default_resolver
from pipeline.settings import Paths
from tests.conftest import make_record, write_jsonl
from tousu.cli import cli


@pytest.mark.parametrize("cotitle", ["拼多多客户服务", "拼多多", "拼多多平台", " 拼多多 平台 "])
def test_aliases_map_to_one_merchant(cotitle: str) -> None:
    assert default_resolver().resolve(cotitle, "") == ("拼多多", "拼多多")


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        ("在快手直播间买的衣服", "快手"),
        ("抖音小店下单的面膜", "抖音"),
        ("通过微信小程序预订的手机", "微信小程序"),
        ("在抖音上看到广告，后来在淘宝下单买的", "淘宝"),
        ("线下门店办的卡", UNKNOWN_PLATFORM),
    ],
)
def test_platform_from_text(text: str, platform: str) -> None:
    assert default_resolver().resolve("某某小店", text) == ("某某小店", platform)


def test_account_suffixes_resolve_to_the_brand() -> None:
    resolver = default_resolver()
    assert resolver.resolution("曲美家居官方微博", "") == Resolution(
        "曲美家居", UNKNOWN_PLATFORM, "suffix", "none"
    )
    assert resolver.resolution("拼多多客服中心", "") == Resolution(
        "拼多多", "拼多多", "suffix", "account"
    )
    # A shop name is never cut: the suffix list holds none of theirs.
    assert resolver.resolution("鑫盛数码专营店", "在快手买的") == Resolution(
        "鑫盛数码专营店", "快手", "name", "text"
    )
    assert resolver.resolution("拼多多平台", "").merchant_source == "alias"


def test_suggestions_point_at_a_known_merchant() -> None:
    resolver = default_resolver()
    assert resolver.suggest("拼多多砍价活动") == "拼多多"
    assert resolver.suggest("京东到家便利店") == "京东"
    assert resolver.suggest("鑫盛数码专营店") is None


def test_unresolved_names_by_volume(paths: Paths, tmp_path: Path) -> None:
    records = [make_record(sn=f"1739000000{i}", merchant_name="拼多多砍价活动") for i in range(3)]
    records += [make_record(sn="17390000010", merchant_name="鑫盛数码专营店", body="快手小店买的")]
    records += [make_record(sn="17390000011", merchant_name="拼多多平台")]
    run_ingest(paths, [write_jsonl(tmp_path / "m.jsonl", records)])
    result = CliRunner().invoke(cli, ["--data-dir", str(paths.data_dir), "merchants", "unresolved"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["3", "拼多多", "拼多多", "拼多多砍价活动"]
    assert lines[2].split() == ["1", "快手", "-", "鑫盛数码专营店"]
    assert len(lines) == 3  # 拼多多平台 is in the table
