"""The quality gate (dvk.gate) on the story warehouse of tests/support/gate_fixtures.py.

The warehouse is the real dbt build of a small raw story (built once per test process, copied
per test); a test breaks one thing at a time with SQL run on its copy (``settings_with``), and the
gate's ``checks.*`` models (views over the marts) see it.

2021: 4 units with models, 16 models, 10 new, 6 replicated;
KT 7/4/3, VHXH 3/1/2, QPAN 3/3/0, XDD 3/2/1; 18077 missing, 18073 provisional (2021Q3).
"""

from __future__ import annotations

import json

import duckdb
import pytest

from dvk.gate import (
    GateFailed,
    GateResult,
    data_docs_path,
    enforce_gate,
    gate_result_path,
    run_gate,
)
from dvk.settings import Settings
from tests.support.gate_fixtures import BH_DECLARES_5_KT, SUITES, settings_with


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    settings = settings_with(tmp_path_factory.mktemp("good"))
    return settings, run_gate(2021, settings)


@pytest.mark.e2e  # a dbt build of the story
def test_gate_passes_on_consistent_data(good):
    settings, result = good
    assert isinstance(result, GateResult)
    assert result.passed, result.failures
    assert result.failures == []
    assert result.warnings == []
    assert result.year == 2021
    assert set(result.suites) == SUITES
    for name, suite in result.suites.items():
        assert suite["statistics"]["evaluated_expectations"] == len(suite["expectations"]), name
        assert all(e["error"] is None for e in suite["expectations"]), (name, suite)
        assert all(e["level"] in {"blocking", "warning", "info"} for e in suite["expectations"])
    # the blocking checks ran on rows (not vacuously) on this data
    totals = {e["check"]: e for e in result.suites["submission_totals"]["expectations"]}
    assert totals["declared_total_matches_lines"]["element_count"] > 0
    measures = {e["check"]: e for e in result.suites["model_measures"]["expectations"]}
    assert measures["value_within_unit_usual_range"]["element_count"] > 0
    ytd = {e["check"]: e for e in result.suites["ytd_progression"]["expectations"]}
    assert ytd["ytd_count_does_not_shrink"]["element_count"] == 2  # Nam Hà 2021Q2 -> 2021Q3: QPAN, VHXH


@pytest.mark.e2e  # a dbt build of the story
def test_missing_and_provisional_units_are_listed_not_blocking(good):
    _, result = good
    assert result.missing_units == [{"unit_code": "18077", "unit_name": "Phường Nguyễn Du"}]
    assert [(u["unit_code"], u["period_id"]) for u in result.provisional_units] == [("18073", "2021Q3")]
    status = {e["check"]: e for e in result.suites["unit_status"]["expectations"]}
    assert status["unit_reported_for_year"]["success"] is False
    assert status["unit_reported_for_year"]["level"] == "info"
    assert status["unit_reported_for_year"]["blocking"] is False
    assert status["unit_status_known"]["success"] is True


@pytest.mark.e2e  # a dbt build of the story
def test_gate_result_json_is_saved(good):
    settings, result = good
    path = gate_result_path(2021, settings)
    assert path == settings.reports_dir / "gate" / "2021" / "gate_result.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["passed"] is True and saved["year"] == 2021
    assert saved["missing_units"][0]["unit_code"] == "18077"
    assert saved["data_docs"] == str(data_docs_path(2021, settings))
    assert saved["checked_at"]
    assert GateResult.from_dict(saved).passed


@pytest.mark.e2e  # a dbt build of the story
def test_gate_opens_the_warehouse_read_only(good):
    settings, _ = good
    # a writer can open the file right after the gate: the gate holds no connection
    con = duckdb.connect(str(settings.warehouse))
    con.close()


@pytest.mark.e2e  # a dbt build of the story
def test_failure_message_names_unit_period_field_values_and_next_step(tmp_path):
    """The clerk's view of the most common failure, through enforce_gate (as the DAG calls it)."""
    settings = settings_with(tmp_path, *BH_DECLARES_5_KT)
    with pytest.raises(GateFailed) as caught:
        enforce_gate(2021, settings)
    result = caught.value.result
    assert not result.passed
    total = next(f for f in result.failures if f["check"] == "declared_total_matches_lines")
    assert total["message_vi"] == (
        "Đơn vị 18076 (Phường Bắc Hà), kỳ 2021, lĩnh vực KT: khai báo 5 mô hình ở sheet Tổng hợp "
        "nhưng danh sách mô hình có 4 dòng. Việc cần làm: đơn vị kiểm tra lại sheet Tổng hợp hoặc "
        "danh sách mô hình của kỳ 2021, sửa cho khớp và gửi lại báo cáo."
    )
    assert total["message_en"] == (
        "Unit 18076 (Phường Bắc Hà), period 2021, field KT: declared 5 models on the Tổng hợp sheet, "
        "but the model list has 4 lines. Next: ask the unit to correct the Tổng hợp sheet or the model "
        "list of its 2021 report and resend the file."
    )
    message = str(caught.value)
    assert message.startswith("Kiểm tra chất lượng số liệu năm 2021 KHÔNG ĐẠT")
    assert f"- {total['message_vi']} / {total['message_en']}" in message
    assert f"Chi tiết / details: {data_docs_path(2021, settings)}" in message
    saved = json.loads(gate_result_path(2021, settings).read_text(encoding="utf-8"))
    assert saved["passed"] is False
    assert {f["field_code"] for f in saved["failures"]} == {"KT"}


def test_every_check_has_a_level_and_a_next_step():
    from dvk.gate.datasets import DATASETS
    from dvk.gate.suites import load_suite

    checks = [e["meta"] for d in DATASETS for e in load_suite(d.name).entries]
    assert len({m["check"] for m in checks}) == len(checks)  # ids unique across the suites
    for meta in checks:
        assert meta["level"] in {"blocking", "warning", "info"}
        assert meta["action_vi"] and meta["action_en"], meta["check"]
    by_suite = {d.name: {e["meta"]["level"] for e in load_suite(d.name).entries} for d in DATASETS}
    assert by_suite["ytd_progression"] == {"warning"}
    assert by_suite["model_measures"] == {"warning"}


def test_malformed_suite_file_is_refused(tmp_path):
    from dvk.gate.suites import SuiteDefinitionError, load_suite

    (tmp_path / "broken.yml").write_text(
        "- type: ExpectColumnValuesToNotBeNull\n  kwargs: {column: x}\n"
        "  meta: {check: x_not_null, level: blocking, description_vi: a, description_en: b,\n"
        "         message_vi: c, message_en: d}\n", encoding="utf-8")
    with pytest.raises(SuiteDefinitionError, match="action_vi, action_en"):
        load_suite("broken", tmp_path)


@pytest.mark.e2e  # a dbt build of the story
def test_other_year_is_checked_on_its_own(tmp_path):
    settings = settings_with(tmp_path, *BH_DECLARES_5_KT)
    result = run_gate(2022, settings, data_docs=False)  # the broken submission is of 2021
    assert result.passed, result.failures
    assert [u["unit_code"] for u in result.provisional_units] == ["18070"]


def test_missing_warehouse_raises_a_clear_error(tmp_path):
    settings = Settings(inbox_dir=tmp_path, warehouse=tmp_path / "nope.duckdb",
                        reports_dir=tmp_path / "r", quarantine_dir=tmp_path / "q")
    with pytest.raises(FileNotFoundError):
        run_gate(2021, settings)
