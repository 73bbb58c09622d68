"""Reporting periods (spec §2, Decree 09/2019/NĐ-CP) with DHIS2-style ids.

========== =========== ========================================= ===========================
kind       id          written on forms as                       data window
========== =========== ========================================= ===========================
month      ``202203``  "Tháng 3/2022", "Tháng 03 năm 2022",       15 Feb 2022 – 14 Mar 2022
                       "2022-03"
quarter    ``2022Q1``  "Quý I/2022", "Quý 1 năm 2022"             15 Dec 2021 – 14 Mar 2022
half_year  ``2022S1``  "6 tháng đầu năm 2022", "6 tháng 2022"     15 Dec 2021 – 14 Jun 2022
year       ``2021``    "Năm 2021"                                 15 Dec 2020 – 14 Dec 2021
========== =========== ========================================= ===========================

A window ends on the 14th of the period's last month and starts on the 15th of the month before
its first month; a report is due ``grace_days`` (a setting, default 5) after its window closes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dvk.text import clean, fold

KINDS = ("month", "quarter", "half_year", "year")
_LIMITS = {"month": 12, "quarter": 4, "half_year": 2, "year": 1}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_ROMAN_OUT = {1: "I", 2: "II", 3: "III", 4: "IV"}
MIN_YEAR = 2000
EXAMPLES_VI = "Năm 2021, Quý I/2022, 6 tháng đầu năm 2022, Tháng 3/2022"


class PeriodError(ValueError):
    """A period that cannot be read, does not exist, or lies in the future."""

    def __init__(self, message_vi: str, message_en: str, code: str = "bad_period"):
        super().__init__(f"{message_vi} / {message_en}")
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en


@dataclass(frozen=True)
class Period:
    kind: str
    year: int
    number: int  # month 1-12, quarter 1-4, half 1-2; 1 for a year

    # -- canonical values (docs/architecture.md)

    @property
    def id(self) -> str:
        if self.kind == "month":
            return f"{self.year}{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}Q{self.number}"
        if self.kind == "half_year":
            return f"{self.year}S{self.number}"
        return str(self.year)

    period_id = id

    @property
    def period_kind(self) -> str:
        return self.kind

    @property
    def period_year(self) -> int:
        return self.year

    @property
    def label_vi(self) -> str:
        """As the city writes it: "Tháng 3/2022", "Quý I/2022", "6 tháng đầu năm 2022", "Năm 2021"."""
        if self.kind == "month":
            return f"Tháng {self.number}/{self.year}"
        if self.kind == "quarter":
            return f"Quý {_ROMAN_OUT[self.number]}/{self.year}"
        if self.kind == "half_year":
            return f"6 tháng {'đầu' if self.number == 1 else 'cuối'} năm {self.year}"
        return f"Năm {self.year}"

    # -- months and windows

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
        first = dt.date(self.year, self.first_month, 1)
        return (first - dt.timedelta(days=1)).replace(day=15)

    @property
    def window_end(self) -> dt.date:
        """The 14th of the period's last month."""
        return dt.date(self.year, self.last_month, 14)

    def due_date(self, grace_days: int = 5) -> dt.date:
        """The window's end plus the grace (``Settings.due_grace_days``)."""
        return self.window_end + dt.timedelta(days=grace_days)

    def as_dict(self, grace_days: int = 5) -> dict:
        return {"period_id": self.id, "period_kind": self.kind, "period_year": self.year,
                "label_vi": self.label_vi, "window_start": self.window_start,
                "window_end": self.window_end, "due_date": self.due_date(grace_days)}


def make_period(kind: str, year: int, number: int = 1, raw: object = None) -> Period:
    """A period from its parts; :class:`PeriodError` when it does not exist (Quý 5, Tháng 13)."""
    shown = clean(raw) if raw is not None else f"{kind} {year} {number}"
    if kind not in _LIMITS:
        raise ValueError(f"unknown period kind {kind!r}")
    if not 1 <= number <= _LIMITS[kind]:
        raise PeriodError(f"Kỳ báo cáo «{shown}» không tồn tại", f"period {shown!r} does not exist",
                          code="nonexistent_period")
    if not MIN_YEAR <= year <= 9999:
        raise PeriodError(f"Kỳ báo cáo «{shown}» có năm {year} không hợp lệ",
                          f"period {shown!r} has an impossible year {year}", code="nonexistent_period")
    return Period(kind, year, number)


