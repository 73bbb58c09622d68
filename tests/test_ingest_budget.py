"""How far a sheet reaches, found on its XML before python-calamine opens it (dvk.ingest.budget).

The estimate must never be nearer than where calamine puts the cells (a dense read of the real
extent is what aborts the process): each small sheet below is also read by calamine, and the
estimate must cover what calamine reads. Far sheets are refused without calamine ever seeing them.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from dvk.ingest.budget import (
    MAX_SHEET_CELLS,
    MAX_SHEET_COLUMNS,
    MAX_SHEET_ROWS,
    check_workbook,
    sheet_extent,
)
from dvk.ingest.problems import SubmissionError

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def book(sheet_data: str, shared_strings: str | None = None, tail: str = "") -> bytes:
    """A minimal workbook with one sheet "S" holding ``sheet_data`` (the inside of <sheetData>)."""
    buf = io.BytesIO()
    rels = (f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
            + (f'<Relationship Id="rId2" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
               if shared_strings else ""))
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument'
                   '.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                   '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   f'package/2006/relationships"><Relationship Id="rId1" Type="{_REL_NS}/officeDocument" '
                   'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook {_NS} xmlns:r="{_REL_NS}"><sheets>'
                   '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   f'openxmlformats.org/package/2006/relationships">{rels}</Relationships>')
        if shared_strings:
            z.writestr("xl/sharedStrings.xml", shared_strings)
        z.writestr("xl/worksheets/sheet1.xml",
                   f'<?xml version="1.0"?><worksheet {_NS}><sheetData>{sheet_data}</sheetData>{tail}</worksheet>')
    return buf.getvalue()


SMALL = {
    "refs": '<row r="1"><c r="A1"><v>1</v></c><c r="K30"><v>2</v></c></row>',
    "styled empty cells": '<row r="1"><c r="A1"><v>1</v></c><c r="Z900" s="1"/></row>',
    "no refs": '<row><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row><row><c><v>4</v></c></row>',
    "row refs only": '<row r="7"><c><v>1</v></c><c><v>2</v></c></row><row r="3"><c><v>3</v></c></row>',
    "mixed": '<row r="2"><c r="C7"><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>',
    "lower case": '<row r="1"><c r="e9"><v>1</v></c></row>',
    "single quotes": "<row r='1'><c r='H12'><v>1</v></c></row>",
    "escaped angle in attribute": '<row r="1"><c s="&lt;c r=&quot;A1&quot;&gt;" r="J4"><v>1</v></c></row>',
    "comment of openers": '<row r="1"><c r="B2"><v>1</v></c></row><!-- <c r="A1"> <c> <c> -->',
    "prefixed": '<row r="1"><c r="D5"><v>1</v></c></row>',
}


@pytest.mark.parametrize("name", list(SMALL))
def test_the_estimate_covers_what_calamine_reads(name):
    from python_calamine import CalamineWorkbook

    data = book(SMALL[name])
    parts = check_workbook(data, "f.xlsx")
    extent = sheet_extent(parts.parts["xl/worksheets/sheet1.xml"])
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("S").to_python(skip_empty_area=False)
    height, width = len(rows), max((len(r) for r in rows), default=0)
    assert extent.max_row + 1 >= height and extent.max_col + 1 >= width, (extent, height, width)


@pytest.mark.parametrize("ref, row, column", [("XFD1048576", 1048576, "XFD"), ("ZZ200000", 200000, "ZZ"),
                                              ("ALM1", 1, "ALM"), ("A200001", 200001, "A")])
def test_a_far_cell_is_refused_with_its_place(ref, row, column):
    data = book(f'<row r="1"><c r="A1"><v>1</v></c></row><row r="{row}"><c r="{ref}"><v>1</v></c></row>')
    with pytest.raises(SubmissionError) as err:
        check_workbook(data, "f.xlsx")
    (problem,) = err.value.problems
    assert (problem.code, problem.sheet, problem.row, problem.column) == ("sheet_too_large", "S", row, column)


@pytest.mark.parametrize("xml", [
    '<row r="1"><c s="x" r="A1" r="XFD1"><v>1</v></c></row>',  # two r: not well formed
    '<row r="1"><c r="A1$"><v>1</v></c></row>',  # not a reference
])
def test_a_cell_calamine_could_misplace_is_not_opened(xml):
    with pytest.raises(SubmissionError) as err:
        check_workbook(book(xml), "f.xlsx")
    assert err.value.problems[0].code in ("not_xlsx", "sheet_too_large")


@pytest.mark.parametrize("xml", [
    '<row r="1"><c r="A1" r="XFD1048576"><v>1</v></c></row>',  # calamine panics on this one
    '<row r="1"><c r="B2" s="1" t="n" r="ZZ200000"><v>1</v></c></row>',
    '<row r="1"><c r="C3"r="XFD5"><v>1</v></c></row>',  # calamine places this one at XFD5, not C3
])
def test_a_cell_with_a_second_r_is_refused_even_when_its_first_r_is_near(xml):
    # The quick scan must look at the whole tag, not only at its first attribute: calamine does
    # not always place a cell by its first r (measured with python-calamine 0.9).
    with pytest.raises(SubmissionError) as err:
        check_workbook(book(xml), "f.xlsx")
    assert err.value.problems[0].code in ("not_xlsx", "sheet_too_large")


def test_cells_without_references_are_placed_as_calamine_places_them():
    # one row far down named by its <row r>, then cells placed to the right of each other
    data = book('<row r="100000"><c><v>1</v></c></row>' + "<row>" + "<c><v>1</v></c>" * 30 + "</row>")
    extent = sheet_extent(check_workbook(data, "f.xlsx").parts["xl/worksheets/sheet1.xml"])
    assert extent.max_row >= 100000 and extent.max_col >= 29
    # cells without r pushed far to the right: refused
    with pytest.raises(SubmissionError):
        check_workbook(book("<row>" + "<c><v>1</v></c>" * (MAX_SHEET_COLUMNS + 1) + "</row>"), "f.xlsx")


def test_too_many_shared_strings_or_cells_are_refused():
    sst = ('<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           'count="4000000000" uniqueCount="4000000000"><si><t>a</t></si></sst>')
    with pytest.raises(SubmissionError) as err:
        check_workbook(book('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', sst), "f.xlsx")
    assert err.value.problems[0].code == "sheet_too_large"
    assert MAX_SHEET_CELLS < MAX_SHEET_ROWS * MAX_SHEET_COLUMNS


def test_the_limits_leave_room_for_honest_workbooks():
    rows = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>{r}</v></c>' for c in "ABCDEFGHIJK") + "</row>"
                   for r in range(1, 2001))
    extent = sheet_extent(check_workbook(book(rows), "f.xlsx").parts["xl/worksheets/sheet1.xml"])
    assert 1999 <= extent.max_row < 10_000 and extent.max_col == 10


def test_a_csv_of_too_many_lines_is_refused_before_it_is_split():
    import datetime as dt

    from dvk.ingest.csv_form import parse_csv
    from dvk.reference import FieldDirectory, UnitDirectory

    data = b"ma_don_vi,ten_don_vi\n" + b"\n" * MAX_SHEET_ROWS
    with pytest.raises(SubmissionError) as err:
        parse_csv(data, "f.csv", units=UnitDirectory(), fields=FieldDirectory(), today=dt.date(2024, 1, 1))
    assert [(p.code, p.sheet) for p in err.value.problems] == [("sheet_too_large", "csv")]
