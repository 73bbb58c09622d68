"""The CSV form (spec §4): UTF-8 (a BOM may be present), one header row, one row per model.

Columns are matched by name on fold keys (``ma_don_vi``, "Mã đơn vị" and "MA DON VI" are the same
column); extra columns are ignored. Every row carries the same unit and period: a row naming
another unit, period or report date is a problem (a blank unit or period cell repeats the first
row's). The rows are numbered as a spreadsheet shows them: the header is row 1. The sheet of every
problem and model line is ``csv``.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io

from dvk.ingest.budget import MAX_SHEET_ROWS
from dvk.ingest.cells import CellError, is_blank, to_date, to_text
from dvk.ingest.form import MODEL_COLUMNS, FormReader, ParsedSubmission
from dvk.ingest.problems import SubmissionError
from dvk.periods import PeriodError, parse_period
from dvk.reference import FieldDirectory, LookupProblem, UnitDirectory
from dvk.text import clean, detect_legacy_file, fix_legacy, fold

SHEET = "csv"
HEAD_COLUMNS: dict[str, tuple[str, bool]] = {  # item → (csv column, required)
    "unit_code": ("ma_don_vi", False),
    "unit_name": ("ten_don_vi", True),
    "period": ("ky_bao_cao", True),
    "report_date": ("ngay_bao_cao", True),
}


def _delimiter(first_line: str) -> str:
    """Comma per spec §4; a file saved by Excel with a Vietnamese locale uses ";"."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ",")) if any(counts.values()) else ","


#: Header rows up to this many cells are memoised (a form's header has 15; a hostile one may have
#: millions, never kept).
_MEMO_HEADER_CELLS = 64


def _column_index(header: list[str]) -> dict[str, int]:
    """csv column name (or model column key) → index, matched on fold keys."""
    key = tuple(header)
    if len(key) > _MEMO_HEADER_CELLS:
        return dict(_header_index.__wrapped__(key))
    return dict(_header_index(key))


@functools.lru_cache(maxsize=256)
def _header_index(header: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """:func:`_column_index`, memoised: a deployment's files repeat a few header rows."""
    index: dict[str, int] = {}
    for ci, cell in enumerate(header):
        key = fold(cell)
        if not key:
            continue
        for item, (name, _) in HEAD_COLUMNS.items():
            if key == name.replace("_", " "):
                index.setdefault(item, ci)
        for column in MODEL_COLUMNS:
            if key == (column.csv_name or "").replace("_", " ") or column.matches(key) >= 1000:
                index.setdefault(column.key, ci)
    return tuple(index.items())


def parse_csv(data: bytes, file_name: str, *, units: UnitDirectory, fields: FieldDirectory,
              today: dt.date) -> ParsedSubmission:
    """One CSV file → one submission, or :class:`SubmissionError` with every problem found."""
    reader = FormReader(file_name, units, fields, today)
    log = reader.log
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        log.add("bad_encoding",
                "Tệp CSV không phải mã UTF-8 (có thể là TCVN3/VNI/Windows-1258): hãy lưu lại với mã hoá UTF-8",
                f"the CSV file is not UTF-8 (invalid byte at offset {exc.start}); save it again as UTF-8",
                sheet=SHEET)
        raise SubmissionError(log.problems) from exc
    lines = text.count("\n") + 1
    if lines > MAX_SHEET_ROWS:  # read within a bounded memory: every row becomes a list of fields
        log.add("sheet_too_large",
                f"Tệp CSV có {lines:,} dòng (tối đa {MAX_SHEET_ROWS:,}): từ chối đọc".replace(",", "."),
                f"refused: the CSV file has {lines} lines (at most {MAX_SHEET_ROWS})", sheet=SHEET, row=lines)
        raise SubmissionError(log.problems)
    legacy = detect_legacy_file(text)  # TCVN3 / VNI typed into a UTF-8 file: decided from all its text
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0])))
    if legacy:
        rows = [[fix_legacy(c, prefer=legacy) if not c.isascii() else c for c in row] for row in rows]
    if not rows or all(is_blank(c) for c in rows[0]):
        log.add("empty", "Tệp CSV trống hoặc thiếu dòng tiêu đề", "the CSV file is empty or has no header row",
                sheet=SHEET, row=1)
        log.raise_if_any()
    header = [clean(h) for h in rows[0]]
    index = _column_index(header)

    def name_of(key: str) -> str:
        csv_name = HEAD_COLUMNS[key][0] if key in HEAD_COLUMNS else next(
            c.csv_name for c in MODEL_COLUMNS if c.key == key)
        return header[index[key]] if key in index else csv_name

    for item, (name, required) in HEAD_COLUMNS.items():
        if required and item not in index:
            log.add("missing_column", f"Thiếu cột bắt buộc «{name}» trong dòng tiêu đề (dòng 1)",
                    f"required column {name!r} is missing from the header row (row 1)", sheet=SHEET, row=1,
                    column=name)
    model_map = {c.key: index[c.key] for c in MODEL_COLUMNS if c.key in index}
    reader.missing_columns(SHEET, MODEL_COLUMNS, model_map, 1, column_name=lambda c: c.csv_name or c.header)
    log.raise_if_any()

    def cell(row: list[str], item: str) -> str | None:
        ci = index.get(item)
        return row[ci] if ci is not None and ci < len(row) else None

    head: dict | None = None
    first_row = 0
    width = len(rows[0])
    for r, row in enumerate(rows[1:], start=2):
        if all(is_blank(c) for c in row):
            continue
        if len(row) != width:  # never realigned: "12,5" unquoted in a comma file shifts every value after it
            log.add("field_count",
                    f"Dòng có {len(row)} ô nhưng dòng tiêu đề có {width} cột (có thể do dấu phẩy trong số hoặc "
                    "ghi chú không đặt trong ngoặc kép, hoặc tệp bị cắt): hãy sửa dòng này",
                    f"the row has {len(row)} fields but the header has {width} columns (an unquoted comma in a "
                    "number or a remark, or a file cut short): fix this row", sheet=SHEET, row=r)
        values = {item: cell(row, item) for item in HEAD_COLUMNS}
        if head is None:
            if all(is_blank(v) for v in values.values()):
                continue
            info = {item: (values[item], r, name_of(item)) for item in HEAD_COLUMNS if item in index}
            head, first_row = reader.head(info, SHEET), r
            continue
        _check_same_submission(reader, head, values, r, name_of, first_row)
    if head is None:
        log.add("empty", "Tệp CSV không có dòng nào ghi đơn vị và kỳ báo cáo",
                "the CSV file has no row naming the unit and the period", sheet=SHEET, row=2)
        log.raise_if_any()

    skipped: list[tuple[str, int, str]] = []
    lines = reader.model_lines(SHEET, rows, 1, model_map, name_of, skipped,
                               header=header, used=set(index.values()),
                               label=lambda ci: header[ci] if ci < width and header[ci] else f"cột {ci + 1}")
    log.raise_if_any()
    return ParsedSubmission(file_format="csv", models=lines, totals=[], has_declared_totals=False,
                            skipped_rows=skipped, warnings=reader.warnings, **head)


