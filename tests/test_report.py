"""The annual report (dvk.report) on the story warehouse of tests/support/gate_fixtures.py (a dbt build).

Covers: the folder and its files, summary.json (spec keys and figures), the workbook as an office
would lay it out (title block, headline, tables with totals, number formats, frozen headers,
autofilters, charts, print setup), the CSV extracts, CSV injection in both extracts,
reproducibility, and versions (same content: no new version; a correction: version 2 with
changes.json / changes.md). The LibreOffice check is in tests/test_report_pdf.py.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import re
import zipfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from dvk.gate import GateFailed, run_gate
from dvk.report import build_annual_report, years_to_report
from tests.support import gate_fixtures as fixture

SPEC_KEYS = [
    "year", "units_registered", "models_total", "models_new", "models_replicated", "fields",
    "units", "missing_units", "funds_million_vnd", "households", "labour_days", "land_m2",
]
# the dbt build has fct_annual_unit_today: the report adds the sheet on today's geography
SHEETS = ["Tổng quan", "Theo lĩnh vực", "Theo đơn vị", "Biểu đồ", "Danh sách mô hình", "Đơn vị chưa báo cáo",
          "Theo địa giới hiện nay"]
HEADLINE = (
    "Trong năm, toàn thành phố có 4 địa phương, cơ quan, đơn vị đăng ký xây dựng mô hình; "
    "nhân rộng 16 mô hình \"Dân vận khéo\". Trong đó, 10 mô hình \"Dân vận khéo\" xây mới, "
    "đăng ký trên 4 lĩnh vực."
)
WORKBOOK = "bao-cao-dan-van-kheo-2021.xlsx"
CSVS = ["theo-linh-vuc-2021.csv", "theo-don-vi-2021.csv", "danh-sach-mo-hinh-2021.csv",
        "don-vi-chua-bao-cao-2021.csv", "theo-dia-gioi-hien-nay-2021.csv"]
CURRENT_FILES = sorted([WORKBOOK, "summary.json", "models.json", "changes.json", "changes.md", *CSVS])
FORMULA_LIKE = ("=1+2", "+84 Dân vận khéo", "-Camera an ninh khu dân cư", "@Chi bộ bốn tốt")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    settings = fixture.make_settings(tmp_path_factory.mktemp("report"))
    folder = build_annual_report(2021, settings)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return settings, folder, summary


@pytest.fixture(scope="module")
def workbook(report):
    return openpyxl.load_workbook(report[1] / WORKBOOK)


def _rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def _header_row(ws, first_title: str = "STT") -> int:
    """1-based row number of the (lower) header row of a table sheet."""
    for row in ws.iter_rows():
        for c in row:
            if c.value == first_title:
                # with a two-row header, "STT" is merged over both rows: the lower one counts
                merged = next((r for r in ws.merged_cells.ranges if c.coordinate in r), None)
                return merged.max_row if merged else c.row
    raise AssertionError(f"no header in {ws.title}")


def _data_rows(ws) -> list[tuple]:
    """The table's rows under its header, up to the first blank line."""
    out = []
    for row in ws.iter_rows(min_row=_header_row(ws) + 1, values_only=True):
        if all(v is None for v in row):
            break
        out.append(row)
    return out


def _csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no UTF-8 byte-order mark"
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


