"""Merchant and platform resolution.

A complaint names a merchant by the site's ``cotitle`` (拼多多客户服务, 拼多多平台, ...). The alias
table (``resources/merchant_aliases.csv``: alias, merchant, platform) maps known variants to
one canonical merchant and, for platform accounts, to the platform. A merchant not in the
table keeps its own name, and its platform comes from the complaint text (在快手直播间买的,
抖音小店, 微信小程序) using ``resources/platform_cues.csv``. A cue in a purchase context (a
buying verb or 店 just after it: 在拼多多买的, 抖音小店下单) beats a bare mention
(在抖音看到广告); among equals the earliest wins.

Both tables are data: extend them without touching code. Matching ignores case, full-width
forms and spaces.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

UNKNOWN_PLATFORM = "未知"
# A buying verb this close after a platform name means the purchase happened there.
PURCHASE_WINDOW = 12
_PURCHASE = re.compile(r"买|购|下单|拍下|下了单|订|店|付款|支付")


def _norm(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).lower()


@dataclass(frozen=True)
class Resolver:
    aliases: dict[str, tuple[str, str]]  # normalized alias -> (merchant, platform)
    cues: tuple[tuple[re.Pattern[str], str], ...]
    version: str  # changes when either table changes

    def merchant(self, cotitle: str) -> tuple[str, str | None]:
        """Canonical merchant name and, for known accounts, its platform."""
        hit = self.aliases.get(_norm(cotitle))
        if hit is None:
            return cotitle.strip(), None
        return hit

    def platform_from_text(self, text: str) -> str | None:
        best: tuple[int, int, str] | None = None
        for pattern, platform in self.cues:
            for match in pattern.finditer(text):
                bought = _PURCHASE.search(text, match.end(), match.end() + PURCHASE_WINDOW)
                key = (0 if bought else 1, match.start(), platform)
                if best is None or key < best:
                    best = key
        return best[2] if best else None

    def resolve(self, cotitle: str, text: str) -> tuple[str, str]:
        merchant, platform = self.merchant(cotitle)
        return merchant, platform or self.platform_from_text(text) or UNKNOWN_PLATFORM


def _read_csv(name: str) -> tuple[list[dict[str, str]], bytes]:
    data = resources.files("pipeline.resources").joinpath(name).read_bytes()
    rows = list(csv.DictReader(data.decode("utf-8").splitlines()))
    return rows, data


@cache
def default_resolver() -> Resolver:
    alias_rows, alias_bytes = _read_csv("merchant_aliases.csv")
    cue_rows, cue_bytes = _read_csv("platform_cues.csv")
    aliases = {_norm(r["alias"]): (r["merchant"], r["platform"]) for r in alias_rows}
    cues = tuple((re.compile(r["pattern"], re.IGNORECASE), r["platform"]) for r in cue_rows)
    version = hashlib.sha1(alias_bytes + b"\0" + cue_bytes, usedforsecurity=False).hexdigest()[:12]
    return Resolver(aliases=aliases, cues=cues, version=version)
