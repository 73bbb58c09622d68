"""Cell values as clerks type them: numbers as text with Vietnamese separators, dates in several forms.

Every converter takes what python-calamine (or the CSV reader) gives: ``None``/``""`` for a blank,
``float``/``int`` for a number cell, ``datetime``/``date`` for a date cell, ``str`` for text. The
common types are tested first: the ingest converts every cell of every file.

Numbers (spec §5): a number cell, or text such as "1.250" (1250: the dot groups thousands), "12,5"
(12.5: the comma is the decimal mark), "1.250,5", "1 250". "1,250" is 1250 in a whole-number column
(households, labour days, counts) and 1.25 in a decimal column (the Vietnamese decimal comma).
Dates: a date cell, an Excel serial number (1950–2099), or text "dd/mm/yyyy" (also "d-m-yy",
"yyyy-mm-dd", "ngày 16 tháng 12 năm 2021"). A dash ("-", "–", "—", "...") means nothing: blank.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from dvk.text import clean, fold

_EXCEL_EPOCH = dt.date(1899, 12, 30)
#: Excel serial numbers accepted as dates: 1 Jan 1950 .. 31 Dec 2099 (a bare "2021" is not a date).
_SERIAL_MIN, _SERIAL_MAX = 18264, 73050
_MAX_COUNT = 10**12  # far above any real count; keeps BIGINT safe
#: What clerks write in a number or date cell to mean "nothing": treated as blank.
_NOTHING = frozenset({"-", "--", "—", "–", "…", "..."})

_INT = re.compile(r"^[-+]?\d+$")
_DOT_THOUSANDS = re.compile(r"^[-+]?[1-9]\d{0,2}(?:\.\d{3})+$")  # 1.250 / 1.250.000
_DOT_DECIMAL = re.compile(r"^[-+]?(?:\d+\.\d*|\.\d+)$")  # 12.5 / 0.250 / .5
_DOT_THOUSANDS_COMMA_DECIMAL = re.compile(r"^[-+]?[1-9]\d{0,2}(?:\.\d{3})+,\d+$")  # 1.250,5
_ONE_COMMA_GROUP = re.compile(r"^[-+]?[1-9]\d{0,2},\d{3}$")  # 1,250: ambiguous
_COMMA_DECIMAL = re.compile(r"^[-+]?\d*,\d+$")  # 12,5 / ,5
_COMMA_THOUSANDS = re.compile(r"^[-+]?[1-9]\d{0,2}(?:,\d{3}){2,}$|^[-+]?[1-9]\d{0,2}(?:,\d{3})+\.\d+$")

_DMY = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T][\d:.]*)?$")
_LONG_VI = re.compile(r"^(?:.* )?ngay (\d{1,2}) thang (\d{1,2}) nam (\d{4})$")  # "Hà Tĩnh, ngày 16 tháng 12 năm 2021"


class CellError(ValueError):
    """A cell that cannot be the value its column needs; messages in Vietnamese and English."""

    def __init__(self, message_vi: str, message_en: str, code: str = "bad_value"):
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.code = code


def is_blank(value: object) -> bool:
    """None, empty or spaces, or a dash meaning "nothing". A NaN is not blank: it is a bad value."""
    if value is None or value == "":
        return True
    if type(value) is str:
        stripped = value.strip()
        return not stripped or stripped in _NOTHING
    return False


def _not_a_number(value: object) -> CellError:
    shown = to_text(value)
    return CellError(f"«{shown}» không phải là số", f"{shown!r} is not a number")


def _text_number(value: str, integer: bool) -> float | None:
    text = re.sub(r"\s+", "", clean(value))
    if not text or text in _NOTHING:
        return None
    if _INT.match(text):
        return float(text)
    if _DOT_THOUSANDS.match(text):  # before the decimal dot: "1.250" is 1250 (spec §5)
        return float(text.replace(".", ""))
    if _DOT_DECIMAL.match(text):
        return float(text)
    if _DOT_THOUSANDS_COMMA_DECIMAL.match(text):
        return float(text.replace(".", "").replace(",", "."))
    if _ONE_COMMA_GROUP.match(text):
        # "1,250": Vietnamese writing reads 1.25; a count can only be 1250 (English thousands).
        return float(text.replace(",", "")) if integer else float(text.replace(",", "."))
    if _COMMA_DECIMAL.match(text):
        return float(text.replace(",", "."))
    if _COMMA_THOUSANDS.match(text):
        return float(text.replace(",", ""))
    raise _not_a_number(value)


def to_number(value: object, integer: bool = False) -> float | None:
    """A number from a number cell or from text written the Vietnamese way (see the module doc)."""
    kind = type(value)
    if kind is float:
        if math.isnan(value) or math.isinf(value):  # NaN and infinities: never a figure, never a blank
            raise _not_a_number(value)
        return value
    if kind is int:
        return float(value)
    if value is None:
        return None
    if kind is str:
        return _text_number(value, integer)
    if kind is bool or isinstance(value, (dt.date, dt.time, dt.timedelta)):
        raise _not_a_number(value)
    if isinstance(value, (int, float)):
        return to_number(float(value), integer)
    raise _not_a_number(value)


def _negative(value: object) -> CellError:
    shown = to_text(value)
    return CellError(f"số âm ({shown}) không hợp lệ, phải ≥ 0", f"negative value {shown!r}, must be ≥ 0")


def to_count(value: object) -> int | None:
    """A whole number ≥ 0 (households, labour days, model counts)."""
    number = to_number(value, integer=True)
    if number is None:
        return None
    if number < 0:
        raise _negative(value)
    rounded = round(number)
    if abs(number - rounded) > 1e-9:
        raise CellError(f"«{to_text(value)}» phải là số nguyên", f"{to_text(value)!r} must be a whole number")
    if rounded > _MAX_COUNT:
        raise CellError(f"«{to_text(value)}» quá lớn", f"{to_text(value)!r} is too large")
    return int(rounded)


def to_amount(value: object) -> float | None:
    """A decimal ≥ 0 (money, land)."""
    number = to_number(value)
    if number is None:
        return None
    if number < 0:
        raise _negative(value)
    return number


def to_line_number(value: object) -> int | None:
    """STT as written: a whole number, else None (an STT such as "1a" or "I" is only a label)."""
    try:
        number = to_number(value, integer=True)
    except CellError:
        return None
    if number is None or number != int(number) or abs(number) > 2**31 - 1:
        return None
    return int(number)


def _not_a_date(value: object) -> CellError:
    shown = to_text(value)
    return CellError(f"«{shown}» không phải là ngày (ghi theo dạng ngày/tháng/năm, ví dụ 16/12/2021)",
                     f"{shown!r} is not a date (write dd/mm/yyyy, e.g. 16/12/2021)")


def _serial_date(value: float) -> dt.date:
    if not _SERIAL_MIN <= value <= _SERIAL_MAX:
        raise _not_a_date(value)
    return _EXCEL_EPOCH + dt.timedelta(days=int(value))


def to_date(value: object) -> dt.date | None:
    """A date cell, an Excel serial number, or text "dd/mm/yyyy" (see the module doc)."""
    kind = type(value)
    if kind is dt.date:
        return value
    if kind is dt.datetime:
        return value.date()
    if value is None or value == "":
        return None
    if kind is float or kind is int:
        if kind is float and not math.isfinite(value):
            raise _not_a_date(value)
        return _serial_date(value)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if kind is bool or not isinstance(value, str):
        raise _not_a_date(value)
    text = clean(value)
    if not text or text in _NOTHING:
        return None
    try:
        if m := _DMY.match(text):
            year = int(m.group(3))
            return dt.date(year + 2000 if year < 100 else year, int(m.group(2)), int(m.group(1)))
        if m := _YMD.match(text):
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if re.fullmatch(r"\d+(?:\.0+)?", text):
            return _serial_date(float(text))
        if m := _LONG_VI.match(fold(text)):
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        pass  # 31/02/2022
    raise _not_a_date(value)


def to_text(value: object) -> str | None:
    """Text as stored: NFC, trimmed; a whole-number cell without ".0"; a date as dd/mm/yyyy."""
    kind = type(value)
    if kind is str:
        return clean(value) or None
    if value is None:
        return None
    if kind is float:
        if not math.isfinite(value):
            return repr(value)  # "nan", "inf": shown as they are, never read as blank
        return str(int(value)) if value.is_integer() else repr(value)
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y")
    return clean(value) or None
