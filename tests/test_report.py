"""The annual report (dvk.report) on the hand-made marts of tests/test_gate.py."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import openpyxl
import pytest

from dvk.gate import GateFailed, run_gate
from dvk.report import build_annual_report, years_with_annual_submissions

_spec = importlib.util.spec_from_file_location(
    "dvk_test_gate_fixture", Path(__file__).parent / "test_gate.py"
)
fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixture)

SPEC_KEYS = [
    "year", "units_registered", "models_total", "models_new", "models_replicated", "fields",
    "units", "missing_units", "funds_million_vnd", "households", "labour_days", "land_m2",
]
SHEETS = ["Tổng quan", "Theo lĩnh vực", "Theo đơn vị", "Danh sách mô hình", "Đơn vị chưa báo cáo"]
HEADLINE = (
    "Trong năm, toàn thành phố có 4 địa phương, cơ quan, đơn vị đăng ký xây dựng mô hình; "
    "nhân rộng 16 mô hình \"Dân vận khéo\". Trong đó, 10 mô hình \"Dân vận khéo\" xây mới, "
    "đăng ký trên 4 lĩnh vực."
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    settings = fixture.make_settings(tmp_path_factory.mktemp("report"))
    folder = build_annual_report(2021, settings)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return settings, folder, summary


def test_report_lands_in_annual_year_folder(report):
    settings, folder, _ = report
    assert folder == settings.reports_dir / "annual" / "2021"
    assert sorted(p.name for p in folder.iterdir()) == ["bao-cao-dan-van-kheo-2021.xlsx", "summary.json"]
    # nothing half-written or temporary left beside it
    assert sorted(p.name for p in (settings.reports_dir / "annual").iterdir()) == ["2021"]
    assert sorted(p.name for p in settings.reports_dir.iterdir()) == ["annual", "gate"]


def test_summary_has_the_spec_keys_first_and_in_order(report):
    _, _, summary = report
    assert list(summary)[: len(SPEC_KEYS)] == SPEC_KEYS
    assert set(summary["fields"]) == {"KT", "VHXH", "QPAN", "XDD"}
    for field in summary["fields"].values():
        assert set(field) == {"total", "new", "replicated"}
    for unit in summary["units"]:
        assert list(unit) == ["code", "name", "total", "new", "replicated", "provisional"]


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
    assert s["provisional_units"] == [{"code": "18073", "name": "Phường Nam Hà", "source_period_id": "2021Q3"}]
    assert s["units_without_models"] == [{"code": "18079", "name": "Phường Tân Giang", "status": "reported"}]
    assert s["missing_units_detail"] == [{"code": "18077", "name": "Phường Nguyễn Du"}]
    assert s["headline_vi"] == HEADLINE


def test_workbook_sheets_headline_and_tables(report):
    _, folder, s = report
    wb = openpyxl.load_workbook(folder / "bao-cao-dan-van-kheo-2021.xlsx")
    assert wb.sheetnames == SHEETS
    overview = [c for row in wb["Tổng quan"].iter_rows(values_only=True) for c in row if c is not None]
    assert HEADLINE in overview
    assert any("NĂM 2021" in str(c) for c in overview)

    by_field = list(wb["Theo lĩnh vực"].iter_rows(values_only=True))
    total_row = next(r for r in by_field if "Tổng cộng" in r)
    assert total_row[3:6] == (16, 10, 6)
    kt = next(r for r in by_field if r[1] == "KT")
    assert kt[3:6] == (7, 4, 3)

    by_unit = list(wb["Theo đơn vị"].iter_rows(values_only=True))
    nam_ha = next(r for r in by_unit if r[1] == "18073")
    assert nam_ha[4] == "x" and "Tạm tính" in nam_ha[3]
    assert next(r for r in by_unit if "Tổng cộng" in r)[5:8] == (16, 10, 6)

    models = list(wb["Danh sách mô hình"].iter_rows(values_only=True))
    names = [r[7] for r in models[3:]]
    assert len(names) == 16
    assert "Tổ dân phố mẫu" in names

    missing = [r for r in wb["Đơn vị chưa báo cáo"].iter_rows(values_only=True)]
    codes = {r[1]: r[4] for r in missing[3:] if r[1]}
    assert codes == {"18077": "Chưa báo cáo", "18073": "Tạm tính"}


def test_formula_like_model_names_stay_text(report):
    _, folder, _ = report
    wb = openpyxl.load_workbook(folder / "bao-cao-dan-van-kheo-2021.xlsx")
    ws = wb["Danh sách mô hình"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for text in ("=1+2", "+84 Dân vận khéo", "-Camera an ninh khu dân cư", "@Chi bộ bốn tốt"):
        assert text in cells, text
        assert cells[text].data_type == "s", (text, cells[text].data_type)
    # and no formula anywhere in the workbook
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for c in row:
                assert c.data_type != "f", (sheet.title, c.coordinate, c.value)


def test_report_is_reproducible(report):
    settings, folder, summary = report
    xlsx = folder / "bao-cao-dan-van-kheo-2021.xlsx"
    before = hashlib.sha256(xlsx.read_bytes()).hexdigest()
    summary_bytes = (folder / "summary.json").read_bytes()
    again = build_annual_report(2021, settings, gate_result=run_gate(2021, settings))
    assert again == folder
    assert (folder / "summary.json").read_bytes() == summary_bytes
    assert hashlib.sha256(xlsx.read_bytes()).hexdigest() == before


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


def test_gate_result_of_another_year_is_refused(tmp_path):
    settings = fixture.make_settings(tmp_path)
    with pytest.raises(ValueError):
        build_annual_report(2021, settings, gate_result=run_gate(2022, settings))


def test_years_with_annual_submissions(tmp_path):
    settings = fixture.make_settings(tmp_path)
    assert years_with_annual_submissions(settings) == [2021]  # 2022 has a quarterly report only
    settings = fixture.make_settings(
        tmp_path / "again",
        "update marts.fct_submission set period_kind = 'year', period_id = '2022' "
        f"where submission_id = '{fixture.sid('tp_2022q1')}'",
    )
    assert years_with_annual_submissions(settings) == [2021, 2022]
