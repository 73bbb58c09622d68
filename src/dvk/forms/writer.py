"""Write submissions in the customer's forms: the workbook of spec §3 and the CSV of spec §4.

The output is byte-deterministic: the same :class:`Submission` always gives the same bytes.
Workbooks are written with xlsxwriter in memory, which stamps every zip entry 1980-01-01 00:00
(independent of the clock and the time zone), and with fixed document properties (created =
modified = the report date at 08:00 UTC, or ``created`` if given).

Values are written as they are given: an ``int``/``float``/``Decimal`` becomes a number cell, a
``date`` a date cell (``dd/mm/yyyy``), a ``str`` a text cell, ``None`` a blank. So tests can also
write messy files ("1.250" as text, a date as "16/12/2021" text) through the same functions.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path

Number = int | float | Decimal
Cell = Number | str | date | None

#: Field codes and the names written on the forms (spec §1), in the order of the forms.
FIELD_NAMES: dict[str, str] = {
    "KT": "Phát triển kinh tế",
    "VHXH": "Văn hóa - xã hội",
    "QPAN": "Quốc phòng - an ninh",
    "XDD": "Xây dựng Đảng và hệ thống chính trị",
}
KIND_NEW = "Xây mới"
KIND_REPLICATED = "Nhân rộng"
TOTAL_LABEL = "Tổng cộng"

SHEET_INFO = "Thông tin"
SHEET_MODELS = "Mô hình"
SHEET_TOTALS = "Tổng hợp"

INFO_LABELS = ("Mã đơn vị", "Tên đơn vị", "Kỳ báo cáo", "Ngày báo cáo", "Người lập biểu", "Số điện thoại")
MODEL_HEADERS = (
    "STT",
    "Tên mô hình",
    "Lĩnh vực",
    "Hình thức",
    "Ngày đăng ký",
    "Cấp công nhận",
    "Số hộ tham gia",
    "Kinh phí huy động (triệu đồng)",
    "Ngày công",
    "Đất hiến (m2)",
    "Ghi chú",
)
TOTALS_HEADERS = ("Lĩnh vực", "Tổng số mô hình", "Xây mới", "Nhân rộng", "Kinh phí huy động (triệu đồng)")
CSV_COLUMNS = (
    "ma_don_vi",
    "ten_don_vi",
    "ky_bao_cao",
    "ngay_bao_cao",
    "stt",
    "ten_mo_hinh",
    "linh_vuc",
    "hinh_thuc",
    "ngay_dang_ky",
    "cap_cong_nhan",
    "so_ho_tham_gia",
    "kinh_phi_trieu_dong",
    "ngay_cong",
    "dat_hien_m2",
    "ghi_chu",
)

_MODEL_COL_WIDTHS = (5, 60, 34, 18, 13, 15, 10, 14, 10, 10, 24)
_DEFAULT_CREATED = datetime(2000, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ModelLine:
    """One row of the ``Mô hình`` sheet (one model), values as written on the form."""

    name: str
    field: str  # "Phát triển kinh tế" ... or a code "KT"
    kind: str  # "Xây mới" / "Nhân rộng" / "Duy trì" / "Duy trì, nhân rộng"
    registered_on: date | str | None = None
    recognition_level: str | None = None  # "Cấp xã" / "Cấp thành phố" / "Cấp tỉnh"
    households: Number | str | None = None
    funds_million_vnd: Number | str | None = None
    labour_days: Number | str | None = None
    land_m2: Number | str | None = None
    note: str | None = None
    stt: int | str | None = None  # None: the line's position (1, 2, ...)

    def cells(self, position: int) -> tuple[Cell, ...]:
        """The line's cells in the form's column order (``Mô hình`` sheet, and the CSV after its
        four head columns); ``position`` (1, 2, ...) stands in for a missing STT."""
        return (
            position if self.stt is None else self.stt,
            self.name,
            self.field,
            self.kind,
            self.registered_on,
            self.recognition_level,
            self.households,
            self.funds_million_vnd,
            self.labour_days,
            self.land_m2,
            self.note,
        )


@dataclass(frozen=True)
class DeclaredTotal:
    """One row of the ``Tổng hợp`` sheet: a field (as written) or "Tổng cộng"."""

    label: str
    models_total: Number | str | None
    models_new: Number | str | None
    models_replicated: Number | str | None
    funds_million_vnd: Number | str | None


@dataclass(frozen=True)
class Submission:
    """One submission: one unit, one period (spec §3/§4)."""

    unit_code: str | None
    unit_name: str | None
    period: str  # as written: "Năm 2021", "Quý I/2022", ...
    report_date: date | str | None
    models: Sequence[ModelLine] = ()
    preparer_name: str | None = None
    preparer_phone: str | None = None
    #: None: computed from the model lines (see :func:`compute_declared_totals`).
    declared_totals: Sequence[DeclaredTotal] | None = None
    #: False: the workbook has no ``Tổng hợp`` sheet at all.
    with_totals_sheet: bool = True
    #: The merged title above the model header; None: "DANH SÁCH MÔ HÌNH “DÂN VẬN KHÉO” <PERIOD>",
    #: "" : no title rows (the header is row 1).
    title: str | None = None

    def totals(self) -> list[DeclaredTotal]:
        """The declared totals as they will be written."""
        if self.declared_totals is not None:
            return list(self.declared_totals)
        return compute_declared_totals(self.models)


@dataclass(frozen=True)
class SheetNames:
    info: str = SHEET_INFO
    models: str = SHEET_MODELS
    totals: str = SHEET_TOTALS


# --------------------------------------------------------------------------- classification


def _fold(text: str) -> str:
    """Lower case, no diacritics, single spaces: for matching what was written."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.lower().replace(",", " ").replace("-", " ").split())


