from __future__ import annotations

from datetime import date

import pytest

from pipeline.periods import parse_period


@pytest.mark.parametrize(
    ("text", "start", "end", "title"),
    [
        ("2026-10", date(2026, 10, 1), date(2026, 11, 1), "2026年10月"),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "2026年12月"),
        ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1), "2026年第3季度"),
        ("2026-q4", date(2026, 10, 1), date(2027, 1, 1), "2026年第4季度"),
        ("2026-W40", date(2026, 9, 28), date(2026, 10, 5), "2026年第40周"),
        ("2026", date(2026, 1, 1), date(2027, 1, 1), "2026年"),
    ],
)
def test_parse_period(text: str, start: date, end: date, title: str) -> None:
    period = parse_period(text)
    assert (period.start, period.end, period.title) == (start, end, title)


def test_all_and_week_membership() -> None:
    assert parse_period("all").contains_week(date(2001, 1, 1))
    month = parse_period("2026-10")
    assert month.contains_week(date(2026, 10, 26)) and not month.contains_week(date(2026, 9, 28))


@pytest.mark.parametrize("text", ["2026-13", "2026-W54", "last month", "2026-Q5"])
def test_bad_periods_explain(text: str) -> None:
    with pytest.raises(ValueError, match=r"2026|month|week"):
        parse_period(text)