# ---- folder and summary.json ----------------------------------------------------------------


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_report_lands_in_annual_year_folder(report):
    settings, folder, _ = report
    assert folder == settings.reports_dir / "annual" / "2021"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*CURRENT_FILES, "versions"])
    # version 1 is kept under versions/v1, file for file
    v1 = folder / "versions" / "v1"
    assert sorted(p.name for p in (folder / "versions").iterdir()) == ["v1"]
    assert sorted(p.name for p in v1.iterdir()) == CURRENT_FILES
    for name in CURRENT_FILES:
        assert (v1 / name).read_bytes() == (folder / name).read_bytes(), name
    # nothing half-written or temporary left beside it
    assert sorted(p.name for p in (settings.reports_dir / "annual").iterdir()) == ["2021"]
    assert sorted(p.name for p in settings.reports_dir.iterdir() if not p.name.startswith(".")) == ["annual", "gate"]
    assert not (settings.reports_dir / ".tmp").exists()


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_summary_has_the_spec_keys_first_and_in_order(report):
    _, _, summary = report
    assert list(summary)[: len(SPEC_KEYS)] == SPEC_KEYS
    assert set(summary["fields"]) == {"KT", "VHXH", "QPAN", "XDD"}
    for field in summary["fields"].values():
        assert set(field) == {"total", "new", "replicated"}
    for unit in summary["units"]:
        assert list(unit) == ["code", "name", "total", "new", "replicated", "provisional"]
    # versioning keys come last
    assert list(summary)[-3:] == ["version", "data_as_of", "content_sha256"]
    assert summary["version"] == 1
    # the data's date: the newest source receipt (18 Dec 2021 11:00 UTC), in Hà Tĩnh time
    assert summary["data_as_of"] == "2021-12-18T18:00:00+07:00"
    assert re.fullmatch(r"[0-9a-f]{64}", summary["content_sha256"])


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_summary_figures(report):
    _, _, s = report
    assert (s["year"], s["units_registered"], s["models_total"], s["models_new"],
            s["models_replicated"]) == (2021, 4, 16, 10, 6)
    assert s["fields"] == {
        "KT": {"total": 7, "new": 4, "replicated": 3},
        "VHXH": {"total": 3, "new": 1, "replicated": 2},
        "QPAN": {"total": 3, "new": 3, "replicated": 0},
        "XDD": {"total": 3, "new": 2, "replicated": 1},
    }
    assert s["units"] == [
        {"code": "18070", "name": "Phường Trần Phú", "total": 6, "new": 3, "replicated": 3, "provisional": False},
        {"code": "18073", "name": "Phường Nam Hà", "total": 2, "new": 1, "replicated": 1, "provisional": True},
        {"code": "18076", "name": "Phường Bắc Hà", "total": 5, "new": 4, "replicated": 1, "provisional": False},
        {"code": "CQ01", "name": "Hội Liên hiệp Phụ nữ thành phố", "total": 3, "new": 2, "replicated": 1,
         "provisional": False},
    ]
    assert s["missing_units"] == ["18077"]
    assert s["funds_million_vnd"] == pytest.approx(447.5)
    assert s["households"] == 494
    assert s["labour_days"] == 588
    assert s["land_m2"] == pytest.approx(1725.5)
    assert isinstance(s["funds_million_vnd"], float) and isinstance(s["households"], int)
    # additional keys
    assert s["provisional_units"] == [{"code": "18073", "name": "Phường Nam Hà", "source_period_id": "2021Q3",
                                       "figures_source": "own_report", "uncounted_split_predecessors": []}]
    assert s["units_without_models"] == [{"code": "18079", "name": "Phường Tân Giang", "status": "reported"}]
    assert s["missing_units_detail"] == [{"code": "18077", "name": "Phường Nguyễn Du"}]
    assert s["headline_vi"] == HEADLINE


