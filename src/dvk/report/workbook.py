"""The annual workbook for people, in Vietnamese (xlsxwriter), laid out as an office would.

Sheets: "Tổng quan" (the city's headline paragraph, key figures, provisional and missing units;
A4 portrait), "Theo lĩnh vực" and "Theo đơn vị" (tables with a totals row), "Biểu đồ" (native
charts over those tables: models by field as a pie, new versus replicated by unit as stacked bars;
A4 portrait, one chart a page), "Danh sách mô hình", "Đơn vị chưa báo cáo", "Theo địa giới hiện
nay" (2020 to the year on today's units, with the estimated and incomplete marks and their legend;
when the warehouse has the mart), and from the second published version on "Thay đổi so với bản
trước".

Every sheet: the title block (Ban Chỉ đạo "Dân vận khéo" thành phố Hà Tĩnh, the date of the data,
the version). Table sheets: frozen header rows, autofilter on the lists, A4 landscape fitted to
the page width with the header rows repeated on every page, a footer with the sheet name and
page number. Row heights are set from the text (neither Excel nor LibreOffice fits merged or
generated rows by itself); column widths fit the Vietnamese headers and values.

Safety: the workbook is opened with ``strings_to_formulas=False`` (and no URL or number
conversion) and every text is written with ``write_string``: a model named "=1+2" stays the text
"=1+2". The only formulas are the ``SUM`` of the totals rows, written with their values cached.

Reproducible: built in memory with fixed document properties (the data's date, not the clock);
the same content gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from dvk.report.data import AnnualData
from dvk.report.tables import KIND_VI, TOTAL_LABEL, Table, all_tables, provisional_basis
from dvk.report.versions import DETAIL_LABELS

SHEET_OVERVIEW = "Tổng quan"
SHEET_CHANGES = "Thay đổi so với bản trước"
SHEET_CHARTS = "Biểu đồ"
SHEETS = (SHEET_OVERVIEW, "Theo lĩnh vực", "Theo đơn vị", SHEET_CHARTS, "Danh sách mô hình",
          "Đơn vị chưa báo cáo")

ORG_LINE_1 = "BAN CHỈ ĐẠO \"DÂN VẬN KHÉO\""
ORG_LINE_2 = "THÀNH PHỐ HÀ TĨNH"
FONT = "Times New Roman"
NUM_FORMATS = {"int": "#,##0", "dec": "#,##0.0", "date": "dd/mm/yyyy"}
PROVISIONAL_FILL = "#FFF2CC"
#: A list sheet ("Danh sách mô hình", "Đơn vị chưa báo cáo", "Theo địa giới hiện nay") with more
#: rows than this is not laid out cell by cell: the sheet keeps its place, title block and column
#: titles and says how many rows the list has and which CSV extract beside the workbook holds them
#: all (the extract always holds every row). A city or a province lists a few thousand models at
#: most; the whole country about 165,000, which no one reads or prints as a sheet and which took
#: most of a national report's minute to write (docs/benchmarks.md, "The national report").
WORKBOOK_LIST_MAX_ROWS = 20_000


def workbook_name(year: int) -> str:
    return f"bao-cao-dan-van-kheo-{int(year)}.xlsx"


@dataclass(frozen=True)
class Meta:
    """What the workbook says about itself: its version and the date of its data."""

    version: int = 1
    data_as_of: datetime | None = None        # local time (Asia/Ho_Chi_Minh) of the newest source
    changes: dict[str, Any] | None = None     # changes.json of this version (None or first: no sheet)

    @property
    def as_of_text(self) -> str:
        return self.data_as_of.strftime("%d/%m/%Y") if self.data_as_of else ""


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self._cache: dict[tuple, Any] = {}
        self._cells: dict[tuple[str, str], Any] = {}

    def get(self, **props: Any) -> Any:
        props = {"font_name": FONT, "font_size": 12, "valign": "vcenter", **props}
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self.wb.add_format(props)
        return self._cache[key]

    # named styles
    def cell(self, kind: str, style: str = "") -> Any:
        """The format of a table cell (cached: looked up once per cell of every table)."""
        key = (kind, style)
        fmt = self._cells.get(key)
        if fmt is None:
            fmt = self._cells[key] = self._cell(kind, style)
        return fmt

    def _cell(self, kind: str, style: str) -> Any:
        props: dict[str, Any] = {"border": 1}
        if kind in NUM_FORMATS:
            props["num_format"] = NUM_FORMATS[kind]
        if kind in {"code", "flag", "date"}:
            props["align"] = "center"
        if kind == "text":
            props["text_wrap"] = True
        if style == "total":
            props.update(bold=True, bg_color="#F2F2F2")
        elif style == "prov":
            props["bg_color"] = PROVISIONAL_FILL
        return self.get(**props)

    @property
    def head(self) -> Any:
        return self.get(bold=True, border=1, align="center", text_wrap=True, bg_color="#DDEBF7")

    @property
    def title(self) -> Any:
        return self.get(bold=True, font_size=14, align="center", text_wrap=True)

    @property
    def org(self) -> Any:
        return self.get(bold=True, align="center")

    @property
    def aside(self) -> Any:
        return self.get(italic=True, align="center")

    @property
    def section(self) -> Any:
        return self.get(bold=True)

    @property
    def para(self) -> Any:
        return self.get(text_wrap=True, valign="top", align="justify")

    @property
    def note(self) -> Any:
        return self.get(italic=True, font_size=11, text_wrap=True, valign="top")


# ---- layout helpers ------------------------------------------------------------------------


def _text_width(value: Any, kind: str) -> float:
    if value is None:
        return 0
    if kind == "int" and isinstance(value, (int, float)):
        return len(f"{value:,.0f}") + 2
    if kind == "dec" and isinstance(value, (int, float)):
        return len(f"{value:,.1f}") + 2
    if kind == "date":
        return 12
    return max((len(line) for line in str(value).splitlines()), default=0) + 2


#: Characters ``str.splitlines`` breaks a line at.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _data_width(values: list[Any], kind: str) -> float:
    """``max(_text_width(v, kind) for v in values)``, without a call per value where a column
    allows: a formatted number's or an integer's text grows with its size (the widest is the
    largest or the most negative; not so ``str`` of a float, 0.1 against 0.30000000000000004),
    a text without line breaks is as wide as it is long. A national unit table has 150,000 cells."""
    numbers = [v for v in values if v.__class__ is int or v.__class__ is float]
    texts = [v for v in values if v.__class__ is str]
    others = [v for v in values if v.__class__ not in (int, float, str)]
    widest = max((_text_width(v, kind) for v in others), default=0)
    if numbers and (kind in {"int", "dec"} or float not in set(map(type, numbers))):
        total = sum(numbers)
        if total.__class__ is int or math.isfinite(total):  # no NaN or infinity (their text is short)
            numbers = [min(numbers), max(numbers)]
    widest = max(widest, max((_text_width(v, kind) for v in numbers), default=0))
    if texts and kind != "date" and not _LINE_BREAKS.search("".join(texts)):
        return max(widest, max(map(len, texts)) + 2)
    return max(widest, max((_text_width(v, kind) for v in texts), default=0))


def _column_widths(table: Table) -> list[float]:
    """Widths (Excel character units) that fit Vietnamese text: a header wraps on at most about
    three lines and never inside a word; a text column wraps past its ``max_width``; numbers fit."""
    widths = []
    rows = table.rows if table.total is None else [*table.rows, table.total]
    for i, col in enumerate(table.columns):
        longest_word = max((len(w) for w in col.title.split()), default=4)
        if len(col.title) <= 12:
            header = len(col.title) + 2.0
        else:
            header = max(longest_word + 2, min(len(col.title) / 3 + 2, col.max_width))
        data = _data_width([row[i] for row in rows], col.kind)
        if col.kind == "text":
            data = min(data, col.max_width)
        widths.append(round(max(header, data, 5.0), 1))
    return widths


#: Points per line of 12 pt Times New Roman (Excel's own row height for that font is 15.75).
LINE_PT = 16.0


def _wrapped_lines(text: Any, width: float, bold: bool = False) -> int:
    """How many lines ``text`` takes in a wrapped cell ``width`` characters wide (greedy word
    wrap; a character of 12 pt Times New Roman is about one width unit)."""
    if text is None or text == "":
        return 1
    capacity = max((width - 1.5) * (0.9 if bold else 1.0), 3.0)
    lines = 0
    for part in str(text).split("\n"):
        used, count = 0.0, 1
        for word in part.split():
            n = len(word)
            if used == 0:
                used = n
            elif used + 1 + n <= capacity:
                used += 1 + n
            else:
                count += 1
                used = n
            while used > capacity:  # a word longer than the line breaks anywhere
                count += 1
                used -= capacity
        lines += count
    return max(lines, 1)


def _paragraph(ws, f: _Formats, row: int, first: int, last: int, text: str, width: float,
               fmt: Any = None, line_pt: float = LINE_PT) -> None:
    """A wrapped paragraph in merged cells; the row height is set for the text (merged cells are
    never auto-fitted, neither by Excel nor by LibreOffice)."""
    fmt = fmt or f.para
    if last > first:
        ws.merge_range(row, first, row, last, text, fmt)
    else:
        ws.write_string(row, first, text, fmt)
    ws.set_row(row, line_pt * _wrapped_lines(text, width) + 5)


def _split(widths: list[float]) -> int:
    """The last column of the left half of the title block (about 45% of the width)."""
    total, acc = sum(widths), 0.0
    for i, w in enumerate(widths[:-1]):
        acc += w
        if acc >= 0.45 * total:
            return i
    return max(0, len(widths) - 2)


def _span(ws, row: int, first: int, last: int, text: str, fmt: Any) -> None:
    if last > first:
        ws.merge_range(row, first, row, last, text, fmt)
    else:
        ws.write_string(row, first, text, fmt)


def _title_block(ws, f: _Formats, widths: list[float], title: str, meta: Meta) -> int:
    """Rows 0-3: the issuing body on the left, the data's date and version on the right, then the
    title. Returns the first free row (after one blank row)."""
    last = len(widths) - 1
    mid = _split(widths)
    _span(ws, 0, 0, mid, ORG_LINE_1, f.org)
    _span(ws, 1, 0, mid, ORG_LINE_2, f.org)
    right_1 = f"Số liệu tính đến ngày {meta.as_of_text}" if meta.as_of_text else ""
    _span(ws, 0, mid + 1, last, right_1, f.aside)
    _span(ws, 1, mid + 1, last, f"Phiên bản {meta.version}", f.aside)
    _span(ws, 2, 0, mid, "———", f.org)
    _paragraph(ws, f, 3, 0, last, title, sum(widths) * 0.85, f.title, line_pt=20)
    return 5


def _page_setup(ws, year: int, header_rows: tuple[int, int] | None) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
    if header_rows is not None:
        ws.repeat_rows(*header_rows)
    ws.set_footer(f"&L&\"{FONT},Italic\"&9Báo cáo Dân vận khéo năm {year} - &A"
                  f"&R&\"{FONT},Italic\"&9Trang &P/&N")


def _write_value_as(ws, row: int, col: int, value: Any, kind: str, fmt: Any) -> None:
    """One cell of ``kind`` in format ``fmt``: numbers as numbers, dates as dates, every text
    with ``write_string`` (never a formula)."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif kind in {"int", "dec"} and isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, float(value) if kind == "dec" else int(value), fmt)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, fmt)
    elif kind == "date" and isinstance(value, (date, datetime)):
        dt = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        ws.write_datetime(row, col, dt, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _write_row(ws, row: int, values: list[Any], kinds: list[str], formats: list[Any]) -> None:
    """A table row, as :func:`_write_value` writes each cell (``formats``: each column's cell
    format in the row's style), the common values without its look-ups: a national unit table has
    150,000 cells."""
    write_number, write_string, write_blank = ws.write_number, ws.write_string, ws.write_blank
    for i, value in enumerate(values):
        cls = value.__class__
        if cls is str:
            if value:
                write_string(row, i, value, formats[i])
            else:
                write_blank(row, i, None, formats[i])
        elif cls is int or cls is float:
            kind = kinds[i]
            write_number(row, i, float(value) if kind == "dec" else int(value) if kind == "int" else value,
                         formats[i])
        elif value is None:
            write_blank(row, i, None, formats[i])
        else:  # dates, flags, anything else
            _write_value_as(ws, row, i, value, kinds[i], formats[i])


def _write_value(ws, f: _Formats, row: int, col: int, value: Any, kind: str, style: str = "") -> None:
    _write_value_as(ws, row, col, value, kind, f.cell(kind, style))


@dataclass
class _Placed:
    header_top: int
    header_bottom: int
    first: int        # first data row
    last: int         # last data row (first - 1 when empty)
    total: int | None
    end: int          # first free row after the table and its note


def _write_table(ws, f: _Formats, table: Table, top: int, widths: list[float], year: int,
                 freeze_cols: int = 0, autofilter: bool = True) -> _Placed:
    ncols = len(table.columns)
    grouped = any(c.group for c in table.columns)
    bottom = top + 1 if grouped else top
    c = 0
    while c < ncols:
        col = table.columns[c]
        if not grouped:
            ws.write_string(top, c, col.title, f.head)
            c += 1
            continue
        if not col.group:
            ws.merge_range(top, c, bottom, c, col.title, f.head)
            c += 1
            continue
        end = c
        while end + 1 < ncols and table.columns[end + 1].group == col.group:
            end += 1
        _span(ws, top, c, end, col.group, f.head)
        for k in range(c, end + 1):
            ws.write_string(bottom, k, table.columns[k].title, f.head)
        c = end + 1
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    # header heights: merged and wrapped cells are never auto-fitted, so they are set here
    title_lines = {i: _wrapped_lines(c.title, widths[i], bold=True) for i, c in enumerate(table.columns)}
    if grouped:
        group_h = LINE_PT + 6
        low = max([title_lines[i] for i, c in enumerate(table.columns) if c.group] or [1]) * LINE_PT + 6
        tall = max([title_lines[i] for i, c in enumerate(table.columns) if not c.group] or [1]) * LINE_PT + 6
        ws.set_row(top, group_h)
        ws.set_row(bottom, max(low, tall - group_h))
    else:
        ws.set_row(top, max(title_lines.values()) * LINE_PT + 6)

    first = row = bottom + 1
    kinds = [col.kind for col in table.columns]
    formats = {style: [f.cell(kind, style) for kind in kinds] for style in ("", "prov")}
    texts = [i for i, kind in enumerate(kinds) if kind == "text"]
    for values, provisional in zip(table.rows, table.provisional or [False] * len(table.rows)):
        _write_row(ws, row, values, kinds, formats["prov" if provisional else ""])
        lines = max((_wrapped_lines(values[i], widths[i]) for i in texts), default=1)
        ws.set_row(row, lines * LINE_PT + 3)
        row += 1
    last = row - 1
    if not table.rows and table.empty_text:
        _span(ws, row, 0, ncols - 1, table.empty_text, f.cell("text"))
        row += 1

    total_row = None
    if table.total is not None:
        total_row = row
        ws.set_row(row, LINE_PT + 4)
        for i, (col, value) in enumerate(zip(table.columns, table.total)):
            fmt = f.cell(col.kind if col.kind in {"int", "dec"} else "text", "total")
            if col.total == "sum" and table.rows and isinstance(value, (int, float)):
                rng = f"{xl_rowcol_to_cell(first, i)}:{xl_rowcol_to_cell(last, i)}"
                ws.write_formula(row, i, f"=SUM({rng})", fmt, value)
            elif col.total == "label":
                ws.write_string(row, i, TOTAL_LABEL, fmt)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                ws.write_number(row, i, value, fmt)
            else:
                ws.write_blank(row, i, None, fmt)
        row += 1

    if table.note:
        row += 1
        _paragraph(ws, f, row, 0, ncols - 1, table.note, sum(widths), f.note, line_pt=15)
        row += 1

    ws.freeze_panes(bottom + 1, freeze_cols)
    if autofilter and table.rows:
        ws.autofilter(bottom, 0, last, ncols - 1)
    _page_setup(ws, year, (top, bottom))
    return _Placed(top, bottom, first, last, total_row, row + 1)


# ---- sheets --------------------------------------------------------------------------------


def _overview(wb, f: _Formats, data: AnnualData, summary: dict[str, Any], meta: Meta) -> None:
    ws = wb.add_worksheet(SHEET_OVERVIEW)
    widths = [60.0, 16.0, 16.0]
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    ws.hide_gridlines(2)
    row = _title_block(
        ws, f, widths,
        f"BÁO CÁO KẾT QUẢ PHONG TRÀO THI ĐUA \"DÂN VẬN KHÉO\" NĂM {data.year}", meta,
    )
    text_width = sum(widths)

    ws.write_string(row, 0, "I. KẾT QUẢ CHUNG", f.section)
    row += 1
    _paragraph(ws, f, row, 0, 2, summary["headline_vi"], text_width)
    row += 2

    for i, title in enumerate(("Chỉ tiêu", "Số liệu", "Đơn vị tính")):
        ws.write_string(row, i, title, f.head)
    row += 1
    figures = [
        ("Số địa phương, cơ quan, đơn vị đăng ký xây dựng mô hình", summary["units_registered"], "int", "đơn vị"),
        ("Tổng số mô hình \"Dân vận khéo\"", summary["models_total"], "int", "mô hình"),
        ("Trong đó: xây mới", summary["models_new"], "int", "mô hình"),
        ("Trong đó: nhân rộng, duy trì", summary["models_replicated"], "int", "mô hình"),
        ("Số lĩnh vực có mô hình", summary["fields_registered"], "int", "lĩnh vực"),
        ("Số hộ tham gia", summary["households"], "int", "hộ"),
        ("Kinh phí huy động", summary["funds_million_vnd"], "dec", "triệu đồng"),
        ("Ngày công", summary["labour_days"], "int", "ngày công"),
        ("Đất hiến", summary["land_m2"], "dec", "m2"),
        ("Đơn vị phải báo cáo trong năm", summary["units_expected"], "int", "đơn vị"),
        ("Đơn vị đã gửi báo cáo năm", summary["units_reported"], "int", "đơn vị"),
        ("Đơn vị tạm tính (chưa có báo cáo năm)", summary["units_provisional"], "int", "đơn vị"),
        ("Đơn vị chưa báo cáo", summary["units_missing"], "int", "đơn vị"),
    ]
    for label, value, kind, unit in figures:
        style = "prov" if label.startswith("Đơn vị tạm tính") and value else ""
        _write_value(ws, f, row, 0, label, "text", style)
        _write_value(ws, f, row, 1, value, kind, style)
        _write_value(ws, f, row, 2, unit, "code", style)
        row += 1
    row += 1

    ws.write_string(row, 0, "II. ĐƠN VỊ TẠM TÍNH VÀ ĐƠN VỊ CHƯA BÁO CÁO", f.section)
    row += 1
    prov_lines = [
        f"- {s['unit_name'] or s['unit_code']} ({s['unit_code']}): {provisional_basis(s)}"
        + (", đơn vị mới chưa gửi báo cáo của năm." if s.get("figures_source") == "predecessors" else ".")
        for s in data.provisional
    ]
    missing_lines = [f"- {s['unit_name'] or s['unit_code']} ({s['unit_code']})." for s in data.missing]
    blocks = [
        ("Đơn vị tạm tính (chưa có báo cáo năm; số liệu lấy từ báo cáo gần nhất trong năm):",
         prov_lines, f.get(text_wrap=True, valign="top", bg_color=PROVISIONAL_FILL) if prov_lines else f.para),
        ("Đơn vị chưa báo cáo (không có báo cáo nào trong năm):", missing_lines, f.para),
    ]
    for heading, lines, fmt in blocks:
        _paragraph(ws, f, row, 0, 2, heading, text_width)
        row += 1
        for line in lines or ["- Không có."]:
            _paragraph(ws, f, row, 0, 2, line, text_width, fmt)
            row += 1
    row += 1

    ws.write_string(row, 0, "III. GHI CHÚ", f.section)
    row += 1
    notes = [
        "Số liệu năm của mỗi đơn vị lấy từ báo cáo năm mới nhất được chấp nhận; đơn vị chưa có báo "
        "cáo năm được tính theo báo cáo gần nhất trong năm và đánh dấu \"Tạm tính\" (tô màu vàng).",
        "Số liệu đã qua kiểm tra chất lượng: số tổng hợp khai báo khớp với danh sách mô hình, "
        "xây mới + nhân rộng = tổng số, kho dữ liệu khớp với báo cáo gốc.",
        f"Số liệu tính đến ngày {meta.as_of_text} (ngày nhận báo cáo mới nhất được dùng). "
        f"Phiên bản {meta.version}"
        + (f"; thay thế phiên bản {meta.version - 1}, xem sheet \"{SHEET_CHANGES}\"."
           if meta.version > 1 and meta.changes else "."),
    ]
    if data.today is not None:
        notes.append(
            "Sheet \"Theo địa giới hiện nay\": số liệu các năm từ 2020 đến nay tính lại theo các đơn vị "
            "hành chính hiện nay (đánh dấu \"Ước tính\" và \"Chưa đầy đủ\", xem ghi chú dưới bảng); "
            "các bảng khác giữ số liệu theo địa giới của năm báo cáo.")
    for note in notes:
        _paragraph(ws, f, row, 0, 2, note, text_width, f.note, line_pt=15)
        row += 1
    _page_setup(ws, data.year, None)
    ws.set_portrait()  # a page of text: portrait, as the office prints it


def _table_sheet(wb, f: _Formats, data: AnnualData, table: Table, meta: Meta,
                 freeze_cols: int = 0, autofilter: bool = True) -> _Placed:
    ws = wb.add_worksheet(table.sheet)
    widths = _column_widths(table)
    top = _title_block(ws, f, widths, table.title, meta)
    return _write_table(ws, f, table, top, widths, data.year, freeze_cols=freeze_cols,
                        autofilter=autofilter)


def _vn_int(value: int) -> str:
    """1.234.567: the thousands separator Vietnamese text uses."""
    return f"{int(value):,}".replace(",", ".")


def _list_in_csv_sheet(wb, f: _Formats, data: AnnualData, table: Table, meta: Meta) -> None:
    """A list too long for a sheet (``WORKBOOK_LIST_MAX_ROWS``): the title block, a paragraph
    naming the CSV extract that holds every row, and the list's column titles."""
    from dvk.report.extracts import csv_name

    ws = wb.add_worksheet(table.sheet)
    widths = [34.0, 60.0]
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    ws.hide_gridlines(2)
    row = _title_block(ws, f, widths, table.title, meta)
    name = csv_name(table, data.year)
    text = (
        f"Danh sách có {_vn_int(len(table.rows))} dòng, quá dài để trình bày và in trong sổ tính này "
        f"(tối đa {_vn_int(WORKBOOK_LIST_MAX_ROWS)} dòng). Toàn bộ danh sách ở tệp \"{name}\" cùng thư "
        "mục với báo cáo (mở bằng Excel; các cột như dưới đây)."
        f" / The list has {len(table.rows):,} rows, more than a sheet of this workbook shows "
        f"({WORKBOOK_LIST_MAX_ROWS:,}); every row is in \"{name}\" beside the workbook."
    )
    _paragraph(ws, f, row, 0, 1, text, sum(widths))
    row += 2
    ws.write_string(row, 0, "Cột / column", f.head)
    ws.write_string(row, 1, "Tiêu đề trong tệp CSV / CSV header", f.head)
    for i, col in enumerate(table.columns, 1):
        ws.write_string(row + i, 0, f"{i}", f.cell("code"))
        ws.write_string(row + i, 1, col.csv_header, f.cell("text"))
    if table.note:
        _paragraph(ws, f, row + len(table.columns) + 2, 0, 1, table.note, sum(widths), f.note, line_pt=15)
    _page_setup(ws, data.year, None)
    ws.set_portrait()


def _list_sheet(wb, f: _Formats, data: AnnualData, table: Table, meta: Meta, **options: Any) -> None:
    if len(table.rows) > WORKBOOK_LIST_MAX_ROWS:
        _list_in_csv_sheet(wb, f, data, table, meta)
    else:
        _table_sheet(wb, f, data, table, meta, **options)


def _charts(wb, f: _Formats, data: AnnualData, by_field: tuple[Table, _Placed],
            by_unit: tuple[Table, _Placed], meta: Meta) -> None:
    """Sheet "Biểu đồ": the models by field (pie) on the first page, new versus replicated by
    unit (stacked bars) on the second. Native charts over the cells of the two table sheets."""
    ws = wb.add_worksheet(SHEET_CHARTS)
    widths = [9.0] * 9  # about 640 px: the width of an A4 portrait page, at 100 %
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    ws.hide_gridlines(2)
    top = _title_block(ws, f, widths, f"BIỂU ĐỒ KẾT QUẢ XÂY DỰNG MÔ HÌNH \"DÂN VẬN KHÉO\" NĂM {data.year}", meta)
    font = {"name": FONT, "size": 11}
    table, placed = by_field
    if table.rows:
        pie = wb.add_chart({"type": "pie"})
        pie.add_series({
            "name": "Số mô hình",
            "categories": [table.sheet, placed.first, 2, placed.last, 2],
            "values": [table.sheet, placed.first, 3, placed.last, 3],
            "data_labels": {"value": True, "percentage": True, "separator": "\n",
                            "position": "outside_end", "leader_lines": True,
                            "font": {"name": FONT, "size": 11, "bold": True}},
        })
        pie.set_title({"name": f"Số mô hình theo lĩnh vực (tổng số {_count(table.total, 3)})",
                       "name_font": {"name": FONT, "size": 13, "bold": True}})
        pie.set_legend({"position": "bottom", "font": font})
        pie.set_chartarea({"border": {"none": True}})
        pie.set_size({"width": 600, "height": 440})
        ws.insert_chart(top, 0, pie, {"x_offset": 5, "y_offset": 5})
    table, placed = by_unit
    if table.rows:
        second_page = top + 25
        ws.set_h_pagebreaks([second_page])
        bar = wb.add_chart({"type": "bar", "subtype": "stacked"})
        for col, name, colour in ((6, "Xây mới", "#2E75B6"), (7, "Nhân rộng", "#F4B183")):
            bar.add_series({
                "name": name,
                "categories": [table.sheet, placed.first, 2, placed.last, 2],
                "values": [table.sheet, placed.first, col, placed.last, col],
                "fill": {"color": colour},
                "gap": 50,
                "data_labels": {"value": True, "font": {"name": FONT, "size": 9}},
            })
        bar.set_title({"name": "Mô hình xây mới và nhân rộng theo đơn vị",
                       "name_font": {"name": FONT, "size": 13, "bold": True}})
        bar.set_y_axis({"reverse": True, "interval_unit": 1, "major_tick_mark": "none",
                        "num_font": {"name": FONT, "size": 8, "rotation": 0}})
        bar.set_x_axis({"name": "Số mô hình", "name_font": {"name": FONT, "size": 10, "bold": False},
                        "num_font": {"name": FONT, "size": 10}, "major_gridlines": {"visible": True}})
        # room on the left for the unit names on one line (LibreOffice skips labels that wrap)
        bar.set_plotarea({"layout": {"x": 0.36, "y": 0.1, "width": 0.6, "height": 0.8}})
        bar.set_legend({"position": "bottom", "font": font})
        bar.set_chartarea({"border": {"none": True}})
        bar.set_size({"width": 600, "height": min(940, max(360, 30 * len(table.rows) + 130))})
        ws.insert_chart(second_page, 0, bar, {"x_offset": 5, "y_offset": 5})
    ws.set_portrait()
    ws.set_paper(9)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
    ws.center_horizontally()
    ws.set_footer(f"&L&\"{FONT},Italic\"&9Báo cáo Dân vận khéo năm {data.year} - &A"
                  f"&R&\"{FONT},Italic\"&9Trang &P/&N")


def _count(row: list[Any] | None, i: int) -> str:
    value = row[i] if row and i < len(row) else None
    return f"{value:,}" if isinstance(value, int) else ""


HEADLINE_LABELS = {
    "units_registered": "Số đơn vị đăng ký xây dựng mô hình",
    "models_total": "Tổng số mô hình",
    "models_new": "Mô hình xây mới",
    "models_replicated": "Mô hình nhân rộng",
    "fields_registered": "Số lĩnh vực có mô hình",
    "households": "Số hộ tham gia",
    "funds_million_vnd": "Kinh phí huy động (triệu đồng)",
    "labour_days": "Ngày công",
    "land_m2": "Đất hiến (m2)",
}


def _changes(wb, f: _Formats, data: AnnualData, meta: Meta) -> None:
    ch = meta.changes or {}
    prev = ch.get("previous_version")
    ws = wb.add_worksheet(SHEET_CHANGES)
    widths = [22.0, 60.0, 16.0, 16.0]
    top = _title_block(ws, f, widths, f"NHỮNG THAY ĐỔI SO VỚI PHIÊN BẢN {prev}", meta)
    headers = ["Mục", "Nội dung", f"Phiên bản {prev}", f"Phiên bản {meta.version}"]
    for i, (h, w) in enumerate(zip(headers, widths)):
        ws.write_string(top, i, h, f.head)
        ws.set_column(i, i, w)
    rows: list[tuple[str, str, Any, Any, str]] = []
    for h in ch.get("headline") or []:
        kind = "dec" if isinstance(h["new"], float) or isinstance(h["old"], float) else "int"
        rows.append(("Số liệu chính", h["label_vi"], h["old"], h["new"], kind))
    for u in ch.get("units") or []:
        for key, label in (("total", "tổng số mô hình"), ("new", "xây mới"), ("replicated", "nhân rộng")):
            old = (u["old"] or {}).get(key, 0)
            new = (u["new"] or {}).get(key, 0)
            if old != new:
                rows.append(("Đơn vị", f"{u['name']} ({u['code']}): {label}", old, new, "int"))
        old_p = (u["old"] or {}).get("provisional")
        new_p = (u["new"] or {}).get("provisional")
        if u["old"] and u["new"] and old_p != new_p:
            rows.append(("Đơn vị", f"{u['name']} ({u['code']}): tình trạng",
                         "Tạm tính" if old_p else "Báo cáo năm", "Tạm tính" if new_p else "Báo cáo năm", "text"))
    for key, label in (("added", "Chưa báo cáo (mới)"), ("removed", "Đã báo cáo (trước chưa báo cáo)")):
        for code in (ch.get("missing_units") or {}).get(key, []):
            rows.append(("Đơn vị", f"{label}: {code}", None, None, "text"))

    def model_text(m: dict[str, Any]) -> str:
        kind = KIND_VI.get(m.get("model_kind"), m.get("model_kind"))
        return f"{m.get('unit_name') or m.get('unit_code')} ({m.get('unit_code')}) - {m.get('field_code')}, {kind}: {m.get('model_name')}"

    for m in ch.get("models_added") or []:
        rows.append(("Mô hình thêm", model_text(m), None, "Thêm", "text"))
    for m in ch.get("models_removed") or []:
        rows.append(("Mô hình bỏ", model_text(m), "Có", "Bỏ", "text"))
    for m in ch.get("models_changed") or []:
        for key, change in m["changes"].items():
            label = DETAIL_LABELS.get(key, key).split(" / ")[0]
            old, new = change["old"], change["new"]
            numeric = all(isinstance(v, (int, float)) or v is None for v in (old, new))
            kind = ("dec" if any(isinstance(v, float) for v in (old, new)) else "int") if numeric else "code"
            rows.append(("Mô hình sửa số liệu", f"{model_text(m['model'])} - {label}", old, new, kind))
    row = top + 1
    for section, item, old, new, kind in rows:
        _write_value(ws, f, row, 0, section, "text")
        _write_value(ws, f, row, 1, item, "text")
        _write_value(ws, f, row, 2, old if not isinstance(old, (date, datetime)) else old.isoformat(),
                     kind if kind != "text" else "code")
        _write_value(ws, f, row, 3, new if not isinstance(new, (date, datetime)) else new.isoformat(),
                     kind if kind != "text" else "code")
        ws.set_row(row, max(_wrapped_lines(item, widths[1]), _wrapped_lines(section, widths[0])) * LINE_PT + 3)
        row += 1
    if not rows:
        _span(ws, row, 0, 3, "Không có thay đổi về số liệu.", f.cell("text"))
        row += 1
    ws.freeze_panes(top + 1, 0)
    _page_setup(ws, data.year, (top, top))


def workbook_bytes(data: AnnualData, summary: dict[str, Any], meta: Meta | None = None,
                   tables: list[Table] | None = None) -> bytes:
    meta = meta or Meta(data_as_of=data.as_of)
    tables = tables or all_tables(data, summary)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {
        "in_memory": True,
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    })
    try:
        # xlsx stores the creation time in UTC ("Z"): the data's date, converted
        as_of = meta.data_as_of
        if as_of is not None and as_of.tzinfo is not None:
            as_of = as_of.astimezone(timezone.utc).replace(tzinfo=None)
        created = as_of or datetime(data.year, 12, 31)
        wb.set_properties({
            "title": f"Báo cáo phong trào thi đua \"Dân vận khéo\" năm {data.year}",
            "subject": f"Thành phố Hà Tĩnh, năm {data.year}, phiên bản {meta.version}",
            "author": "Ban Chỉ đạo \"Dân vận khéo\" thành phố Hà Tĩnh",
            "company": "Ban Chỉ đạo \"Dân vận khéo\" thành phố Hà Tĩnh",
            "comments": "Lập tự động từ kho dữ liệu Dân vận khéo (dvk)",
            "created": created,
        })
        f = _Formats(wb)
        by_field, by_unit, models, not_reported, *extra = tables
        _overview(wb, f, data, summary, meta)
        placed_field = _table_sheet(wb, f, data, by_field, meta, autofilter=False)
        placed_unit = _table_sheet(wb, f, data, by_unit, meta, freeze_cols=3)
        _charts(wb, f, data, (by_field, placed_field), (by_unit, placed_unit), meta)
        _list_sheet(wb, f, data, models, meta)
        _list_sheet(wb, f, data, not_reported, meta)
        for table in extra:  # "Theo địa giới hiện nay" (when the warehouse has the mart)
            _list_sheet(wb, f, data, table, meta, freeze_cols=4)
        if meta.version > 1 and meta.changes and meta.changes.get("previous_version"):
            _changes(wb, f, data, meta)
        wb.worksheets()[0].activate()
    finally:
        wb.close()
    return buf.getvalue()


