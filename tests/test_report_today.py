"""The annual report's table on today's geography (reorganisations spec, rules 4-5).

On the story warehouse of tests/support/gate_fixtures.py (a dbt build) with hand-made rows in
``marts.fct_annual_unit_today`` (the dbt rules that fill it are tested by the dbt unit and data
tests of the project): the sheet
"Theo địa giới hiện nay" and its CSV extract list every today's unit from 2020 to the report's
year (never a later year), with the estimated / incomplete / provisional marks and the
Vietnamese legend; summary.json keeps its keys and only gains ``today_geography``; a revised
share (a later re-reading of the map) makes no new version of a published report.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import openpyxl
import pytest

from dvk.gate import run_gate
from dvk.report import build_annual_report
from dvk.report.data import AnnualData
from dvk.report.tables import TODAY_SHEET, not_reported, provisional_label, split_note
from tests.support import gate_fixtures as fixture

pytestmark = pytest.mark.e2e  # the story warehouse is a dbt build

CSV_NAME = "theo-dia-gioi-hien-nay-2021.csv"
TODAY_TABLE = "delete from marts.fct_annual_unit_today"  # the story's own rows, replaced
TODAY_ROWS = """
insert into marts.fct_annual_unit_today (
    year, today_unit_code, today_unit_name, has_figures, models_total, models_new, models_replicated,
    households, funds_million_vnd, labour_days, land_m2, is_estimated, is_incomplete, is_provisional,
    outside_parts, uncounted_parts, source_units) values
 (2020, '18073', 'Phường Thành Sen', true, 12.5, 8.5, 4, 30, 1.25, 10, 0, true, false, false, null, null, '18073, 18082 ×0.5'),
 (2021, '18073', 'Phường Thành Sen', true, 20, 11, 9, 40, 2.5, 12, 5, true, false, true, null, null, '18073, 18082 ×0.5'),
 (2022, '18073', 'Phường Thành Sen', true, 99, 99, 0, 0, 0, 0, 0, false, false, false, null, null, '18073'),
 (2020, '18100', 'Phường Trần Phú', true, 7, 7, 0, 0, 0, 0, 0, false, true, false, 'Xã Hộ Độ (huyện Lộc Hà)', null, '18100'),
 (2021, '18100', 'Phường Trần Phú', true, 6, 3, 3, 0, 0, 0, 0, false, true, false, 'Xã Hộ Độ (huyện Lộc Hà)', null, '18100'),
 (2021, '18619', 'Xã Đồng Tiến', false, 0, 0, 0, 0, 0, 0, 0, false, true, false, 'Xã Thạch Trị (huyện Thạch Hà)', null, null)
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    settings = fixture.make_settings(tmp_path_factory.mktemp("report-today"), TODAY_TABLE, TODAY_ROWS)
    folder = build_annual_report(2021, settings)
    return settings, folder


def _csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


def test_summary_keeps_its_keys_and_gains_today_geography(report):
    _, folder = report
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    keys = list(summary)
    assert keys[:12] == ["year", "units_registered", "models_total", "models_new", "models_replicated",
                         "fields", "units", "missing_units", "funds_million_vnd", "households",
                         "labour_days", "land_m2"]
    assert (summary["units_registered"], summary["models_total"], summary["models_new"]) == (4, 16, 10)
    today = summary["today_geography"]
    assert today["years"] == [2020, 2021]  # never a year after the report's
    thanh_sen = {u["year"]: u for u in today["units"] if u["code"] == "18073"}
    assert sorted(thanh_sen) == [2020, 2021]
    assert thanh_sen[2020]["total"] == 12.5 and thanh_sen[2020]["estimated"] is True
    assert thanh_sen[2021]["provisional"] is True and thanh_sen[2021]["incomplete"] is False
    tran_phu = next(u for u in today["units"] if u["code"] == "18100" and u["year"] == 2021)
    assert tran_phu["incomplete"] is True and tran_phu["outside_parts"] == "Xã Hộ Độ (huyện Lộc Hà)"