# ---- the workbook ---------------------------------------------------------------------------


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_workbook_sheets_and_title_block(workbook):
    assert workbook.sheetnames == SHEETS
    for ws in workbook.worksheets:
        top = [c for row in ws.iter_rows(max_row=4, values_only=True) for c in row if isinstance(c, str)]
        assert "BAN CHỈ ĐẠO \"DÂN VẬN KHÉO\"" in top, ws.title
        assert "THÀNH PHỐ HÀ TĨNH" in top, ws.title
        assert "Số liệu tính đến ngày 18/12/2021" in top, ws.title  # from the data, not the clock
        assert "Phiên bản 1" in top, ws.title
        assert any("NĂM 2021" in c for c in top), ws.title


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_overview_headline_paragraph_figures_and_units(workbook):
    ws = workbook["Tổng quan"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    headline = cells[HEADLINE]
    assert headline.alignment.wrap_text
    merged = [r for r in ws.merged_cells.ranges if headline.coordinate in r]
    assert merged and merged[0].max_col - merged[0].min_col >= 2
    assert ws.row_dimensions[headline.row].height > 30  # room for the wrapped paragraph

    figures = {r[0]: r[1] for r in _rows(ws) if isinstance(r[0], str) and r[1] is not None}
    assert figures["Tổng số mô hình \"Dân vận khéo\""] == 16
    assert figures["Trong đó: xây mới"] == 10
    assert figures["Trong đó: nhân rộng, duy trì"] == 6
    assert figures["Số địa phương, cơ quan, đơn vị đăng ký xây dựng mô hình"] == 4
    assert figures["Kinh phí huy động"] == pytest.approx(447.5)
    texts = [c for row in _rows(ws) for c in row if isinstance(c, str)]
    assert "- Phường Nam Hà (18073): tạm tính theo báo cáo Quý III/2021." in texts
    assert "- Phường Nguyễn Du (18077)." in texts


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_by_field_table_totals_and_formats(report, workbook):
    ws = workbook["Theo lĩnh vực"]
    header = _header_row(ws)
    assert ws.freeze_panes == f"A{header + 1}"
    rows = _data_rows(ws)
    kt = next(r for r in rows if r[1] == "KT")
    assert kt[2:6] == ("Phát triển kinh tế", 7, 4, 3)
    total_i, total = next((i, r) for i, r in enumerate(rows) if "Tổng cộng" in r)
    total_row = header + 1 + total_i
    # totals are SUM formulas over the rows above, with their values cached for every reader
    assert ws.cell(total_row, 4).value == f"=SUM(D{header + 1}:D{total_row - 1})"
    cached = openpyxl.load_workbook(report[1] / WORKBOOK, data_only=True)["Theo lĩnh vực"]
    values = [c.value for c in cached[total_row]]
    assert values[3:11] == [16, 10, 6, 4, 494, pytest.approx(447.5), 588, pytest.approx(1725.5)]
    # the distinct-units column is a figure, not a sum (4 units, not 3+2+3+2)
    assert ws.cell(total_row, 7).value == 4
    # number formats: counts #,##0; money and m2 #,##0.0
    first = header + 1
    assert ws.cell(first, 4).number_format == "#,##0"
    assert ws.cell(first, 9).number_format == "#,##0.0"
    assert ws.cell(first, 11).number_format == "#,##0.0"


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_by_unit_table_flags_provisional_units(report, workbook):
    ws = workbook["Theo đơn vị"]
    header = _header_row(ws)
    assert ws.freeze_panes == f"D{header + 1}"  # header rows and unit names stay in view
    assert ws.auto_filter.ref is not None
    assert ws.auto_filter.ref.startswith(f"A{header}:")
    rows = _data_rows(ws)
    nam_ha = next(r for r in rows if r[1] == "18073")
    assert nam_ha[3] == "Tạm tính (theo báo cáo Quý III/2021)" and nam_ha[4] == "x"
    nam_ha_cell = next(c for row in ws.iter_rows() for c in row if c.value == "18073")
    assert nam_ha_cell.fill.fgColor.rgb.endswith("FFF2CC")  # highlighted
    total = next(r for r in rows if "Tổng cộng" in r)
    assert total[5].startswith("=SUM(")
    cached = {r[1]: r for r in _data_rows(openpyxl.load_workbook(report[1] / WORKBOOK, data_only=True)["Theo đơn vị"])}
    assert cached[None][5:12] == (16, 10, 6, 7, 3, 3, 3)
    assert cached["18079"][5:8] == (0, 0, 0)  # reported, without models


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_models_list_and_not_reported(workbook):
    ws = workbook["Danh sách mô hình"]
    header = _header_row(ws)
    assert ws.freeze_panes == f"A{header + 1}"
    assert ws.auto_filter.ref == f"A{header}:N{header + 16}"
    rows = _data_rows(ws)
    assert len(rows) == 16
    assert "Tổ dân phố mẫu" in [r[5] for r in rows]
    assert {r[3] for r in rows if r[1] == "18073"} == {"Quý III/2021 (tạm tính)"}
    date_cell = ws.cell(header + 1, 8)
    assert isinstance(date_cell.value, datetime) and date_cell.number_format == "dd/mm/yyyy"

    ws = workbook["Đơn vị chưa báo cáo"]
    rows = _data_rows(ws)
    assert {r[1]: (r[4], r[5]) for r in rows} == {
        "18077": ("Chưa báo cáo", None), "18073": ("Tạm tính", "Quý III/2021"),
    }


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_column_widths_fit_vietnamese_text(workbook):
    ws = workbook["Theo đơn vị"]
    width = {k: d.width for k, d in ws.column_dimensions.items()}
    assert width["C"] >= 20  # unit names
    assert width["A"] <= 8  # STT
    ws = workbook["Danh sách mô hình"]
    assert ws.column_dimensions["F"].width >= 30  # model names
    # every header word fits on a line of its column
    for sheet in ("Theo lĩnh vực", "Theo đơn vị", "Danh sách mô hình", "Đơn vị chưa báo cáo"):
        ws = workbook[sheet]
        header = _header_row(ws)
        for c in ws[header]:
            if isinstance(c.value, str):
                longest = max(len(w) for w in c.value.split())
                assert ws.column_dimensions[c.column_letter].width >= longest + 1, (sheet, c.value)


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_print_setup(workbook):
    for ws in workbook.worksheets:
        assert ws.page_setup.paperSize in (9, "9"), ws.title  # A4
    for name in ("Theo lĩnh vực", "Theo đơn vị", "Danh sách mô hình", "Đơn vị chưa báo cáo"):
        ws = workbook[name]
        assert ws.page_setup.orientation == "landscape", name
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        assert ws.page_setup.fitToWidth in (1, None) and ws.page_setup.fitToHeight == 0, name
        header = _header_row(ws)
        assert ws.print_title_rows and ws.print_title_rows.endswith(f"${header}"), name
        assert "&A" in (ws.oddFooter.left.text or ""), name


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_native_charts(report):
    with zipfile.ZipFile(report[1] / WORKBOOK) as z:
        charts = {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/charts/chart")}
        drawings = [z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/drawings/drawing")]
    assert len(charts) == 2 and len(drawings) == 1
    pie = next(x for x in charts.values() if "<c:pieChart>" in x)
    bar = next(x for x in charts.values() if "<c:barChart>" in x)
    assert "'Theo lĩnh vực'!$C$" in pie and "'Theo lĩnh vực'!$D$" in pie
    assert '<c:barDir val="bar"/>' in bar and '<c:grouping val="stacked"/>' in bar
    assert "'Theo đơn vị'!$G$" in bar and "'Theo đơn vị'!$H$" in bar  # new, replicated
    assert "Xây mới" in bar and "Nhân rộng" in bar


# ---- CSV extracts ---------------------------------------------------------------------------


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_csv_extracts(report):
    folder = report[1]
    by_field = _csv(folder / "theo-linh-vuc-2021.csv")
    assert by_field[0][:6] == ["STT", "Mã lĩnh vực", "Lĩnh vực", "Tổng số mô hình", "Xây mới", "Nhân rộng"]
    assert by_field[1][:6] == ["1", "KT", "Phát triển kinh tế", "7", "4", "3"]
    assert by_field[-1][2:6] == ["Tổng cộng", "16", "10", "6"]
    assert by_field[-1][8] == "447.5"

    by_unit = _csv(folder / "theo-don-vi-2021.csv")
    assert by_unit[0][:6] == ["STT", "Mã đơn vị", "Tên đơn vị", "Tình trạng báo cáo", "Tạm tính", "Tổng số mô hình"]
    nam_ha = next(r for r in by_unit if r[1] == "18073")
    assert nam_ha[3:8] == ["Tạm tính (theo báo cáo Quý III/2021)", "x", "2", "1", "1"]
    assert by_unit[-1][2] == "Tổng cộng" and by_unit[-1][5:8] == ["16", "10", "6"]

    models = _csv(folder / "danh-sach-mo-hinh-2021.csv")
    assert models[0][5] == "Tên mô hình" and len(models) == 17
    assert models[1][7] == "2021-02-01"  # dates ISO

    missing = _csv(folder / "don-vi-chua-bao-cao-2021.csv")
    assert [r[1:5] for r in missing[1:]] == [
        ["18077", "Phường Nguyễn Du", "Phường", "Chưa báo cáo"],
        ["18073", "Phường Nam Hà", "Phường", "Tạm tính"],
    ]
    # CRLF line ends, as Excel writes them
    assert b"\r\n" in (folder / "theo-linh-vuc-2021.csv").read_bytes()


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_models_json_is_unescaped(report):
    models = json.loads((report[1] / "models.json").read_text(encoding="utf-8"))
    assert len(models) == 16
    names = {m["model_name"] for m in models}
    assert set(FORMULA_LIKE) <= names
    assert {m["unit_code"] for m in models if m["provisional"]} == {"18073"}


# ---- CSV injection --------------------------------------------------------------------------


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_formula_like_text_stays_text_in_the_workbook(report):
    wb = openpyxl.load_workbook(report[1] / WORKBOOK)
    ws = wb["Danh sách mô hình"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for text in FORMULA_LIKE:
        assert text in cells, text
        assert cells[text].data_type == "s", (text, cells[text].data_type)
    # the only formulas anywhere are the SUMs of the totals rows
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for c in row:
                if c.data_type == "f":
                    assert re.fullmatch(r"=SUM\([A-Z]+\d+:[A-Z]+\d+\)", c.value), (sheet.title, c.coordinate, c.value)
                    assert sheet.cell(c.row, 3).value == "Tổng cộng", (sheet.title, c.coordinate)


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_formula_like_text_is_quoted_in_the_csv_extracts(report):
    models = _csv(report[1] / "danh-sach-mo-hinh-2021.csv")
    names = [r[5] for r in models[1:]]
    for text in FORMULA_LIKE:
        assert "'" + text in names, text
        assert text not in names, text
    # no cell of any extract starts with a formula trigger
    for name in CSVS:
        for row in _csv(report[1] / name):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)


def test_escape_rules():
    from dvk.report.extracts import csv_cell

    assert csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_cell("+1") == "'+1" and csv_cell("-1") == "'-1" and csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("\t=1") == "'\t=1"
    assert csv_cell("Tổ dân phố mẫu") == "Tổ dân phố mẫu"
    assert csv_cell("'quoted") == "'quoted"
    # numbers are numbers, never escaped
    assert csv_cell(-1) == "-1" and csv_cell(12.5) == "12.5" and csv_cell(1500.0) == "1500"
    assert csv_cell(None) == ""


# ---- reproducible ---------------------------------------------------------------------------


def _cell_values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: _rows(ws) for ws in wb.worksheets}


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_same_warehouse_same_report(report, tmp_path):
    settings, folder, _ = report
    other = dataclasses.replace(settings, reports_dir=tmp_path / "elsewhere")
    again = build_annual_report(2021, other, gate_result=run_gate(2021, other))
    assert again == other.reports_dir / "annual" / "2021"
    for name in CURRENT_FILES:
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name
    assert _cell_values(again / WORKBOOK) == _cell_values(folder / WORKBOOK)


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_same_content_makes_no_new_version(report):
    settings, folder, summary = report
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir() if p.is_file()}
    again = build_annual_report(2021, settings, gate_result=run_gate(2021, settings))
    assert again == folder
    assert sorted(p.name for p in (folder / "versions").iterdir()) == ["v1"]
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir() if p.is_file()}
    assert after == before
    assert json.loads((folder / "summary.json").read_text(encoding="utf-8")) == summary


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_a_damaged_current_folder_is_restored_from_its_version(report, tmp_path):
    import shutil

    settings, folder, _ = report
    reports = tmp_path / "reports"
    shutil.copytree(folder, reports / "annual" / "2021")
    current = reports / "annual" / "2021"
    (current / "summary.json").unlink()
    (current / "theo-don-vi-2021.csv").write_text("edited by hand", encoding="utf-8")
    other = dataclasses.replace(settings, reports_dir=reports)
    build_annual_report(2021, other, gate_result=run_gate(2021, other))
    assert sorted(p.name for p in (current / "versions").iterdir()) == ["v1"]
    for name in CURRENT_FILES:
        assert (current / name).read_bytes() == (folder / name).read_bytes(), name


