"""Rule 1 of the reorganisations spec probed as a test built from the spec would: the unit of a
report is the one valid on the last day of its period's window (year Y: 14 December Y; 2025Q1:
14 March 2025; 2025S1: 14 June 2025; 2025Q3: 14 September 2025), by code and/or name; a retired
code, a ceased unit's name, or a code and a name of two units that day are quarantined with a
message naming what they mean that day and the successor to use. Files are built with the form
writer (``dvk.forms``), as a clerk's spreadsheet would be."""

from __future__ import annotations

import datetime as dt

import pytest

from dvk.forms import ModelLine, Submission, xlsx_bytes
from dvk.ingest import ingest_inbox
from dvk.ingest.parse import parse_file
from dvk.ingest.problems import SubmissionError
from dvk.settings import Settings

TODAY = dt.date(2026, 1, 20)


def xlsx(code, name, period) -> bytes:
    sub = Submission(unit_code=code, unit_name=name, period=period, report_date=dt.date(2026, 1, 10),
                     models=[ModelLine(stt=1, name="Mô hình A", field="KT", kind="Xây mới")],
                     with_totals_sheet=False)
    return xlsx_bytes(sub, created=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))


def problems(code, name, period):
    with pytest.raises(SubmissionError) as info:
        parse_file(xlsx(code, name, period), "f.xlsx", today=TODAY)
    return info.value.problems


@pytest.mark.parametrize(("code", "name", "period", "unit", "unit_name"), [
    # 14/09/2025: 18100 is the new Trần Phú (ex-Thạch Hạ's code)
    ("18100", "Phường Trần Phú", "Quý III/2025", "18100", "Phường Trần Phú"),
    # 14/06/2025 (S1 window end): 18100 is still Phường Thạch Hạ, valid until 01/07/2025
    ("18100", "Phường Thạch Hạ", "6 tháng đầu năm 2025", "18100", "Phường Thạch Hạ"),
    ("18100", "Thạch Hạ", "6 tháng đầu năm 2025", "18100", "Phường Thạch Hạ"),
    # name only, on the date: the same name means another unit on another date
    (None, "Phường Trần Phú", "Quý I/2025", "18094", "Phường Trần Phú"),
    (None, "Phường Trần Phú", "Quý III/2025", "18100", "Phường Trần Phú"),
    (None, "Phường Trần Phú", "Năm 2024", "18070", "Phường Trần Phú"),
    (None, "Phường Thạch Hạ", "Quý I/2025", "18100", "Phường Thạch Hạ"),
    (None, "Xã Thạch Hạ", "Năm 2024", "18100", "Xã Thạch Hạ"),
    (None, "Phường Hà Huy Tập", "Năm 2024", "18085", "Phường Hà Huy Tập"),
    (None, "Phường Hà Huy Tập", "Năm 2025", "18652", "Phường Hà Huy Tập"),
    (None, "Xã Thạch Môn", "Năm 2022", "18103", "Xã Đồng Môn"),  # an alias of that validity
])
def test_loads_as_the_unit_valid_that_day(code, name, period, unit, unit_name):
    from dvk.reference import UnitDirectory
    got = parse_file(xlsx(code, name, period), "f.xlsx", today=TODAY)
    assert got.unit_code == unit
    assert UnitDirectory().resolve(code, name, on=got.period.window_end).name == unit_name


@pytest.mark.parametrize("name", ["Phường Nam Hà", "Nam Hà"])
def test_a_2025_annual_report_of_nam_ha_names_thanh_sen(name):
    found = problems("18073", name, "Năm 2025")
    assert found and found[0].code in {"ceased_unit", "unit_not_valid_on_date", "unit_mismatch"}
    message = found[0].message_en
    assert "14/12/2025" in message
    assert "Phường Thành Sen, 18073" in message  # the successor to use
    assert "Phường Nam Hà ceased on 01/07/2025; its territory is now part of Phường Thành Sen, 18073" in message
    assert "Phường Thành Sen" in found[0].message_vi and "18073" in found[0].message_vi


