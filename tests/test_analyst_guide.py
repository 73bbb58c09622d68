"""Every SQL query of docs/analyst-guide.md runs against the published demo warehouse.

A query in the guide is a fenced ```sql block right after a ``<!-- query: name -->`` marker. Each
must run without error on the published copy (the session fixture ``demo_site``); the named
ones below must also give the demo's known figures (spec §1: 2021 = 27 units, 253 models, 157 new,
96 replicated; demo/README.md: CQ12 missing, Bắc Hà's correction, the late units, ...).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dvk.settings import PROJECT_ROOT
from tests.support.site import site_settings

GUIDE = PROJECT_ROOT / "docs" / "analyst-guide.md"
QUERY = re.compile(r"<!-- query: ([a-z0-9_]+) -->\s*```sql\n(.*?)```", re.DOTALL)


def guide_queries() -> dict[str, str]:
    text = GUIDE.read_text(encoding="utf-8")
    found = QUERY.findall(text)
    names = [name for name, _ in found]
    assert len(names) == len(set(names)), f"duplicate query names: {names}"
    return dict(found)


QUERIES = guide_queries()


@pytest.fixture(scope="module")
def published(demo_site) -> Path:
    return site_settings(demo_site).published_warehouse


@pytest.fixture(scope="module")
def results(published) -> dict[str, list[dict]]:
    out = {}
    con = duckdb.connect(str(published), read_only=True)
    try:
        for name, sql in QUERIES.items():
            cur = con.execute(sql)
            columns = [d[0] for d in cur.description]
            out[name] = [dict(zip(columns, row)) for row in cur.fetchall()]
    finally:
        con.close()
    return out


def test_the_guide_has_a_dozen_named_queries_and_no_unnamed_sql_block():
    text = GUIDE.read_text(encoding="utf-8")
    assert len(QUERIES) >= 12
    assert text.count("```sql") == len(QUERIES), "every ```sql block needs a <!-- query: name --> marker"


def test_the_guide_documents_every_published_table(published):
    text = GUIDE.read_text(encoding="utf-8")
    con = duckdb.connect(str(published), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1").fetchall()]
    finally:
        con.close()
    undocumented = [t for t in tables if f"`{t}`" not in text]
    assert not undocumented, f"docs/analyst-guide.md does not describe: {undocumented}"


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_runs_on_the_published_warehouse(published, name):
    sql = QUERIES[name]
    assert not re.search(r"\b(raw|staging|intermediate)\.", sql), "analysts only have the marts"
    con = duckdb.connect(str(published), read_only=True)
    try:
        con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_guide_runs_through_the_sql_shell(published):
    """All the queries at once through ./scripts/sql's entry point, fed on stdin (no terminal)."""
    script = "\n".join(QUERIES.values())
    env = dict(os.environ)
    env["DVK_PUBLISHED_DIR"] = str(published.parent)
    proc = subprocess.run([sys.executable, "-m", "dvk", "sql"], cwd=PROJECT_ROOT, env=env, input=script,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("┌") == len(QUERIES)


# --------------------------------------------------------------------------------------------
# known demo figures


def by(rows: list[dict], **match) -> list[dict]:
    return [r for r in rows if all(r[k] == v for k, v in match.items())]


def test_headline(results):
    (row,) = by(results["headline_by_year"], year=2021)
    assert (row["units_registered"], row["models_total"], row["models_new"], row["models_replicated"]) == (27, 253, 157, 96)
    assert row["provisional_units"] == 0
    (row_2022,) = by(results["headline_by_year"], year=2022)
    assert row_2022["provisional_units"] == 6


def test_models_per_field(results):
    rows = by(results["models_per_field_and_year"], year=2021)
    assert [r["field_code"] for r in rows] == ["KT", "VHXH", "QPAN", "XDD"]
    assert sum(r["models_total"] for r in rows) == 253 and sum(r["models_new"] for r in rows) == 157
    assert abs(sum(r["pct_of_year"] for r in rows) - 100) < 0.5


def test_units_not_reported_this_quarter(results):
    codes = {r["unit_code"] for r in results["units_not_reported_this_quarter"]}
    assert len(codes) == 22
    assert {"18073", "18076", "CQ12", "CQ13"} <= codes
    assert not codes & {"18070", "18079", "18100", "18103", "CQ02", "CQ07"}  # sent their 2022Q1 report
    assert {str(r["due_date"]) for r in results["units_not_reported_this_quarter"]} == {"2022-03-19"}


def test_missing_and_provisional(results):
    rows = results["missing_and_provisional_units"]
    assert [r["unit_code"] for r in by(rows, year=2021, status="missing")] == ["CQ12"]
    provisional = by(rows, year=2022, status="provisional")
    assert {r["unit_code"] for r in provisional} == {"18070", "18079", "18100", "18103", "CQ02", "CQ07"}
    assert {r["source_period_id"] for r in provisional} == {"2022Q1"}


def test_funds_per_ward(results, published):
    rows = results["funds_per_ward"]
    assert {r["unit_kind"] for r in rows} == {"phuong", "xa"}
    assert len(rows) == 15  # the 2021 wards and communes with models
    funds = [r["funds_million_vnd"] for r in rows]
    assert funds == sorted(funds, reverse=True)
    con = duckdb.connect(str(published), read_only=True)
    expected = con.execute(
        "select sum(f.funds_million_vnd) from marts.fct_annual_unit_field f join marts.dim_reporting_unit u "
        "using (unit_key) where f.year = 2021 and u.unit_kind in ('phuong', 'xa')").fetchone()[0]
    con.close()
    assert abs(sum(funds) - expected) < 0.5


def test_year_on_year(results):
    rows = results["year_on_year_by_unit"]
    (tran_phu,) = by(rows, year=2022, unit_code="18070")
    assert tran_phu["status"] == "provisional"
    assert tran_phu["change"] == tran_phu["models"] - tran_phu["models_year_before"]
    assert tran_phu["models_year_before"] == 12
    assert all(r["models_year_before"] is None for r in by(rows, year=2021))
    assert sum(r["models"] for r in by(rows, year=2021)) == 253
    fields = by(results["year_on_year_by_field"], year=2022)
    assert len(fields) == 4 and all(r["includes_provisional"] for r in fields)


def test_on_time(results):
    rows = results["on_time_rate_per_unit"]
    late = {r["unit_code"] for r in rows if r["late"]}
    assert late == {"18088", "18112", "CQ05", "CQ13", "18685"}  # demo/README.md (18685: its 2025 annual report)
    (ha_huy_tap,) = by(rows, unit_code="18085")  # signed on the due date, arrived that afternoon
    assert ha_huy_tap["on_time_pct"] == 100.0
    rate = {r["period_id"]: r for r in results["reporting_rate_per_period"]}
    assert (rate["2021"]["expected_units"], rate["2021"]["received_units"], rate["2021"]["on_time_units"],
            rate["2021"]["late_units"], rate["2021"]["missing_units"]) == (28, 27, 23, 4, 1)
    assert rate["2021"]["missing_unit_codes"] == "CQ12"
    assert (rate["2022Q1"]["received_units"], rate["2022Q1"]["missing_units"]) == (6, 22)
    late_files = results["late_reports"]
    assert {r["unit_code"] for r in late_files} == late
    assert {r["unit_code"]: r["days_late"] for r in late_files}["18088"] == 1  # signed 17 Dec, arrived 20 Dec


def test_year_to_date(results):
    rows = {r["period_id"]: r for r in results["year_to_date_by_period"]}
    assert (rows["2021"]["units_reporting"], rows["2021"]["models_total"], rows["2021"]["models_new"],
            rows["2021"]["models_replicated"]) == (27, 253, 157, 96)
    assert rows["2022Q1"]["units_reporting"] == 6


def test_new_vs_replicated_by_unit(results):
    rows = results["new_vs_replicated_by_unit"]
    assert len(rows) == 27
    assert sum(r["models_new"] for r in rows) == 157 and sum(r["models_replicated"] for r in rows) == 96
    kinds = {r["unit_kind"]: 0 for r in rows}
    for r in results["models_by_unit_kind"]:
        if r["year"] == 2021:
            kinds[r["unit_kind"]] = r["models_total"]
    assert sum(kinds.values()) == 253


def test_top_and_recognised_models(results, published):
    top = results["top_models_by_households"]
    assert len(top) == 10
    households = [r["households"] for r in top]
    assert households == sorted(households, reverse=True)
    province = results["models_recognised_at_province_level"]
    con = duckdb.connect(str(published), read_only=True)
    expected = con.execute(
        "select count(*) from marts.fct_model m join marts.fct_annual_unit_status s "
        "on m.submission_id = s.source_submission_id where s.year = 2021 and m.recognition_level = 'Cấp tỉnh'"
    ).fetchone()[0]
    con.close()
    assert len(province) == expected > 0
    levels = results["recognition_levels_per_field"]
    assert sum(r["models"] for r in levels) == 253
    assert sum(r["province"] for r in levels) == expected


def test_corrections_and_totals(results):
    (bac_ha,) = results["corrections"]
    assert (bac_ha["unit_code"], bac_ha["period_id"], bac_ha["versions"]) == ("18076", "2021", 2)
    assert (bac_ha["first_version_models"], bac_ha["accepted_models"]) == (14, 15)  # one model forgotten, then sent
    assert results["declared_totals_mismatches"] == []


def test_publication(results, published):
    (row,) = results["publication"]
    assert "2021" in row["gate_years_passed"].split(", ")
    manifest = json.loads((published.parent / "manifest.json").read_text(encoding="utf-8"))
    assert row["tables"] == len(manifest["tables"])


# --------------------------------------------------------------------------------------------
# today's geography (reorganisations spec, rules 2, 4 and 5)


def test_todays_units_by_year(results, published):
    rows = results["todays_units_by_year"]
    assert rows, "no figures on today's geography"
    con = duckdb.connect(str(published), read_only=True)
    try:
        today_units = {r[0] for r in con.execute(
            "select distinct today_unit_code from marts.fct_annual_unit_today").fetchall()}
        (territorial_2021,) = con.execute(
            "select sum(models_total) from marts.fct_annual_unit_field "
            "where year = 2021 and unit_code not like 'CQ%'").fetchone()
    finally:
        con.close()
    assert today_units == {"18073", "18100", "18604", "18619", "18628", "18652", "18685"}
    # totals conserved: the wards' and communes' 2021 models, all on today's units
    assert abs(sum(r["models_total"] for r in by(rows, year=2021)) - territorial_2021) < 0.05
    (thanh_sen,) = by(rows, year=2021, today_unit_code="18073")
    assert thanh_sen["is_estimated"] and not thanh_sen["is_incomplete"]  # half of Đại Nài (estimate)
    assert "18082" in thanh_sen["source_units"] and "18070" in thanh_sen["source_units"]
    (tran_phu,) = by(rows, year=2021, today_unit_code="18100")
    assert tran_phu["is_incomplete"] and "Hộ Độ" in tran_phu["outside_parts"]
    (cam_binh,) = by(rows, year=2021, today_unit_code="18685")
    assert cam_binh["is_incomplete"] and "Cẩm Thành" in cam_binh["outside_parts"]
    wide = {r["today_unit_code"]: r for r in results["todays_units_wide"]}
    assert wide["18073"]["y2021"] == round(thanh_sen["models_total"], 1)
    assert "2021 ước tính" in wide["18073"]["marks"]


def test_expected_and_sent_2025s1(results):
    rows = results["expected_and_sent_2025s1"]
    if not rows:
        pytest.skip("the published demo has no 2025S1 period yet")
    expected = {r["unit_code"] for r in rows if r["is_expected"]}
    assert len([c for c in expected if not c.startswith("CQ")]) == 27  # the enlarged city's wards and communes
    assert {"18094", "18077", "18598", "18685"} <= expected
    assert not expected & {"18070", "18076"}  # retired on 2025-01-01
    assert {r["status"] for r in rows if r["is_expected"]} <= {"on_time", "late", "missing"}
    assert all(r["has_submitted"] == (r["status"] != "missing") for r in rows if r["is_expected"])


def test_the_guides_pandas_example_reads_the_published_parquet(published):
    """``pd.read_parquet`` of the guide works in the project's environment (pyarrow is a dependency)."""
    import pandas as pd

    text = GUIDE.read_text(encoding="utf-8")
    paths = re.findall(r'pd\.read_parquet\("\.local/warehouse/published/([^"]+)"\)', text)
    assert paths, "the guide has no pd.read_parquet example"
    for relative in paths:
        df = pd.read_parquet(published.parent / relative)
        assert len(df) > 0, relative


# --------------------------------------------------------------------------------------------
# an analyst's older DuckDB (1.4, what most tools still bundle) opens the published copy

OLD_DUCKDB = "duckdb==1.4.*"
RUN_GUIDE = """
import duckdb, json, sys
queries = json.loads(open(sys.argv[2], encoding="utf-8").read())
con = duckdb.connect(sys.argv[1], read_only=True)
out = {"__version__": duckdb.__version__}
for name, sql in queries.items():
    out[name] = [[None if v is None else str(v) for v in row] for row in con.execute(sql).fetchall()]
con.close()
print(json.dumps(out, ensure_ascii=False))
"""


@pytest.mark.e2e
def test_duckdb_1_4_opens_the_published_copy_and_runs_the_guides_queries(published, results, tmp_path):
    """Written with ``STORAGE_VERSION 'v1.2.0'`` (``dvk.publish``): DuckDB 1.4, installed in a
    throwaway environment, opens it and gets the same rows as the project's DuckDB."""
    uv = PROJECT_ROOT / ".tools" / "bin" / "uv"
    if not uv.is_file():
        pytest.skip("uv is not installed (run ./scripts/bootstrap): cannot make a throwaway environment")
    venv = tmp_path / "old-duckdb"
    subprocess.run([str(uv), "venv", "-q", "-p", sys.executable, str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run([str(uv), "pip", "install", "-q", "--python", str(python), OLD_DUCKDB],
                             capture_output=True, text=True, timeout=600)
    if install.returncode != 0:
        pytest.skip(f"cannot install {OLD_DUCKDB} from the package index here: {install.stderr.strip()[-500:]}")
    queries = tmp_path / "queries.json"
    queries.write_text(json.dumps(QUERIES, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([str(python), "-c", RUN_GUIDE, str(published), str(queries)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    old = json.loads(run.stdout)
    assert old.pop("__version__").startswith("1.4.")
    assert set(old) == set(results)
    def text_rows(rows: list) -> list:
        # the same rows; their order only as far as the guide's ORDER BY fixes it (a reused unit
        # code can tie, and two engines may order ties differently)
        return sorted(rows, key=lambda row: [(v is None, v or "") for v in row])

    for name, rows in results.items():
        assert text_rows(old[name]) == text_rows([[None if v is None else str(v) for v in row.values()]
                                                  for row in rows]), name