def write_workbook(path: Path, data: AnnualData, summary: dict[str, Any], meta: Meta | None = None,
                   tables: list[Table] | None = None) -> Path:
    path.write_bytes(workbook_bytes(data, summary, meta, tables))
    return path


#: A workbook of more cells than this is written by a child process while the caller fingerprints
#: the content and writes the report's other files (:func:`start_workbook`,
#: ``dvk.report.build._start_workbook_early``): a national year (about 410,000 cells, 3 to 4 s of
#: xlsxwriter) beside its fingerprint, CSV and JSON files (about 4 s). Below it, forking costs more
#: than it saves: a city's or a province's workbook is written in the caller's process.
WORKBOOK_BACKGROUND_MIN_CELLS = 100_000


class WorkbookError(RuntimeError):
    """The child process writing the workbook failed; the message is its error."""


class PendingWorkbook:
    """A workbook being written: :meth:`wait` returns its path, or raises :class:`WorkbookError`."""

    def __init__(self, path: Path, process: Any = None, conn: Any = None) -> None:
        self.path, self._process, self._conn = path, process, conn

    def wait(self) -> Path:
        if self._process is None:
            return self.path
        process, conn = self._process, self._conn
        self._process = self._conn = None
        try:
            error = conn.recv()  # None: written; else the child's error
        except EOFError:  # the child died without a word (killed, out of memory)
            error = "the child process ended without an answer"
        finally:
            conn.close()
            process.join()
        if error is None and process.exitcode == 0 and self.path.is_file():
            return self.path
        raise WorkbookError(
            f"Không ghi được sổ tính {self.path.name} / the workbook {self.path.name} was not written: "
            f"{error or 'no file'} (exit code {process.exitcode})")

    def cancel(self) -> None:
        """Stop the child (the caller failed: its folder is about to be removed)."""
        if self._process is not None:
            self._process.terminate()
            self._process.join()
            self._conn.close()
            self._process = self._conn = None

    def discard(self) -> None:
        """Stop the child if it still runs and remove its file if it is still there (a workbook
        started before it was known to be needed, :func:`dvk.report.build.build_annual_report`)."""
        self.cancel()
        self.path.unlink(missing_ok=True)


