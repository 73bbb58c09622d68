"""CSV extracts of the report's tables, for Excel and for other software.

UTF-8 with a byte-order mark (so that Excel shows the diacritics), comma-separated, CRLF line
ends, one header row with the Vietnamese column titles, numbers with a dot as the decimal mark,
dates as ``yyyy-mm-dd``. The tables with a totals row (by field, by unit) end with it
("Tổng cộng").

CSV injection (OWASP): a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return would be taken for a formula by a spreadsheet; it is written with a single quote in front
(``'=1+2``), which spreadsheets show as text. Numbers are written as numbers and never escaped.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

from dvk.report.tables import Table

#: The characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_name(table: Table, year: int) -> str:
    return f"{table.key}-{int(year)}.csv"


def escape_text(text: str) -> str:
    """``'`` in front of a text that a spreadsheet would read as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def format_number(value: float) -> str:
    """Plain decimal notation, no exponent, no trailing zeros: 67661.1, 0.25, 1500."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def _datetime_cell(value: datetime) -> str:
    return value.date().isoformat()


#: The common types' conversions, looked up by exact type (a national model list has 2 million
#: cells); anything else goes through :func:`_csv_cell_any`.
_BY_TYPE = {
    str: escape_text, int: str, float: format_number, type(None): lambda _: "",
    datetime: _datetime_cell, date: date.isoformat,
}


def csv_cell(value: Any) -> str:
    convert = _BY_TYPE.get(value.__class__)
    return convert(value) if convert is not None else _csv_cell_any(value)


def _csv_cell_any(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "x" if value else ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return escape_text(str(value))


def _csv_row(row: list[Any]) -> list[Any]:
    """:func:`csv_cell` of each value, inline for the commonest (a national model list has 2.5
    million cells): an ``int``, a ``date`` or ``None`` goes as it is (the csv module writes
    ``str(value)``, which for a date is its ISO form, and "" for None, as ``csv_cell`` does), a text
    is escaped, anything else goes through ``csv_cell``."""
    return [
        v if (c := v.__class__) is int or v is None or c is date
        else (("'" + v) if v.startswith(FORMULA_TRIGGERS) else v) if c is str
        else csv_cell(v)
        for v in row
    ]


def csv_bytes(table: Table) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([escape_text(c.csv_header) for c in table.columns])
    rows = table.rows if table.total is None else [*table.rows, table.total]  # = table.csv_rows()
    writer.writerows(map(_csv_row, rows))
    return buf.getvalue().encode("utf-8-sig")


def write_csv(folder: Path, table: Table, year: int) -> Path:
    path = folder / csv_name(table, year)
    path.write_bytes(csv_bytes(table))
    return path


__all__ = ["FORMULA_TRIGGERS", "csv_bytes", "csv_cell", "csv_name", "escape_text", "format_number", "write_csv"]
