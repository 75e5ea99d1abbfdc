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
