from __future__ import annotations

import random
from urllib.parse import parse_qs, urlsplit

from crawler import heimao_api as api


def test_signature_known_answer() -> None:
    # The vector from design.md.
    signature = api.sign("1614340290475", "I66jvmc7WhlW1wOE", ["6384912431", "1", "10", "1"])
    assert signature == "a5c5f96f03b397bf45566a07faa959fa473b7ba65e1000dc6714ad12ab97d75f"


def test_signature_depends_on_every_part() -> None:
    base = api.sign("1614340290475", "I66jvmc7WhlW1wOE", ["1", "10", "1"])
    assert api.sign("1614340290476", "I66jvmc7WhlW1wOE", ["1", "10", "1"]) != base
    assert api.sign("1614340290475", "I66jvmc7WhlW1wOF", ["1", "10", "1"]) != base
    assert api.sign("1614340290475", "I66jvmc7WhlW1wOE", ["1", "10", "2"]) != base


def test_merchant_feed_url_is_signed_over_its_params() -> None:
    url = api.merchant_feed_url("http://127.0.0.1:9/", couid="6384912431", page=3)
    parts = urlsplit(url)
    assert parts.path == api.MERCHANT_FEED_PATH
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert len(q["ts"]) == 13 and len(q["rs"]) == 16 and q["rs"].isalnum()
    expected = api.sign(q["ts"], q["rs"], [q["couid"], q["type"], q["page_size"], q["page"]])
    assert q["signature"] == expected
    assert (q["couid"], q["type"], q["page_size"], q["page"]) == ("6384912431", "1", "10", "3")


def test_feed_field_is_sent_but_not_signed() -> None:
    query = api.signed_query(
        {"type": 1, "page_size": 10, "page": 1},
        api.FEED_SIGNED,
        now_ms=1614340290475,
        rng=random.Random(0),
        extra={"field": 6},
    )
    q = {k: v[0] for k, v in parse_qs(query).items()}
    assert q["field"] == "6"
    assert q["signature"] == api.sign("1614340290475", q["rs"], ["1", "10", "1"])


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_resign_keeps_every_param_and_signs_afresh() -> None:
    old = api.feed_url("http://127.0.0.1:9", page=7, field=6, type_=api.TYPE_REPLIED)
    fresh = api.resign_url(old, now_ms=1_900_000_000_000, rng=random.Random(1))
    q_old, q_new = _query(old), _query(fresh)
    assert q_new["ts"] == "1900000000000" and q_new["rs"] != q_old["rs"]
    assert {k: v for k, v in q_new.items() if k not in ("ts", "rs", "signature")} == {
        k: v for k, v in q_old.items() if k not in ("ts", "rs", "signature")
    }
    assert q_new["signature"] == api.sign(q_new["ts"], q_new["rs"], ["2", "10", "7"])
    assert api.signed_at_ms(fresh) == 1_900_000_000_000
    # Unsigned endpoints come back unchanged.
    info = api.company_info_url("http://127.0.0.1:9", "123")
    assert api.resign_url(info) == info and api.signed_at_ms(info) is None


def test_search_signs_its_keywords() -> None:
    url = api.search_url("http://127.0.0.1:9", keywords="拼多多 退款", page=2)
    q = _query(url)
    assert urlsplit(url).path == api.SEARCH_PATH and q["keywords"] == "拼多多 退款"
    assert q["signature"] == api.sign(q["ts"], q["rs"], ["拼多多 退款", "10", "2"])
    resigned = _query(api.resign_url(url))
    assert resigned["keywords"] == "拼多多 退款"
    assert resigned["signature"] == api.sign(
        resigned["ts"], resigned["rs"], ["拼多多 退款", "10", "2"]
    )
