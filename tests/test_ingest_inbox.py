"""The ingest run: raw.* with lineage, quarantine with reports, idempotency, atomicity, received times."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest

from dvk.ingest import IngestError, ingest_inbox
from dvk.ingest import inbox as inbox_module
from dvk.ingest import warehouse as raw_warehouse
from dvk.settings import PROJECT_ROOT, get_settings
from tests.support.queries import rows

SAMPLE = Path(__file__).parent / "data" / "sample-submission.xlsx"
MODEL_HEADER = ["STT", "Tên mô hình", "Lĩnh vực", "Hình thức", "Số hộ tham gia", "Kinh phí huy động (triệu đồng)"]
CSV = ("ma_don_vi,ten_don_vi,ky_bao_cao,ngay_bao_cao,stt,ten_mo_hinh,linh_vuc,hinh_thuc,ngay_dang_ky,cap_cong_nhan,"
       "so_ho_tham_gia,kinh_phi_trieu_dong,ngay_cong,dat_hien_m2,ghi_chu\n"
       "18073,Phường Nam Hà,Quý I/2022,16/03/2022,1,Mô hình X,KT,Xây mới,,,\"1.250\",\"12,5\",,,\n")


@pytest.fixture
def inbox(empty_inbox) -> Path:
    return empty_inbox


def write_xlsx(path: Path, *, unit: str = "P. Bắc Hà", period: str = "Quý I/2022", models=None) -> Path:
    models = models if models is not None else [[1, "Mô hình A", "KT", "Xây mới", 10, 1.5],
                                                [2, "Mô hình B", "VHXH", "Duy trì", None, None]]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Thông tin"
    for row in (("Mã đơn vị", None), ("Tên đơn vị", unit), ("Kỳ báo cáo", period),
                ("Ngày báo cáo", dt.datetime(2022, 3, 16))):
        ws.append(row)
    ws = wb.create_sheet("Mô hình")
    ws.append(["DANH SÁCH MÔ HÌNH"])
    ws.append(MODEL_HEADER)
    for row in models:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    path.write_bytes(out.getvalue())
    return path


def test_sample_loads_into_raw_with_lineage(inbox):
    shutil.copy(SAMPLE, inbox / "bac-ha-2021.xlsx")
    os.utime(inbox / "bac-ha-2021.xlsx", (1639641600, 1639641600))  # 2021-12-16 08:00 UTC
    result = ingest_inbox()
    assert result.loaded == ["bac-ha-2021.xlsx"] and not result.quarantined and result.files_seen == 1
    sha = __import__("hashlib").sha256(SAMPLE.read_bytes()).hexdigest()
    assert rows("select submission_id, file_name, file_format, file_size_bytes, received_at, load_id, unit_code, "
                "unit_code_raw, unit_name_raw, period_id, period_kind, period_year, period_raw, report_date, "
                "preparer_name, preparer_phone, has_declared_totals from raw.submissions") == [
        (sha, "bac-ha-2021.xlsx", "xlsx", SAMPLE.stat().st_size, dt.datetime(2021, 12, 16, 8, 0), result.load_id,
         "18076", "18076", "Phường Bắc Hà", "2021", "year", 2021, "Năm 2021", dt.date(2021, 12, 16),
         "Nguyễn Thị Lan", "0912 345 678", True)]
    assert rows("select count(*), sum(households), round(sum(funds_million_vnd), 1), min(line_no), max(line_no), "
                "min(source_row), max(source_row) from raw.submission_models") == [(8, 1096, 738.9, 1, 8, 4, 11)]
    assert rows("select field_code, models_total, models_new, models_replicated, funds_million_vnd "
                "from raw.submission_declared_totals order by source_row") == [
        ("KT", 2, 1, 1, 450.5), ("VHXH", 3, 2, 1, 182.0), ("QPAN", 2, 1, 1, 101.4), ("XDD", 1, 1, 0, 5.0),
        ("TOTAL", 8, 5, 3, 738.9)]
    (load,) = rows("select load_id, inbox_dir, files_seen, files_loaded, files_skipped, files_quarantined, "
                   "finished_at >= started_at from raw.loads")
    assert load == (result.load_id, str(inbox), 1, 1, 0, 0, True)
    json.dumps(result.as_dict())  # a DAG task returns it


def test_raw_tables_match_the_contract(inbox):
    ingest_inbox()  # an empty inbox still creates raw.* and logs the run
    got = rows("select table_name, column_name, data_type from information_schema.columns "
               "where table_schema = 'raw' order by table_name, ordinal_position")
    expected = [(t, c, d) for t, cols in sorted(raw_warehouse.RAW_TABLES.items()) for c, d in cols]
    assert got == expected
    assert {t for t, _, _ in got} == {"loads", "submissions", "submission_models", "submission_declared_totals",
                                      "quarantine", "quarantine_problems", "submission_warnings"}
    assert rows("select count(*), sum(files_seen) from raw.loads") == [(1, 0)]


def test_csv_with_bom_loads(inbox):
    (inbox / "nam-ha.csv").write_bytes(b"\xef\xbb\xbf" + CSV.encode())
    result = ingest_inbox()
    assert result.loaded == ["nam-ha.csv"]
    assert rows("select file_format, unit_code, period_id, has_declared_totals from raw.submissions") == [
        ("csv", "18073", "2022Q1", False)]
    assert rows("select source_sheet, source_row, households, funds_million_vnd from raw.submission_models") == [
        ("csv", 2, 1250, 12.5)]


def test_unknown_field_is_quarantined_with_sheet_row_column_and_suggestion(inbox):
    write_xlsx(inbox / "bad-field.xlsx", models=[[1, "Mô hình A", "Kinh te xa hoi", "Xây mới", None, None]])
    result = ingest_inbox()
    assert list(result.quarantined) == ["bad-field.xlsx"] and not result.loaded
    assert not (inbox / "bad-field.xlsx").exists()
    (problem,) = rows('select file_name, problem_no, sheet, "row", "column", code, message_vi, message_en '
                      "from raw.quarantine_problems")
    assert problem[:6] == ("bad-field.xlsx", 1, "Mô hình", 3, "C (Lĩnh vực)", "unknown_field")
    assert problem[6].startswith("Không nhận ra lĩnh vực «Kinh te xa hoi». Các lĩnh vực hợp lệ:")
    assert "VHXH" in problem[6] and "Kinh te xa hoi" in problem[7]

    (q,) = rows("select file_name, load_id, quarantine_path, report_path from raw.quarantine")
    moved, report = Path(q[2]), Path(q[3])
    assert q[:2] == ("bad-field.xlsx", result.load_id)
    assert moved.name == "bad-field.xlsx" and moved.is_file()
    assert moved.parent.parent == get_settings().quarantine_dir and result.load_id in moved.parent.name
    assert report == moved.with_name("bad-field.xlsx.problems.txt")
    text = report.read_text(encoding="utf-8")
    assert "sheet «Mô hình», dòng 3, cột C (Lĩnh vực)" in text and "sheet 'Mô hình', row 3" in text
    assert "Không nhận ra lĩnh vực" in text and "unknown field" in text


def test_renamed_non_excel_file_is_quarantined_while_a_good_file_loads(inbox):
    (inbox / "bao-cao.xlsx").write_text("Kính gửi Ban Dân vận, đây không phải bảng tính.", encoding="utf-8")
    write_xlsx(inbox / "good.xlsx")
    result = ingest_inbox()
    assert result.loaded == ["good.xlsx"] and list(result.quarantined) == ["bao-cao.xlsx"]
    assert rows("select code from raw.quarantine_problems") == [("not_xlsx",)]
    assert rows("select count(*) from raw.submission_models") == [(2,)]


def test_other_files_are_not_submissions_and_underscore_files_are_ignored(inbox):
    (inbox / "ghi-chu.docx").write_bytes(b"PK\x03\x04 word")
    (inbox / "README").write_text("hello")
    (inbox / "_manifest.csv").write_text("file_name,received_at\n")
    (inbox / ".DS_Store").write_bytes(b"\x00")
    (inbox / "_notes.txt").write_text("ignored")
    result = ingest_inbox()
    assert sorted(result.quarantined) == ["README", "ghi-chu.docx"] and result.files_seen == 2
    problems = rows("select file_name, code, message_vi, message_en from raw.quarantine_problems order by 1")
    assert [p[:2] for p in problems] == [("README", "not_submission"), ("ghi-chu.docx", "not_submission")]
    assert all("Không phải tệp báo cáo" in p[2] and "not a submission file" in p[3] for p in problems)
    assert (inbox / "_manifest.csv").exists() and (inbox / ".DS_Store").exists()


def test_running_twice_loads_nothing_twice(inbox):
    write_xlsx(inbox / "a.xlsx")
    (inbox / "b.csv").write_text(CSV, encoding="utf-8")
    (inbox / "c.xlsx").write_bytes(b"broken")
    first = ingest_inbox()
    assert sorted(first.loaded) == ["a.xlsx", "b.csv"] and list(first.quarantined) == ["c.xlsx"]
    (inbox / "c-again.xlsx").write_bytes(b"broken")  # the same bad bytes sent again
    shutil.copy(inbox / "a.xlsx", inbox / "a-copy.xlsx")  # the same good bytes under another name
    second = ingest_inbox()
    assert second.loaded == [] and not second.quarantined
    assert second.skipped == {"a.xlsx": "already_loaded", "a-copy.xlsx": "already_loaded", "b.csv": "already_loaded",
                              "c-again.xlsx": "already_quarantined"}
    assert rows("select count(*) from raw.submissions") == [(2,)]
    assert rows("select count(*) from raw.submission_models") == [(3,)]
    assert rows("select count(*) from raw.quarantine") == [(1,)]
    assert rows("select files_seen, files_loaded, files_skipped, files_quarantined from raw.loads "
                "order by started_at, files_loaded desc") == [(3, 2, 0, 1), (4, 0, 4, 0)]


def test_a_file_is_loaded_whole_or_not_at_all(inbox, monkeypatch):
    write_xlsx(inbox / "a.xlsx")
    write_xlsx(inbox / "b.xlsx", unit="Phường Nam Hà")
    real = raw_warehouse._insert_frame

    def fail_after_the_submission_row(con, table, frame):
        real(con, table, frame)
        if table == "submissions" and "a.xlsx" in list(frame["file_name"]):
            # a.xlsx's row is in; its model lines never come. The group (a and b) is rolled back,
            # then each file is retried in its own transaction: a fails again, b loads.
            raise OSError("disk full while inserting the model lines")

    monkeypatch.setattr(raw_warehouse, "_insert_frame", fail_after_the_submission_row)
    with pytest.raises(IngestError) as info:
        ingest_inbox()
    result = info.value.result
    assert list(result.failed) == ["a.xlsx"] and result.loaded == ["b.xlsx"]  # the run went on
    assert rows("select file_name from raw.submissions") == [("b.xlsx",)]
    assert rows("select count(*) from raw.submission_models") == [(2,)]  # b's lines only
    assert (inbox / "a.xlsx").exists()  # left for the next run

    monkeypatch.setattr(raw_warehouse, "_insert_frame", real)
    again = ingest_inbox()
    assert again.loaded == ["a.xlsx"] and again.skipped == {"b.xlsx": "already_loaded"}
    assert rows("select count(*) from raw.submission_models") == [(4,)]


def test_a_parser_crash_is_quarantined_as_unreadable(inbox, monkeypatch):
    write_xlsx(inbox / "a.xlsx")
    write_xlsx(inbox / "b.xlsx", unit="Phường Nam Hà")
    real = inbox_module.parse_file

    def crash_on_a(data, name, **kwargs):
        if name == "a.xlsx":
            raise KeyError("something nobody expected")
        return real(data, name, **kwargs)

    monkeypatch.setattr(inbox_module, "parse_file", crash_on_a)
    result = ingest_inbox()
    assert result.loaded == ["b.xlsx"] and list(result.quarantined) == ["a.xlsx"]
    assert rows("select code from raw.quarantine_problems") == [("unreadable",)]


def test_manifest_gives_the_received_time(inbox):
    write_xlsx(inbox / "a.xlsx")
    write_xlsx(inbox / "b.xlsx", unit="Phường Nam Hà")
    os.utime(inbox / "b.xlsx", (1647417600, 1647417600))  # 2022-03-16 08:00 UTC
    (inbox / "_manifest.csv").write_text(
        "file_name,received_at\na.xlsx,2022-03-17T09:00:00+07:00\nother.xlsx,2022-01-01T00:00:00Z\n")
    result = ingest_inbox()
    assert sorted(result.loaded) == ["a.xlsx", "b.xlsx"]
    assert rows("select file_name, received_at from raw.submissions order by 1") == [
        ("a.xlsx", dt.datetime(2022, 3, 17, 2, 0)), ("b.xlsx", dt.datetime(2022, 3, 16, 8, 0))]


def test_a_correction_written_within_the_same_second_arrives_later(inbox):
    # a script writing a report and its correction 50 ms apart: the arrival times (the modification
    # times, no manifest) keep their order, so the correction is the newer version, not a tie that
    # the files' hashes would decide
    write_xlsx(inbox / "v1.xlsx", models=[[1, "Mô hình A", "KT", "Xây mới", 10, 1.5]])
    write_xlsx(inbox / "v2.xlsx")
    os.utime(inbox / "v1.xlsx", ns=(1647417600_100_000_000, 1647417600_100_000_000))
    os.utime(inbox / "v2.xlsx", ns=(1647417600_150_000_000, 1647417600_150_000_000))
    ingest_inbox()
    (first, t1), (second, t2) = rows("select file_name, received_at from raw.submissions order by received_at")
    assert (first, second) == ("v1.xlsx", "v2.xlsx") and t1 < t2
    assert t2 - t1 == dt.timedelta(milliseconds=50)


def test_the_warehouse_is_closed_after_the_run(inbox):
    write_xlsx(inbox / "a.xlsx")
    ingest_inbox()
    con = duckdb.connect(str(get_settings().warehouse))  # a writer (dbt) can open it now
    con.close()


def test_cli_prints_the_result_as_json(inbox):
    write_xlsx(inbox / "a.xlsx")
    proc = subprocess.run([sys.executable, "-m", "dvk.ingest"], cwd=PROJECT_ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["files_loaded"] == 1 and out["loaded"] == ["a.xlsx"]