def _check_same_submission(reader: FormReader, head: dict, values: dict[str, object], row: int, name_of,
                           first_row: int) -> None:
    """A problem when a row names another unit, period or report date than the first row."""
    log = reader.log
    code, name = to_text(values.get("unit_code")), to_text(values.get("unit_name"))
    if (code or name) and head["unit_code"] is not None:
        same = (fold(code) == fold(head["unit_code_raw"]) or not code) and (
            fold(name) == fold(head["unit_name_raw"]) or not name)
        if not same:
            try:
                on = head["period"].window_end if head["period"] is not None else None
                same = reader.units.resolve(code, name, on=on).code == head["unit_code"]
            except LookupProblem:
                same = False
        if not same:
            shown = " / ".join(x for x in (code, name) if x)
            log.add("mixed_submissions",
                    f"Dòng này ghi đơn vị «{shown}», khác dòng {first_row}: mỗi tệp chỉ gồm một đơn vị, một kỳ "
                    "báo cáo",
                    f"this row names the unit {shown!r}, unlike row {first_row}: one file holds one unit and "
                    "one period", sheet=SHEET, row=row, column=name_of("unit_name" if name else "unit_code"))
    period_raw = to_text(values.get("period"))
    if period_raw and head["period"] is not None and fold(period_raw) != fold(head["period_raw"]):
        try:
            same_period = parse_period(period_raw, today=reader.today).id == head["period"].id
        except PeriodError:
            same_period = False
        if not same_period:
            log.add("mixed_submissions",
                    f"Dòng này ghi kỳ báo cáo «{period_raw}», khác dòng {first_row}: mỗi tệp chỉ gồm một kỳ",
                    f"this row names the period {period_raw!r}, unlike row {first_row}: one file holds one period",
                    sheet=SHEET, row=row, column=name_of("period"))
    date_value = values.get("report_date")
    if not is_blank(date_value) and head["report_date"] is not None:
        try:
            other = to_date(date_value)
        except CellError:
            other = None
        if other != head["report_date"]:
            log.add("mixed_submissions",
                    f"Dòng này ghi ngày báo cáo «{clean(date_value)}», khác dòng {first_row}",
                    f"this row has the report date {clean(date_value)!r}, unlike row {first_row}",
                    sheet=SHEET, row=row, column=name_of("report_date"))
