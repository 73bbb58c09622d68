"""Rule 1 of the reorganisations spec in the ingest: a submission's unit is the one valid on the
last day of its period's data window, whenever the file arrives. Reused codes both ways; retired
codes and ceased names are quarantined with their successor, never guessed."""

from __future__ import annotations

import datetime as dt

import pytest

from dvk.forms import ModelLine, Submission, csv_bytes, xlsx_bytes
from dvk.ingest import ingest_inbox
from dvk.ingest.parse import parse_file
from dvk.ingest.problems import SubmissionError
from dvk.settings import Settings

DEC_2026 = dt.date(2026, 12, 16)  # "today": it is December 2026


def submission(code, name, period, report_date=dt.date(2026, 12, 15)) -> Submission:
    return Submission(unit_code=code, unit_name=name, period=period, report_date=report_date,
                      models=[ModelLine(stt=1, name="Mô hình A", field="KT", kind="Xây mới")],
                      with_totals_sheet=False)


def xlsx(code, name, period, **kw) -> bytes:
    return xlsx_bytes(submission(code, name, period, **kw), created=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))


def parsed(data: bytes, file_name: str = "f.xlsx"):
    return parse_file(data, file_name, today=DEC_2026)


@pytest.mark.parametrize(("code", "name", "period", "unit", "valid_from"), [
    ("18073", "Phường Nam Hà", "Năm 2024", "18073", dt.date(2019, 1, 1)),  # a 2024 report arriving in 2026
    ("18073", None, "Năm 2024", "18073", dt.date(2019, 1, 1)),
    (None, "Phường Nam Hà", "Năm 2024", "18073", dt.date(2019, 1, 1)),
    ("18073", "Phường Thành Sen", "Năm 2026", "18073", dt.date(2025, 7, 1)),
    ("18073", None, "Quý III/2025", "18073", dt.date(2025, 7, 1)),
    ("18094", "Phường Thạch Linh", "Năm 2024", "18094", dt.date(2019, 1, 1)),
    ("18094", "Phường Trần Phú", "6 tháng đầu năm 2025", "18094", dt.date(2025, 1, 1)),
    (None, "Phường Trần Phú", "6 tháng đầu năm 2025", "18094", dt.date(2025, 1, 1)),
    (None, "Phường Trần Phú", "Năm 2026", "18100", dt.date(2025, 7, 1)),
    (None, "Xã Cẩm Bình", "Năm 2026", "18685", dt.date(2025, 7, 1)),
    ("18685", "UBND xã Cẩm Bình", "Quý I/2026", "18685", dt.date(2025, 7, 1)),
    ("18088", "Xã Thạch Trung", "Quý I/2025", "18088", dt.date(2025, 1, 1)),  # xã → phường, same unit
    ("CQ07", "Công an thành phố", "6 tháng đầu năm 2025", "CQ07", dt.date(2020, 1, 1)),
])
def test_the_unit_valid_at_the_end_of_the_window(code, name, period, unit, valid_from):
    got = parsed(xlsx(code, name, period))
    assert got.unit_code == unit
    from dvk.reference import UnitDirectory
    assert UnitDirectory().resolve(code, name, on=got.period.window_end).valid_from == valid_from


@pytest.mark.parametrize(("code", "name", "period", "problem", "says"), [
    ("18073", "Phường Nam Hà", "Năm 2026", "ceased_unit",
     "Phường Nam Hà ceased on 01/07/2025; its territory is now part of Phường Thành Sen, 18073"),
    (None, "Phường Nam Hà", "Quý I/2026", "ceased_unit", "Phường Thành Sen, 18073"),
    ("18070", "Phường Trần Phú", "Quý I/2025", "retired_unit_code", "Phường Trần Phú, 18094"),
    ("18076", "Phường Bắc Hà", "Năm 2025", "retired_unit_code", "Phường Thành Sen, 18073"),
    (None, "Phường Thành Sen", "Năm 2024", "unit_not_valid_on_date", "exists only from 01/07/2025"),
    ("CQ07", "Công an thành phố", "Quý III/2025", "retired_unit_code", "ceased on 01/07/2025"),
    ("18094", "Phường Nam Hà", "6 tháng đầu năm 2025", "unit_mismatch", "on 14/06/2025"),
])
def test_never_guessed(code, name, period, problem, says):
    with pytest.raises(SubmissionError) as info:
        parsed(xlsx(code, name, period))
    found = [p for p in info.value.problems if p.code == problem]
    assert found, [p.code for p in info.value.problems]
    assert says in found[0].message_en and found[0].message_vi
    assert found[0].sheet == "Thông tin" and found[0].row
    if problem == "retired_unit_code":
        assert "Mã đơn vị" in found[0].column  # the code cell is the one to fix
    elif name:
        assert "Tên đơn vị" in found[0].column


def test_csv_rows_are_checked_on_the_same_day():
    """Every row of a CSV names the unit valid on the period's window end: a later row that names
    the same unit by its name of that day is the same submission."""
    data = csv_bytes(submission("18073", "Phường Thành Sen", "Năm 2026"))
    assert parsed(data, "f.csv").unit_code == "18073"


def test_a_2026_inbox_loads_the_new_units_and_quarantines_the_ceased(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    site = Settings(inbox_dir=inbox, warehouse=tmp_path / "wh" / "dvk.duckdb", reports_dir=tmp_path / "reports",
                    quarantine_dir=tmp_path / "quarantine")
    (inbox / "cam-binh-2026.xlsx").write_bytes(xlsx(None, "Xã Cẩm Bình", "Năm 2026"))
    (inbox / "thanh-sen-2026.xlsx").write_bytes(xlsx("18073", "Phường Thành Sen", "Năm 2026"))
    (inbox / "nam-ha-2024-late.xlsx").write_bytes(xlsx("18073", "Phường Nam Hà", "Năm 2024"))
    (inbox / "nam-ha-2026.xlsx").write_bytes(xlsx("18073", "Phường Nam Hà", "Năm 2026"))
    result = ingest_inbox(site, today=DEC_2026)
    assert sorted(result.loaded) == ["cam-binh-2026.xlsx", "nam-ha-2024-late.xlsx", "thanh-sen-2026.xlsx"]
    assert list(result.quarantined) == ["nam-ha-2026.xlsx"]