# ---- versions: a correction after publication -----------------------------------------------

CORRECTED_BH = [
    ("KT", "new", "Vườn mẫu", 12, 10.0, 5, None),                       # households 10 -> 12
    ("KT", "new", "Hợp tác xã rau sạch", 15, None, 8, 200.0),
    ("KT", "replicated", "Cánh đồng mẫu lớn", 25, 20.0, 10, None),
    ("QPAN", "new", "Tổ tự quản an ninh", 12, None, 4, None),
    ("KT", "new", "Sân chơi cho trẻ em", 30, 12.0, 20, None),             # added
    ("VHXH", "replicated", "=HYPERLINK(\"http://x\";\"y\")", 5, None, None, None),  # added
]                                                                       # "Chăn nuôi an toàn" removed


def _corrected_settings(monkeypatch, tmp_path: Path, reports_dir: Path):
    """Bắc Hà sends its annual report again (one model fewer, two more, one corrected) and Nam Hà
    sends its annual report at last (the same two models): no longer provisional."""
    monkeypatch.setitem(fixture.SUBMISSIONS, "bh_2021",
                        ("18076", "2021", "year", 2021, False, True, datetime(2021, 12, 15, 10, 0)))
    monkeypatch.setitem(fixture.SUBMISSIONS, "bh_2021_v2",
                        ("18076", "2021", "year", 2021, True, False, datetime(2021, 12, 20, 9, 0)))
    monkeypatch.setitem(fixture.SUBMISSIONS, "nh_2021",
                        ("18073", "2021", "year", 2021, True, False, datetime(2021, 12, 21, 8, 0)))
    monkeypatch.setitem(fixture.MODELS, "bh_2021_v2", CORRECTED_BH)
    monkeypatch.setitem(fixture.MODELS, "nh_2021", list(fixture.MODELS["nh_2021q3"]))
    settings = fixture.make_settings(tmp_path)
    return dataclasses.replace(settings, reports_dir=reports_dir)


