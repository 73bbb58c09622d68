"""The gate's Great Expectations Data Docs: built after each run, a static site readable offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_gate import BH_DECLARES_5_KT, settings_with

from dvk.gate import data_docs_path, gate_result_path, run_gate
from dvk.gate.data_docs import external_resources, offline_page

LOCAL_REF = re.compile(r"""<(?:link|script|img)\b[^>]*\b(?:href|src)=["']([^"'#?]+)""", re.I)
CDN_HOSTS = ("unpkg.com", "bootstrapcdn.com", "cdnjs.cloudflare.com", "cdn.jsdelivr.net",
             "code.jquery.com", "amazonaws.com")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A failing run with a warning: the docs must explain both."""
    settings = settings_with(
        tmp_path_factory.mktemp("docs"),
        *BH_DECLARES_5_KT,
        "update marts.fct_submission_totals_check set declared_funds = 40.0 "
        "where unit_code = '18076' and field_code = 'KT'",
    )
    result = run_gate(2021, settings)
    return settings, result, data_docs_path(2021, settings)


def test_index_is_built_next_to_the_gate_result(site):
    settings, result, index = site
    assert index == settings.reports_dir / "gate" / "2021" / "data_docs" / "index.html"
    assert index.is_file()
    assert result.data_docs == str(index) and result.data_docs_error is None
    saved = json.loads(gate_result_path(2021, settings).read_text(encoding="utf-8"))
    assert saved["data_docs"] == str(index)
    # nothing half-built left beside it
    assert sorted(p.name for p in index.parent.parent.iterdir()) == ["data_docs", "gate_result.json"]


def test_no_page_fetches_css_or_js_from_a_cdn(site):
    _, _, index = site
    pages = sorted(index.parent.rglob("*.html"))
    assert len(pages) >= 1 + 2 * 8  # index, a suite page and a validation page per dataset
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert external_resources(text) == [], page
        for tag in re.findall(r"<(?:link|script)\b[^>]*>", text, re.I):
            assert not re.search(r"""(?:href|src)=["']?(?:https?:)?//""", tag, re.I), (page, tag)
        assert not any(host in text for host in CDN_HOSTS), page
        # what the page does load is in the site
        for ref in LOCAL_REF.findall(text):
            assert (page.parent / ref).resolve().is_file(), (page, ref)
        assert "static/dvk/dvk-data-docs.css" in text and "static/dvk/dvk-data-docs.js" in text
    for sheet in index.parent.rglob("*.css"):
        assert external_resources(sheet.read_text(encoding="utf-8")) == [], sheet


def test_index_explains_the_verdict_and_lists_the_runs_without_javascript(site):
    _, result, index = site
    text = index.read_text(encoding="utf-8")
    assert "KHÔNG ĐẠT — chưa lập báo cáo năm / FAILED — the annual report is blocked" in text
    failure = next(f for f in result.failures if f["check"] == "declared_total_matches_lines")
    assert failure["message_vi"] in text  # HTML-escaping leaves these words as they are
    assert "declared_funds_match_lines" in text  # the warning
    assert "Phường Nguyễn Du" in text  # missing unit
    # the validation-results table GX fills with bootstrap-table is plain HTML here, one row per suite
    table = re.search(r"""<table id="[^"]+" class="[^"]*ge-index-page-validation-results-table.*?</table>""",
                      text, re.S)
    assert table, "validation results table"
    links = set(re.findall(r'href="(validations/[^"]+\.html)"', table.group(0)))
    assert len(links) == 8
    for link in links:
        assert (index.parent / link).is_file()
    suites = re.search(r"""<table id="[^"]+" class="[^"]*ge-index-page-expectation_suites-table.*?</table>""",
                       text, re.S)
    assert suites, "expectation suites table"
    assert len(set(re.findall(r'href="(expectations/[^"]+\.html)"', suites.group(0)))) == 8
    assert "bootstrapTable" not in text and "$(" not in text


def test_validation_page_shows_level_and_unexpected_rows(site):
    _, _, index = site
    (page,) = index.parent.glob("validations/submission_totals/*/*/*.html")
    text = page.read_text(encoding="utf-8")
    assert "[CHẶN BÁO CÁO / BLOCKING] declared_total_matches_lines" in text
    assert "[CẢNH BÁO / WARNING] declared_funds_match_lines" in text
    assert "18076" in text and "Phường Bắc Hà" in text  # the unexpected rows' index columns
    suite_page = index.parent / "expectations" / "submission_totals.html"
    assert "Việc cần làm:" in suite_page.read_text(encoding="utf-8")


def test_a_new_run_replaces_the_site(tmp_path):
    settings = settings_with(tmp_path, *BH_DECLARES_5_KT)
    first = run_gate(2021, settings)
    assert not first.passed
    stale = Path(first.data_docs).parent / "stale.txt"
    stale.write_text("from the first run", encoding="utf-8")
    settings_ok = settings_with(tmp_path)  # the warehouse corrected, same reports folder
    second = run_gate(2021, settings_ok)
    assert second.passed and second.data_docs == first.data_docs
    assert not stale.exists()
    assert "ĐẠT — báo cáo năm được lập" in Path(second.data_docs).read_text(encoding="utf-8")
    assert sorted(p.name for p in Path(second.data_docs).parent.parent.iterdir()) == [
        "data_docs", "gate_result.json"]


def test_a_docs_failure_never_changes_the_verdict(tmp_path, monkeypatch):
    from dvk.gate import data_docs

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(data_docs, "build", broken)
    settings = settings_with(tmp_path)
    result = run_gate(2021, settings)
    assert result.passed
    assert result.data_docs is None and result.data_docs_error == "OSError: disk full"
    assert gate_result_path(2021, settings).is_file()
    assert sorted(p.name for p in gate_result_path(2021, settings).parent.iterdir()) == ["gate_result.json"]


def test_offline_page_rewrites_what_gx_templates_fetch():
    page = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<style>.a { background: url('https://example.org/x.png') 0 0; }</style>
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<link rel="shortcut icon" href="../../static/images/favicon.ico" type="image/x-icon"/>
</head><body>
<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1" alt="GX"/>
<div id="t-toolbar" class="ml-1"><button onclick="clearTableFilters('t')">Clear Filters</button></div>
<table
  id="t"
  class="table-sm"
  data-toggle="table"
>
</table>
<script>
  $('#t').bootstrapTable(
    Object.assign(
      {
        columns: [{'field': 'name', 'title': 'Name', 'sortable': 'true'}],
        data: [{'name': 'b]\\'s', '_table_row_link_path': 'b.html'}, {'name': 'a', '_table_row_link_path': 'a.html'}],
        toolbar: '#t-toolbar'
      },
      {'search': 'true', 'sortName': 'name', 'sortOrder': 'asc'}
    )
  );
</script>
<footer><p>newsletter <a href="https://greatexpectations.io/newsletter">Subscribe</a></p></footer>
</body></html>"""
    out = offline_page(page, "../../", images={"logo-long.png", "favicon.ico"})
    assert external_resources(out) == []
    assert "<script>" not in out and "Clear Filters" not in out and "<footer" not in out
    assert 'src="../../static/images/logo-long.png"' in out
    assert 'href="../../static/images/favicon.ico"' in out
    assert '<link rel="stylesheet" href="../../static/dvk/dvk-data-docs.css">' in out
    rows = re.findall(r"<tr>(.*?)</tr>", out)
    assert rows[0] == "<th>Name</th>"
    assert rows[1:] == ['<td><a href="a.html">a</a></td>', """<td><a href="b.html">b]'s</a></td>"""]