def _write_in_child(conn: Any, write: Callable[[], Any]) -> None:
    try:
        write()
        conn.send(None)
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises
        conn.send(f"{type(error).__name__}: {error}")
    finally:
        conn.close()


def written_in_background(tables: list[Table]) -> bool:
    """Whether a workbook of these tables is large enough to be written by a child process
    (``WORKBOOK_BACKGROUND_MIN_CELLS``)."""
    return workbook_cells(tables) >= WORKBOOK_BACKGROUND_MIN_CELLS


def workbook_cells(tables: list[Table]) -> int:
    """About how many cells the workbook's tables take (a list longer than
    ``WORKBOOK_LIST_MAX_ROWS`` is not laid out: none of its rows count)."""
    return sum(len(t.rows) * len(t.columns) for t in tables if len(t.rows) <= WORKBOOK_LIST_MAX_ROWS)


def fork_workbook(path: Path, write: Callable[[], Any], *, name: str) -> PendingWorkbook | None:
    """Run ``write()``, which writes the workbook at ``path``, in a forked child process; None
    where the platform cannot fork (the caller then writes it in its own process). The child
    inherits what ``write`` reads (nothing is copied or pickled) and sends back only its error;
    call ``.wait()`` on the result before using the file."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_write_in_child, args=(send, write), name=name, daemon=True)
    try:
        process.start()
    except (AssertionError, OSError):  # a daemonic process may not have children; no memory to fork
        receive.close()
        return None
    finally:
        send.close()  # the child's end: this process keeps only the receiving one
    return PendingWorkbook(path, process, receive)


def start_workbook(path: Path, data: AnnualData, summary: dict[str, Any], meta: Meta | None = None,
                   tables: list[Table] | None = None) -> PendingWorkbook:
    """Write the workbook, in a forked child process when it is large
    (``WORKBOOK_BACKGROUND_MIN_CELLS``) and the platform forks (:func:`fork_workbook`: the same
    bytes as :func:`write_workbook`); call ``.wait()`` on the result before using the file."""
    tables = tables or all_tables(data, summary)
    if written_in_background(tables):
        pending = fork_workbook(path, lambda: write_workbook(path, data, summary, meta, tables),
                                name=f"dvk-workbook-{data.year}")
        if pending is not None:
            return pending
    return PendingWorkbook(write_workbook(path, data, summary, meta, tables))


__all__ = ["Meta", "SHEETS", "SHEET_CHANGES", "WORKBOOK_BACKGROUND_MIN_CELLS", "WORKBOOK_LIST_MAX_ROWS",
           "PendingWorkbook", "WorkbookError", "fork_workbook", "start_workbook", "workbook_bytes", "workbook_cells",
           "workbook_name", "write_workbook", "written_in_background"]