@pytest.fixture(scope="module")
def corrected(report, tmp_path_factory):
    """A report folder holding version 1 (copied from ``report``), then the correction built."""
    import shutil

    _, folder, _ = report
    base = tmp_path_factory.mktemp("corrected")
    reports = base / "reports"
    shutil.copytree(folder, reports / "annual" / "2021")
    with pytest.MonkeyPatch.context() as monkeypatch:
        settings = _corrected_settings(monkeypatch, base / "warehouse", reports)
    out = build_annual_report(2021, settings)
    return settings, folder, out


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_a_correction_makes_version_2(corrected):
    settings, v1_folder, folder = corrected
    assert sorted(p.name for p in (folder / "versions").iterdir()) == ["v1", "v2"]
    for name in CURRENT_FILES:
        # version 1 is kept as published; the current files are version 2's
        assert (folder / "versions" / "v1" / name).read_bytes() == (v1_folder / name).read_bytes(), name
        assert (folder / "versions" / "v2" / name).read_bytes() == (folder / name).read_bytes(), name
    s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert list(s)[: len(SPEC_KEYS)] == SPEC_KEYS
    assert (s["version"], s["models_total"], s["models_new"], s["models_replicated"]) == (2, 17, 10, 7)
    assert s["data_as_of"] == "2021-12-21T15:00:00+07:00"
    assert s["provisional_units"] == []


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_changes_json_says_what_changed(corrected):
    _, _, folder = corrected
    ch = json.loads((folder / "changes.json").read_text(encoding="utf-8"))
    assert (ch["version"], ch["previous_version"], ch["first_publication"]) == (2, 1, False)
    headline = {h["key"]: (h["old"], h["new"]) for h in ch["headline"]}
    assert headline["models_total"] == (16, 17)
    assert headline["models_replicated"] == (6, 7)
    assert headline["units_provisional"] == (1, 0)
    assert "models_new" not in headline and "units_registered" not in headline  # unchanged
    assert "16 mô hình" in ch["headline_vi"]["old"] and "17 mô hình" in ch["headline_vi"]["new"]
    units = {u["code"]: (u["old"], u["new"]) for u in ch["units"]}
    assert units == {
        "18073": ({"total": 2, "new": 1, "replicated": 1, "provisional": True},
                  {"total": 2, "new": 1, "replicated": 1, "provisional": False}),
        "18076": ({"total": 5, "new": 4, "replicated": 1, "provisional": False},
                  {"total": 6, "new": 4, "replicated": 2, "provisional": False}),
    }
    assert ch["provisional_units"] == {"added": [], "removed": ["18073"]}
    assert sorted(m["model_name"] for m in ch["models_added"]) == [
        "=HYPERLINK(\"http://x\";\"y\")", "Sân chơi cho trẻ em"]
    assert [m["model_name"] for m in ch["models_removed"]] == ["Chăn nuôi an toàn"]
    assert [(c["model"]["model_name"], c["changes"]) for c in ch["models_changed"]] == [
        ("Vườn mẫu", {"households": {"old": 10, "new": 12}})]
    v1 = json.loads((folder / "versions" / "v1" / "changes.json").read_text(encoding="utf-8"))
    assert v1["first_publication"] and v1["version"] == 1


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_changes_md_in_vietnamese_and_english(corrected):
    _, _, folder = corrected
    md = (folder / "changes.md").read_text(encoding="utf-8")
    assert "phiên bản 2 / annual report 2021, version 2" in md
    assert "Thay đổi so với phiên bản 1 / changes since version 1" in md
    assert "| Tổng số mô hình / models | 16 | 17 |" in md
    assert "| 18076 | Phường Bắc Hà | 5 → 6 | 4 | 1 → 2 |" in md
    assert "«Chăn nuôi an toàn»" in md and "«Sân chơi cho trẻ em»" in md
    assert "số hộ / households: 10 → 12" in md


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_the_correction_in_the_workbook_and_csv(corrected):
    _, _, folder = corrected
    wb = openpyxl.load_workbook(folder / WORKBOOK)
    assert wb.sheetnames == [*SHEETS, "Thay đổi so với bản trước"]
    top = [c for row in wb["Tổng quan"].iter_rows(max_row=4, values_only=True) for c in row if isinstance(c, str)]
    assert "Phiên bản 2" in top and "Số liệu tính đến ngày 21/12/2021" in top
    changes = [r for r in _rows(wb["Thay đổi so với bản trước"]) if r[0]]
    assert ("Số liệu chính", "Tổng số mô hình", 16, 17) in changes
    # the formula-like name of the correction: text in the workbook, quoted in the CSV
    name = "=HYPERLINK(\"http://x\";\"y\")"
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and "HYPERLINK" in c.value:
                    assert c.data_type == "s", (ws.title, c.coordinate)
    assert "'" + name in [r[5] for r in _csv(folder / "danh-sach-mo-hinh-2021.csv")]


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_same_correction_again_makes_no_version_3(corrected):
    settings, _, folder = corrected
    summary = (folder / "summary.json").read_bytes()
    build_annual_report(2021, settings, gate_result=run_gate(2021, settings))
    assert sorted(p.name for p in (folder / "versions").iterdir()) == ["v1", "v2"]
    assert (folder / "summary.json").read_bytes() == summary


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_resent_file_with_the_same_content_makes_no_new_version(report, tmp_path, monkeypatch):
    """A unit sends the same figures again in a new file (newer received time, other bytes): the
    content is unchanged, so the published version stands."""
    import shutil

    _, folder, _ = report
    reports = tmp_path / "reports"
    shutil.copytree(folder, reports / "annual" / "2021")
    monkeypatch.setitem(fixture.SUBMISSIONS, "bh_2021",
                        ("18076", "2021", "year", 2021, False, True, datetime(2021, 12, 15, 10, 0)))
    monkeypatch.setitem(fixture.SUBMISSIONS, "bh_2021_again",
                        ("18076", "2021", "year", 2021, True, True, datetime(2021, 12, 22, 10, 0)))
    monkeypatch.setitem(fixture.MODELS, "bh_2021_again", list(fixture.MODELS["bh_2021"]))
    monkeypatch.setitem(fixture.DECLARED, "bh_2021_again", list(fixture.DECLARED["bh_2021"]))
    settings = dataclasses.replace(fixture.make_settings(tmp_path / "again"), reports_dir=reports)
    out = build_annual_report(2021, settings)
    assert sorted(p.name for p in (out / "versions").iterdir()) == ["v1"]
    assert (out / "summary.json").read_bytes() == (folder / "summary.json").read_bytes()


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_failed_gate_leaves_the_published_report_unchanged(report, tmp_path):
    import shutil

    _, folder, _ = report
    reports = tmp_path / "reports"
    shutil.copytree(folder, reports / "annual" / "2021")
    before = {p.relative_to(reports): p.read_bytes() for p in reports.rglob("*") if p.is_file()}
    settings = dataclasses.replace(fixture.make_settings(tmp_path / "bad", *fixture.BH_DECLARES_5_KT),
                                   reports_dir=reports)
    with pytest.raises(GateFailed):
        build_annual_report(2021, settings)
    after = {p.relative_to(reports): p.read_bytes() for p in (reports / "annual").rglob("*") if p.is_file()}
    assert after == {k: v for k, v in before.items() if k.parts[0] == "annual"}


