"""Report periods: ``all``, a year ``2026``, a quarter ``2026-Q3``, a month ``2026-10`` or an
ISO week ``2026-W40``.

A period selects the ISO weeks whose Monday falls inside it, so that every figure in a report
comes from whole weeks of the weekly aggregates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Period:
    key: str  # as given, used in file names
    start: date | None  # inclusive; None = from the first week with data
    end: date | None  # exclusive; None = through the last week with data

    def contains_week(self, monday: date) -> bool:
        return (self.start is None or monday >= self.start) and (
            self.end is None or monday < self.end
        )

    @property
    def title(self) -> str:
        """The period as a Chinese report heading."""
        if self.key == "all":
            return "全部数据"
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", self.key):
            return f"{m.group(1)}年第{m.group(2)}季度"
        if m := re.fullmatch(r"(\d{4})-W(\d{2})", self.key):
            return f"{m.group(1)}年第{int(m.group(2))}周"
        if m := re.fullmatch(r"(\d{4})-(\d{2})", self.key):
            return f"{m.group(1)}年{int(m.group(2))}月"
        return f"{self.key}年"


def parse_period(text: str) -> Period:
    """Parse a period; a ``ValueError`` lists the accepted forms."""
    key = text.strip()
    if key.lower() == "all":
        return Period("all", None, None)
    if m := re.fullmatch(r"(\d{4})", key):
        year = int(m.group(1))
        return Period(key, date(year, 1, 1), date(year + 1, 1, 1))
    if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", key):
        year, quarter = int(m.group(1)), int(m.group(2))
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return Period(f"{year}-Q{quarter}", start, end)
    if m := re.fullmatch(r"(\d{4})-[Ww](\d{1,2})", key):
        year, week = int(m.group(1)), int(m.group(2))
        try:
            monday = date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{key!r}: {year} has no ISO week {week}") from None
        return Period(f"{year}-W{week:02d}", monday, monday + timedelta(days=7))
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", key):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"{key!r}: month must be 1-12")
        end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return Period(f"{year}-{month:02d}", date(year, month, 1), end)
    raise ValueError(
        f"unknown period {text!r}: use all, a year (2026), a quarter (2026-Q3), "
        "a month (2026-10) or an ISO week (2026-W40)"
    )
