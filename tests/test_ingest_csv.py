"""The CSV form (spec §4): UTF-8 with or without BOM, one header row, one unit and period a file."""

from __future__ import annotations

import datetime as dt

import pytest

from dvk.ingest import SubmissionError, parse_file

TODAY = dt.date(2026, 1, 1)
HEADER = ("ma_don_vi,ten_don_vi,ky_bao_cao,ngay_bao_cao,stt,ten_mo_hinh,linh_vuc,hinh_thuc,ngay_dang_ky,"
          "cap_cong_nhan,so_ho_tham_gia,kinh_phi_trieu_dong,ngay_cong,dat_hien_m2,ghi_chu")
ROWS = [
    '18094,Phuong Thach Linh,Quý I/2022,16/03/2022,1,"Camera an ninh, khu dân cư",QPAN,Xây mới,05/01/2022,Cấp xã,'
    '"1.250","12,5",30,,',
    "18094,Phuong Thach Linh,Quý I/2022,16/03/2022,2,Chi bộ 4 tốt,Xây dựng Đảng,\"Duy trì, nhân rộng\",,,,5,,,ghi chú",
]


def csv_bytes(rows=ROWS, header=HEADER, bom=False, newline="\n") -> bytes:
    text = newline.join([header, *rows]) + newline
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def parse(data: bytes):
    return parse_file(data, "f.csv", today=TODAY)


def problems_of(data: bytes) -> list:
    with pytest.raises(SubmissionError) as info:
        parse(data)
    return info.value.problems


@pytest.mark.parametrize("bom", [True, False])
def test_csv_with_and_without_bom(bom):
    sub = parse(csv_bytes(bom=bom, newline="\r\n"))
    assert (sub.file_format, sub.unit_code, sub.unit_code_raw, sub.unit_name_raw, sub.period.id, sub.report_date,
            sub.has_declared_totals, sub.totals) == (
        "csv", "18094", "18094", "Phuong Thach Linh", "2022Q1", dt.date(2022, 3, 16), False, [])
    got = [(m.source_sheet, m.source_row, m.stt, m.model_name, m.field_code, m.model_kind, m.registered_on,
            m.recognition_level, m.households, m.funds_million_vnd, m.labour_days, m.land_m2, m.note)
           for m in sub.models]
    assert got == [
        ("csv", 2, 1, "Camera an ninh, khu dân cư", "QPAN", "new", dt.date(2022, 1, 5), "Cấp xã", 1250, 12.5, 30,
         None, None),
        ("csv", 3, 2, "Chi bộ 4 tốt", "XDD", "replicated", None, None, None, 5.0, None, None, "ghi chú"),
    ]


def test_semicolon_export_and_vietnamese_headers():
    header = ("Mã đơn vị;Tên đơn vị;Kỳ báo cáo;Ngày báo cáo;STT;Tên mô hình;Lĩnh vực;Hình thức;Cột lạ")
    rows = ["18076;P. Bắc Hà;2021;16/12/2021;1;Mô hình A;KT;Xây mới;x"]
    sub = parse(csv_bytes(rows=rows, header=header))
    assert (sub.unit_code, sub.period.id, [m.model_name for m in sub.models]) == ("18076", "2021", ["Mô hình A"])


def test_same_unit_written_two_ways_is_one_unit():
    rows = ["18076,P. Bắc Hà,Năm 2021,16/12/2021,1,A,KT,Xây mới,,,,,,,",
            ",Phường Bắc Hà,2021,,2,B,KT,Nhân rộng,,,,,,,"]
    sub = parse(csv_bytes(rows=rows))
    assert sub.unit_code == "18076" and len(sub.models) == 2


def test_a_file_mixing_two_units_or_periods_is_a_problem():
    rows = ["18076,Phường Bắc Hà,Năm 2021,16/12/2021,1,A,KT,Xây mới,,,,,,,",
            "18073,Phường Nam Hà,Năm 2021,16/12/2021,2,B,KT,Xây mới,,,,,,,",
            "18076,Phường Bắc Hà,Quý I/2022,16/12/2021,3,C,KT,Xây mới,,,,,,,"]
    problems = problems_of(csv_bytes(rows=rows))
    assert [(p.code, p.sheet, p.row, p.column) for p in problems] == [
        ("mixed_submissions", "csv", 3, "ten_don_vi"), ("mixed_submissions", "csv", 4, "ky_bao_cao")]
    assert "mỗi tệp chỉ gồm một đơn vị" in problems[0].message_vi


def test_missing_columns_are_named():
    problems = problems_of(b"ma_don_vi,ten_don_vi\n18076,Phuong Bac Ha\n")
    assert {(p.code, p.row, p.column) for p in problems} == {
        ("missing_column", 1, name) for name in ("ky_bao_cao", "ngay_bao_cao", "ten_mo_hinh", "linh_vuc", "hinh_thuc")}


def test_bad_values_name_the_row_and_column():
    rows = ["18076,Phường Bắc Hà,Năm 2021,16/12/2021,1,A,Kinh te xa hoi,Xây mới,,,-2,nhiều,,,"]
    problems = problems_of(csv_bytes(rows=rows))
    assert {(p.code, p.row, p.column) for p in problems} == {
        ("unknown_field", 2, "linh_vuc"), ("bad_value", 2, "so_ho_tham_gia"), ("bad_value", 2, "kinh_phi_trieu_dong")}


def test_not_utf8_is_a_problem():
    data = csv_bytes().decode("utf-8").encode("utf-16")
    (problem,) = problems_of(data)
    assert problem.code == "bad_encoding" and "UTF-8" in problem.message_vi


def test_header_only_is_a_problem():
    (problem,) = problems_of(csv_bytes(rows=[]))
    assert problem.code == "empty"