def test_sheet_on_todays_geography_with_marks_and_legend(report):
    _, folder = report
    wb = openpyxl.load_workbook(folder / "bao-cao-dan-van-kheo-2021.xlsx")
    assert wb.sheetnames[-1] == TODAY_SHEET
    ws = wb[TODAY_SHEET]
    values = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    texts = [str(v) for row in values for v in row if v is not None]
    assert any("THEO ĐỊA GIỚI HÀNH CHÍNH HIỆN NAY" in t and "TỪ NĂM 2020 ĐẾN NĂM 2021" in t for t in texts)
    legend = next(t for t in texts if t.startswith("Ghi chú: số liệu từng năm"))
    assert "Ước tính" in legend and "Chưa đầy đủ" in legend and "Tạm tính" in legend
    header = next(i for i, row in enumerate(values) if row[0] == "STT")
    titles = [v for row in values[header - 1: header + 1] for v in row if v]
    for title in ("Đơn vị hiện nay", "Năm", "Ước tính", "Chưa đầy đủ", "Tạm tính", "Ghi chú"):
        assert title in titles
    data = [row for row in values[header + 1:] if isinstance(row[0], int)]
    by_key = {(row[1], row[3]): row for row in data}
    assert sorted(by_key) == [("18073", 2020), ("18073", 2021), ("18100", 2020), ("18100", 2021), ("18619", 2021)]
    ts_2020 = by_key[("18073", 2020)]
    assert ts_2020[4:7] == [12.5, 8.5, 4]
    assert ts_2020[11:14] == ["x", None, None]  # estimated only
    assert by_key[("18073", 2021)][11:14] == ["x", None, "x"]
    tp = by_key[("18100", 2021)]
    assert tp[11:14] == [None, "x", None] and "Xã Hộ Độ (huyện Lộc Hà)" in tp[14]
    dong_tien = by_key[("18619", 2021)]
    assert dong_tien[4] is None and "Không có số liệu" in dong_tien[14]


def test_csv_extract_on_todays_geography(report):
    _, folder = report
    rows = _csv(folder / CSV_NAME)
    assert rows[0][:4] == ["STT", "Mã đơn vị", "Đơn vị hiện nay", "Năm"]
    assert rows[0][11:14] == ["Ước tính", "Chưa đầy đủ", "Tạm tính"]
    body = {(r[1], r[3]): r for r in rows[1:]}
    assert ("18073", "2022") not in body
    assert body[("18073", "2020")][4:7] == ["12.5", "8.5", "4"]
    assert body[("18073", "2020")][11] == "x"
    assert body[("18100", "2020")][12] == "x"
    assert body[("18619", "2021")][4] == ""
    # the same file sits in version 1, file for file
    assert (folder / "versions" / "v1" / CSV_NAME).read_bytes() == (folder / CSV_NAME).read_bytes()


def test_a_revised_share_makes_no_new_version_of_a_published_report(report):
    settings, folder = report
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute("update marts.fct_annual_unit_today set models_total = models_total + 1 where year = 2020")
    finally:
        con.close()
    build_annual_report(2021, settings, gate_result=run_gate(2021, settings))
    assert sorted(p.name for p in (folder / "versions").iterdir()) == ["v1"]
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert {u["total"] for u in summary["today_geography"]["units"] if u["code"] == "18073" and u["year"] == 2020} == {12.5}


def test_overview_points_to_the_sheet(report):
    _, folder = report
    wb = openpyxl.load_workbook(folder / "bao-cao-dan-van-kheo-2021.xlsx")
    texts = [str(v) for row in wb["Tổng quan"].iter_rows(values_only=True) for v in row if v]
    assert any(t.startswith(f"Sheet \"{TODAY_SHEET}\"") for t in texts)


def test_a_unit_counted_from_its_predecessors_is_noted_by_them_and_by_what_they_leave_out():
    # rule 3: a new unit without a report of the year is counted from its predecessors' reports;
    # it has no period of its own to name (the note once read "theo báo cáo None")
    status = [
        {"unit_code": "18100", "unit_name": "Phường Thành Sen", "unit_kind": "phuong", "status": "provisional",
         "source_period_id": None, "source_period_label": None, "figures_source": "predecessors",
         "predecessor_unit_codes": "18073; 18076", "uncounted_split_predecessor_codes": "18082"},
        {"unit_code": "18085", "unit_name": "Phường Văn Yên", "unit_kind": "phuong", "status": "provisional",
         "source_period_id": "2025S1", "source_period_label": "6 tháng đầu năm 2025", "figures_source": "own_report",
         "predecessor_unit_codes": None},
    ]
    table = not_reported(AnnualData(year=2025, status=status, unit_fields=[], fields=[], models=[], today=None))
    notes = {row[1]: (row[5], row[6]) for row in table.rows}
    assert notes == {
        "18100": (None, "Chưa có báo cáo năm; số liệu tạm tính từ báo cáo của các đơn vị cũ (18073; 18076), "
                        "chưa gồm đơn vị cũ bị chia tách (18082)."),
        "18085": ("6 tháng đầu năm 2025", "Chưa có báo cáo năm; số liệu tạm tính theo báo cáo 6 tháng đầu năm 2025."),
    }
    assert not any(cell is not None and "None" in str(cell) for row in table.rows for cell in row)
    # the split predecessor left out is said wherever the unit's status is (rule 3, nothing silent)
    assert provisional_label(status[0]) == (
        "Tạm tính (từ báo cáo của các đơn vị cũ: 18073; 18076; chưa gồm đơn vị cũ bị chia tách (18082))")
    assert split_note(status[1]) == ""

