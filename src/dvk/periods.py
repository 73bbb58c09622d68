"""Reporting periods (spec §2, Decree 09/2019/NĐ-CP) with DHIS2-style ids.

month ``202203``, quarter ``2022Q1``, half-year ``2022S1``, year ``2021``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dvk.text import fold

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
KINDS = ("month", "quarter", "half_year", "year")


class PeriodError(ValueError):
    """A period that cannot be read, does not exist, or lies in the future."""

    def __init__(self, message_vi: str, message_en: str):
        super().__init__(f"{message_vi} / {message_en}")
        self.message_vi = message_vi
        self.message_en = message_en


@dataclass(frozen=True)
class Period:
    kind: str
    year: int
    number: int  # month 1-12, quarter 1-4, half 1-2; 1 for a year

    @property
    def id(self) -> str:
        if self.kind == "month":
            return f"{self.year}{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}Q{self.number}"
        if self.kind == "half_year":
            return f"{self.year}S{self.number}"
        return str(self.year)

    @property
    def first_month(self) -> int:
        return {"month": self.number, "quarter": 3 * self.number - 2,
                "half_year": 6 * self.number - 5, "year": 1}[self.kind]

    @property
    def last_month(self) -> int:
        return {"month": self.number, "quarter": 3 * self.number,
                "half_year": 6 * self.number, "year": 12}[self.kind]

    @property
    def window_start(self) -> dt.date:
        """The 15th of the month before the period's first month."""
        first = dt.date(self.year, self.first_month, 15)
        return (first.replace(day=1) - dt.timedelta(days=1)).replace(day=15)

    @property
    def window_end(self) -> dt.date:
        """The 14th of the period's last month."""
        return dt.date(self.year, self.last_month, 14)

    def due_date(self, grace_days: int = 5) -> dt.date:
        return self.window_end + dt.timedelta(days=grace_days)


def _make(kind: str, year: int, number: int, raw: str) -> Period:
    limits = {"month": 12, "quarter": 4, "half_year": 2, "year": 1}
    if not 1900 < year < 2200 or not 1 <= number <= limits[kind]:
        raise PeriodError(f"Kỳ báo cáo «{raw}» không tồn tại", f"period {raw!r} does not exist")
    return Period(kind, year, number)


_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^nam (\d{4})$"), "year"),
    (re.compile(r"^bao cao nam (\d{4})$"), "year"),
    (re.compile(r"^(\d{4}) ?q ?([1-4])$"), "quarter"),
    (re.compile(r"^quy ([1-4]|iv|iii|ii|i) (?:nam )?(\d{4})$"), "quarter"),
    (re.compile(r"^(\d{4}) ?s ?([12])$"), "half_year"),
    (re.compile(r"^6 thang dau (?:nam )?(\d{4})$"), "half_year1"),
    (re.compile(r"^6 thang cuoi (?:nam )?(\d{4})$"), "half_year2"),
    (re.compile(r"^6 thang (?:nam )?(\d{4})$"), "half_year1"),
    (re.compile(r"^(\d{4}) ?(\d{2})$"), "month"),
    (re.compile(r"^thang (\d{1,2}) (?:nam )?(\d{4})$"), "month_first"),
)


def parse_period(text: object, today: dt.date | None = None) -> Period:
    """Read a period in any written form of spec §2; reject nonexistent and future periods."""
    raw = str(text if text is not None else "").strip()
    key = fold(raw)
    if not key:
        raise PeriodError("Thiếu kỳ báo cáo", "the period is missing")
    period: Period | None = None
    for pattern, kind in _PATTERNS:
        m = pattern.match(key)
        if not m:
            continue
        g = m.groups()
        if kind == "year":
            period = _make("year", int(g[0]), 1, raw)
        elif kind == "quarter":
            if g[0].isdigit() and len(g[0]) == 4:
                period = _make("quarter", int(g[0]), int(g[1]), raw)
            else:
                number = int(g[0]) if g[0].isdigit() else _ROMAN[g[0]]
                period = _make("quarter", int(g[1]), number, raw)
        elif kind == "half_year":
            period = _make("half_year", int(g[0]), int(g[1]), raw)
        elif kind == "half_year1":
            period = _make("half_year", int(g[0]), 1, raw)
        elif kind == "half_year2":
            period = _make("half_year", int(g[0]), 2, raw)
        elif kind == "month":
            period = _make("month", int(g[0]), int(g[1]), raw)
        elif kind == "month_first":
            period = _make("month", int(g[1]), int(g[0]), raw)
        break
    if period is None:
        raise PeriodError(
            f"Không đọc được kỳ báo cáo «{raw}» (ví dụ hợp lệ: Năm 2021, Quý I/2022, 6 tháng đầu năm 2022, Tháng 3/2022)",
            f"cannot read the period {raw!r} (valid: Năm 2021, Quý I/2022, 6 tháng đầu năm 2022, Tháng 3/2022)",
        )
    today = today or dt.date.today()
    if period.window_start > today:
        raise PeriodError(
            f"Kỳ báo cáo «{raw}» ({period.id}) chưa bắt đầu", f"period {raw!r} ({period.id}) lies in the future"
        )
    return period
