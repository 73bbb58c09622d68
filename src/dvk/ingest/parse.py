"""Parse one submission file (spec §3 xlsx, §4 csv) into a ``ParsedSubmission``, or every problem.

Headers are found by their text (diacritics, case and spacing ignored), wherever they are in the
first rows of a sheet; extra columns are ignored; blank and "Tổng cộng" rows are skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dvk.ingest.cells import CellError, is_blank, to_amount, to_count, to_date, to_text
from dvk.ingest.problems import ProblemLog
from dvk.periods import Period, PeriodError, parse_period
from dvk.reference import FieldDirectory, UnitDirectory, resolve_kind
from dvk.text import clean, fold


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as written on the form (for messages)
    aliases: tuple[str, ...]  # folded header texts accepted
    required: bool = False
    csv_name: str | None = None


MODEL_COLUMNS: tuple[Column, ...] = (
    Column("stt", "STT", ("stt", "so tt", "so thu tu", "tt"), csv_name="stt"),
    Column("model_name", "Tên mô hình", ("ten mo hinh", "ten mo hinh dan van kheo", "mo hinh"), True, "ten_mo_hinh"),
    Column("field_raw", "Lĩnh vực", ("linh vuc",), True, "linh_vuc"),
    Column("model_kind_raw", "Hình thức", ("hinh thuc",), True, "hinh_thuc"),
    Column("registered_on", "Ngày đăng ký", ("ngay dang ky",), csv_name="ngay_dang_ky"),
    Column("recognition_level", "Cấp công nhận", ("cap cong nhan",), csv_name="cap_cong_nhan"),
    Column("households", "Số hộ tham gia", ("so ho tham gia", "so ho"), csv_name="so_ho_tham_gia"),
    Column("funds_million_vnd", "Kinh phí huy động (triệu đồng)",
           ("kinh phi huy dong trieu dong", "kinh phi huy dong", "kinh phi trieu dong", "kinh phi"),
           csv_name="kinh_phi_trieu_dong"),
    Column("labour_days", "Ngày công", ("ngay cong",), csv_name="ngay_cong"),
    Column("land_m2", "Đất hiến (m2)", ("dat hien m2", "dat hien", "dat hien m 2"), csv_name="dat_hien_m2"),
    Column("note", "Ghi chú", ("ghi chu",), csv_name="ghi_chu"),
)

TOTAL_COLUMNS: tuple[Column, ...] = (
    Column("field_raw", "Lĩnh vực", ("linh vuc",), True),
    Column("models_total", "Tổng số mô hình", ("tong so mo hinh", "tong so", "so mo hinh"), True),
    Column("models_new", "Xây mới", ("xay moi",), True),
    Column("models_replicated", "Nhân rộng", ("nhan rong", "duy tri", "duy tri nhan rong"), True),
    Column("funds_million_vnd", "Kinh phí huy động (triệu đồng)",
           ("kinh phi huy dong trieu dong", "kinh phi huy dong", "kinh phi trieu dong", "kinh phi")),
)

CSV_HEADER_COLUMNS = ("ma_don_vi", "ten_don_vi", "ky_bao_cao", "ngay_bao_cao")

INFO_LABELS = {
    "ma don vi": "unit_code",
    "ten don vi": "unit_name",
    "ky bao cao": "period",
    "ngay bao cao": "report_date",
    "nguoi lap bieu": "preparer_name",
    "so dien thoai": "preparer_phone",
}

SHEET_INFO = ("thongtin",)
SHEET_MODELS = ("mohinh", "danhsachmohinh")
SHEET_TOTALS = ("tonghop",)
TOTAL_LINE_KEYS = {"tong cong", "cong", "tong"}
HEADER_SEARCH_ROWS = 30

_COUNT_KEYS = {"stt", "households", "labour_days", "models_total", "models_new", "models_replicated"}
_AMOUNT_KEYS = {"funds_million_vnd", "land_m2"}
_DATE_KEYS = {"registered_on"}


@dataclass
class ModelLine:
    source_sheet: str
    source_row: int
    stt: int | None
    model_name: str
    field_code: str
    field_raw: str
    model_kind: str
    model_kind_raw: str
    registered_on: dt.date | None
    recognition_level: str | None
    households: int | None
    funds_million_vnd: float | None
    labour_days: int | None
    land_m2: float | None
    note: str | None


@dataclass
class DeclaredTotal:
    source_row: int
    field_code: str
    field_raw: str
    models_total: int | None
    models_new: int | None
    models_replicated: int | None
    funds_million_vnd: float | None


@dataclass
class ParsedSubmission:
    file_format: str
    unit_code: str
    unit_code_raw: str | None
    unit_name_raw: str | None
    period: Period
    period_raw: str
    report_date: dt.date
    preparer_name: str | None = None
    preparer_phone: str | None = None
    models: list[ModelLine] = field(default_factory=list)
    totals: list[DeclaredTotal] = field(default_factory=list)
    has_declared_totals: bool = False


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


class _Context:
    """Shared lookups and the problem log for one file."""

    def __init__(self, file_name: str, units: UnitDirectory, fields: FieldDirectory, today: dt.date):
        self.log = ProblemLog(file_name)
        self.units = units
        self.fields = fields
        self.today = today

    def convert(self, key: str, value: object, header: str, *, sheet: str, row: int, column: str) -> object:
        try:
            if key in _COUNT_KEYS:
                return to_count(value)
            if key in _AMOUNT_KEYS:
                return to_amount(value)
            if key in _DATE_KEYS:
                return to_date(value)
            return to_text(value)
        except CellError as exc:
            self.log.add("bad_value", f"Giá trị không hợp lệ ở cột «{header}»: {exc.message_vi}",
                         f"invalid value in column {header!r}: {exc.message_en}",
                         sheet=sheet, row=row, column=column)
            return None

    def resolve_unit(self, code_raw: str | None, name_raw: str | None, *, sheet: str,
                     row: int | None, column: str | None) -> str | None:
        by_code = self.units.lookup_code(code_raw) if code_raw else None
        if by_code:
            return by_code.code
        by_name = self.units.by_name(name_raw) if name_raw else None
        if by_name:
            return by_name.code
        shown = " / ".join(x for x in (code_raw, name_raw) if x) or "(trống)"
        hints = self.units.suggest(name_raw or code_raw or "")
        hint_vi = f" Có phải: {'; '.join(hints)}?" if hints else ""
        hint_en = f" Did you mean: {'; '.join(hints)}?" if hints else ""
        self.log.add("unknown_unit",
                     f"Không nhận ra đơn vị «{shown}» trong danh sách đơn vị báo cáo.{hint_vi}",
                     f"unknown reporting unit {shown!r}.{hint_en}", sheet=sheet, row=row, column=column)
        return None

    def resolve_period(self, raw: str | None, *, sheet: str, row: int | None, column: str | None) -> Period | None:
        try:
            return parse_period(raw, today=self.today)
        except PeriodError as exc:
            self.log.add("bad_period", exc.message_vi, exc.message_en, sheet=sheet, row=row, column=column)
            return None

    def resolve_field(self, raw: str | None, *, sheet: str, row: int, column: str) -> str | None:
        code = self.fields.resolve(raw or "")
        if code is None:
            hints = "; ".join(self.fields.suggest(raw or ""))
            self.log.add("unknown_field",
                         f"Không nhận ra lĩnh vực «{raw or ''}». Các lĩnh vực hợp lệ: {hints}",
                         f"unknown field {raw or ''!r}; valid fields: {hints}",
                         sheet=sheet, row=row, column=column)
        return code

    def resolve_kind(self, raw: str | None, *, sheet: str, row: int, column: str) -> str | None:
        kind = resolve_kind(raw or "")
        if kind is None:
            self.log.add("unknown_kind",
                         f"Không nhận ra hình thức «{raw or ''}» (ghi: Xây mới, Nhân rộng hoặc Duy trì)",
                         f"unknown kind {raw or ''!r} (write Xây mới, Nhân rộng or Duy trì)",
                         sheet=sheet, row=row, column=column)
        return kind


def _find_header(rows: Sequence[Sequence[object]], columns: tuple[Column, ...]) -> tuple[int, dict[str, int]] | None:
    """The header row index and a key → column index map, found by header text."""
    required = [c for c in columns if c.required]
    best: tuple[int, dict[str, int]] | None = None
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found: dict[str, int] = {}
        for ci, cell in enumerate(row):
            key = fold(cell)
            if not key:
                continue
            for col in columns:
                if col.key not in found and key in col.aliases:
                    found[col.key] = ci
                    break
        hits = sum(1 for c in required if c.key in found)
        if hits >= 2 and (best is None or len(found) > len(best[1])):
            best = (r, found)
            if hits == len(required):
                break
    return best


def _row_values(row: Sequence[object], mapping: dict[str, int]) -> dict[str, object]:
    return {key: (row[ci] if ci < len(row) else None) for key, ci in mapping.items()}


def _is_total_line(row: Sequence[object]) -> bool:
    texts = [fold(c) for c in row if not is_blank(c)][:2]
    return any(t in TOTAL_LINE_KEYS for t in texts)


def _model_lines(ctx: _Context, sheet: str, rows: Sequence[Sequence[object]], header_index: int,
                 mapping: dict[str, int], row_number: Callable[[int], int], column_name: Callable[[str], str],
                 ) -> list[ModelLine]:
    lines: list[ModelLine] = []
    for r in range(header_index + 1, len(rows)):
        row = rows[r]
        if all(is_blank(c) for c in row) or _is_total_line(row):
            continue
        values = _row_values(row, mapping)
        if all(is_blank(values.get(k)) for k in ("model_name", "field_raw", "model_kind_raw")):
            continue  # e.g. a signature or a note under the table
        n = row_number(r)
        v: dict[str, object] = {}
        for col in MODEL_COLUMNS:
            if col.key not in mapping:
                v[col.key] = None
                continue
            v[col.key] = ctx.convert(col.key, values[col.key], col.header, sheet=sheet, row=n,
                                     column=column_name(col.key))
        for col in MODEL_COLUMNS:
            if col.required and v[col.key] is None:
                ctx.log.add("missing_value", f"Thiếu «{col.header}»", f"{col.header!r} is empty",
                            sheet=sheet, row=n, column=column_name(col.key))
        field_code = kind = None
        if v["field_raw"] is not None:
            field_code = ctx.resolve_field(v["field_raw"], sheet=sheet, row=n, column=column_name("field_raw"))
        if v["model_kind_raw"] is not None:
            kind = ctx.resolve_kind(v["model_kind_raw"], sheet=sheet, row=n, column=column_name("model_kind_raw"))
        if v["model_name"] and field_code and kind:
            lines.append(ModelLine(
                source_sheet=sheet, source_row=n, stt=v["stt"], model_name=v["model_name"],
                field_code=field_code, field_raw=v["field_raw"], model_kind=kind,
                model_kind_raw=v["model_kind_raw"], registered_on=v["registered_on"],
                recognition_level=v["recognition_level"], households=v["households"],
                funds_million_vnd=v["funds_million_vnd"], labour_days=v["labour_days"],
                land_m2=v["land_m2"], note=v["note"],
            ))
    return lines


def _missing_columns(ctx: _Context, sheet: str, columns: tuple[Column, ...], mapping: dict[str, int],
                     header_row: int | None) -> bool:
    missing = [c.header for c in columns if c.required and c.key not in mapping]
    for header in missing:
        ctx.log.add("missing_column", f"Thiếu cột bắt buộc «{header}» trong dòng tiêu đề",
                    f"required column {header!r} is missing from the header row",
                    sheet=sheet, row=header_row, column=header)
    return bool(missing)


# --------------------------------------------------------------------------------------- xlsx

def _sheet_key(name: str) -> str:
    return fold(name).replace(" ", "")


def parse_xlsx(data: bytes, file_name: str, *, units: UnitDirectory, fields: FieldDirectory,
               today: dt.date) -> ParsedSubmission:
    from python_calamine import CalamineWorkbook

    ctx = _Context(file_name, units, fields, today)
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets = {_sheet_key(n): n for n in workbook.sheet_names}

    def sheet_rows(name: str) -> list[list[object]]:
        return workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)

    def pick(keys: tuple[str, ...]) -> str | None:
        return next((sheets[k] for k in keys if k in sheets), None)

    info_name, models_name, totals_name = pick(SHEET_INFO), pick(SHEET_MODELS), pick(SHEET_TOTALS)
    for name, label in ((info_name, "Thông tin"), (models_name, "Mô hình")):
        if name is None:
            ctx.log.add("missing_sheet", f"Không có sheet «{label}»",
                        f"sheet {label!r} is missing (sheets found: {', '.join(workbook.sheet_names)})",
                        sheet=label)
    info: dict[str, tuple[object, int, str]] = {}
    if info_name:
        for r, row in enumerate(sheet_rows(info_name)):
            cells = [(ci, c) for ci, c in enumerate(row) if not is_blank(c)]
            if not cells:
                continue
            label = INFO_LABELS.get(fold(cells[0][1]).rstrip(" :"))
            if label and label not in info:
                value_ci, value = cells[1] if len(cells) > 1 else (cells[0][0] + 1, None)
                info[label] = (value, r + 1, column_letter(value_ci))
    submission_head = _header_fields(ctx, info, info_name or "Thông tin")

    lines: list[ModelLine] = []
    if models_name:
        rows = sheet_rows(models_name)
        found = _find_header(rows, MODEL_COLUMNS)
        if found is None:
            ctx.log.add("missing_header", "Không tìm thấy dòng tiêu đề (STT, Tên mô hình, Lĩnh vực, Hình thức, ...)",
                        "no header row found (STT, Tên mô hình, Lĩnh vực, Hình thức, ...)", sheet=models_name)
        else:
            header_index, mapping = found
            headers = {c.key: c.header for c in MODEL_COLUMNS}
            if not _missing_columns(ctx, models_name, MODEL_COLUMNS, mapping, header_index + 1):
                lines = _model_lines(ctx, models_name, rows, header_index, mapping, lambda r: r + 1,
                                     lambda key: f"{column_letter(mapping[key])} ({headers[key]})" if key in mapping else headers[key])

    totals: list[DeclaredTotal] = []
    if totals_name:
        totals = _declared_totals(ctx, totals_name, sheet_rows(totals_name))

    ctx.log.raise_if_any()
    return ParsedSubmission(file_format="xlsx", models=lines, totals=totals,
                            has_declared_totals=totals_name is not None, **submission_head)


def _header_fields(ctx: _Context, info: dict[str, tuple[object, int, str]], sheet: str) -> dict:
    def get(key: str) -> tuple[str | None, int | None, str | None]:
        value, row, col = info.get(key, (None, None, None))
        return to_text(value), row, col

    code, code_row, code_col = get("unit_code")
    name, name_row, name_col = get("unit_name")
    period_raw, period_row, period_col = get("period")
    unit_code = None
    if code or name:
        unit_code = ctx.resolve_unit(code, name, sheet=sheet, row=name_row or code_row, column=name_col or code_col)
    else:
        ctx.log.add("missing_value", "Thiếu «Mã đơn vị» và «Tên đơn vị»", "unit code and name are both missing",
                    sheet=sheet, column="Tên đơn vị")
    period = None
    if period_raw:
        period = ctx.resolve_period(period_raw, sheet=sheet, row=period_row, column=period_col)
    else:
        ctx.log.add("missing_value", "Thiếu «Kỳ báo cáo»", "the period (Kỳ báo cáo) is missing",
                    sheet=sheet, column="Kỳ báo cáo")
    raw_date, date_row, date_col = info.get("report_date", (None, None, None))
    report_date = None
    try:
        report_date = to_date(raw_date)
        if report_date is None:
            ctx.log.add("missing_value", "Thiếu «Ngày báo cáo»", "the report date (Ngày báo cáo) is missing",
                        sheet=sheet, row=date_row, column=date_col or "Ngày báo cáo")
        elif report_date > ctx.today:
            ctx.log.add("future_date", f"Ngày báo cáo {report_date:%d/%m/%Y} ở tương lai",
                        f"report date {report_date:%Y-%m-%d} lies in the future", sheet=sheet, row=date_row, column=date_col)
    except CellError as exc:
        ctx.log.add("bad_value", f"Ngày báo cáo: {exc.message_vi}", f"report date: {exc.message_en}",
                    sheet=sheet, row=date_row, column=date_col)
    return dict(unit_code=unit_code, unit_code_raw=code, unit_name_raw=name, period=period,
                period_raw=period_raw or "", report_date=report_date,
                preparer_name=get("preparer_name")[0], preparer_phone=get("preparer_phone")[0])


def _declared_totals(ctx: _Context, sheet: str, rows: list[list[object]]) -> list[DeclaredTotal]:
    found = _find_header(rows, TOTAL_COLUMNS)
    if found is None:
        ctx.log.add("missing_header", "Không tìm thấy dòng tiêu đề (Lĩnh vực, Tổng số mô hình, Xây mới, Nhân rộng)",
                    "no header row found (Lĩnh vực, Tổng số mô hình, Xây mới, Nhân rộng)", sheet=sheet)
        return []
    header_index, mapping = found
    if _missing_columns(ctx, sheet, TOTAL_COLUMNS, mapping, header_index + 1):
        return []
    headers = {c.key: c.header for c in TOTAL_COLUMNS}
    out: list[DeclaredTotal] = []
    for r in range(header_index + 1, len(rows)):
        row, n = rows[r], r + 1
        values = _row_values(row, mapping)
        if all(is_blank(c) for c in values.values()):
            continue
        col = lambda key: f"{column_letter(mapping[key])} ({headers[key]})"  # noqa: E731
        label = to_text(values["field_raw"]) or ""
        if fold(label) in TOTAL_LINE_KEYS:
            code = "TOTAL"
        else:
            code = ctx.resolve_field(label, sheet=sheet, row=n, column=col("field_raw"))
        numbers = {k: ctx.convert(k, values.get(k), headers[k], sheet=sheet, row=n, column=col(k)) if k in mapping else None
                   for k in ("models_total", "models_new", "models_replicated", "funds_million_vnd")}
        if code:
            out.append(DeclaredTotal(source_row=n, field_code=code, field_raw=label, **numbers))
    return out


# ---------------------------------------------------------------------------------------- csv

def parse_csv(data: bytes, file_name: str, *, units: UnitDirectory, fields: FieldDirectory,
              today: dt.date) -> ParsedSubmission:
    ctx = _Context(file_name, units, fields, today)
    sheet = "csv"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        ctx.log.add("bad_encoding", "Tệp CSV không phải mã UTF-8 (hãy lưu lại với mã hoá UTF-8)",
                    f"the CSV file is not UTF-8 (byte {exc.start}); save it again as UTF-8", sheet=sheet)
        ctx.log.raise_if_any()
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows]
    if not rows:
        ctx.log.add("empty", "Tệp CSV trống", "the CSV file is empty", sheet=sheet)
        ctx.log.raise_if_any()
    header = [fold(h).replace(" ", "_") for h in rows[0]]
    index = {h: i for i, h in enumerate(header) if h}
    mapping = {c.key: index[c.csv_name] for c in MODEL_COLUMNS if c.csv_name in index}
    for name in CSV_HEADER_COLUMNS:
        if name not in index:
            ctx.log.add("missing_column", f"Thiếu cột bắt buộc «{name}»", f"required column {name!r} is missing",
                        sheet=sheet, row=1, column=name)
    _missing_columns(ctx, sheet, MODEL_COLUMNS, mapping, 1)
    ctx.log.raise_if_any()

    def cell(row: list[str], name: str) -> str | None:
        i = index[name]
        return to_text(row[i]) if i < len(row) else None

    head: dict | None = None
    first_key: tuple | None = None
    body: list[list[object]] = [rows[0]]
    for r, row in enumerate(rows[1:], start=2):
        body.append(row)
        if all(is_blank(c) for c in row) or _is_total_line(row):
            continue
        key = tuple(fold(cell(row, n)) for n in ("ma_don_vi", "ten_don_vi", "ky_bao_cao"))
        if head is None:
            info = {
                "unit_code": (cell(row, "ma_don_vi"), r, "ma_don_vi"),
                "unit_name": (cell(row, "ten_don_vi"), r, "ten_don_vi"),
                "period": (cell(row, "ky_bao_cao"), r, "ky_bao_cao"),
                "report_date": (row[index["ngay_bao_cao"]] if index["ngay_bao_cao"] < len(row) else None, r, "ngay_bao_cao"),
            }
            head = _header_fields(ctx, info, sheet)
            first_key = key
        elif key != first_key:
            ctx.log.add("mixed_submissions",
                        "Dòng này ghi đơn vị hoặc kỳ báo cáo khác dòng đầu; mỗi tệp chỉ gồm một đơn vị, một kỳ",
                        "this row names another unit or period than the first row; one file holds one submission",
                        sheet=sheet, row=r, column="ma_don_vi / ten_don_vi / ky_bao_cao")
    if head is None:
        ctx.log.add("empty", "Tệp CSV không có dòng mô hình nào", "the CSV file has no model rows", sheet=sheet)
        ctx.log.raise_if_any()
    lines = _model_lines(ctx, sheet, body, 0, mapping, lambda r: r + 1, lambda key: next(
        c.csv_name for c in MODEL_COLUMNS if c.key == key))
    ctx.log.raise_if_any()
    return ParsedSubmission(file_format="csv", models=lines, totals=[], has_declared_totals=False, **head)


def parse_file(data: bytes, file_name: str, *, units: UnitDirectory, fields: FieldDirectory,
               today: dt.date) -> ParsedSubmission:
    suffix = Path(file_name).suffix.lower()
    parser = parse_xlsx if suffix == ".xlsx" else parse_csv
    return parser(data, file_name, units=units, fields=fields, today=today)
