"""The gate's warnings: reported in the result (and the gate report), never blocking.

- ``ytd_count_does_not_shrink``: a unit's later report of a year lists fewer models of a field than
  its previous one (reports are cumulative for the year, spec §2);
- ``value_within_unit_usual_range`` and ``value_within_plausible_cap``: a model's measure far above
  the unit's usual level, or above a fixed cap.

(Declared funds that differ from the lines block the year since 2026-12-07: tests/test_gate_checks.py.)
"""

from __future__ import annotations

import pytest

from dvk.gate import enforce_gate, run_gate
from tests.support.gate_fixtures import BH_HOUSEHOLDS_5000, UNIT_NAMES, settings_with, sid

pytestmark = pytest.mark.e2e  # the story warehouse is a dbt build

BH, PN, NH_Q2 = sid("bh_2021"), sid("pn_2021"), sid("nh_2021q2")


def _line_in_raw_and_marts(submission: str, line_no: int, field_code: str, kind: str, name: str) -> list[str]:
    values = (f"'{submission}', {line_no}, 'Mô hình', {line_no + 3}, {line_no}, '{name}', '{field_code}', "
              f"'{field_code}', '{kind}', 'Xây mới', null, null, 5, null, null, null, null")
    return [
        f"insert into raw.submission_models values ({values})",
        f"""insert into marts.fct_model (model_line_id, submission_id, unit_code, period_id,
                period_kind, period_year, line_no, model_name, field_code, model_kind, households,
                unit_key)
            select '{submission}-{line_no}', '{submission}', unit_code, period_id, period_kind,
                period_year, {line_no}, '{name}', '{field_code}', '{kind}', 5, unit_key
            from marts.fct_submission where submission_id = '{submission}'""",
    ]


# Nam Hà's 2021Q2 report (accepted, not the source of 2021: 2021Q3 is) listed 3 QPAN models; its
# 2021Q3 report lists 1 QPAN model again (and 1 VHXH): QPAN shrank from 3 to 1.
NH_Q2_HAD_3_QPAN = [
    *_line_in_raw_and_marts(NH_Q2, 2, "QPAN", "new", "Camera an ninh tổ dân phố"),
    *_line_in_raw_and_marts(NH_Q2, 3, "QPAN", "new", "Tổ tuần tra thanh niên"),
    f"update marts.fct_submission set models_count = 3 where submission_id = '{NH_Q2}'",
]

# Bắc Hà's second KT model ("Chăn nuôi an toàn", sheet row 5) with 5 000 households instead of
# 20: 200 times the unit's usual level (upper quartile of 10, 12, 15, 25, 5000 = 25).

