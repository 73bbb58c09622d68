"""Cell values as clerks type them: numbers as text with Vietnamese separators, dates in three forms."""

from __future__ import annotations

import datetime as dt
import re

from dvk.text import clean

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_THOUSANDS_DOT = re.compile(r"^-?\d{1,3}(?:\.\d{3})+(?:,\d+)?$")  # 1.250 / 1.250,5
_THOUSANDS_COMMA = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")  # 1,250 / 1,250.5
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")  # 12,5
_PLAIN = re.compile(r"^-?\d+(?:\.\d+)?$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")


class CellError(ValueError):
    def __init__(self, message_vi: str, message_en: str):
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def to_number(value: object) -> float | None:
    """A number from a number cell or from text such as "1.250" (1250) or "12,5" (12.5)."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError(f"«{value}» không phải là số", f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    text = clean(value).replace(" ", "")
    if _THOUSANDS_DOT.match(text):
        text = text.replace(".", "").replace(",", ".")
    elif _THOUSANDS_COMMA.match(text):
        text = text.replace(",", "")
    elif _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    elif not _PLAIN.match(text):
        raise CellError(f"«{clean(value)}» không phải là số", f"{clean(value)!r} is not a number")
    return float(text)


def to_count(value: object) -> int | None:
    """A whole number ≥ 0."""
    number = to_number(value)
    if number is None:
        return None
    if number < 0:
        raise CellError(f"số âm ({clean(value)}) không hợp lệ", f"negative value {clean(value)!r}")
    if number != int(number):
        raise CellError(f"«{clean(value)}» phải là số nguyên", f"{clean(value)!r} must be a whole number")
    return int(number)


def to_amount(value: object) -> float | None:
    """A decimal ≥ 0."""
    number = to_number(value)
    if number is not None and number < 0:
        raise CellError(f"số âm ({clean(value)}) không hợp lệ", f"negative value {clean(value)!r}")
    return number


def to_date(value: object) -> dt.date | None:
    """A date cell, an Excel serial number, or text "dd/mm/yyyy" (also yyyy-mm-dd)."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
    text = clean(value)
    try:
        if m := _DMY.match(text):
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if m := _YMD.match(text):
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if _PLAIN.match(text):
            return to_date(float(text))
    except ValueError:
        pass
    raise CellError(
        f"«{text}» không phải là ngày (dạng ngày/tháng/năm, ví dụ 16/12/2021)",
        f"{text!r} is not a date (expected dd/mm/yyyy)",
    )


def to_text(value: object) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y")
    return clean(value) or None
