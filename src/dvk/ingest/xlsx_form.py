"""The Excel form (spec §3), read with python-calamine.

- sheets are matched on their compact fold key: ``Thông tin`` / ``ThongTin`` / ``THONG TIN``;
  a workbook whose model sheet has another name is still read if one sheet holds the model header;
- ``Thông tin``: label then value, one item a row (also "Mã đơn vị: 18076" in one cell, or two
  label/value pairs on one row); labels are matched by text;
- ``Mô hình`` and ``Tổng hợp``: the header row is found by its text in the first 20 rows (merged
  title rows above it are fine); extra columns are ignored; a missing required column is a problem.

Cell values come as calamine gives them (str, float, int, bool, date, datetime); formulas are read
as their last computed (cached) value. A formula cell with no cached value, or whose value is an
error (``#DIV/0!``), would read as a blank: it is a problem instead (``formula_no_value``,
``formula_error``; see :mod:`dvk.ingest.formulas`).
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Sequence

from dvk.ingest.budget import check_workbook
from dvk.ingest.cells import is_blank
from dvk.ingest.form import (
    HEADER_SEARCH_ROWS,
    INFO_HEADERS,
    MODEL_COLUMNS,
    TOTAL_COLUMNS,
    Column,
    FormReader,
    ParsedSubmission,
    Row,
    column_letter,
    find_header,
    info_key,
    is_info_label,
    is_total_line,
)
from dvk.ingest.formula_eval import fill_computed
from dvk.ingest.formulas import BadCell, Scope, bad_formula_cells, report_bad_formulas
from dvk.ingest.problems import Problem, ProblemLog, SubmissionError
from dvk.periods import parse_period
from dvk.reference import FieldDirectory, UnitDirectory, unit_code_key
from dvk.text import clean, detect_legacy_file, fix_legacy, fold_compact

SHEET_INFO = ("thongtin", "thongtinchung", "thongtindonvi", "thongtinbaocao")
SHEET_MODELS = ("mohinh", "danhsachmohinh", "dsmohinh", "mohinhdanvankheo", "danhsach")
SHEET_TOTALS = ("tonghop", "bangtonghop", "tonghopmohinh", "tonghopsolieu")


class _Workbook:
    """Sheets by compact fold key, their rows read once."""

    def __init__(self, data: bytes, file_name: str = ""):
        from python_calamine import CalamineWorkbook

        self.file_name = file_name
        self._data = data
        # Before calamine opens it: how far each sheet reaches, what it would reserve (SubmissionError).
        self.parts = check_workbook(data, file_name)
        self._book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        self.names: list[str] = list(self._book.sheet_names)
        self._rows: dict[str, list[list[object]]] = {}
        self._compact: dict[str, str] | None = None
        self.legacy = _workbook_legacy(self.parts.parts)
        self._bad: dict[str, list[BadCell]] | None = None
        #: sheet name → the cells whose formula had no cached value and was computed here
        self.computed: dict[str, set[tuple[int, int]]] = {}
        #: sheet name → its merged ranges, ((first row, first column), (last row, last column)), 0-based
        self.merged: dict[str, list[tuple[tuple[int, int], tuple[int, int]]]] = {}

    @property
    def bad_formulas(self) -> dict[str, list[BadCell]]:
        """Formula cells without a cached value, and error cells, by sheet (read once)."""
        if self._bad is None:
            self._bad = bad_formula_cells(self._data, self.parts)
        return self._bad

    def find(self, keys: tuple[str, ...]) -> str | None:
        if self._compact is None:  # sheet names by compact fold key, the first of each
            self._compact = {}
            for name in self.names:
                self._compact.setdefault(fold_compact(name), name)
        return next((self._compact[k] for k in keys if k in self._compact), None)

    def rows(self, name: str) -> list[list[object]]:
        if name not in self._rows:
            try:
                sheet = self._book.get_sheet_by_name(name)
                rows = sheet.to_python(skip_empty_area=False)
                self.merged[name] = list(sheet.merged_cell_ranges or ())
                if self.legacy:
                    rows = convert_legacy(rows, self.legacy)
                bad = self.bad_formulas.get(name, ())
                uncached = [(c.row - 1, c.column, c.formula) for c in bad if c.error is None and c.formula]
                if uncached:  # never computed by the program that wrote the file: compute the simple ones
                    blocked = [(c.row - 1, c.column) for c in bad if c.error is not None or not c.formula]
                    self.computed[name] = fill_computed(rows, uncached, blocked)
                self._rows[name] = rows
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # calamine reads a sheet only now: a broken part (or a panic)
                raise SubmissionError([unreadable_workbook(self.file_name, exc, sheet=name)]) from exc
        return self._rows[name]


def _workbook_legacy(parts: dict[str, bytes]) -> str | None:
    """TCVN3 / VNI when the workbook's text, all of it, is typed in that legacy encoding.

    The shared strings (and any inline strings) are read as one text: one Vietnamese letter beyond
    Latin-1 anywhere (the usual case) ends the check at once; markup is ASCII and weighs nothing."""
    texts = [xml for name, xml in parts.items()
             if not xml.isascii() and (name.endswith("sharedStrings.xml")
                                       or (name.startswith("xl/worksheets/") and b"inlineStr" in xml))]
    if not texts:
        return None
    text = b"\n".join(texts).decode("utf-8", "replace")
    if "&" in text:
        text = html.unescape(text)
    return detect_legacy_file(text)


def convert_legacy(rows: list[list[object]], kind: str) -> list[list[object]]:
    """Every text cell of a legacy-encoded workbook converted (see :func:`dvk.text.fix_legacy`)."""
    memo: dict[str, str] = {}
    for row in rows:
        for i, cell in enumerate(row):
            if type(cell) is str and not cell.isascii():
                fixed = memo.get(cell)
                if fixed is None:
                    fixed = memo[cell] = fix_legacy(cell, prefer=kind)
                row[i] = fixed
    return rows


def read_info(rows: Sequence[Row], limit: int | None = None) -> dict[str, tuple[object, int, str]]:
    """The "Thông tin" items: item → (value, 1-based row, "B (Tên đơn vị)"); the first of each wins."""
    info: dict[str, tuple[object, int, str]] = {}
    for r, row in enumerate(rows[:limit]):
        cells = [(ci, c) for ci, c in enumerate(row) if not is_blank(c)]
        i = 0
        while i < len(cells):
            ci, cell = cells[i]
            item = info_key(cell) if isinstance(cell, str) else None
            if isinstance(cell, str) and ":" in cell:  # "Mã đơn vị: 18076", label and value in one cell
                label, _, rest = cell.partition(":")
                named = info_key(label)
                following = cells[i + 1][1] if i + 1 < len(cells) else None
                value_follows = following is not None and not (isinstance(following, str) and info_key(following))
                # a label alone before the colon, or any label in a cell that is none itself; not
                # "Kỳ báo cáo (VD: Quý I/2022)", a label whose own text has a colon, nor a label
                # with a hint ("Ngày báo cáo: (ngày/tháng/năm)") whose value is in the next cell
                if named and clean(rest) and not value_follows and (item is None or is_info_label(label)):
                    info.setdefault(named, (clean(rest), r + 1, f"{column_letter(ci)} ({INFO_HEADERS[named]})"))
                    i += 1
                    continue
                item = item or named
            if item is None:
                i += 1
                continue
            value, value_ci = None, ci + 1
            if i + 1 < len(cells):
                next_ci, next_cell = cells[i + 1]
                if not (isinstance(next_cell, str) and info_key(next_cell)):
                    value, value_ci = next_cell, next_ci
                    i += 1
            info.setdefault(item, (value, r + 1, f"{column_letter(value_ci)} ({INFO_HEADERS[item]})"))
            i += 1
    return info


#: Columns of the model table whose cell, merged down over several rows, names each of those models
#: (a clerk merges "Kinh tế" over the field's rows); a measure merged over rows is one figure, not
#: one per row, and is left to the first row.
MERGED_DOWN_COLUMNS = ("field_raw", "model_kind_raw", "recognition_level")


def _fill_merged_down(rows: list[list[object]], merged, header_index: int, mapping: dict[str, int]) -> None:
    """Copy the value of a cell merged down over model rows (below the header) into the rows it
    covers, for :data:`MERGED_DOWN_COLUMNS` (calamine gives the value to the first row only). Only
    rows that name a model get it: a model written over two rows (its name merged too) keeps its
    second row blank. Each cell is filled once however many (duplicate) merges cover it."""
    columns = {mapping[k] for k in MERGED_DOWN_COLUMNS if k in mapping}
    name_column = mapping.get("model_name")
    filled: set[tuple[int, int]] = set()
    for (r0, c0), (r1, c1) in merged:
        if r0 <= header_index or r1 <= r0 or r0 >= len(rows):
            continue
        for c in columns:
            if not c0 <= c <= c1 or c >= len(rows[r0]) or is_blank(rows[r0][c]) or (r0, c) in filled:
                continue
            filled.add((r0, c))
            for r in range(r0 + 1, min(r1, len(rows) - 1) + 1):
                row = rows[r]
                if (r, c) in filled or c >= len(row) or not is_blank(row[c]):
                    continue
                filled.add((r, c))
                if name_column is not None and name_column < len(row) and not is_blank(row[name_column]):
                    row[c] = rows[r0][c]


def _model_rows_below(rows: Sequence[Row], header_index: int, name_column: int) -> list[int]:
    """The 0-based rows under a model header that name a model (not blank, not a total line)."""
    return [r for r in range(header_index + 1, len(rows))
            if name_column < len(rows[r]) and not is_blank(rows[r][name_column]) and not is_total_line(rows[r])]


def _refuse_other_model_tables(book: _Workbook, known: tuple[str | None, ...], models_name: str,
                               log: ProblemLog) -> None:
    """A problem for every other sheet that holds a model table too (every required header, and a
    model under it): "Mô hình (2)", what Excel names a copy of the sheet, or "MoHinh" beside
    "Mô hình". One submission is read from one model sheet; which one holds the unit's list, or
    whether the two are to be added, is not guessed, and the models of the other are never dropped
    silently: the file is quarantined and the clerk told to put every model on one sheet."""
    required = [c.key for c in MODEL_COLUMNS if c.required]
    for name in book.names:
        if name in known:
            continue
        rows = book.rows(name)
        found = find_header(rows, MODEL_COLUMNS)
        if found is None or not all(k in found[1] for k in required):
            continue
        header_index, mapping = found
        listed = _model_rows_below(rows, header_index, mapping["model_name"])
        if not listed:
            continue
        column = f"{column_letter(mapping['model_name'])} ({clean(rows[header_index][mapping['model_name']])})"
        log.add("second_model_sheet",
                f"Sheet «{name}» cũng có bảng mô hình ({len(listed)} mô hình, từ dòng {listed[0] + 1}) ngoài sheet "
                f"«{models_name}»; mỗi báo cáo chỉ có một danh sách mô hình: chép các mô hình cần báo cáo vào "
                f"sheet «{models_name}», xóa sheet «{name}» rồi gửi lại",
                f"sheet {name!r} holds a model table too ({len(listed)} models, from row {listed[0] + 1}) besides "
                f"sheet {models_name!r}; a report has one list of models: put every model to report on sheet "
                f"{models_name!r}, delete sheet {name!r} and send the file again",
                sheet=name, row=listed[0] + 1, column=column)


#: The "Thông tin" items that say whose report it is and for which period.
IDENTITY_ITEMS = ("unit_code", "period")


def _identity(item: str, value: object) -> str:
    """What an identity item says, written either way: a code as the unit lookup reads it
    (:func:`dvk.reference.unit_code_key`: 18076.0 is 18076), a period as "Quý I/2022" or "2022Q1"."""
    if item == "unit_code":
        return unit_code_key(value)
    try:
        return parse_period(value).period_id
    except (ValueError, TypeError):  # PeriodError included: compared as written
        return clean(str(value)).casefold()


def _refuse_conflicting_info_sheets(book: _Workbook, known: tuple[str | None, ...], info_name: str,
                                    info: dict[str, tuple[object, int, str]], log: ProblemLog) -> None:
    """A problem for another "Thông tin" sheet ("Thông tin (2)", what Excel names a copy, or
    "ThongTin" beside "Thông tin") that names another unit or period: whose report the file is is
    not guessed from the first sheet found. A copy that says the same (or names neither) is left
    alone; sheets under other names are never read as one (instructions may show an example code)."""
    for name in book.names:
        if name in known or not fold_compact(name).startswith(SHEET_INFO):
            continue
        other = read_info(book.rows(name))
        for item in IDENTITY_ITEMS:
            if item not in other or item not in info or other[item][0] is None or info[item][0] is None:
                continue
            value, row, column = other[item]
            if _identity(item, value) == _identity(item, info[item][0]):
                continue
            label = INFO_HEADERS[item]
            log.add("second_info_sheet",
                    f"Sheet «{name}» ghi {label} «{clean(str(value))}», khác sheet «{info_name}» "
                    f"(«{clean(str(info[item][0]))}»); mỗi tệp là báo cáo của một đơn vị cho một kỳ: giữ một sheet "
                    f"«{info_name}» đúng, xóa sheet «{name}» rồi gửi lại",
                    f"sheet {name!r} gives {label} {clean(str(value))!r}, not what sheet {info_name!r} gives "
                    f"({clean(str(info[item][0]))!r}); a file is one unit's report for one period: keep one "
                    f"right sheet {info_name!r}, delete sheet {name!r} and send the file again",
                    sheet=name, row=row, column=column)


def _where(rows: Sequence[Row], header_index: int, mapping: dict[str, int], columns: tuple[Column, ...]):
    """"C (Lĩnh vực)": the column's letter and its header as written in the file."""
    header = rows[header_index]
    names = {c.key: c.header for c in columns}

    def where(key: str) -> str:
        if key not in mapping:
            return names[key]
        ci = mapping[key]
        written = clean(header[ci]) if ci < len(header) else ""
        return f"{column_letter(ci)} ({written or names[key]})"

    return where