@pytest.mark.parametrize("name", [None, "Phường Trần Phú"])
def test_a_2025q1_report_with_the_retired_code_18070_names_tran_phu_18094(name):
    found = [p for p in problems("18070", name, "Quý I/2025") if p.code == "retired_unit_code"]
    assert found
    assert "14/03/2025" in found[0].message_en
    assert "Phường Trần Phú, 18094" in found[0].message_en
    assert "Phường Trần Phú, 18094" in found[0].message_vi


@pytest.mark.parametrize(("code", "name"), [("CQ01", None), ("CQ01", "Ủy ban MTTQ Việt Nam thành phố"),
                                            (None, "Ủy ban MTTQ Việt Nam thành phố")])
def test_an_agency_after_the_city_ceased_is_quarantined(code, name):
    found = problems(code, name, "Quý III/2025")
    assert found[0].code in {"retired_unit_code", "ceased_unit", "unit_not_valid_on_date"}
    assert "ceased on 01/07/2025" in found[0].message_en
    assert "14/09/2025" in found[0].message_en


@pytest.mark.parametrize(("code", "name", "period", "code_means", "name_means"), [
    # 14/12/2025: 18073 is Thành Sen, "Phường Trần Phú" is 18100
    ("18073", "Phường Trần Phú", "Năm 2025", "Phường Thành Sen", "18100"),
    # 14/06/2025: 18094 is Trần Phú, "Phường Thạch Hạ" is 18100
    ("18094", "Phường Thạch Hạ", "6 tháng đầu năm 2025", "Phường Trần Phú", "18100"),
])
def test_a_code_and_a_name_of_two_units_that_day(code, name, period, code_means, name_means):
    found = problems(code, name, period)
    assert found[0].code == "unit_mismatch"
    message = found[0].message_en
    assert code_means in message and name_means in message and name in message
    assert found[0].message_vi


def test_the_inbox_quarantines_and_loads_by_date(tmp_path):
    """Through the ingest: the probes above as files of one inbox; nothing guessed, nothing lost."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    site = Settings(inbox_dir=inbox, warehouse=tmp_path / "wh" / "dvk.duckdb", reports_dir=tmp_path / "reports",
                    quarantine_dir=tmp_path / "quarantine")
    files = {
        "nam-ha-2025.xlsx": xlsx("18073", "Phường Nam Hà", "Năm 2025"),
        "tran-phu-q1-18070.xlsx": xlsx("18070", "Phường Trần Phú", "Quý I/2025"),
        "tran-phu-q3.xlsx": xlsx("18100", "Phường Trần Phú", "Quý III/2025"),
        "thach-ha-s1.xlsx": xlsx("18100", "Phường Thạch Hạ", "6 tháng đầu năm 2025"),
        "mttq-q3.xlsx": xlsx("CQ01", "Ủy ban MTTQ Việt Nam thành phố", "Quý III/2025"),
        "mttq-s1.xlsx": xlsx("CQ01", "Ủy ban MTTQ Việt Nam thành phố", "6 tháng đầu năm 2025"),
    }
    for file_name, data in files.items():
        (inbox / file_name).write_bytes(data)
    result = ingest_inbox(site, today=TODAY)
    assert sorted(result.loaded) == ["mttq-s1.xlsx", "thach-ha-s1.xlsx", "tran-phu-q3.xlsx"]
    assert sorted(result.quarantined) == ["mttq-q3.xlsx", "nam-ha-2025.xlsx", "tran-phu-q1-18070.xlsx"]
    notes = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "quarantine").rglob("*.problems.txt")}
    nam_ha = next(text for name, text in notes.items() if name.startswith("nam-ha-2025"))
    assert "Phường Thành Sen, 18073" in nam_ha
    tran_phu = next(text for name, text in notes.items() if name.startswith("tran-phu-q1-18070"))
    assert "Phường Trần Phú, 18094" in tran_phu
