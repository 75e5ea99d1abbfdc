from __future__ import annotations

import pytest

from pipeline.resolve import UNKNOWN_PLATFORM, default_resolver


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
