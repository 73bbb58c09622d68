"""The gate report (dvk.gate.report): written after each run, readable offline and by a clerk.

One gate run on the story warehouse of tests/support/gate_fixtures.py (a dbt build) (a blocking failure, a warning, a
unit name that is HTML) feeds most tests; the others render hand-made results, without GX.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markupsafe import escape

from dvk.gate import GateResult, data_docs_path, gate_result_path, load_result, run_gate
from dvk.gate import report as gate_report
from dvk.gate.result import make_entry
from tests.support.gate_fixtures import BH_DECLARES_5_KT, BH_HOUSEHOLDS_5000, SUITES, settings_with

HOSTILE_NAME = '<script>alert("x")</script> Phường Bắc Hà & <b>co</b>'
#: anything a page would fetch: scripts, stylesheets, images, frames, CSS imports and urls
FETCHES = re.compile(r"""<(?:script|link|img|iframe|object|embed)\b|@import|url\(""", re.I)
OTHER_HOST = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I)
LOCAL_LINK = re.compile(r"""href="([^"#]+)(?:#[^"]*)?\"""")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A failing run with a warning, for a unit whose name is HTML: the report must explain both."""
    settings = settings_with(
        tmp_path_factory.mktemp("report"),
        *BH_DECLARES_5_KT,
        *BH_HOUSEHOLDS_5000,
        "update marts.dim_reporting_unit set unit_name = '%s' where unit_code = '18076'"
        % HOSTILE_NAME.replace("'", "''"),
    )
    result = run_gate(2021, settings)
    index = data_docs_path(2021, settings)
    pages = {p.relative_to(index.parent).as_posix(): p.read_text(encoding="utf-8")
             for p in index.parent.rglob("*.html")}
    return settings, result, index, pages


def _section(page: str, section_id: str) -> str:
    match = re.search(r'<section id="%s">(.*?)</section>' % section_id, page, re.S)
    assert match, section_id
    return match.group(1)


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", html, re.S)


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_report_is_written_next_to_the_gate_result(run):
    settings, result, index, pages = run
    assert index == settings.reports_dir / "gate" / "2021" / "data_docs" / "index.html"
    assert result.data_docs == str(index) and result.data_docs_error is None
    saved = json.loads(gate_result_path(2021, settings).read_text(encoding="utf-8"))
    assert saved["data_docs"] == str(index)
    assert load_result(2021, settings) == result
    assert set(pages) == {"index.html"} | {f"suites/{name}.html" for name in SUITES}
    # nothing half-written left beside it
    assert sorted(p.name for p in index.parent.parent.iterdir()) == ["data_docs", "gate_result.json"]


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_pages_are_offline_and_their_links_resolve(run):
    _, _, index, pages = run
    for name, text in pages.items():
        assert not FETCHES.search(text), (name, FETCHES.search(text).group(0))
        assert not OTHER_HOST.search(text), (name, OTHER_HOST.search(text).group(0))
        assert "<style>" in text  # the project's stylesheet, inlined
        for link in LOCAL_LINK.findall(text):
            assert (index.parent / name).parent.joinpath(link).resolve().is_file(), (name, link)


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_hostile_text_is_escaped_everywhere(run):
    _, result, _, pages = run
    assert any(f["unit_name"] == HOSTILE_NAME for f in result.failures)
    for name, text in pages.items():
        assert "<script" not in text and "<b>co</b>" not in text, name
    assert str(escape(HOSTILE_NAME)) in pages["index.html"]
    assert str(escape(HOSTILE_NAME)) in pages["suites/submission_totals.html"]  # an unexpected row


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_index_gives_the_verdict_and_lists_every_failure_and_warning(run):
    _, result, _, pages = run
    index = pages["index.html"]
    assert "KHÔNG ĐẠT — chưa lập báo cáo năm" in index and "FAILED — the annual report is blocked" in index
    failures = _rows(_section(index, "failures"))
    assert len(failures) == 1 + len(result.failures) == 3  # the head row, then one row per failure
    total = next(r for r in failures if "declared_total_matches_lines" in r)
    cells = [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", total, re.S)]
    assert cells[1][0] == "18076" and cells[2] == ["2021"] and cells[3] == ["KT"]
    assert cells[4:6] == [["5"], ["4"]]  # declared, computed
    failure = next(f for f in result.failures if f["check"] == "declared_total_matches_lines")
    for text in (failure["detail_vi"], failure["detail_en"], failure["action_vi"], failure["action_en"]):
        assert str(escape(text)) in total
    assert 'href="suites/submission_totals.html#declared_total_matches_lines"' in total

    warnings = _rows(_section(index, "warnings"))
    assert len(warnings) == 1 + len(result.warnings) == 2
    assert "value_within_unit_usual_range" in warnings[1] and ">5000<" in warnings[1] and ">25<" in warnings[1]

    units = _section(index, "units")
    assert "18077" in units and "Phường Nguyễn Du" in units  # missing
    assert "18073" in units and "2021Q3" in units  # provisional
    suites = _section(index, "suites")
    assert set(re.findall(r'href="suites/(\w+)\.html"', suites)) == SUITES
    assert "Lỗi chặn / blocking failure" in suites and "Đạt / passed" in suites


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_suite_page_shows_each_expectation_and_its_unexpected_rows(run):
    _, result, _, pages = run
    page = pages["suites/submission_totals.html"]
    expectations = re.findall(r'<details id="(\w+)" class="expectation (met|unmet) level-box-(\w+)"( open)?>',
                              page)
    outcome = result.suites["submission_totals"]["expectations"]
    assert [e[0] for e in expectations] == [e["check"] for e in outcome]
    unmet = {check: (level, bool(opened)) for check, state, level, opened in expectations if state == "unmet"}
    assert unmet == {"declared_total_matches_lines": ("blocking", True),
                     "declared_new_matches_lines": ("blocking", True)}
    block = page[page.index('<details id="declared_total_matches_lines"'):]
    block = block[: block.index("</details>")]
    assert "CHẶN BÁO CÁO / BLOCKING" in block
    assert "expect_column_pair_values_to_be_equal" in block and "declared_total" in block
    assert "batch_id" not in block
    assert "Việc cần làm khi không đạt" in block and "[period_id]" in block  # the generic next step
    rows = _rows(block)
    assert len(rows) == 2 and "18076" in rows[1] and ">5<" in rows[1] and ">4<" in rows[1]
    assert re.findall(r"<th>(\w+)</th>", rows[0])[:6] == [
        "unit_code", "unit_name", "period_id", "field_code", "declared_total", "computed_total"]


def _result(passed: bool, name: str = "Phường Bắc Hà") -> GateResult:
    meta = {"check": "c1", "level": "blocking", "message_vi": "khai báo {declared}, đếm được {computed}",
            "message_en": "declared {declared}, counted {computed}", "action_vi": "gửi lại", "action_en": "resend"}
    row = {"unit_code": "18076", "unit_name": name, "period_id": "2021", "field_code": "KT"}
    failures = [] if passed else [make_entry(meta, "s1", row, 5, 4, 2021)]
    return GateResult(year=2021, passed=passed, failures=failures, checked_at="2026-01-01T00:00:00+00:00",
                      suites={"s1": {"dataset": "s1", "description": "a <dataset>", "success": passed,
                                     "statistics": {}, "expectations": []}})


def _validation(rows: int) -> dict:
    """What ExpectationSuiteValidationResult.to_json_dict() gives for one column-pair expectation."""
    index_rows = [{"declared": 5, "unit_code": "18076", "period_id": "2021", "counted": i} for i in range(rows)]
    return {"success": not rows, "statistics": {"evaluated_expectations": 1}, "results": [{
        "success": not rows,
        "expectation_config": {"type": "expect_column_pair_values_to_be_equal",
                               "kwargs": {"batch_id": "b", "column_A": "declared", "column_B": "counted"},
                               "meta": {"check": "c1"}},
        "result": {"element_count": rows + 1, "unexpected_count": rows,
                   "unexpected_index_column_names": ["unit_code", "period_id"],
                   "unexpected_index_list": index_rows},
        "exception_info": {"raised_exception": False},
    }]}


def test_long_lists_are_cut_with_a_note_and_gate_result_json_keeps_them(monkeypatch):
    monkeypatch.setattr(gate_report, "MAX_ROWS", 3)
    pages = gate_report.render(_result(False), {"s1": _validation(5)}, specs={})
    page = pages["suites/s1.html"]
    assert len(_rows(page)) == 1 + 3
    assert "Chỉ hiện 3 trên 5 dòng không đạt" in page and "Showing 3 of 5 unexpected rows" in page
    assert "a &lt;dataset&gt;" in page  # an unknown suite: headed by its name, still escaped


def test_a_new_report_replaces_the_old_one_at_once(tmp_path):
    site = tmp_path / "gate" / "2021" / "data_docs"
    first = gate_report.build(_result(False), {"s1": _validation(1)}, {}, site)
    assert "KHÔNG ĐẠT" in first.read_text(encoding="utf-8")
    (site / "stale.txt").write_text("from the first run", encoding="utf-8")
    second = gate_report.build(_result(True), {"s1": _validation(0)}, {}, site)
    assert second == first and "ĐẠT — báo cáo năm được lập" in second.read_text(encoding="utf-8")
    assert not (site / "stale.txt").exists()
    assert sorted(p.name for p in site.parent.iterdir()) == ["data_docs"]  # no staging folder left


@pytest.mark.e2e  # the story warehouse is a dbt build
def test_a_report_failure_never_changes_the_verdict(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(gate_report, "build", broken)
    settings = settings_with(tmp_path)
    result = run_gate(2021, settings)
    assert result.passed
    assert result.data_docs is None and result.data_docs_error == "OSError: disk full"
    assert sorted(p.name for p in gate_result_path(2021, settings).parent.iterdir()) == ["gate_result.json"]
    assert not Path(data_docs_path(2021, settings)).exists()