_FIELD_LOOKUP = {_fold(code): code for code in FIELD_NAMES} | {_fold(n): c for c, n in FIELD_NAMES.items()}


def field_code(written: str) -> str:
    """The field code of a field written as a code or a name of spec §1."""
    try:
        return _FIELD_LOOKUP[_fold(written)]
    except KeyError:
        raise ValueError(f"unknown field {written!r}: pass declared_totals explicitly") from None


def is_new(kind: str) -> bool:
    """True for "Xây mới", False for "Nhân rộng" / "Duy trì" / "Duy trì, nhân rộng"."""
    folded = _fold(kind)
    if folded == "xay moi":
        return True
    if folded in {"nhan rong", "duy tri", "duy tri nhan rong"}:
        return False
    raise ValueError(f"unknown kind {kind!r}: pass declared_totals explicitly")


def _as_number(value: Number | str | None) -> Decimal:
    if value is None or isinstance(value, str):
        return Decimal(0)
    return Decimal(str(value))


def _decimal_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def compute_declared_totals(models: Sequence[ModelLine]) -> list[DeclaredTotal]:
    """One row per field used (in the order KT, VHXH, QPAN, XDD) and a "Tổng cộng" row."""
    counts: dict[str, list] = {}
    for line in models:
        row = counts.setdefault(field_code(line.field), [0, 0, 0, Decimal(0)])
        row[0] += 1
        row[1 if is_new(line.kind) else 2] += 1
        row[3] += _as_number(line.funds_million_vnd)
    out: list[DeclaredTotal] = []
    total = [0, 0, 0, Decimal(0)]
    for code, name in FIELD_NAMES.items():
        if code not in counts:
            continue
        row = counts[code]
        out.append(DeclaredTotal(name, row[0], row[1], row[2], _decimal_number(row[3])))
        total = [a + b for a, b in zip(total, row)]
    out.append(DeclaredTotal(TOTAL_LABEL, total[0], total[1], total[2], _decimal_number(total[3])))
    return out


# --------------------------------------------------------------------------- xlsx


def default_title(period: str) -> str:
    return f"DANH SÁCH MÔ HÌNH “DÂN VẬN KHÉO” {period.upper()}"


def _created(submission: Submission, created: datetime | None) -> datetime:
    if created is not None:
        return created
    if isinstance(submission.report_date, date):
        return datetime.combine(submission.report_date, time(8, 0), tzinfo=timezone.utc)
    return _DEFAULT_CREATED