# ---- the gate and the years -----------------------------------------------------------------


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_report_refused_when_gate_fails(tmp_path):
    settings = fixture.make_settings(tmp_path, *fixture.BH_DECLARES_5_KT)
    with pytest.raises(GateFailed) as caught:
        build_annual_report(2021, settings)
    assert "18076" in str(caught.value) and "KT" in str(caught.value)
    assert not (settings.reports_dir / "annual" / "2021").exists()
    # a failed GateResult handed in is refused as well
    with pytest.raises(GateFailed):
        build_annual_report(2021, settings, gate_result=caught.value.result)
    assert (settings.reports_dir / "gate" / "2021" / "gate_result.json").exists()


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_gate_result_of_another_year_is_refused(tmp_path):
    settings = fixture.make_settings(tmp_path)
    with pytest.raises(ValueError):
        build_annual_report(2021, settings, gate_result=run_gate(2022, settings))


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_the_years_to_report(tmp_path):
    settings = fixture.make_settings(tmp_path)
    # 2022 has a quarterly report only: reported once its annual report is due (19 December 2022,
    # five days' grace after the window closes), its units counted from the quarter, provisional
    assert years_to_report(settings, today=date(2022, 12, 19)) == [2021]
    assert years_to_report(settings, today=date(2022, 12, 20)) == [2021, 2022]
    assert years_to_report(replace(settings, due_grace_days=10), today=date(2022, 12, 20)) == [2021]
    settings = fixture.make_settings(
        tmp_path / "again",
        "update marts.fct_submission set period_kind = 'year', period_id = '2022' "
        f"where submission_id = '{fixture.sid('tp_2022q1')}'",
    )
    assert years_to_report(settings, today=date(2022, 3, 1)) == [2021, 2022]  # an annual report: at once


