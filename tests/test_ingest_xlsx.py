"""The Excel form (spec §3): the spec's sample to exact values, and workbooks as units really send them.

Workbooks are written here with openpyxl, cell by cell, so each test shows the layout it exercises.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from dvk.ingest import SubmissionError, parse_file

SAMPLE = Path(__file__).parent / "data" / "sample-submission.xlsx"  # the spec's filled example, copied
TODAY = dt.date(2026, 1, 1)

MODEL_HEADER = ["STT", "Tên mô hình", "Lĩnh vực", "Hình thức", "Ngày đăng ký", "Cấp công nhận", "Số hộ tham gia",
                "Kinh phí huy động (triệu đồng)", "Ngày công", "Đất hiến (m2)", "Ghi chú"]
TOTALS_HEADER = ["Lĩnh vực", "Tổng số mô hình", "Xây mới", "Nhân rộng", "Kinh phí huy động (triệu đồng)"]
INFO = [("Mã đơn vị", "18076"), ("Tên đơn vị", "Phường Bắc Hà"), ("Kỳ báo cáo", "Quý I/2022"),
        ("Ngày báo cáo", dt.datetime(2022, 3, 16)), ("Người lập biểu", "Trần Văn An"), ("Số điện thoại", "0912000111")]
MODELS = [
    [1, "Camera an ninh khu dân cư", "Quốc phòng - an ninh", "Xây mới", dt.datetime(2022, 1, 5), "Cấp xã", 98, 86.4,
     45, None, None],
    [2, "Chi bộ 4 tốt", "Xây dựng Đảng và hệ thống chính trị", "Duy trì", None, None, None, 5, None, None, "từ 2020"],
]


def xlsx(*, info=INFO, models=MODELS, header=MODEL_HEADER, title_rows=2, totals=None, totals_header=TOTALS_HEADER,
         sheets=("Thông tin", "Mô hình", "Tổng hợp"), extra_sheets=()) -> bytes:
    """A workbook of the form: ``title_rows`` merged title/blank rows above the model header."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheets[0]
    for row in info:
        ws.append(list(row))
    ws = wb.create_sheet(sheets[1])
    if title_rows:
        ws.cell(1, 1, "DANH SÁCH MÔ HÌNH “DÂN VẬN KHÉO”")
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    for r, row in enumerate([header, *models], start=title_rows + 1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(r, c, value)
    if totals is not None:
        ws = wb.create_sheet(sheets[2])
        ws.append(totals_header)
        for row in totals:
            ws.append(row)
    for name in extra_sheets:
        wb.create_sheet(name).append(["nothing to see"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def parse(data: bytes, name: str = "f.xlsx"):
    return parse_file(data, name, today=TODAY)


def problems_of(data: bytes) -> list:
    with pytest.raises(SubmissionError) as info:
        parse(data)
    return info.value.problems


# ------------------------------------------------------------------------------------ the sample


def test_spec_sample_to_exact_values():
    sub = parse(SAMPLE.read_bytes(), SAMPLE.name)
    assert (sub.file_format, sub.unit_code, sub.unit_code_raw, sub.unit_name_raw) == (
        "xlsx", "18076", "18076", "Phường Bắc Hà")
    assert (sub.period.id, sub.period.kind, sub.period.year, sub.period_raw) == ("2021", "year", 2021, "Năm 2021")
    assert sub.report_date == dt.date(2021, 12, 16)
    assert (sub.preparer_name, sub.preparer_phone) == ("Nguyễn Thị Lan", "0912 345 678")
    assert sub.has_declared_totals

    got = [(m.source_sheet, m.source_row, m.stt, m.field_code, m.model_kind, m.registered_on, m.recognition_level,
            m.households, m.funds_million_vnd, m.labour_days, m.land_m2, m.note) for m in sub.models]
    assert got == [
        ("Mô hình", 4, 1, "KT", "new", dt.date(2021, 2, 20), "Cấp thành phố", 126, 450.5, 820, 35.0, None),
        ("Mô hình", 5, 2, "VHXH", "replicated", dt.date(2020, 3, 10), "Cấp thành phố", 210, 120.0, 300, None,
         "Duy trì từ năm 2020"),
        ("Mô hình", 6, 3, "VHXH", "new", dt.date(2021, 4, 2), "Cấp xã", 540, 0.0, 0, None, None),
        ("Mô hình", 7, 4, "QPAN", "new", dt.date(2021, 5, 15), "Cấp xã", 98, 86.4, 45, None, None),
        ("Mô hình", 8, 5, "KT", "replicated", dt.date(2020, 6, 1), "Cấp thành phố", 37, 0.0, 120, 412.5, None),
        ("Mô hình", 9, 6, "XDD", "new", dt.date(2021, 3, 3), "Cấp xã", 0, 5.0, 0, None, None),
        ("Mô hình", 10, 7, "QPAN", "replicated", dt.date(2019, 9, 5), "Cấp xã", 0, 15.0, 60, None, None),
        ("Mô hình", 11, 8, "VHXH", "new", dt.date(2021, 7, 27), "Cấp xã", 85, 62.0, 210, 120.0, None),
    ]
    assert sub.models[0].model_name == "Huy động sức dân chỉnh trang vỉa hè, hệ thống thoát nước tổ dân phố 3"
    assert sub.models[1].field_raw == "Văn hóa - xã hội" and sub.models[1].model_kind_raw == "Nhân rộng"

    totals = [(t.source_row, t.field_code, t.field_raw, t.models_total, t.models_new, t.models_replicated,
               t.funds_million_vnd) for t in sub.totals]
    assert totals == [
        (2, "KT", "Phát triển kinh tế", 2, 1, 1, 450.5),
        (3, "VHXH", "Văn hóa - xã hội", 3, 2, 1, 182.0),
        (4, "QPAN", "Quốc phòng - an ninh", 2, 1, 1, 101.4),
        (5, "XDD", "Xây dựng Đảng và hệ thống chính trị", 1, 1, 0, 5.0),
        (6, "TOTAL", "Tổng cộng", 8, 5, 3, 738.9),
    ]


# ------------------------------------------------------------------------------ real-life layouts


def test_sheet_names_without_diacritics_or_spaces():
    sub = parse(xlsx(sheets=("ThongTin", "MoHinh", "TongHop"), totals=[["Tổng cộng", 2, 1, 1, 91.4]]))
    assert sub.unit_code == "18076" and len(sub.models) == 2 and sub.totals[0].field_code == "TOTAL"
    sub = parse(xlsx(sheets=(" THÔNG TIN ", "mô hình", "Tong hop")))
    assert len(sub.models) == 2 and not sub.has_declared_totals


def test_header_anywhere_in_the_first_rows_with_extra_and_moved_columns():
    header = ["Ghi chú", "Cột thêm", "Hình thức", "Lĩnh vực", "Tên mô hình", "STT", "Số hộ tham gia"]
    models = [[None, "x", "Xây mới", "KT", "Mô hình A", 1, "1.250"]]
    sub = parse(xlsx(header=header, models=models, title_rows=7))
    (line,) = sub.models
    assert (line.source_row, line.model_name, line.field_code, line.model_kind, line.households) == (
        9, "Mô hình A", "KT", "new", 1250)


def test_blank_total_heading_and_signature_rows_are_not_models():
    models = [
        ["I", "LĨNH VỰC KINH TẾ", None, None, None, None, None, None, None, None, None],  # a section heading
        [1, "Mô hình A", "KT", "Xây mới", None, None, 10, "12,5", None, None, None],
        [None] * 11,  # a blank row
        [2, "Mô hình B", "VHXH", "Nhân rộng", "05/03/2020", None, None, None, None, None, None],
        ["Tổng cộng", None, None, None, None, None, 10, 12.5, None, None, None],
        ["Cộng", None, None, None, None, None, 10, 12.5, None, None, None],
        [None, "Người lập biểu", None, None, None, None, None, "Thủ trưởng đơn vị", None, None, None],
    ]
    sub = parse(xlsx(models=models))
    assert [(m.source_row, m.model_name, m.funds_million_vnd, m.registered_on) for m in sub.models] == [
        (5, "Mô hình A", 12.5, None), (7, "Mô hình B", None, dt.date(2020, 3, 5))]
    assert [row for _, row, _ in sub.skipped_rows] == [4, 10]


def test_model_names_starting_with_cong_are_models_not_total_lines():
    models = [[1, "Công an xã vì nhân dân phục vụ", "QPAN", "Xây mới"] + [None] * 7,
              [2, "Cộng đồng dân cư tự quản", "VHXH", "Xây mới"] + [None] * 7,
              [3, "Tổng công ty may hỗ trợ hộ nghèo", "KT", "Xây mới"] + [None] * 7,
              ["Tổng cộng toàn phường", None, None, None, None, None, 10]]
    assert [m.stt for m in parse(xlsx(models=models)).models] == [1, 2, 3]


def test_numbers_as_text_and_dates_in_three_forms():
    models = [[1, "A", "KT", "Xây mới", 44546, None, "1.250", "12,5", "300", "1.000,5", None],
              [2, "B", "KT", "Xây mới", "16/12/2021", None, " 7 ", 3, None, None, None],
              [3, "C", "KT", "Xây mới", dt.datetime(2021, 12, 16), None, None, None, None, None, None]]
    sub = parse(xlsx(models=models))
    a, b, c = sub.models
    assert (a.registered_on, a.households, a.funds_million_vnd, a.labour_days, a.land_m2) == (
        dt.date(2021, 12, 16), 1250, 12.5, 300, 1000.5)
    assert (b.registered_on, b.households, b.funds_million_vnd) == (dt.date(2021, 12, 16), 7, 3.0)
    assert c.registered_on == dt.date(2021, 12, 16)


def test_a_field_merged_down_over_its_models_names_each_of_them():
    # a clerk merges "Kinh tế" over the field's rows (and Hình thức over two "Xây mới" rows): each
    # model gets it; a measure merged over rows stays one figure, on the first row
    models = [[1, "A", "Phát triển kinh tế", "Xây mới", None, None, 10, 5.0, None, None, None],
              [2, "B", None, None, None, None, None, None, None, None, None],
              [3, "C", None, "Nhân rộng", None, None, 7, None, None, None, None],
              [4, "D", "Văn hóa - xã hội", "Xây mới", None, None, None, None, None, None, None]]
    wb = openpyxl.load_workbook(io.BytesIO(xlsx(models=models)))
    ws = wb["Mô hình"]  # the header is on row 3, the models on rows 4 to 7
    ws.merge_cells("C4:C6")
    ws.merge_cells("D4:D5")
    ws.merge_cells("H4:H5")
    out = io.BytesIO()
    wb.save(out)
    sub = parse(out.getvalue())
    assert [(m.field_code, m.model_kind, m.funds_million_vnd) for m in sub.models] == [
        ("KT", "new", 5.0), ("KT", "new", None), ("KT", "replicated", None), ("VHXH", "new", None)]


def test_a_model_written_over_two_rows_keeps_its_second_row_blank():
    # the model's name and number merged over rows 4-5 (a long name), its field over 4-6 with the
    # next model: row 5 is no model, so it gets no field (it would be "a model without a name")
    models = [[1, "Mô hình dài", "Phát triển kinh tế", "Xây mới", None, None, 10, None, None, None, None],
              [None, None, None, None, None, None, None, None, None, None, None],
              [2, "B", None, "Nhân rộng", None, None, None, None, None, None, None]]
    wb = openpyxl.load_workbook(io.BytesIO(xlsx(models=models)))
    ws = wb["Mô hình"]
    for ref in ("A4:A5", "B4:B5", "C4:C6", "D4:D5", "C4:C6"):  # a duplicate merge too
        ws.merge_cells(ref)
    out = io.BytesIO()
    wb.save(out)
    sub = parse(out.getvalue())
    assert [(m.model_name, m.field_code, m.model_kind) for m in sub.models] == [
        ("Mô hình dài", "KT", "new"), ("B", "KT", "replicated")]


def test_info_variants_code_as_number_period_and_date_as_text():
    info = [("Mã đơn vị:", 18103), ("Tên đơn vị:", "Xã Thạch Môn"), ("Kỳ báo cáo:", "6 tháng đầu năm 2022"),
            ("Ngày báo cáo:", "15/06/2022")]
    sub = parse(xlsx(info=info))
    assert (sub.unit_code, sub.unit_code_raw, sub.unit_name_raw, sub.period.id, sub.report_date) == (
        "18103", "18103", "Xã Thạch Môn", "2022S1", dt.date(2022, 6, 15))
    assert sub.preparer_name is None


def test_info_label_and_value_in_one_cell():
    # "Mã đơn vị: 18076" in one cell (label, colon, value); a label with a hint after its colon keeps
    # its value in the next cell
    info = [("Mã đơn vị: 18103",), ("Tên đơn vị: Xã Thạch Môn",),
            ("Kỳ báo cáo: (VD: Quý I/2022)", "6 tháng đầu năm 2022"), ("Ngày báo cáo: 15/06/2022",)]
    sub = parse(xlsx(info=info))
    assert (sub.unit_code, sub.unit_code_raw, sub.unit_name_raw, sub.period.id, sub.report_date) == (
        "18103", "18103", "Xã Thạch Môn", "2022S1", dt.date(2022, 6, 15))


def test_unit_by_name_alone():
    info = [("Tên đơn vị", "UBND phường Nam Hà"), ("Kỳ báo cáo", "Tháng 03 năm 2022"),
            ("Ngày báo cáo", dt.datetime(2022, 3, 15))]
    sub = parse(xlsx(info=info))
    assert (sub.unit_code, sub.unit_code_raw, sub.period.id) == ("18073", None, "202203")


def test_declared_totals_with_blank_cells_and_notes_below():
    totals = [["Phát triển kinh tế", 1, 1, 0, 86.4], ["XDD", 1, None, 1, 5], [None, None, None, None, None],
              ["Tổng cộng", 2, 1, 1, 91.4], ["Ghi chú: số liệu tạm tính", None, None, None, None]]
    sub = parse(xlsx(totals=totals))
    assert [(t.field_code, t.models_total, t.models_new, t.models_replicated, t.funds_million_vnd)
            for t in sub.totals] == [("KT", 1, 1, 0, 86.4), ("XDD", 1, None, 1, 5.0), ("TOTAL", 2, 1, 1, 91.4)]


def test_a_report_with_no_model_is_valid():
    sub = parse(xlsx(models=[]))
    assert sub.models == [] and sub.unit_code == "18076"


# ------------------------------------------------------------------------------------- problems


def test_unknown_field_names_sheet_row_column_and_suggests():
    models = [[1, "Mô hình A", "Kinh te xa hoi", "Xây mới"] + [None] * 7]
    (problem,) = problems_of(xlsx(models=models))
    assert (problem.file, problem.sheet, problem.row, problem.column, problem.code) == (
        "f.xlsx", "Mô hình", 4, "C (Lĩnh vực)", "unknown_field")
    assert problem.message_vi.startswith("Không nhận ra lĩnh vực «Kinh te xa hoi». Các lĩnh vực hợp lệ: ")
    assert "VHXH – Văn hóa - xã hội" in problem.message_vi and "Có phải là:" in problem.message_vi
    assert "unknown field 'Kinh te xa hoi'" in problem.message_en


def test_every_problem_of_a_file_is_collected():
    info = [("Mã đơn vị", "99999"), ("Tên đơn vị", "Phường Bắc Hàà"), ("Kỳ báo cáo", "Quý 5/2022"),
            ("Ngày báo cáo", "32/13/2022")]
    models = [
        [1, "A", "Lĩnh vực lạ", "Xây mới"] + [None] * 7,
        [2, "B", "KT", "Mới toanh", None, None, -3, "abc"] + [None] * 3,
        [3, None, "KT", "Xây mới"] + [None] * 7,
    ]
    problems = problems_of(xlsx(info=info, models=models, totals=[["Kinh tế xã hội", 1, 1, 0, None]]))
    got = {(p.sheet, p.row, p.code, (p.column or "").split(" ")[0]) for p in problems}
    assert got == {
        ("Thông tin", 2, "unknown_unit", "B"),
        ("Thông tin", 3, "nonexistent_period", "B"),
        ("Thông tin", 4, "bad_value", "B"),
        ("Mô hình", 4, "unknown_field", "C"),
        ("Mô hình", 5, "unknown_kind", "D"),
        ("Mô hình", 5, "bad_value", "G"),  # negative households
        ("Mô hình", 5, "bad_value", "H"),  # "abc" as money
        ("Mô hình", 6, "missing_value", "B"),
        ("Tổng hợp", 2, "unknown_field", "A"),
    }
    unit = next(p for p in problems if p.code == "unknown_unit")
    assert "18076 – Phường Bắc Hà" in unit.message_vi
    negative = next(p for p in problems if p.column.startswith("G"))
    assert "Số hộ tham gia" in negative.column and "số âm" in negative.message_vi


def test_missing_required_column_names_the_sheet_and_header_row():
    header = ["STT", "Tên mô hình", "Lĩnh vực", "Ghi chú"]
    problems = problems_of(xlsx(header=header, models=[[1, "A", "KT", None]]))
    assert [(p.code, p.sheet, p.row, p.column) for p in problems] == [("missing_column", "Mô hình", 3, "Hình thức")]
    assert "dòng 3" in problems[0].message_vi


def test_missing_model_sheet_and_info_sheet():
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(["hello"])
    out = io.BytesIO()
    wb.save(out)
    codes = {(p.code, p.sheet) for p in problems_of(out.getvalue())}
    assert codes == {("missing_sheet", "Mô hình"), ("missing_sheet", "Thông tin")}


def test_model_sheet_under_another_name_is_found_by_its_header():
    sub = parse(xlsx(sheets=("Thông tin", "Danh sach MH 2022", "Tổng hợp")))
    assert len(sub.models) == 2 and sub.models[0].source_sheet == "Danh sach MH 2022"


def _with_sheet(data: bytes, name: str, rows: list[list]) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.create_sheet(name)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("second", ["Mô hình (2)", "MoHinh", "Sheet1"])
def test_a_second_sheet_with_models_is_refused_not_dropped(second):
    more = [["DANH SÁCH MÔ HÌNH (tiếp)"], MODEL_HEADER[:4],
            [3, "Tổ dân phố văn minh", "VHXH", "Xây mới"], [4, "Đường hoa nông thôn", "KT", "Nhân rộng"],
            ["Tổng cộng", None, None, None]]
    problems = problems_of(_with_sheet(xlsx(), second, more))
    assert [(p.code, p.sheet, p.row, p.column) for p in problems] == [
        ("second_model_sheet", second, 3, "B (Tên mô hình)")]
    assert "Mô hình" in problems[0].message_vi and "2 mô hình" in problems[0].message_vi
    assert "send the file again" in problems[0].message_en


def test_another_sheet_with_the_header_but_no_model_is_not_a_second_list():
    data = _with_sheet(xlsx(extra_sheets=("Hướng dẫn",)), "Mẫu trống", [MODEL_HEADER, [None] * 4, ["Tổng cộng"]])
    assert len(parse(data).models) == 2


@pytest.mark.parametrize("second", ["Thông tin (2)", "ThongTin"])
def test_a_second_info_sheet_naming_another_unit_or_period_is_refused(second):
    other = [("Mã đơn vị", "18073"), ("Tên đơn vị", "Phường Nam Hà"), ("Kỳ báo cáo", "Quý II/2022")]
    problems = problems_of(_with_sheet(xlsx(), second, [list(r) for r in other]))
    assert [(p.code, p.sheet, p.row, p.column) for p in problems] == [
        ("second_info_sheet", second, 1, "B (Mã đơn vị)"), ("second_info_sheet", second, 3, "B (Kỳ báo cáo)")]
    assert "«18073»" in problems[0].message_vi and "«Thông tin»" in problems[0].message_vi
    assert "send the file again" in problems[0].message_en


def test_a_copy_of_the_info_sheet_that_says_the_same_is_no_problem():
    # the same unit and period, written another way (a code typed as a number, the period's short form)
    same = [["Mã đơn vị", 18076], ["Kỳ báo cáo", "2022Q1"], ["Ngày báo cáo", "17/03/2022"]]
    assert parse(_with_sheet(xlsx(), "Thông tin (2)", same)).unit_code == "18076"
    # instructions under another name may show an example code: never read as a second info sheet
    example = [["Hướng dẫn: ghi mã đơn vị 5 chữ số"], ["Mã đơn vị", "12345"], ["Kỳ báo cáo", "Năm 2021"]]
    assert parse(_with_sheet(xlsx(), "Hướng dẫn", example)).unit_code == "18076"


def test_unit_code_and_name_disagreeing_is_a_problem():
    info = [("Mã đơn vị", "18076"), ("Tên đơn vị", "Phường Nam Hà"), ("Kỳ báo cáo", "2022Q1"),
            ("Ngày báo cáo", "16/03/2022")]
    (problem,) = problems_of(xlsx(info=info))
    assert (problem.code, problem.sheet, problem.row) == ("unit_mismatch", "Thông tin", 2)


def test_future_period_and_report_date_are_problems():
    info = [("Mã đơn vị", "18076"), ("Kỳ báo cáo", "Năm 2030"), ("Ngày báo cáo", "16/12/2030")]
    assert {p.code for p in problems_of(xlsx(info=info))} == {"future_period", "future_date"}


def test_a_corrupt_workbook_is_a_problem_not_a_crash():
    data = xlsx()
    problems = problems_of(data[: len(data) // 2])  # a half-uploaded file
    assert problems and problems[0].code in {"not_xlsx", "unreadable"}
