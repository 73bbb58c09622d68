"""The demo pipeline end to end on PostgreSQL (issue 14): DVK_WAREHOUSE_URL=postgresql://…

The package's own stage functions, as ``./scripts/run`` chains them (without Airflow): the ingest
writes ``raw.*`` in PostgreSQL (COPY), dbt builds the marts on the postgres target, the Great
Expectations gate and the annual report read through ``dvk.warehouse``, and publishing fills the
schema ``analytics`` read by the role ``dvk_analyst``. No DuckDB file is written.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from dvk import pipeline, warehouse
from dvk.contract import RAW_TABLES
from dvk.settings import DEMO_INBOX_DIR, get_settings

psycopg2 = pytest.importorskip("psycopg2")

ROOT = Path(__file__).resolve().parents[1]
BROKEN_FILE = "2021_tep-hong.xlsx"
pytestmark = [pytest.mark.services, pytest.mark.e2e]


@pytest.fixture(scope="module")
def pg_run(tmp_path_factory, postgres_server):
    server = postgres_server
    mp = pytest.MonkeyPatch()
    try:
        root = tmp_path_factory.mktemp("pg_pipeline")
        inbox = root / "inbox"
        shutil.copytree(DEMO_INBOX_DIR, inbox)
        (inbox / BROKEN_FILE).write_bytes(b"not a workbook")  # quarantined: what `dvk quarantine` lists
        url = server.new_database("dvk_pipeline")
        for name, value in {
            "DVK_WAREHOUSE_URL": url,
            "DVK_INBOX_DIR": str(inbox),
            "DVK_WAREHOUSE": str(root / "wh" / "dvk.duckdb"),  # dbt's target/ and logs/ go beside it
            "DVK_REPORTS_DIR": str(root / "reports"),
            "DVK_QUARANTINE_DIR": str(root / "quarantine"),
            "DVK_PUBLISHED_DIR": str(root / "published"),
            "DVK_LOG_DIR": str(root / "logs"),
            "DVK_INBOX_SETTLE_SECONDS": "0",
        }.items():
            mp.setenv(name, value)
        settings = get_settings()
        assert settings.warehouse_engine == "postgres"
        ingest = pipeline.ingest()
        pipeline.transform()
        years = pipeline.report_years(None)
        gates = {year: pipeline.gate(year) for year in years}
        reports = {year: pipeline.report(year, gates[year]) for year in years}
        published = pipeline.publish(years)
        pipeline.every_year_current(published)
        again = pipeline.ingest()
        yield {"settings": settings, "url": url, "server": server, "ingest": ingest, "again": again,
               "years": years, "gates": gates, "reports": reports, "published": published}
    finally:
        mp.undo()


def _pg(url, sql, role=None):
    con = warehouse.connect(url, read_only=True)
    try:
        if role:  # as an analyst connects: the role, the publication's schemas on the search path
            con.execute(f"set role {role}")
            con.execute("set search_path = analytics, analytics_meta")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_no_duckdb_file_is_written(pg_run):
    assert not pg_run["settings"].warehouse.exists()
    assert pg_run["ingest"]["files_loaded"] > 0 and pg_run["ingest"]["files_quarantined"] == 1
    assert pg_run["again"]["files_loaded"] == 0  # idempotent: the same bytes are one submission


def test_raw_tables_follow_the_contract_with_postgres_types(pg_run):
    rows = _pg(pg_run["url"], "select table_name, column_name, data_type from information_schema.columns "
                              "where table_schema = 'raw' and table_name not like 'reference_%' "
                              "order by table_name, ordinal_position")
    found: dict[str, list[str]] = {}
    for table, column, _ in rows:
        found.setdefault(table, []).append(column)
    assert found == {t: [c for c, _ in cols] for t, cols in RAW_TABLES.items()}
    types = {(t, c): d for t, c, d in rows}
    assert types[("submission_models", "funds_million_vnd")] == "double precision"
    assert types[("submissions", "received_at")] == "timestamp without time zone"


def test_headline_2021(pg_run):
    (h,) = _pg(pg_run["url"], "select count(distinct unit_code), sum(models_total), sum(models_new), "
                              "sum(models_replicated) from marts.fct_annual_unit_field where year = 2021")
    assert h == (27, 253, 157, 96)


def test_gate_passes_and_reports_are_written(pg_run):
    assert 2021 in pg_run["years"]
    for year, gate in pg_run["gates"].items():
        assert gate["passed"], (year, gate.get("failures"))
    for year, folder in pg_run["reports"].items():
        assert any(Path(folder).iterdir()), year


def test_publication_holds_the_current_years(pg_run):
    published = pg_run["published"]
    assert set(pg_run["years"]) <= set(published["years"]) <= set(published["years_current"])
    assert not published["years_held_back"]
    (h,) = _pg(pg_run["url"], "select count(distinct unit_code), sum(models_total), sum(models_new), "
                              "sum(models_replicated) from analytics.fct_annual_unit_field where year = 2021",
               role="dvk_analyst")
    assert h == (27, 253, 157, 96)
    states = dict(_pg(pg_run["url"], "select year, state from analytics_meta.publication_years",
                      role="dvk_analyst"))
    assert states[2021] == "current"
    cols = {r[0] for r in _pg(pg_run["url"], "select column_name from information_schema.columns "
                                             "where table_schema = 'analytics'")}
    assert not any(re.search("preparer|phone", c) for c in cols)


@pytest.mark.parametrize("sql", [
    "select count(*) from raw.submissions",
    "select count(*) from marts.fct_annual_unit_field",
    "insert into analytics.dim_field (field_code) values ('x')",
    "delete from analytics.fct_annual_unit_field",
    "create table analytics.mine (a int)",
])
def test_analyst_role_reads_the_publication_and_nothing_else(pg_run, sql):
    con = warehouse.connect(pg_run["url"], read_only=False)  # even in a writable session
    try:
        con.execute("set role dvk_analyst")
        with pytest.raises(psycopg2.Error) as err:
            con.execute(sql)
        assert "permission denied" in str(err.value)
    finally:
        con.close()


def test_read_only_session_refuses_writes(pg_run):
    con = warehouse.connect(pg_run["url"], read_only=True)
    try:
        with pytest.raises(psycopg2.Error, match="read-only transaction"):
            con.execute("create table raw.x (a int)")
    finally:
        con.close()


def _guide_queries() -> list[str]:
    text = (ROOT / "docs" / "analyst-guide.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    return [b for b in blocks if "marts." in b or "meta." in b]


@pytest.mark.parametrize("index", range(len(_guide_queries())))
def test_analyst_guide_queries_run_on_postgres(pg_run, index):
    sql = _guide_queries()[index]
    sql = re.sub(r"\bmeta\.", "analytics_meta.", re.sub(r"\bmarts\.", "analytics.", sql))
    rows = _pg(pg_run["url"], sql, role="dvk_analyst")
    assert rows is not None


# --------------------------------------------------------------------------------------------
# the operators' commands and the analysts' helper on PostgreSQL (through dvk.warehouse)


def test_status_reads_postgres(pg_run, capsys):
    from dvk import cli
    from dvk.ops import collect_status

    s = collect_status()
    assert s["engine"] == "postgres" and s["warehouse_state"] == "ok"
    assert s["warehouse"].startswith("postgresql://") and s["warehouse"].endswith("/dvk_pipeline")
    assert s["submissions"] == pg_run["ingest"]["files_loaded"]
    assert s["last_load"] is not None and s["quarantined_files"] == 1
    assert s["waiting_files"] is not None and BROKEN_FILE not in s["waiting_files"]  # moved to the quarantine
    assert s["published"] and "analytics" in s["published"]["database"]
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "postgresql://" in out and "Tệp bị cách ly / quarantined files: 1" in out


def test_missing_reads_marts_and_the_publication(pg_run):
    from dvk.ops import collect_missing

    marts = collect_missing(get_settings(), "2021")
    published = collect_missing(get_settings(), "2021", published=True)
    assert marts["expected"] >= 27 and published["expected"] == marts["expected"]
    assert published["missing"] == marts["missing"]
    assert "analytics" in published["source"] and "analytics" not in marts["source"]


def test_quarantine_lists_the_broken_file(pg_run, capsys):
    from dvk import cli
    from dvk.ingest.quarantine import pending_quarantine
    from dvk.ops import collect_quarantine

    files = collect_quarantine(get_settings())
    assert [f["file_name"] for f in files] == [BROKEN_FILE] and files[0]["problems"]
    assert [f["file_name"] for f in pending_quarantine(get_settings())] == [BROKEN_FILE]
    assert cli.main(["quarantine"]) == 0
    assert BROKEN_FILE in capsys.readouterr().out


def test_sql_shell_reads_the_publication_as_an_analyst(pg_run):
    import io

    from dvk.sql_shell import SqlSession

    out = io.StringIO()
    session = SqlSession(pg_run["settings"].warehouse_url, out=out, fmt="csv")
    try:
        assert session.run_command("select count(distinct unit_code) as units, sum(models_total) as models "
                                   "from fct_annual_unit_field where year = 2021;") == 0
        assert out.getvalue().splitlines() == ["units,models", "27,253"]
        assert session.published_at()
        assert session.run_command(".tables") == 0 and "analytics.fct_annual_unit_field" in out.getvalue()
        assert session.run_command("select count(*) from raw.submissions") == 1  # the analysts' role
        assert session.run_command("delete from analytics.dim_field") == 1
    finally:
        session.close()
    out = io.StringIO()
    session = SqlSession(pg_run["settings"].warehouse_url, out=out, fmt="box", published=False)
    try:  # --warehouse: the marts, read-only
        assert session.run_command("select count(*) as n from raw.submissions") == 0
        assert str(pg_run["ingest"]["files_loaded"]) in out.getvalue()
    finally:
        session.close()


def test_analyst_connect_on_postgres(pg_run):
    from dvk.analyst import connect

    con = connect()
    try:
        (h,) = con.execute("select count(distinct unit_code), sum(models_total) from fct_annual_unit_field "
                           "where year = 2021").fetchall()
        assert h == (27, 253)
        assert con.execute("select current_user").fetchone()[0] == "dvk_analyst"
        with pytest.raises(psycopg2.Error):
            con.execute("select count(*) from marts.fct_model")
    finally:
        con.close()


def test_gate_results_name_the_database_and_go_stale_when_it_changes(pg_run):
    from dvk import publish
    from dvk.gate import load_result

    years = pg_run["years"]
    for year in years:
        saved = load_result(year)
        assert saved.warehouse == warehouse.describe() and saved.warehouse_version
    assert publish.gate_refusals(years) == []
    con = warehouse.connect(pg_run["url"], read_only=False)
    try:  # a change of the warehouse after the gate (what a dbt build or an ingest does)
        con.execute("create table marts.zz_probe (a integer)")
        refusals = publish.gate_refusals(years)
        assert [y for y, _, _ in refusals] == sorted(years)
        assert all("changed after the last gate run" in en for _, _, en in refusals)
    finally:
        con.execute("drop table marts.zz_probe")
        con.close()
    assert publish.gate_refusals(years) == []