def test_content_fingerprint_ignores_versions_provenance_and_line_order():
    from dvk.report.versions import content_sha256

    summary = {"year": 2021, "models_total": 2, "generated_from": {"x": 1}}
    models = [{"unit_code": "A", "model_name": "m1", "line_no": 1}, {"unit_code": "A", "model_name": "m2", "line_no": 2}]
    base = content_sha256(summary, models)
    assert content_sha256({**summary, "version": 7, "data_as_of": "x", "content_sha256": "y",
                           "generated_from": {"x": 2}}, models) == base
    reordered = [{**models[1], "line_no": 1}, {**models[0], "line_no": 2}]
    assert content_sha256(summary, reordered) == base
    assert content_sha256({**summary, "models_total": 3}, models) != base
    assert content_sha256(summary, [models[0]]) != base


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_workbook_is_byte_identical_for_the_same_content(report):
    from dvk.report.build import data_as_of
    from dvk.report.data import load_annual_data
    from dvk.report.summary import build_summary
    from dvk.report.workbook import Meta, workbook_bytes

    settings, folder, _ = report
    data = load_annual_data(2021, settings)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    meta = Meta(version=1, data_as_of=data_as_of(data))
    one, two = workbook_bytes(data, summary, meta), workbook_bytes(data, build_summary(data) | {
        k: summary[k] for k in ("version", "data_as_of", "content_sha256")}, meta)
    assert hashlib.sha256(one).hexdigest() == hashlib.sha256(two).hexdigest()
    assert one == (folder / WORKBOOK).read_bytes()
