"""Merchant and platform resolution.

A complaint names a merchant by the site's ``cotitle`` (拼多多客户服务, 拼多多平台, ...). The alias
table (``resources/merchant_aliases.csv``: alias, merchant, platform) maps known variants to
one canonical merchant and, for platform accounts, to the platform. A name not in the table is
looked up again without an account suffix (``resources/account_suffixes.txt``: 官方微博,
客户服务, 客服 ...), so 曲美家居官方微博 and 曲美家居 are one merchant; otherwise it keeps its own
name.

A merchant that is not a platform account gets its platform from the complaint text
(在快手直播间买的, 抖音小店, 微信小程序) using ``resources/platform_cues.csv``. A cue in a
purchase context (a buying verb or 店 just after it: 在拼多多买的, 抖音小店下单) beats a bare
mention (在抖音看到广告); among equals the earliest wins. When a post says nothing, ingest
later takes the platform most of that merchant's other posts name (see
:func:`merchant_platform_sql`).

Where each value came from is kept: ``merchant_source`` is ``alias``, ``suffix`` or ``name``
(not in the table: ``tousu merchants unresolved`` lists these by volume, the place to find
variants worth adding); ``platform_source`` is ``account`` (the alias table), ``text``,
``merchant`` (the merchant's other posts) or ``none``.

Both tables are data: extend them without touching code. Matching ignores case, full-width
forms and spaces.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from pipeline.warehouse import connect, sql_path

UNKNOWN_PLATFORM = "未知"
# A buying verb this close after a platform name means the purchase happened there.
PURCHASE_WINDOW = 12
_PURCHASE = re.compile(r"买|购|下单|拍下|下了单|订|店|付款|支付")
# A merchant's own platform is taken from its other posts when one platform is named in at
# least this share of them, and in at least this many.
MERCHANT_PLATFORM_SHARE = 0.6
MERCHANT_PLATFORM_MIN_POSTS = 2
# Merchant names resolved per process before the memo starts again (bounded memory).
MERCHANT_MEMO_SIZE = 200_000


def _norm(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).lower()


@dataclass(frozen=True)
class Resolution:
    merchant: str
    platform: str
    merchant_source: str  # alias | suffix | name
    platform_source: str  # account | text | none


@dataclass(frozen=True)
class Resolver:
    aliases: dict[str, tuple[str, str]]  # normalized alias -> (merchant, platform)
    cues: tuple[tuple[re.Pattern[str], str], ...]
    version: str  # changes when any table changes
    suffixes: tuple[str, ...] = ()  # normalized account suffixes, longest first
    # cotitle -> (merchant, platform, source): a merchant files thousands of complaints.
    _memo: dict[str, tuple[str, str | None, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def merchant(self, cotitle: str) -> tuple[str, str | None]:
        """Canonical merchant name and, for known accounts, its platform."""
        merchant, platform, _ = self._merchant(cotitle)
        return merchant, platform

    def _merchant(self, cotitle: str) -> tuple[str, str | None, str]:
        hit = self._memo.get(cotitle)
        if hit is None:
            if len(self._memo) >= MERCHANT_MEMO_SIZE:
                self._memo.clear()
            hit = self._memo[cotitle] = self._resolve_merchant(cotitle)
        return hit

    def _resolve_merchant(self, cotitle: str) -> tuple[str, str | None, str]:
        key = _norm(cotitle)
        hit = self.aliases.get(key)
        if hit is not None:
            return hit[0], hit[1], "alias"
        for suffix in self.suffixes:
            if key.endswith(suffix) and len(key) > len(suffix) + 1:
                stem = key[: -len(suffix)]
                hit = self.aliases.get(stem)
                if hit is not None:
                    return hit[0], hit[1], "suffix"
                kept = cotitle.strip()
                return _strip_suffix(kept, suffix), None, "suffix"
        return cotitle.strip(), None, "name"

    def platform_from_text(self, text: str) -> str | None:
        # The first cue in a purchase context wins, else the first cue: one pass over the
        # text with every cue at once.
        first: str | None = None
        for match in self.any_cue.finditer(text):
            platform = self.cues[int(str(match.lastgroup)[1:])][1]
            if _PURCHASE.search(text, match.end(), match.end() + PURCHASE_WINDOW):
                return platform
            if first is None:
                first = platform
        return first

    @property
    def any_cue(self) -> re.Pattern[str]:
        return _any_cue(self.cues)

    def resolve(self, cotitle: str, text: str) -> tuple[str, str]:
        resolution = self.resolution(cotitle, text)
        return resolution.merchant, resolution.platform

    def resolution(self, cotitle: str, text: str) -> Resolution:
        merchant, platform, merchant_source = self._merchant(cotitle)
        if platform:
            return Resolution(merchant, platform, merchant_source, "account")
        found = self.platform_from_text(text)
        if found:
            return Resolution(merchant, found, merchant_source, "text")
        return Resolution(merchant, UNKNOWN_PLATFORM, merchant_source, "none")

    def suggest(self, name: str) -> str | None:
        """A canonical merchant whose alias the name contains (拼多多砍价客服 -> 拼多多): a hint
        for whoever extends the alias table, never applied on its own."""
        key = _norm(name)
        best: tuple[int, str] | None = None
        for alias, (merchant, _) in self.aliases.items():
            if len(alias) >= 2 and alias in key and (best is None or len(alias) > best[0]):
                best = (len(alias), merchant)
        return best[1] if best else None


@cache
def _any_cue(cues: tuple[tuple[re.Pattern[str], str], ...]) -> re.Pattern[str]:
    return re.compile(
        "|".join(f"(?P<c{i}>{pattern.pattern})" for i, (pattern, _) in enumerate(cues)),
        re.IGNORECASE,
    )


def _strip_suffix(name: str, suffix: str) -> str:
    """``name`` without a trailing ``suffix``, compared the way aliases are."""
    for cut in range(len(name) - 1, 0, -1):
        if _norm(name[cut:]) == suffix:
            return name[:cut].strip()
    return name


def _read_resource(name: str) -> bytes:
    return resources.files("pipeline.resources").joinpath(name).read_bytes()


def _read_csv(name: str) -> tuple[list[dict[str, str]], bytes]:
    data = _read_resource(name)
    rows = list(csv.DictReader(data.decode("utf-8").splitlines()))
    return rows, data


@cache
def default_resolver() -> Resolver:
    alias_rows, alias_bytes = _read_csv("merchant_aliases.csv")
    cue_rows, cue_bytes = _read_csv("platform_cues.csv")
    suffix_bytes = _read_resource("account_suffixes.txt")
    aliases = {_norm(r["alias"]): (r["merchant"], r["platform"]) for r in alias_rows}
    cues = tuple((re.compile(r["pattern"], re.IGNORECASE), r["platform"]) for r in cue_rows)
    suffixes = sorted(
        {
            _norm(line)
            for line in suffix_bytes.decode("utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        },
        key=len,
        reverse=True,
    )
    version = hashlib.sha1(
        alias_bytes + b"\0" + cue_bytes + b"\0" + suffix_bytes, usedforsecurity=False
    ).hexdigest()[:12]
    return Resolver(aliases=aliases, cues=cues, version=version, suffixes=tuple(suffixes))


def merchant_platform_sql(records: str) -> str:
    """One row per merchant with the platform its posts name, where one platform dominates
    (:data:`MERCHANT_PLATFORM_SHARE` of its posts that name any, and at least
    :data:`MERCHANT_PLATFORM_MIN_POSTS`). Reads ``records(merchant, platform,
    platform_source)``."""
    return f"""
        SELECT merchant, arg_max(platform, n) AS platform
        FROM (
            SELECT merchant, platform, count(*) AS n FROM {records}
            WHERE platform_source = 'text' GROUP BY ALL
        )
        GROUP BY merchant
        HAVING max(n) >= {MERCHANT_PLATFORM_MIN_POSTS}
           AND max(n) >= {MERCHANT_PLATFORM_SHARE} * sum(n)
    """


@dataclass(frozen=True)
class UnresolvedName:
    name: str  # cotitle as the site shows it
    complaints: int
    platform: str  # the platform its complaints name most
    suggestion: str | None  # a canonical merchant the name seems to belong to


def unresolved_names(complaints: Path, *, limit: int = 50) -> list[UnresolvedName]:
    """Merchant names the alias table does not know, most complained-about first."""
    con = connect()
    rows = con.execute(
        f"""
        SELECT merchant_name, count(*) AS n,
               coalesce(mode(platform) FILTER (WHERE platform <> '{UNKNOWN_PLATFORM}'),
                        '{UNKNOWN_PLATFORM}')
        FROM read_parquet({sql_path(complaints)})
        WHERE merchant_source = 'name'
        GROUP BY merchant_name
        ORDER BY n DESC, merchant_name
        LIMIT {int(limit)}
        """
    ).fetchall()
    resolver = default_resolver()
    return [
        UnresolvedName(str(name), int(n), str(platform), resolver.suggest(str(name)))
        for name, n, platform in rows
    ]
