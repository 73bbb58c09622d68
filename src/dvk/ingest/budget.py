"""A workbook's memory budget, checked on its XML before python-calamine opens it.

python-calamine builds a **dense** range for each sheet (every cell from A1 to the farthest one
holding a value) and reserves room for the shared strings the workbook declares. A 7 KB workbook
with one cell at ``XFD1048576`` asks for hundreds of GB and the process aborts (SIGABRT, not an
exception); at ``ZZ200000`` the reader panics (``pyo3_runtime.PanicException``, a
``BaseException``); a ``uniqueCount`` of four billion in ``sharedStrings.xml`` aborts at open. So,
before any dense read, :func:`check_workbook` reads every XML part of the zip (already known not to
be a bomb: :mod:`dvk.ingest.guard`) and finds how far each sheet reaches, the way calamine places
cells:

- a cell element with an ``r`` attribute sits there (``r="b2"`` is B2); one without sits right of
  the previous cell of its row, in the row its ``<row r=…>`` names (or the one after the previous
  row); self-closing ``<c …/>`` cells hold nothing and are skipped by the reader;
- the common case (every cell carries a plain ``r``, every tag well formed) is checked with a few
  substring counts and one linear regular expression over the part; anything else (cells without
  ``r``, odd attribute quoting, comments) with expat, which is linear too and refuses XML that is
  not well formed. Empty self-closing cells are counted too (the safe side).

Only the parts calamine may read as sheets or shared strings are inflated: the theme, the styles and
the document properties are skipped unless the workbook's relationships point at them.

Over :data:`MAX_SHEET_ROWS` rows, :data:`MAX_SHEET_COLUMNS` columns, :data:`MAX_SHEET_CELLS`
cells (rows × columns, counted from A1), or :data:`MAX_SHARED_STRINGS` declared shared strings,
the file is refused (``sheet_too_large``) with the sheet, row and column of the far cell. Every
scan here is linear in the size of the XML: no pattern can backtrack over the whole part.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from operator import itemgetter
from xml.parsers import expat

from dvk.ingest import ooxml
from dvk.ingest.problems import Problem, SubmissionError

#: The farthest a sheet may reach (1-based rows, columns; cells counted from A1). A form holds a
#: few hundred rows of a dozen columns; the limits leave room for large honest workbooks while
#: keeping the dense read of every sheet under a few hundred MB of memory.
MAX_SHEET_ROWS = 200_000
MAX_SHEET_COLUMNS = 1_000
MAX_SHEET_CELLS = 4_000_000
#: Shared strings a workbook may declare (calamine reserves room for each, 24 bytes).
MAX_SHARED_STRINGS = 2_000_000
#: The most of ``xl/workbook.xml`` read to name the sheets in messages.
MAX_WORKBOOK_XML = 1 << 20

# One pass over a sheet finds every cell opener (<c>, <c/>, <c ...>; not <col>, <cfRule>, <c:chart>)
# and, for a well-formed one (double-quoted attributes, no < or > in a value) with exactly one r
# attribute holding a plain reference, its letters and digits: groups 1-2 when r comes first (what
# Excel, LibreOffice and xlsxwriter write), 3-4 when it comes later; all four empty for any other
# opener (no r, an odd one, odd quoting), which sends the part to expat.
_ATTRS_NOT_R = rb'(?:\s+(?!r\s*=)[\w:.-]+\s*=\s*"[^"<>]*")*'
_CELL_ALTERNATIVES = (rb'(?: r="([A-Za-z]{1,3})([0-9]{1,7})"(?: (?!r=)[\w:.-]+="[^"<>]*")*/?>|'
                      + _ATTRS_NOT_R + rb'\s+r\s*=\s*"([A-Za-z]{1,3})([0-9]{1,7})"' + _ATTRS_NOT_R
                      + rb'\s*/?>|[\s/>])')
_SCAN = re.compile(rb"<c" + _CELL_ALTERNATIVES)
_SCAN_PREFIXED = re.compile(rb"<(?:[\w.-]+:)?c" + _CELL_ALTERNATIVES)  # <x:c ...> too (rare: slower)
_UNPLACED = (b"", b"", b"", b"")
# The quick path (the sheets Excel, LibreOffice, openpyxl and xlsxwriter write): every cell opener
# ("<c" then a space, "/" or ">") is "<c r=..." with its r first and plain, in a row below 10,000,
# other attributes well formed. One pass finds every opener: such a one gives its column letters
# (mostly one-byte objects CPython shares), any other b"" (the part then takes the exact path).
_FAST_OR_ANY = re.compile(rb'<c(?: r="([A-Za-z]{1,3})[0-9]{1,4}"(?: (?!r=)[\w:.-]+="[^"<>]*")*/?>|[\s/>])')
_NEAR_ROWS = 9_999
_REF = re.compile(rb"([A-Za-z]{1,3})([0-9]{1,7})")
_UNIQUE_COUNT = re.compile(rb"uniqueCount\s*=\s*[\"']\s*\+?([0-9]+)")


def _column_index(letters: bytes) -> int:
    index = 0
    for ch in letters.upper():
        index = index * 26 + (ch - 64)
    return index - 1


@dataclass(frozen=True)
class Extent:
    """How far a sheet reaches: the 0-based row and column of its farthest cells."""

    max_row: int = -1
    max_col: int = -1
    far_ref: str = ""  # a cell that reaches farthest, for the message
    #: True: max_row is an upper bound (below 10,000 rows), not the farthest row itself
    bounded: bool = False

    @property
    def cells(self) -> int:
        return (self.max_row + 1) * (self.max_col + 1)


class _Unreadable(Exception):
    pass


class _TooManyCells(Exception):
    pass


def _ref_extent(refs: list[tuple[bytes, bytes, bytes, bytes]]) -> Extent:
    """The extent of cells placed by their references (the groups of :data:`_SCAN`)."""
    if not refs:
        return Extent()
    # set() over every cell first, at C speed; Python only looks at the distinct values
    cols = (set(map(itemgetter(0), refs)) | set(map(itemgetter(2), refs))) - {b""}
    rows = (set(map(itemgetter(1), refs)) | set(map(itemgetter(3), refs))) - {b""}
    max_row = max(map(int, rows)) - 1
    far_col = max({c.upper() for c in cols}, key=lambda c: (len(c), c))
    return Extent(max_row, _column_index(far_col), f"{far_col.decode()}{max_row + 1}")


def _expat_extent(xml: bytes) -> Extent:
    """Exact placement of every cell (calamine's rules), for parts the fast scan cannot vouch for.

    ``<c/>`` and ``<row/>`` cannot be told from ``<c></c>`` here: counted as cells and rows, which
    only ever moves the estimate farther (the safe side)."""
    state = {"row": 0, "col": 0, "max_row": -1, "max_col": -1, "row_hi": 0, "rows": 0}

    def local(name: str) -> str:
        return name.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = local(name)
        if tag == "row":
            r = attrs.get("r")
            if r is not None:
                if not r.strip().isdigit():
                    raise _Unreadable(r[:40])
                state["row"] = int(r) - 1
                state["row_hi"] = max(state["row_hi"], int(r) - 1)
        elif tag == "c":
            r = attrs.get("r")
            if r is not None:
                m = _REF.fullmatch(r.strip().encode("ascii", "replace"))
                if m is None:
                    raise _Unreadable(r[:40])
                row, col = int(m.group(2)) - 1, _column_index(m.group(1))
            else:
                # the row as calamine counts it is at most the highest row named + the rows ended
                row, col = max(state["row"], state["row_hi"] + state["rows"]), state["col"]
            state["col"] = col + 1
            state["max_row"] = max(state["max_row"], row)
            state["max_col"] = max(state["max_col"], col)

    def end(name: str) -> None:
        if local(name) == "row":
            state["row"] += 1
            state["rows"] += 1
            state["col"] = 0

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as exc:
        raise _Unreadable(str(exc)) from exc
    max_row, max_col = state["max_row"], state["max_col"]
    far = f"{ooxml.column_letter(max_col)}{max_row + 1}" if max_row >= 0 else ""
    return Extent(max_row, max_col, far)


def sheet_extent(xml: bytes) -> Extent:
    """How far a worksheet part reaches, as python-calamine would place its cells (self-closing,
    empty cells counted too: the safe side). calamine reads cells only inside ``<sheetData>``.

    Raises ``_TooManyCells`` over :data:`MAX_SHEET_CELLS` cell elements, ``_Unreadable`` for a part
    that is not well-formed XML or has a cell reference that is not one (calamine would fail on it)."""
    if b"sheetData" not in xml:
        return Extent()
    no_markup = b"!" not in xml or b"<!" not in xml  # no comment, no CDATA ("!" alone is quick to rule out)
    if no_markup and b":c" not in xml:  # and no prefix: every "<c" is a cell's tag
        letters = _FAST_OR_ANY.findall(xml)  # every opener: its letters, or b"" when not a quick one
        distinct = set(letters)
        quick = b"" not in distinct
        fast = len(letters) if quick else len(letters) - letters.count(b"")
        if fast > MAX_SHEET_CELLS:
            raise _TooManyCells(fast)  # each cell is also an entry calamine keeps
        if quick:
            if not letters:
                return Extent()
            far_col = max({c.upper() for c in distinct}, key=lambda c: (len(c), c))
            max_col = _column_index(far_col)
            if (max_col + 1) * (_NEAR_ROWS + 1) <= MAX_SHEET_CELLS:  # within the budget whatever the rows
                return Extent(_NEAR_ROWS - 1, max_col, f"{far_col.decode()}{_NEAR_ROWS}", bounded=True)
    openers = xml.count(b"<c")  # at least every cell opener (also <col>, <cfRule>, ...)
    if openers == 0:
        return Extent()
    if openers > MAX_SHEET_CELLS and len((_SCAN_PREFIXED if b":c" in xml else _SCAN).findall(xml)) > MAX_SHEET_CELLS:
        raise _TooManyCells(openers)  # each cell is also an entry calamine keeps
    if no_markup:  # no comment, no CDATA: every "<c" is a tag
        refs = (_SCAN_PREFIXED if b":c" in xml else _SCAN).findall(xml)
        if _UNPLACED not in refs:  # every cell opener well formed and placed by a plain r: exact
            return _ref_extent(refs)
    return _expat_extent(xml)


# ------------------------------------------------------------------------------ the zip's parts


#: Parts calamine reads for other purposes than cells and strings: not inflated here, unless a
#: relationship of the workbook names them (then they might be read as a sheet).
_SKIPPED = re.compile(r"^(?:docProps/|xl/theme/|xl/styles\.xml$|xl/calcChain\.xml$|xl/printerSettings/|"
                      r"xl/drawings/|xl/charts/|\[Content_Types\]\.xml$|_rels/\.rels$|xl/workbook\.xml$)", re.I)
_RELATIONSHIP = re.compile(rb"<(?:[\w.-]+:)?Relationship\b([^<>]*)")
_TARGET = re.compile(rb"Target\s*=\s*[\"']([^\"'<>]*)")


_WANTED: dict[tuple[tuple[str, ...], bytes | None], frozenset[str]] = {}


def _wanted(names: list[str], rels: bytes | None) -> frozenset[str]:
    """The parts to inflate: every .xml / .rels part but the skipped kinds, and any part whose file
    name a relationship of the workbook names (however its path is written), unless the
    relationship says it is the styles or the theme. Memoised: the workbooks of one program share
    their part names and relationships."""
    key = (tuple(names), rels)
    found = _WANTED.get(key)
    if found is None:
        found = _wanted_parts(names, rels)
        if len(_WANTED) >= 256:
            _WANTED.clear()
        _WANTED[key] = found
    return found


def _wanted_parts(names: list[str], rels: bytes | None) -> frozenset[str]:
    targets = set()
    for attrs in _RELATIONSHIP.findall(rels or b""):
        if b"/styles" in attrs or b"/theme" in attrs:
            continue  # calamine reads these as what they are
        target = _TARGET.search(attrs)
        if target:
            targets.add(posixpath.basename(target.group(1).decode("utf-8", "replace")).lower())
    return frozenset(n for n in names if not _SKIPPED.match(n) or posixpath.basename(n).lower() in targets)


def xml_parts(data: bytes) -> dict[str, bytes]:
    """Every ``*.xml`` and ``*.rels`` part of the workbook, inflated (the guard has checked the declared sizes;
    a part that inflates beyond its declared size is cut there, as calamine does)."""
    parts = _parts_fast(data)
    if parts is not None:
        return parts
    out: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = [i for i in zf.infolist() if i.filename.lower().endswith((".xml", ".rels"))]
        rels = None
        for info in infos:
            if info.filename == "xl/_rels/workbook.xml.rels":
                with zf.open(info) as fh:
                    rels = fh.read(info.file_size + 1)
        wanted = _wanted([i.filename for i in infos], rels)
        for info in infos:
            if info.filename in wanted:
                with zf.open(info) as fh:
                    out[info.filename] = fh.read(info.file_size + 1)
    return out


def _parts_fast(data: bytes) -> dict[str, bytes] | None:
    """The wanted parts read straight from the central directory (stored or deflated); None when
    that is not simple (zip64, another method, damage): :mod:`zipfile` then reads them."""
    directory = ooxml.central_directory(data)
    if directory is None:
        return None
    entries = {e.name: e for e in directory if e.name.lower().endswith((".xml", ".rels"))}
    rels_entry = entries.get("xl/_rels/workbook.xml.rels")
    rels = ooxml.inflate(data, rels_entry) if rels_entry else None
    parts: dict[str, bytes] = {}
    for name in _wanted(list(entries), rels):
        xml = ooxml.inflate(data, entries[name])
        if xml is None:
            return None
        parts[name] = xml
    return parts


_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^<>]*)>")
_REL = re.compile(rb"<(?:\w+:)?Relationship\b([^<>]*)>")
_ATTR = re.compile(rb"([\w:]+)=\"([^\"]*)\"")


def sheet_names(parts: dict[str, bytes]) -> dict[str, str]:
    """Worksheet part name ("xl/worksheets/sheet1.xml") → sheet name, from workbook.xml and its rels."""
    book, rels = parts.get("xl/workbook.xml"), parts.get("xl/_rels/workbook.xml.rels")
    if book is None or rels is None:
        return {}
    return sheet_names_from_xml(book, rels)


def sheet_names_from_xml(book: bytes, rels: bytes) -> dict[str, str]:
    """Worksheet part name → sheet name, from the bytes of workbook.xml and workbook.xml.rels."""
    import html

    def attrs(raw: bytes) -> dict[str, str]:
        return {k.decode().split(":")[-1]: html.unescape(v.decode("utf-8", "replace")) for k, v in _ATTR.findall(raw)}

    targets = {}
    for raw in _REL.findall(rels):
        a = attrs(raw)
        if "Id" in a and "Target" in a:
            target = a["Target"]
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            targets[a["Id"]] = target
    out = {}
    for raw in _SHEET.findall(book):
        a = attrs(raw)
        if "name" in a and a.get("id") in targets:
            out[targets[a["id"]]] = a["name"]
    return out


class WorkbookParts:
    """A workbook's XML parts, inflated once: checked here, scanned for formulas next."""

    def __init__(self, parts: dict[str, bytes], data: bytes = b""):
        self.parts = parts
        self._data = data
        self._names: dict[str, str] | None = None

    @property
    def names(self) -> dict[str, str]:
        """Worksheet part → sheet name (worked out when first asked: a problem, a formula scan)."""
        if self._names is None:
            parts = self.parts
            if "xl/workbook.xml" not in parts:  # not inflated up front (small, rarely needed)
                parts = dict(parts)
                try:
                    with zipfile.ZipFile(io.BytesIO(self._data)) as zf:
                        info = zf.getinfo("xl/workbook.xml")
                        with zf.open(info) as fh:
                            parts["xl/workbook.xml"] = fh.read(min(info.file_size, MAX_WORKBOOK_XML) + 1)
                except (KeyError, zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError,
                        NotImplementedError):
                    pass
            self._names = sheet_names(parts)
        return self._names

    def worksheets(self) -> dict[str, bytes]:
        return {n: x for n, x in self.parts.items() if n.startswith("xl/worksheets/") or b"sheetData" in x}


def _too_large(file_name: str, sheet: str | None, message_vi: str, message_en: str, row: int | None = None,
               column: str | None = None) -> Problem:
    return Problem(file_name, "sheet_too_large", message_vi, message_en, sheet=sheet, row=row, column=column)


def check_workbook(data: bytes, file_name: str) -> WorkbookParts:
    """The workbook's parts, or :class:`SubmissionError` when reading it would exceed the budget."""
    try:
        parts = xml_parts(data)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise SubmissionError([Problem(file_name, "not_xlsx", "Tệp .xlsx bị hỏng, không mở được",
                                       f"the .xlsx file is corrupt ({exc})")]) from exc
    book = WorkbookParts(parts, data)
    problems: list[Problem] = []
    for part, xml in parts.items():
        lower = part.lower()
        if lower.endswith(".rels"):
            continue
        if lower.endswith("sharedstrings.xml") and b"uniqueCount" in xml:  # the path calamine reads them at
            declared = max((int(n) for n in _UNIQUE_COUNT.findall(xml)), default=0)
            if declared > MAX_SHARED_STRINGS:
                problems.append(_too_large(
                    file_name, None,
                    f"Bảng tính khai {declared:,} chuỗi văn bản (tối đa {MAX_SHARED_STRINGS:,}): từ chối mở",
                    f"refused: the workbook declares {declared} shared strings (at most {MAX_SHARED_STRINGS})"))
        try:
            extent = sheet_extent(xml)
        except _TooManyCells as exc:
            problems.append(_too_large(
                file_name, book.names.get(part, part),
                f"Sheet có quá nhiều ô ({exc.args[0]:,}; tối đa {MAX_SHEET_CELLS:,}): từ chối mở".replace(",", "."),
                f"refused: the sheet holds too many cells ({exc.args[0]}; at most {MAX_SHEET_CELLS})"))
            continue
        except (_Unreadable, RecursionError) as exc:
            sheet = book.names.get(part, part)
            problems.append(Problem(file_name, "not_xlsx",
                                    f"Sheet «{sheet}» bị hỏng (XML hoặc địa chỉ ô không hợp lệ): không mở được",
                                    f"sheet {sheet!r} is corrupt (bad XML or cell reference: {exc})", sheet=sheet))
            continue
        if extent.max_row < 0:
            continue
        rows, cols = extent.max_row + 1, extent.max_col + 1
        if rows > MAX_SHEET_ROWS or cols > MAX_SHEET_COLUMNS or extent.cells > MAX_SHEET_CELLS:
            letters = ooxml.column_letter(extent.max_col)
            problems.append(_too_large(
                file_name, book.names.get(part, part),
                f"Sheet quá lớn: có ô đến tận {extent.far_ref} ({rows:,} dòng × {cols:,} cột; tối đa "
                f"{MAX_SHEET_ROWS:,} dòng, {MAX_SHEET_COLUMNS:,} cột, {MAX_SHEET_CELLS:,} ô). Hãy xoá các dòng, cột "
                "thừa rồi lưu lại",
                f"the sheet is too large: a cell reaches {extent.far_ref} ({rows} rows x {cols} columns; at most "
                f"{MAX_SHEET_ROWS} rows, {MAX_SHEET_COLUMNS} columns, {MAX_SHEET_CELLS} cells): delete the unused "
                "rows and columns and save it again",
                row=rows, column=letters))
    if problems:
        raise SubmissionError(problems)
    return book