_Y = r"(?P<y>\d{4})"
_PREFIX = re.compile(r"^(?:bao cao|ky bao cao|ky|bc)\s+")
# (pattern on the fold key, kind); groups: y = year, n = number (digits or roman), h = half word.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), kind) for p, kind in (
        (rf"^(?:ca )?(?:nam )?{_Y}$", "year"),
        (rf"^{_Y} ?q ?(?P<n>\d{{1,2}})$", "quarter"),
        (rf"^(?:quy|q) ?(?P<n>\d{{1,2}}|iv|iii|ii|i) (?:nam )?{_Y}$", "quarter"),
        (rf"^{_Y} ?s ?(?P<n>\d)$", "half_year"),
        (rf"^(?:6|sau) thang (?P<h>dau|cuoi)? ?(?:nam )?{_Y}$", "half_year"),
        (rf"^{_Y} ?(?P<n>\d{{2}})$", "month"),
        (rf"^(?:thang|t) ?(?P<n>\d{{1,2}}) (?:nam )?{_Y}$", "month"),
        (rf"^(?P<n>\d{{1,2}}) {_Y}$", "month"),
    )
)


def _match(key: str, raw: str) -> Period | None:
    for pattern, kind in _PATTERNS:
        m = pattern.match(key)
        if not m:
            continue
        groups = m.groupdict()
        year = int(groups["y"])
        if kind == "year":
            return make_period("year", year, 1, raw)
        if kind == "half_year" and "h" in groups:
            return make_period("half_year", year, 2 if groups["h"] == "cuoi" else 1, raw)
        n = groups["n"]
        return make_period(kind, year, int(n) if n.isdigit() else _ROMAN[n], raw)
    return None


#: The office's time zone (Asia/Ho_Chi_Minh: UTC+7 all year, no daylight saving).
OFFICE_TZ = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the office (what "a future date" and "a period not begun" are judged by): the
    servers keep UTC, seven hours behind, so from midnight to 07:00 their date is yesterday's.
    ``now``: an aware moment instead of the clock's."""
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(OFFICE_TZ).date()


def parse_period(text: object, today: dt.date | None = None) -> Period:
    """Read a period in any written form of spec §2 (or its id); reject nonexistent and future ones.

    A period is in the future when its data window has not started yet on ``today``.
    """
    if isinstance(text, float) and text.is_integer():  # "2021" typed as a number in Excel
        text = int(text)
    if isinstance(text, dt.date) and text.day == 1:  # "03/2022" or "2022-03" that Excel made a date
        text = f"{text.year}-{text.month:02d}"
    raw = clean(text)
    key = fold(raw)
    if not key:
        raise PeriodError("Thiếu kỳ báo cáo", "the period is missing", code="missing_period")
    period = _match(key, raw) or _match(_PREFIX.sub("", key), raw)
    if period is None:
        raise PeriodError(
            f"Không đọc được kỳ báo cáo «{raw}» (cách ghi hợp lệ, ví dụ: {EXAMPLES_VI})",
            f"cannot read the period {raw!r} (valid forms, e.g.: {EXAMPLES_VI})",
        )
    today = today or local_today()
    if period.window_start > today:
        raise PeriodError(
            f"Kỳ báo cáo «{raw}» ({period.id}) chưa bắt đầu: kỳ này ở tương lai",
            f"period {raw!r} ({period.id}) lies in the future", code="future_period",
        )
    return period


def period_from_id(period_id: str) -> Period:
    """The period of a canonical id (``2021``, ``2022S1``, ``2022Q1``, ``202203``), without the future check."""
    return parse_period(period_id, today=dt.date.max)