# The Women's Union wrote its first model's funds in đồng (3 500 000) instead of million đồng
# (3.5): over the 50 000 million cap. It has too few figures (2) for a usual level of its own.
PN_FUNDS_IN_DONG = [
    f"update raw.submission_models set funds_million_vnd = 3500000 where submission_id = '{PN}' and line_no = 1",
    f"update marts.fct_model set funds_million_vnd = 3500000 where model_line_id = '{PN}-1'",
    "update marts.fct_annual_unit_field set funds_million_vnd = funds_million_vnd - 3.5 + 3500000 "
    "where year = 2021 and unit_code = 'CQ01' and field_code = 'XDD'",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    def go(*mutations: str):
        return run_gate(2021, settings_with(tmp_path_factory.mktemp("warn"), *mutations), data_docs=False)
    return go


def _only(result, check):
    assert result.passed, result.failure_lines()
    assert result.failures == []
    found = [w for w in result.warnings if w["check"] == check]
    assert [w["check"] for w in result.warnings] == [check] * len(found), result.warning_lines()
    assert all(w["level"] == "warning" and w["blocking"] is False for w in found)
    return found


def test_year_to_date_count_that_shrinks_is_a_warning(run, tmp_path):
    result = run(*NH_Q2_HAD_3_QPAN)
    (warning,) = _only(result, "ytd_count_does_not_shrink")
    assert (warning["unit_code"], warning["unit_name"], warning["period_id"], warning["field_code"]) == (
        "18073", UNIT_NAMES["18073"], "2021Q3", "QPAN")
    assert (warning["declared"], warning["computed"]) == (1, 3)  # now, before
    assert warning["row"]["prev_period_id"] == "2021Q2"
    assert warning["message_vi"].startswith(
        "Đơn vị 18073 (Phường Nam Hà), kỳ 2021Q3, lĩnh vực QPAN: báo cáo kỳ 2021Q3 liệt kê 1 mô hình, "
        "ít hơn báo cáo kỳ trước 2021Q2 (3 mô hình)")
    assert "Việc cần làm: không chặn báo cáo năm" in warning["message_vi"]
    assert "Next: does not block the annual report" in warning["message_en"]
    suite = {e["check"]: e for e in result.suites["ytd_progression"]["expectations"]}
    assert suite["ytd_count_does_not_shrink"]["success"] is False
    # and the annual report goes ahead: enforce_gate does not raise
    assert enforce_gate(2021, settings_with(tmp_path, *NH_Q2_HAD_3_QPAN)).passed


def test_growing_year_to_date_counts_do_not_warn(run):
    result = run()
    ytd = {e["check"]: e for e in result.suites["ytd_progression"]["expectations"]}
    assert ytd["ytd_count_does_not_shrink"]["success"] is True
    assert ytd["ytd_count_does_not_shrink"]["element_count"] == 2  # 2021Q2 -> 2021Q3: QPAN 1->1, VHXH 0->1


def test_value_far_above_the_units_usual_level_is_a_warning(run):
    result = run(*BH_HOUSEHOLDS_5000)
    (warning,) = _only(result, "value_within_unit_usual_range")
    assert (warning["unit_code"], warning["period_id"], warning["field_code"]) == ("18076", "2021", "KT")
    assert (warning["declared"], warning["computed"]) == (5000, 25)  # the value, the unit's usual level
    assert warning["row"]["measure"] == "households"
    assert warning["row"]["times_unit_usual_rounded"] == 200
    assert warning["message_vi"] == (
        "Đơn vị 18076 (Phường Bắc Hà), kỳ 2021, lĩnh vực KT: mô hình «Chăn nuôi an toàn» (sheet Mô hình, "
        "dòng 5): số hộ tham gia là 5000, gấp 200 lần mức thường gặp của đơn vị (25, tính trên 5 giá trị). "
        "Việc cần làm: không chặn báo cáo; hỏi đơn vị con số này có đúng không (nhầm đơn vị tính, thừa số 0?); "
        "nếu sai, đơn vị sửa sheet Mô hình, dòng 5 và gửi lại báo cáo kỳ 2021."
    )
    assert "Next: does not block the report" in warning["message_en"]


def test_value_over_a_plausible_cap_is_a_warning_even_without_history(run):
    result = run(*PN_FUNDS_IN_DONG)
    (warning,) = _only(result, "value_within_plausible_cap")
    assert (warning["unit_code"], warning["unit_name"], warning["period_id"], warning["field_code"]) == (
        "CQ01", UNIT_NAMES["CQ01"], "2021", "XDD")
    assert (warning["declared"], warning["computed"]) == (3500000, 50000)  # the value, the cap
    assert warning["detail_vi"] == (
        "mô hình «Chi hội phụ nữ tự quản» (sheet Mô hình, dòng 4) ghi kinh phí huy động (triệu đồng) "
        "là 3500000, vượt mức tối đa hợp lý 50000")
    # CQ01 has two positive funds figures only: no usual level to compare with
    assert warning["row"]["unit_values"] == 2


# The ingest loaded Bắc Hà's annual report but recorded a column it did not know (issue 11 §3);
# so did the superseded first version of Trần Phú's, and Trần Phú's 2022Q1 report (not of 2021).
def _ingest_warning(submission: str, file_name: str, no: int, column: str) -> str:
    return (f"""insert into raw.submission_warnings values ('{submission}', '{file_name}', {no}, 'Mô hình', 6,
            '{column}', 'unknown_column', 'Cột {column} có dữ liệu ở 2 dòng mô hình nhưng tiêu đề không thuộc mẫu',
            'column {column} holds data in 2 model row(s) but its header is not one of the form''s')""")


def test_ingest_warning_of_an_accepted_submission_is_a_gate_warning(tmp_path):
    settings = settings_with(
        tmp_path,
        _ingest_warning(BH, "bac_ha_2021.xlsx", 1, "L (Số người hưởng lợi)"),
        _ingest_warning(sid("tp_2021_v1"), "tran_phu_2021_v1.xlsx", 1, "M (Ghi chú thêm)"),
        _ingest_warning(sid("tp_2022q1"), "tran_phu_2022q1.xlsx", 1, "N (Khác)"),
    )
    result = run_gate(2021, settings)
    (warning,) = _only(result, "ingest_warning")  # the gate still passes
    assert (warning["unit_code"], warning["unit_name"], warning["period_id"], warning["submission_id"]) == (
        "18076", UNIT_NAMES["18076"], "2021", BH)
    assert (warning["row"]["file_name"], warning["row"]["sheet"], warning["row"]["column"]) == (
        "bac_ha_2021.xlsx", "Mô hình", "L (Số người hưởng lợi)")
    assert warning["detail_vi"].startswith("Tệp bac_ha_2021.xlsx, trang Mô hình, cột L (Số người hưởng lợi): Cột L")
    assert warning["detail_en"].startswith("file bac_ha_2021.xlsx, sheet Mô hình, column L (Số người hưởng lợi)")
    assert "hỏi đơn vị cột này là gì" in warning["message_vi"] and "template's header" in warning["message_en"]
    index = (tmp_path / "reports" / "gate" / "2021" / "data_docs" / "index.html").read_text(encoding="utf-8")
    assert "bac_ha_2021.xlsx" in index and "tran_phu_2021_v1.xlsx" not in index


def test_no_ingest_warnings_adds_none(run):
    assert not [w for w in run().warnings if w["check"] == "ingest_warning"]
