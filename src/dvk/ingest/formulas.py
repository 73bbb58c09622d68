"""Formula cells that python-calamine would read as blanks: no cached value, or an error value.

python-calamine returns a formula cell's cached (last computed) value. A workbook written by a
program that does not compute formulas (openpyxl, some exports) has formula cells with no cached
value, and a formula that failed (``#DIV/0!``, ``#REF!``) is cached as an error: calamine gives an
empty string for both, which the ingest would read as a blank and silently lose. This module looks
at the sheets' XML for such cells, so that the parser can report them as problems with their sheet,
row and column.

The cost is one inflate of each worksheet part; the cell-by-cell scan only runs on a sheet that
holds a formula or an error at all.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from dvk.ingest import ooxml
from dvk.ingest.budget import WorkbookParts, sheet_names_from_xml
from dvk.ingest.problems import ProblemLog

def _has_markers(xml: bytes) -> bool:
    """Might the sheet hold a formula or an error cell? (plain substring tests: fast)"""
    # "f>" ends every formula element (<f>, </f>, </x:f>); a sheet with only self-closing shared
    # formulas (<f t="shared" si="0"/>) also holds their master, which ends with </f>.
    return b"f>" in xml or b'"e"' in xml
# A cell's opener (group 2: "/" when self-closing) and its closing tag; [^<>] keeps each match to
# one tag, so that no pattern runs on past the tag it started in (linear time on any input).
_OPENER = re.compile(rb"<(?:\w+:)?c\b([^<>]*?)(/?)>")
_CLOSE = re.compile(rb"</(?:\w+:)?c>")
_REF = re.compile(rb"\br=\"([A-Z]{1,3})(\d+)\"")
_TYPE = re.compile(rb"\bt=\"(\w+)\"")
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")  # a value holds no "<": linear
_FORMULA_TEXT = re.compile(rb"<(?:\w+:)?f\b[^<>]*>([^<]*)</(?:\w+:)?f>")  # none for a shared one's copy


@dataclass(frozen=True)
class BadCell:
    row: int  # 1-based
    column: int  # 0-based
    ref: str  # "G5"
    error: str | None  # "#DIV/0!" for an error value; None for a formula with no cached value
    formula: str | None = None  # a formula with no cached value: its text ("SUM(B2:B5)"), if written out


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part name ("xl/worksheets/sheet1.xml") → sheet name, from workbook.xml and its rels."""
    try:
        book = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    return sheet_names_from_xml(book, rels)


def worksheet_parts(data: bytes) -> dict[str, bytes] | None:
    """The inflated ``xl/worksheets/*.xml`` parts, read straight from the zip's central directory
    (a few microseconds, without :mod:`zipfile`); None when the zip cannot be read that way (zip64,
    another compression method): the caller then falls back to :mod:`zipfile`."""
    directory = ooxml.central_directory(data)
    if directory is None:
        return None
    parts: dict[str, bytes] = {}
    for entry in directory:
        if not (entry.name.startswith("xl/worksheets/") and entry.name.endswith(".xml")):
            continue
        xml = ooxml.inflate(data, entry)
        if xml is None or len(xml) > entry.usize:
            return None  # another method, damage, or larger than declared: the guard and calamine decide
        parts[entry.name] = xml
    return parts


def _scan_cells(xml: bytes) -> list[BadCell]:
    """The bad formula cells of one worksheet part, in one linear pass.

    Each cell's content is looked for only between its opener and the next cell's opener (cells do
    not nest), so that an opener without its closing tag (a comment holding 200,000 ``<c>``) costs
    its own bytes, never the rest of the part."""
    cells: list[BadCell] = []
    previous = None
    for m in _OPENER.finditer(xml):  # each opener is judged once the next one is found
        if previous is not None:
            _judge(xml, previous, m.start(), cells)
        previous = m
    if previous is not None:
        _judge(xml, previous, len(xml), cells)
    return cells


