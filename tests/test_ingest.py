"""The ingest: parsing both forms, resolution, lineage, idempotency, quarantine and atomicity."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from dvk.forms import ModelLine, Submission, write_csv, write_xlsx
from dvk.ingest import ingest_inbox
from dvk.ingest import warehouse as raw_warehouse
from dvk.periods import PeriodError, parse_period
from dvk.reference import FieldDirectory, UnitDirectory
from dvk.settings import get_settings
from tests.support.queries import rows

SAMPLE = Path(__file__).parent / "data" / "sample-submission.xlsx"  # the spec's filled example, copied


@pytest.fixture
def env(empty_inbox) -> Path:
    return empty_inbox


def submission(**overrides) -> Submission:
    lines = [
        ModelLine(stt=1, name="Camera an ninh khu dân cư", field="Quốc phòng - an ninh", kind="Xây mới",
                  households="1.250", funds_million_vnd="12,5"),
        ModelLine(stt=2, name="Chi bộ 4 tốt", field="XDD", kind="Duy trì, nhân rộng", registered_on="05/03/2020"),
    ]
    base = dict(unit_code="18076", unit_name="P. Bắc Hà", period="Quý I/2022", report_date=dt.date(2022, 3, 16),
                models=lines)
    base.update(overrides)
    return Submission(**base)


def test_spec_sample_loads_with_exact_values(env):
    shutil.copy(SAMPLE, env / "sample.xlsx")
    result = ingest_inbox()
    assert result.loaded == ["sample.xlsx"]
    sub = rows("select unit_code, period_id, period_kind, period_year, report_date, preparer_name, has_declared_totals "
               "from raw.submissions")
    assert sub == [("18076", "2021", "year", 2021, dt.date(2021, 12, 16), "Nguyễn Thị Lan", True)]
    models = rows("select line_no, source_row, stt, field_code, model_kind, households, funds_million_vnd, labour_days, "
                  "land_m2, registered_on from raw.submission_models order by line_no")
    assert len(models) == 8
    assert models[0] == (1, 4, 1, "KT", "new", 126, 450.5, 820, 35.0, dt.date(2021, 2, 20))
    assert models[1][3:5] == ("VHXH", "replicated") and models[1][8] is None
    totals = rows("select field_code, models_total, models_new, models_replicated, funds_million_vnd "
                  "from raw.submission_declared_totals order by source_row")
    assert totals == [("KT", 2, 1, 1, 450.5), ("VHXH", 3, 2, 1, 182.0), ("QPAN", 2, 1, 1, 101.4),
                      ("XDD", 1, 1, 0, 5.0), ("TOTAL", 8, 5, 3, 738.9)]


def test_csv_with_bom_and_vietnamese_numbers(env):
    write_csv(submission(), env / "q1.csv", bom=True)
    result = ingest_inbox()
    assert result.loaded == ["q1.csv"] and not result.quarantined
    assert rows("select unit_code, period_id from raw.submissions") == [("18076", "2022Q1")]
    got = rows("select field_code, model_kind, households, funds_million_vnd, registered_on "
               "from raw.submission_models order by line_no")
    assert got == [("QPAN", "new", 1250, 12.5, None), ("XDD", "replicated", None, None, dt.date(2020, 3, 5))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Năm 2021", "2021"), ("Quý I/2022", "2022Q1"), ("Quý 1 năm 2022", "2022Q1"), ("Quý IV/2021", "2021Q4"),
     ("6 tháng đầu năm 2022", "2022S1"), ("6 tháng 2022", "2022S1"), ("Tháng 3/2022", "202203"),
     ("Tháng 03 năm 2022", "202203"), ("2022Q1", "2022Q1"), ("202203", "202203"), ("2022-03", "202203"),
     ("2022S1", "2022S1")],
)
def test_period_forms(text, expected):
    assert parse_period(text, today=dt.date(2026, 1, 1)).id == expected


def test_period_windows_and_due_dates():
    year = parse_period("Năm 2021", today=dt.date(2026, 1, 1))
    assert (year.window_start, year.window_end, year.due_date()) == (dt.date(2020, 12, 15), dt.date(2021, 12, 14), dt.date(2021, 12, 19))
    q1 = parse_period("2022Q1", today=dt.date(2026, 1, 1))
    assert (q1.window_start, q1.window_end) == (dt.date(2021, 12, 15), dt.date(2022, 3, 14))


@pytest.mark.parametrize("text", ["Quý 5/2022", "Tháng 13/2022", "Năm 2999", "hôm qua"])
def test_bad_or_future_periods_are_errors(text):
    with pytest.raises(PeriodError):
        parse_period(text, today=dt.date(2026, 1, 1))


@pytest.mark.parametrize(
    ("name", "code"),
    [("P. Bắc Hà", "18076"), ("Phuong Bac Ha", "18076"), ("Bac Ha", "18076"), ("Xã Thạch Môn", "18103"),
     ("UBND phường Nam Hà", "18073"), ("MTTQ thành phố", "CQ01"), ("Hội Phụ nữ TP", "CQ02")],
)
def test_unit_names(name, code):
    assert UnitDirectory().by_name(name, on=dt.date(2021, 12, 14)).code == code


def test_fields_by_name_code_and_alias():
    fields = FieldDirectory()
    assert [fields.resolve(t) for t in ("Phát triển kinh tế", "kt", "Văn hoá - xã hội", "QP-AN", "Xây dựng Đảng")] == [
        "KT", "KT", "VHXH", "QPAN", "XDD"]


def test_unknown_field_is_quarantined_naming_sheet_row_column(env):
    bad = submission(models=[ModelLine(stt=1, name="Mô hình A", field="Kinh te xa hoi", kind="Xây mới")],
                     with_totals_sheet=False)
    write_xlsx(bad, env / "bad-field.xlsx")
    result = ingest_inbox()
    assert list(result.quarantined) == ["bad-field.xlsx"]
    problems = rows('select sheet, "row", "column", code, message_vi from raw.quarantine_problems')
    assert len(problems) == 1
    sheet, row, column, code, message = problems[0]
    assert (sheet, row, code) == ("Mô hình", 4, "unknown_field")
    assert column.startswith("C") and "Lĩnh vực" in column
    assert "Kinh te xa hoi" in message and "VHXH" in message  # names the value and suggests the closest
    report = next(get_settings().quarantine_dir.rglob("bad-field.xlsx.problems.txt")).read_text(encoding="utf-8")
    assert "dòng 4" in report and "row 4" in report


def test_every_problem_of_a_file_is_listed(env):
    bad = submission(with_totals_sheet=False, models=[
        ModelLine(stt=1, name="A", field="Lĩnh vực lạ", kind="Xây mới"),
        ModelLine(stt=2, name="B", field="KT", kind="Mới toanh", households="-3"),
    ])
    write_xlsx(bad, env / "many.xlsx")
    ingest_inbox()
    codes = rows('select code, "row" from raw.quarantine_problems order by problem_no')
    assert ("unknown_field", 4) in codes and ("unknown_kind", 5) in codes and ("bad_value", 5) in codes


def test_renamed_non_excel_file_is_quarantined_and_good_file_loads(env):
    (env / "not-a-workbook.xlsx").write_text("hello, I am text")
    write_xlsx(submission(), env / "good.xlsx")
    result = ingest_inbox()
    assert result.loaded == ["good.xlsx"]
    assert list(result.quarantined) == ["not-a-workbook.xlsx"]
    assert not (env / "not-a-workbook.xlsx").exists()
    assert rows("select code from raw.quarantine_problems") == [("not_xlsx",)]


def test_second_run_loads_nothing_again(env):
    write_xlsx(submission(), env / "a.xlsx")
    write_csv(submission(unit_code="18073", unit_name="Phường Nam Hà"), env / "b.csv")
    first = ingest_inbox()
    second = ingest_inbox()
    assert len(first.loaded) == 2 and second.loaded == [] and sorted(second.skipped) == ["a.xlsx", "b.csv"]
    assert rows("select count(*) from raw.submissions") == [(2,)]
    assert rows("select count(*) from raw.submission_models") == [(4,)]


def test_a_file_is_loaded_whole_or_not_at_all(env, monkeypatch):
    write_xlsx(submission(), env / "a.xlsx")
    insert_frame = raw_warehouse._insert_frame

    def boom(*args, **kwargs):
        raise RuntimeError("disk full while inserting the model lines")

    monkeypatch.setattr(raw_warehouse, "_insert_frame", boom)
    with pytest.raises(RuntimeError):
        ingest_inbox()
    assert rows("select count(*) from raw.submissions") == [(0,)]
    assert rows("select count(*) from raw.submission_models") == [(0,)]
    monkeypatch.setattr(raw_warehouse, "_insert_frame", insert_frame)
    result = ingest_inbox()
    assert result.loaded == ["a.xlsx"]
    assert rows("select count(*) from raw.submission_models") == [(2,)]


def test_manifest_gives_received_time_and_is_not_a_submission(env):
    write_xlsx(submission(), env / "a.xlsx")
    (env / "_manifest.csv").write_text("file_name,received_at\na.xlsx,2022-03-17T02:00:00Z\n")
    result = ingest_inbox()
    assert result.loaded == ["a.xlsx"] and not result.quarantined
    assert rows("select received_at from raw.submissions") == [(dt.datetime(2022, 3, 17, 2, 0),)]
