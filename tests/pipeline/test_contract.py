from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.contract import (
    ComplaintStatus,
    RecordError,
    parse_amount,
    parse_site_time,
    split_tags,
    validate_record,
)
from tests.conftest import make_record


def test_valid_record_is_normalized() -> None:
    record = validate_record(make_record())
    assert record.sn == "17390000001"
    assert record.issue == ["虚假发货", "客服不处理"]
    assert record.appeal == ["退款"]
    assert record.amount_yuan == 2399.0
    assert record.status is ComplaintStatus.PROCESSING
    assert record.created_at == datetime(2026, 4, 27, 9, 17, 12, tzinfo=UTC)
    assert record.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100元", 100.0),
        ("1,299.50元", 1299.5),
        ("￥50", 50.0),
        ("2.5万元", 25000.0),
        ("", None),
        ("不详", None),
        ("-", None),
        (88, 88.0),
    ],
)
def test_parse_amount(value: object, expected: float | None) -> None:
    assert parse_amount(value) == expected  # type: ignore[arg-type]


def test_split_tags_accepts_chinese_separators() -> None:
    assert split_tags("退款,赔偿，解释、道歉") == ["退款", "赔偿", "解释", "道歉"]
    assert split_tags("") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Unix seconds and milliseconds (the signature example's timestamp).
        ("1777281432", datetime(2026, 4, 27, 9, 17, 12, tzinfo=UTC)),
        (1614340290475, datetime(2021, 2, 26, 11, 51, 30, 475000, tzinfo=UTC)),
        # Bare dates and Chinese dates are China time.
        ("2026-04-27", datetime(2026, 4, 26, 16, 0, tzinfo=UTC)),
        ("2020年10月16日 08:48", datetime(2020, 10, 16, 0, 48, tzinfo=UTC)),
        ("2026-04-27 10:20:30", datetime(2026, 4, 27, 2, 20, 30, tzinfo=UTC)),
        ("2026-04-27T10:20:30+00:00", datetime(2026, 4, 27, 10, 20, 30, tzinfo=UTC)),
    ],
)
def test_parse_site_time(value: object, expected: datetime) -> None:
    assert parse_site_time(value) == expected


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"sn": None}, "wrong_type", "sn"),
        ({"title": "", "body": "  "}, "empty_text", ""),
        ({"sn": "123"}, "bad_sn", "11 digits"),
        ({"created_at": "1999-01-01"}, "absurd_date", "created_at"),
        ({"created_at": "2031-01-01"}, "absurd_date", "created_at"),
        ({"amount_yuan": -5}, "absurd_amount", "-5"),
        ({"status": 5}, "bad_value", "status"),
        ({"created_at": "yesterday"}, "bad_value", "created_at"),
        ({"body_truncated": "perhaps"}, "wrong_type", "body_truncated"),
        ({"colour": "red"}, "unknown_field", "colour"),
    ],
)
def test_bad_records_say_what_is_wrong(overrides: dict[str, object], code: str, field: str) -> None:
    with pytest.raises(RecordError) as info:
        validate_record(make_record(**overrides))
    assert info.value.code == code
    assert field in info.value.message


def test_missing_fields_are_all_named() -> None:
    record = make_record()
    del record["title"], record["created_at"]
    with pytest.raises(RecordError) as info:
        validate_record(record)
    assert info.value.code == "missing_field"
    assert "title" in info.value.message and "created_at" in info.value.message


def test_not_an_object() -> None:
    with pytest.raises(RecordError) as info:
        validate_record(["not", "a", "record"])
    assert info.value.code == "not_object"


def test_status_accepts_site_wording() -> None:
    assert validate_record(make_record(status="已完成")).status is ComplaintStatus.COMPLETED
