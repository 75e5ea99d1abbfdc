"""黑猫投诉 (tousu.sina.com.cn) API facts shared by the spider and the local simulator.

The JSON endpoints are signed: ``signature = sha256_hex("".join(sorted([ts, rs, SALT, *params])))``
where ``ts`` is a 13-digit millisecond timestamp, ``rs`` 16 random ``[0-9a-zA-Z]`` and the
params are the *values* of the signed query parameters (sorted as strings together with the
rest). Responses wrap everything in ``result``: ``result.status.code`` (0 ok) and
``result.data``.
"""

from __future__ import annotations

import hashlib
import random
import string
import time
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SITE_URL = "https://tousu.sina.com.cn"
SALT = "$d6eb7ff91ee257475%"

FEED_PATH = "/api/index/feed"
MERCHANT_FEED_PATH = "/api/company/received_complaints"
SEARCH_PATH = "/api/index/s"
COMPANY_INFO_PATH = "/api/company/info"
DETAIL_PATH = "/complaint/view/{sn}/"

MOBILE_SITE_URL = "https://tousu.sina.cn"

# Which query parameters each endpoint signs (their values enter the signature).
FEED_SIGNED = ("type", "page_size", "page")
MERCHANT_FEED_SIGNED = ("couid", "type", "page_size", "page")
# Search signs the keywords with the pager, as public crawlers of the site sign it.
SEARCH_SIGNED = ("keywords", "page_size", "page")
SIGNED_BY_PATH: dict[str, tuple[str, ...]] = {
    FEED_PATH: FEED_SIGNED,
    MERCHANT_FEED_PATH: MERCHANT_FEED_SIGNED,
    SEARCH_PATH: SEARCH_SIGNED,
}

# The ``type`` filter of the feeds: the tabs of the site's merchant page (全部 / 已回复 /
# 已完成). ``type=1`` (all) is confirmed on the real site; 2 and 3 are our reading of the
# other two tabs and are what the simulator implements. Each tab is capped at about 50
# pages on its own, so walking all three reaches deeper into a large merchant's history.
TYPE_ALL = 1
TYPE_REPLIED = 2
TYPE_COMPLETED = 3
FEED_TYPES = (TYPE_ALL, TYPE_REPLIED, TYPE_COMPLETED)

# Weibo login cookies the keyword search needs (status code 10017 without them).
LOGIN_COOKIES = ("SUB", "SUBP")

# result.status.code values.
CODE_OK = 0
CODE_LOGIN_REQUIRED = 10017
CODE_PAGE_NOT_FOUND = 10019
# The real site's code for a rejected signature is not documented; the simulator uses these
# and the spider treats every unknown non-zero code as an error worth counting.
CODE_BAD_SIGNATURE = 10010
CODE_STALE_SIGNATURE = 10011
CODE_BAD_REQUEST = 10001

# HTTP status the site answers when it bans a client IP for going too fast.
HTTP_BANNED = 456

PAGE_SIZE = 10
# Feeds stop at about 50 pages whatever the pager's item_count says.
MAX_FEED_PAGES = 50

# Industry ids for the index feed's unsigned ``field`` filter. Only 6 (电商平台) is confirmed
# on the real site; the others are the simulator's and are harmless there (empty feeds).
INDUSTRY_FIELDS: dict[int, str] = {
    1: "数码家电",
    2: "服饰美妆",
    3: "食品生鲜",
    4: "家居装修",
    5: "教育培训",
    6: "电商平台",
    7: "生活服务",
    8: "旅游出行",
}

_RS_ALPHABET = string.digits + string.ascii_letters


def sign(ts: str, rs: str, params: Iterable[str]) -> str:
    """The request signature for timestamp ``ts``, nonce ``rs`` and signed param values."""
    parts = sorted([ts, rs, SALT, *params])
    return hashlib.sha256("".join(parts).encode("utf-8")).hexdigest()


def new_nonce(rng: random.Random | None = None) -> str:
    chooser = rng or random.SystemRandom()
    return "".join(chooser.choice(_RS_ALPHABET) for _ in range(16))


def signed_query(
    params: Mapping[str, str | int],
    signed_keys: Iterable[str],
    *,
    now_ms: int | None = None,
    rng: random.Random | None = None,
    extra: Mapping[str, str | int] | None = None,
) -> str:
    """A query string with ``ts``, ``rs`` and ``signature`` for the given params.

    ``extra`` params are sent but not signed (e.g. the feed's ``field`` filter).
    """
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    rs = new_nonce(rng)
    values = [str(params[key]) for key in signed_keys]
    query: dict[str, str | int] = {"ts": ts, "rs": rs, "signature": sign(ts, rs, values)}
    query.update(params)
    if extra:
        query.update(extra)
    return urlencode(query)


def feed_url(
    base_url: str,
    *,
    page: int,
    page_size: int = PAGE_SIZE,
    type_: int = TYPE_ALL,
    field: int | None = None,
) -> str:
    params = {"type": type_, "page_size": page_size, "page": page}
    extra = {"field": field} if field is not None else None
    return f"{base_url.rstrip('/')}{FEED_PATH}?{signed_query(params, FEED_SIGNED, extra=extra)}"


def merchant_feed_url(
    base_url: str, *, couid: str, page: int, page_size: int = PAGE_SIZE, type_: int = TYPE_ALL
) -> str:
    params: dict[str, str | int] = {
        "couid": couid,
        "type": type_,
        "page_size": page_size,
        "page": page,
    }
    query = signed_query(params, MERCHANT_FEED_SIGNED)
    return f"{base_url.rstrip('/')}{MERCHANT_FEED_PATH}?{query}"


def search_url(base_url: str, *, keywords: str, page: int, page_size: int = PAGE_SIZE) -> str:
    params: dict[str, str | int] = {"keywords": keywords, "page_size": page_size, "page": page}
    return f"{base_url.rstrip('/')}{SEARCH_PATH}?{signed_query(params, SEARCH_SIGNED)}"


def company_info_url(base_url: str, couid: str) -> str:
    return f"{base_url.rstrip('/')}{COMPANY_INFO_PATH}?{urlencode({'couid': couid})}"


def resign_url(url: str, *, now_ms: int | None = None, rng: random.Random | None = None) -> str:
    """The same signed API request with a fresh timestamp, nonce and signature.

    A request that waited (a retry backoff, a ban cool-down) carries a timestamp the site
    now refuses as stale; every other query parameter is kept as it was. URLs of unsigned
    endpoints come back unchanged.
    """
    parts = urlsplit(url)
    signed = SIGNED_BY_PATH.get(parts.path.rstrip("/"))
    if signed is None:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    values = dict(query)
    if any(key not in values for key in signed):
        return url
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    rs = new_nonce(rng)
    fresh = {"ts": ts, "rs": rs, "signature": sign(ts, rs, [values[k] for k in signed])}
    rebuilt = [(k, fresh.get(k, v)) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(rebuilt)))


def signed_at_ms(url: str) -> int | None:
    """The ``ts`` a signed URL carries (None for unsigned URLs)."""
    ts = dict(parse_qsl(urlsplit(url).query)).get("ts", "")
    return int(ts) if ts.isdigit() else None


def login_cookie_header(cookies: Mapping[str, str]) -> str:
    """A ``Cookie`` header from name -> value pairs."""
    return "; ".join(f"{name}={value}" for name, value in cookies.items())