def xlsx_bytes(
    submission: Submission,
    *,
    sheet_names: SheetNames = SheetNames(),
    created: datetime | None = None,
) -> bytes:
    """The workbook of spec §3 as bytes (deterministic)."""
    import xlsxwriter  # local: importing the package must stay cheap

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    stamp = _created(submission, created)
    workbook.set_properties({"created": stamp, "author": "", "comments": ""})
    bold = workbook.add_format({"bold": True})
    title_fmt = workbook.add_format({"bold": True, "align": "center", "valign": "vcenter", "font_size": 13})
    header_fmt = workbook.add_format({"bold": True, "text_wrap": True, "align": "center", "valign": "vcenter", "border": 1})
    date_fmt = workbook.add_format({"num_format": "dd/mm/yyyy"})

    def put(sheet, row: int, col: int, value: Cell, fmt=None) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            raise TypeError(f"boolean cell value {value!r}")
        if isinstance(value, datetime):
            sheet.write_datetime(row, col, value, date_fmt)
        elif isinstance(value, date):
            sheet.write_datetime(row, col, datetime.combine(value, time()), date_fmt)
        elif isinstance(value, (int, float, Decimal)):
            sheet.write_number(row, col, float(value) if isinstance(value, Decimal) else value, fmt)
        else:
            sheet.write_string(row, col, str(value), fmt)

    info = workbook.add_worksheet(sheet_names.info)
    info.set_column(0, 0, 18)
    info.set_column(1, 1, 34)
    values = (
        submission.unit_code,
        submission.unit_name,
        submission.period,
        submission.report_date,
        submission.preparer_name,
        submission.preparer_phone,
    )
    for row, (label, value) in enumerate(zip(INFO_LABELS, values)):
        info.write_string(row, 0, label)
        put(info, row, 1, value)

    sheet = workbook.add_worksheet(sheet_names.models)
    for col, width in enumerate(_MODEL_COL_WIDTHS):
        sheet.set_column(col, col, width)
    title = default_title(submission.period) if submission.title is None else submission.title
    header_row = 0
    if title:
        sheet.merge_range(0, 0, 0, len(MODEL_HEADERS) - 1, title, title_fmt)
        header_row = 2  # a blank row between the title and the header, like the sample
    for col, header in enumerate(MODEL_HEADERS):
        sheet.write_string(header_row, col, header, header_fmt)
    for i, line in enumerate(submission.models):
        row = header_row + 1 + i
        for col, value in enumerate(line.cells(i + 1)):
            put(sheet, row, col, value)

    if submission.with_totals_sheet:
        totals = workbook.add_worksheet(sheet_names.totals)
        totals.set_column(0, 0, 36)
        totals.set_column(1, 4, 14)
        for col, header in enumerate(TOTALS_HEADERS):
            totals.write_string(0, col, header, header_fmt)
        for r, line in enumerate(submission.totals(), start=1):
            fmt = bold if line.label == TOTAL_LABEL else None
            for col, value in enumerate(
                (line.label, line.models_total, line.models_new, line.models_replicated, line.funds_million_vnd)
            ):
                put(totals, r, col, value, fmt)

    workbook.close()
    return buffer.getvalue()


def write_xlsx(
    submission: Submission,
    path: str | Path,
    *,
    sheet_names: SheetNames = SheetNames(),
    created: datetime | None = None,
) -> Path:
    """Write the workbook of spec §3 to ``path`` (deterministic bytes); returns the path."""
    path = Path(path)
    path.write_bytes(xlsx_bytes(submission, sheet_names=sheet_names, created=created))
    return path


# --------------------------------------------------------------------------- csv


def _csv_value(value: Cell, date_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value.strftime(date_format)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def csv_bytes(submission: Submission, *, bom: bool = False, date_format: str = "%d/%m/%Y") -> bytes:
    """The CSV of spec §4 as bytes: UTF-8 (BOM optional), comma-separated, LF line ends."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    head = (submission.unit_code, submission.unit_name, submission.period, submission.report_date)
    for i, line in enumerate(submission.models):
        writer.writerow([_csv_value(v, date_format) for v in (*head, *line.cells(i + 1))])
    return (b"\xef\xbb\xbf" if bom else b"") + text.getvalue().encode("utf-8")


def write_csv(submission: Submission, path: str | Path, bom: bool = False, *, date_format: str = "%d/%m/%Y") -> Path:
    """Write the CSV of spec §4 to ``path`` (no declared totals: the form has none); returns the path."""
    path = Path(path)
    path.write_bytes(csv_bytes(submission, bom=bom, date_format=date_format))
    return path


__all__ = [
    "CSV_COLUMNS",
    "FIELD_NAMES",
    "INFO_LABELS",
    "KIND_NEW",
    "KIND_REPLICATED",
    "MODEL_HEADERS",
    "SHEET_INFO",
    "SHEET_MODELS",
    "SHEET_TOTALS",
    "TOTALS_HEADERS",
    "TOTAL_LABEL",
    "DeclaredTotal",
    "ModelLine",
    "SheetNames",
    "Submission",
    "compute_declared_totals",
    "csv_bytes",
    "default_title",
    "field_code",
    "is_new",
    "write_csv",
    "write_xlsx",
    "xlsx_bytes",
]