def _judge(xml: bytes, m: re.Match, stop: int, cells: list[BadCell]) -> None:
    """Add the cell opened by ``m`` (its content ends before ``stop``) if it is a bad formula cell."""
    attrs = m.group(1)
    inner = b""
    if not m.group(2):  # not self-closing: its content runs to </c>, before the next opener
        close = _CLOSE.search(xml, m.end(), stop)
        if close is None:
            return  # not a cell (a comment, a broken part): calamine reads nothing there
        inner = xml[m.end():close.start()]
    kind = _TYPE.search(attrs)
    kind = kind.group(1) if kind else b"n"
    value = _VALUE.search(inner) if inner else None
    if kind == b"e":
        error = value.group(1).decode("utf-8", "replace").strip() if value else "#ERROR"
    elif inner and _FORMULA.search(inner) and (value is None or (not value.group(1).strip() and kind != b"str")):
        error = None
    else:
        return
    ref = _REF.search(attrs)
    if ref is None:
        return  # a cell without its address: cannot be placed (writers always give it)
    letters, row = ref.group(1).decode(), int(ref.group(2))
    text = _FORMULA_TEXT.search(inner) if error is None else None
    formula = html.unescape(text.group(1).decode("utf-8", "replace")) if text else None
    cells.append(BadCell(row=row, column=_column_index(letters), ref=f"{letters}{row}", error=error,
                         formula=formula))


def bad_formula_cells(data: bytes, parts: WorkbookParts | None = None) -> dict[str, list[BadCell]]:
    """Sheet name → its formula cells with no cached value and its error cells (none: ``{}``).

    ``parts``: the workbook's parts already inflated by :func:`dvk.ingest.budget.check_workbook`."""
    if parts is not None:
        flagged = {name: xml for name, xml in parts.worksheets().items() if _has_markers(xml)}
        if not flagged:
            return {}
        names = parts.names
    else:
        sheets = worksheet_parts(data)
        if sheets is not None:
            flagged = {name: xml for name, xml in sheets.items() if _has_markers(xml)}
            if not flagged:
                return {}
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            return {}
        with zf:
            if sheets is None:
                flagged = {}
                for info in zf.infolist():
                    name = info.filename
                    if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                        xml = zf.read(info)
                        if _has_markers(xml):
                            flagged[name] = xml
                if not flagged:
                    return {}
            names = _sheet_parts(zf)
    out: dict[str, list[BadCell]] = {}
    for part, xml in flagged.items():
        cells = _scan_cells(xml)
        if cells:
            out[names.get(part, part)] = cells
    return out


#: At most this many formula problems are listed per sheet (one broken column can hit every row).
MAX_PER_SHEET = 20
Scope = tuple[int, dict[str, int], Callable[[str], str]] | None


def report_bad_formulas(log: ProblemLog, bad: dict[str, list[BadCell]], scopes: dict[str, Scope],
                        computed: dict[str, set[tuple[int, int]]] | None = None) -> None:
    """Add a problem for each bad formula cell (``bad``: :func:`bad_formula_cells`) the parser read.

    ``scopes``: sheet name → None (every cell counts, e.g. "Thông tin"), or (0-based header row,
    column key → 0-based column, where(key) → "C (Lĩnh vực)") for a table: only the cells below the
    header in a column the parser uses count. ``computed``: sheet name → the (0-based row, column)
    of the formula cells whose value :mod:`dvk.ingest.formula_eval` computed (not problems).
    """
    computed = computed or {}
    for sheet, cells in bad.items():
        if sheet not in scopes:
            continue
        scope = scopes[sheet]
        listed = 0
        for cell in cells:
            if (cell.row - 1, cell.column) in computed.get(sheet, ()):
                continue
            if scope is None:
                where = cell.ref.rstrip("0123456789")
            else:
                header_index, mapping, where_of = scope
                if cell.row <= header_index + 1:
                    continue
                key = next((k for k, ci in mapping.items() if ci == cell.column), None)
                if key is None:
                    continue
                where = where_of(key)
            if cell.error is None:
                log.add("formula_no_value",
                        f"Ô {cell.ref} có công thức nhưng chưa có giá trị đã tính (tệp chưa được Excel tính lại): "
                        "hãy mở tệp bằng Excel, lưu lại rồi gửi",
                        f"cell {cell.ref} holds a formula with no computed value (the file was never "
                        "recalculated): open it in Excel, save it and send it again",
                        sheet=sheet, row=cell.row, column=where)
            else:
                log.add("formula_error",
                        f"Ô {cell.ref} có công thức bị lỗi ({cell.error}): hãy sửa công thức hoặc ghi số",
                        f"cell {cell.ref} holds a formula that failed ({cell.error}): fix it or type the value",
                        sheet=sheet, row=cell.row, column=where)
            listed += 1
            if listed >= MAX_PER_SHEET:
                break