def unreadable_workbook(file_name: str, exc: BaseException, sheet: str | None = None) -> Problem:
    """The problem for a workbook calamine cannot read: a part larger than the zip declares is a
    zip bomb in disguise (calamine stops at the declared size); anything else a corrupt file."""
    if "larger than its declared" in str(exc):
        return Problem(file_name, "zip_bomb",
                       "Tệp nén khai sai kích thước (giải ra lớn hơn khai báo): từ chối mở",
                       f"refused: a part of the workbook expands beyond its declared size (zip bomb?): {exc}",
                       sheet=sheet)
    return Problem(file_name, "not_xlsx", "Không mở được bảng tính: tệp bị hỏng hoặc không phải tệp Excel .xlsx",
                   f"cannot open the workbook: the file is corrupt or not an .xlsx workbook ({exc})", sheet=sheet)


def parse_xlsx(data: bytes, file_name: str, *, units: UnitDirectory, fields: FieldDirectory,
               today: dt.date) -> ParsedSubmission:
    """One workbook → one submission, or :class:`SubmissionError` with every problem found."""
    reader = FormReader(file_name, units, fields, today)
    log = reader.log
    try:
        book = _Workbook(data, file_name)
    except SubmissionError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine's errors, a Rust panic included: a corrupt or foreign file
        raise SubmissionError([unreadable_workbook(file_name, exc)]) from exc

    info_name = book.find(SHEET_INFO)
    totals_name = book.find(SHEET_TOTALS)
    models_name = book.find(SHEET_MODELS)
    model_header: tuple[int, dict[str, int]] | None = None
    if models_name is not None:
        model_header = find_header(book.rows(models_name), MODEL_COLUMNS)
    else:  # another name: the sheet that holds the model table
        for name in book.names:
            if name in (info_name, totals_name):
                continue
            found = find_header(book.rows(name), MODEL_COLUMNS)
            if found is not None and all(c.key in found[1] for c in MODEL_COLUMNS if c.required):
                models_name, model_header = name, found
                break
    sheets_vi = ", ".join(f"«{n}»" for n in book.names)
    sheets_en = ", ".join(repr(n) for n in book.names)
    if models_name is not None:
        _refuse_other_model_tables(book, (info_name, totals_name, models_name), models_name, log)
    if models_name is None:
        log.add("missing_sheet", f"Không có sheet «Mô hình» (các sheet trong tệp: {sheets_vi})",
                f"sheet 'Mô hình' is missing (sheets in the file: {sheets_en})", sheet="Mô hình")

    # -- Thông tin (or, failing that, the rows above the model table)
    info: dict[str, tuple[object, int, str]] = {}
    info_sheet = info_name
    scopes: dict[str, Scope] = {}  # where the parser read cells: formula cells there must have values
    if info_name is not None:
        scopes[info_name] = None
    if info_name is not None:
        info = read_info(book.rows(info_name))
        _refuse_conflicting_info_sheets(book, (info_name, totals_name, models_name), info_name, info, log)
    elif models_name is not None:
        info = read_info(book.rows(models_name), limit=model_header[0] if model_header else HEADER_SEARCH_ROWS)
        info_sheet = models_name
    if not info and info_name is not None:
        log.add("missing_info",
                f"Sheet «{info_name}» không có mục nào cần thiết (Mã đơn vị, Tên đơn vị, Kỳ báo cáo, Ngày báo cáo)",
                f"sheet {info_name!r} holds none of the items (Mã đơn vị, Tên đơn vị, Kỳ báo cáo, Ngày báo cáo)",
                sheet=info_name)
        head = None
    elif not info:
        log.add("missing_sheet", f"Không có sheet «Thông tin» (các sheet trong tệp: {sheets_vi})",
                f"sheet 'Thông tin' is missing (sheets in the file: {sheets_en})", sheet="Thông tin")
        head = None
    else:
        head = reader.head(info, info_sheet)

    # -- Mô hình
    lines = []
    skipped: list[tuple[str, int, str]] = []
    if models_name is not None:
        rows = book.rows(models_name)
        if model_header is None:
            log.add("missing_header",
                    "Không tìm thấy dòng tiêu đề của bảng mô hình (STT, Tên mô hình, Lĩnh vực, Hình thức, ...) "
                    f"trong {HEADER_SEARCH_ROWS} dòng đầu",
                    "no header row of the model table (STT, Tên mô hình, Lĩnh vực, Hình thức, ...) in the first "
                    f"{HEADER_SEARCH_ROWS} rows", sheet=models_name)
        else:
            header_index, mapping = model_header
            if not reader.missing_columns(models_name, MODEL_COLUMNS, mapping, header_index + 1):
                where = _where(rows, header_index, mapping, MODEL_COLUMNS)
                scopes[models_name] = (header_index, mapping, where)
                _fill_merged_down(rows, book.merged.get(models_name, ()), header_index, mapping)
                # No model row at all is a valid report: the unit has no model this period.
                lines = reader.model_lines(models_name, rows, header_index + 1, mapping, where, skipped,
                                           header=rows[header_index])

    # -- Tổng hợp (optional)
    totals = []
    has_totals = False
    if totals_name is not None:
        rows = book.rows(totals_name)
        if any(not is_blank(c) for row in rows for c in row):
            has_totals = True
            found = find_header(rows, TOTAL_COLUMNS)
            if found is None:
                log.add("missing_header",
                        "Không tìm thấy dòng tiêu đề của bảng tổng hợp (Lĩnh vực, Tổng số mô hình, Xây mới, "
                        "Nhân rộng)",
                        "no header row of the totals table (Lĩnh vực, Tổng số mô hình, Xây mới, Nhân rộng)",
                        sheet=totals_name)
            else:
                header_index, mapping = found
                if not reader.missing_columns(totals_name, TOTAL_COLUMNS, mapping, header_index + 1):
                    where = _where(rows, header_index, mapping, TOTAL_COLUMNS)
                    scopes[totals_name] = (header_index, mapping, where)
                    totals = reader.declared_totals(totals_name, rows, header_index + 1, mapping, where)

    report_bad_formulas(log, book.bad_formulas, scopes, book.computed)
    log.raise_if_any()
    assert head is not None
    return ParsedSubmission(file_format="xlsx", models=lines, totals=totals, has_declared_totals=has_totals,
                            skipped_rows=skipped, warnings=reader.warnings, **head)
