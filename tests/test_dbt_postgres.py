"""One dbt project, two targets (issue 14): the demo's dbt build on PostgreSQL equals DuckDB's.

A PostgreSQL 15 server is started in a temp folder on a loopback port (tests/services_stack.py's
``start_postgres``, as the ``postgres`` user when run as root). The reference is the shared
demo site's DuckDB warehouse (the demo inbox ingested and built by dbt as usual:
tests/support/site.py). Every ``raw.*`` table of it is copied into PostgreSQL (COPY, same column types), and ``dvk.transform.build`` runs
the same project on the ``postgres`` target (``DVK_WAREHOUSE_URL``): seeds, the snapshot, every
model, every data test and every unit test. Then each mart is compared with DuckDB's, row for row,
in one sort order: text, integers, dates and booleans exactly, doubles to 1e-9 relative (the
sums are exact decimals turned into doubles on both engines, so they agree to the last bit in
practice; the tolerance only allows for a last-bit difference of a double's text).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from pathlib import Path

import duckdb
import pytest

from dvk.settings import Settings
from dvk.transform import build
from tests.support.site import site_settings

psycopg2 = pytest.importorskip("psycopg2")

_PG_TYPES = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean",
}


def copy_raw_to_postgres(duck_path, dsn: str, folder) -> dict[str, int]:
    """Every ``raw.*`` table of the DuckDB file into PostgreSQL's schema ``raw`` (same columns,
    same types, COPY in CSV; one transaction). Returns the rows copied per table."""
    copied: dict[str, int] = {}
    with duckdb.connect(str(duck_path), read_only=True) as duck:
        tables = [r[0] for r in duck.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1"
        ).fetchall()]
        pg = psycopg2.connect(dsn)
        try:
            with pg, pg.cursor() as cur:
                cur.execute("create schema if not exists raw")
                for table in tables:
                    columns = duck.execute(
                        "select column_name, data_type from information_schema.columns "
                        "where table_schema = 'raw' and table_name = ? order by ordinal_position",
                        [table],
                    ).fetchall()
                    ddl = ", ".join(f'"{name}" {_PG_TYPES[kind]}' for name, kind in columns)
                    cur.execute(f'drop table if exists raw."{table}"')
                    cur.execute(f'create table raw."{table}" ({ddl})')
                    # DuckDB writes the CSV (doubles in their shortest exact text); NULL as \N,
                    # so an empty text stays an empty text.
                    csv_path = Path(folder) / f"{table}.csv"
                    duck.execute(
                        f"copy (select * from raw.\"{table}\") to '{csv_path}' "
                        "(format csv, header false, nullstr '\\N')"
                    )
                    with open(csv_path, encoding="utf-8") as handle:
                        cur.copy_expert(
                            f"copy raw.\"{table}\" from stdin with (format csv, null '\\N')", handle
                        )
                    copied[table] = cur.rowcount
        finally:
            pg.close()
    return copied


#: Columns that hold the wall-clock time of the build (the snapshot's record times, and its
#: record id, a hash of the key and that time), not data: two builds never agree on them,
#: whatever the engine.
WALL_CLOCK_COLUMNS = {"recorded_from", "recorded_to", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_scd_id"}
#: Doubles: relative tolerance (see the module's docstring).
FLOAT_TOLERANCE = 1e-9


def duckdb_tables(duck_path, schema: str) -> dict[str, list[str]]:
    with duckdb.connect(str(duck_path), read_only=True) as duck:
        found: dict[str, list[str]] = {}
        for table, column in duck.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = ? order by table_name, ordinal_position", [schema]
        ).fetchall():
            found.setdefault(table, []).append(column)
    return found


def _normal(value):
    """One Python value per SQL value, whatever driver returned it."""
    if isinstance(value, decimal.Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _sort_key(row):
    return tuple((v is None, type(v).__name__ if v is not None else "", v if v is not None else 0) for v in row)


def fetch_duckdb(duck_path, sql: str) -> list[tuple]:
    with duckdb.connect(str(duck_path), read_only=True) as duck:
        return sorted((tuple(_normal(v) for v in row) for row in duck.execute(sql).fetchall()), key=_sort_key)


def fetch_postgres(dsn: str, sql: str) -> list[tuple]:
    pg = psycopg2.connect(dsn)
    try:
        with pg.cursor() as cur:
            cur.execute(sql)
            return sorted((tuple(_normal(v) for v in row) for row in cur.fetchall()), key=_sort_key)
    finally:
        pg.close()


def same_value(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return a == b


def table_differences(table: str, columns: list[str], duck_rows: list[tuple], pg_rows: list[tuple]) -> list[str]:
    """Row-for-row differences of one table (both sides sorted on every compared column)."""
    problems = []
    if len(duck_rows) != len(pg_rows):
        problems.append(f"{table}: {len(duck_rows)} rows on DuckDB, {len(pg_rows)} on PostgreSQL")
    for number, (d, p) in enumerate(zip(duck_rows, pg_rows)):
        for column, a, b in zip(columns, d, p):
            if not same_value(a, b):
                problems.append(f"{table} row {number} column {column}: DuckDB {a!r}, PostgreSQL {b!r}")
        if len(problems) > 20:
            break
    return problems


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory, postgres_server, demo_site):
    """The shared demo site's DuckDB warehouse (the demo inbox ingested and built by dbt, unit tests
    included: tests/support/site.py), and its raw tables copied into PostgreSQL and built there by
    the same project (with the unit tests). Returns (DuckDB settings, PostgreSQL settings, libpq dsn)."""
    root = tmp_path_factory.mktemp("dbt_two_targets")
    duck = site_settings(demo_site)
    url = postgres_server.new_database("dvk_dbt_two_targets")
    pg = Settings(
        inbox_dir=duck.inbox_dir,
        warehouse=root / "postgres" / "unused.duckdb",  # dbt's target/ and logs/ go beside it
        reports_dir=root / "reports-pg",
        quarantine_dir=root / "quarantine-pg",
        warehouse_url=url,
    )
    assert pg.warehouse_engine == "postgres" and duck.warehouse_engine == "duckdb"
    copied = copy_raw_to_postgres(duck.warehouse, pg.postgres.dsn, root)
    assert copied["submissions"] > 0 and copied["submission_models"] > 0
    build(pg)  # seeds, snapshot, models, data tests and unit tests: raises on any failure
    return duck, pg, pg.postgres.dsn


@pytest.mark.services
@pytest.mark.e2e
def test_postgres_build_runs_every_node_on_the_postgres_target(two_builds):
    _, pg, dsn = two_builds
    # the relations are PostgreSQL's: the marts, the snapshot and the seeds are there
    found = fetch_postgres(
        dsn,
        "select table_schema, count(*) from information_schema.tables "
        "where table_schema in ('staging', 'intermediate', 'marts', 'snapshots', 'seeds') group by 1",
    )
    counts = dict(found)
    assert counts["marts"] >= 15 and counts["snapshots"] == 1 and counts["seeds"] == 4
    # a second build (incremental facts, snapshot unchanged) succeeds too: idempotent
    build(pg, select="fct_model fct_model_year snp_reporting_units")
    (records,) = fetch_postgres(dsn, "select count(*) from snapshots.snp_reporting_units where dbt_valid_to is not null")
    assert records == (0,)


@pytest.mark.services
@pytest.mark.e2e
def test_headline_2021_on_postgres(two_builds):
    _, _, dsn = two_builds
    (h,) = fetch_postgres(
        dsn,
        "select count(distinct unit_code), sum(models_total), sum(models_new), sum(models_replicated) "
        "from marts.fct_annual_unit_field where year = 2021",
    )
    assert h == (27, 253, 157, 96)
    (rate,) = fetch_postgres(
        dsn,
        "select expected_units, received_units, on_time_units, reporting_rate, on_time_rate "
        "from marts.fct_reporting_rate where period_id = '2021'",
    )
    assert rate == (28, 27, 23, 0.9643, 0.8214)


@pytest.mark.services
@pytest.mark.e2e
@pytest.mark.parametrize("schema", ["marts", "intermediate", "staging", "snapshots"])
def test_every_relation_equals_duckdb_row_for_row(two_builds, schema):
    duck, _, dsn = two_builds
    tables = duckdb_tables(duck.warehouse, schema)
    assert tables, f"no relation in DuckDB's schema {schema}"
    pg_tables = {t for (t,) in fetch_postgres(
        dsn, f"select table_name from information_schema.tables where table_schema = '{schema}'"
    )}
    assert set(tables) == pg_tables
    problems: list[str] = []
    for table, columns in tables.items():
        columns = [c for c in columns if c not in WALL_CLOCK_COLUMNS]
        sql = "select " + ", ".join(f'"{c}"' for c in columns) + f' from {schema}."{table}"'
        duck_rows = fetch_duckdb(duck.warehouse, sql)
        problems += table_differences(table, columns, duck_rows, fetch_postgres(dsn, sql))
    assert not problems, "\n".join(problems[:40])


@pytest.mark.services
@pytest.mark.e2e
def test_column_types_correspond(two_builds):
    """Each mart column has the same type on both engines (VARCHAR = text or varchar)."""
    duck, _, dsn = two_builds
    same = {
        "VARCHAR": {"text", "character varying"},
        "BIGINT": {"bigint"},
        "INTEGER": {"integer"},
        "DOUBLE": {"double precision"},
        "DATE": {"date"},
        "BOOLEAN": {"boolean"},
        "TIMESTAMP": {"timestamp without time zone"},
    }
    query = ("select table_name, column_name, data_type from information_schema.columns "
             "where table_schema = 'marts'")
    with duckdb.connect(str(duck.warehouse), read_only=True) as con:
        duck_types = {(t, c): k for t, c, k in con.execute(query).fetchall()}
    pg_types = {(t, c): k for t, c, k in fetch_postgres(dsn, query)}
    assert set(duck_types) == set(pg_types)
    wrong = {key: (duck_types[key], pg_types[key]) for key in duck_types
             if pg_types[key] not in same.get(duck_types[key], set())}
    assert not wrong


@pytest.mark.services
@pytest.mark.e2e
def test_fold_text_on_postgres_matches_dvk_text_fold(two_builds):
    """The postgres__ twin of the fold_text macro (NFD, combining marks dropped) gives the
    Python key (dvk.text.fold), as tests/test_dbt_build.py checks DuckDB's."""
    import unicodedata

    from dvk.settings import DBT_PROJECT_DIR
    from dvk.text import fold

    _, _, dsn = two_builds
    macro = (DBT_PROJECT_DIR / "macros" / "text.sql").read_text(encoding="utf-8")
    head = "postgres__fold_text(expression) -%}"
    body = macro[macro.index(head) + len(head):]
    sql = body[: body.index("{%- endmacro")].replace("{{ expression }}", "%(name)s")
    names = [
        "Tổ dân phố mẫu", "TỔ DÂN PHỐ  MẪU.", "to-dan_pho/mau", "Đường giao thông nông thôn",
        "đường  GIAO\tthông\n(mẫu)", "Xây dựng “Khu dân cư kiểu mẫu” – 2022",
        "Camera\u200b an ninh", "\ufeffSân chơi", "Mô hình số 12", "  ",
        "Phòng GD&ĐT", "Hội LHPN: ‘Phụ nữ giúp nhau’", "Quỹ «Vì người nghèo»", "ĐOÀN THANH NIÊN",
    ]
    names.append(unicodedata.normalize("NFD", "Đường hoa  xanh – sạch (mẫu)"))
    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            got = []
            for name in names:
                cur.execute(f"select {sql}", {"name": name})
                got.append(cur.fetchone()[0])
    finally:
        con.close()
    assert got == [fold(n) for n in names]


def test_warehouse_url_selects_the_engine_and_never_shows_the_password():
    from dvk.settings import get_settings, parse_warehouse_url

    assert parse_warehouse_url(None) is None and parse_warehouse_url("") is None
    assert parse_warehouse_url("duckdb") is None
    pg = parse_warehouse_url("postgresql://dvk:s%40cret%3A1@db.example:6543/warehouse")
    assert (pg.host, pg.port, pg.user, pg.password, pg.dbname) == ("db.example", 6543, "dvk", "s@cret:1", "warehouse")
    assert "s@cret" not in repr(pg)
    assert parse_warehouse_url("postgres://dvk@localhost/w").port == 5432
    for bad in ("mysql://u:secretpw@h/d", "postgresql://h/d", "postgresql://u@h/", "/tmp/dvk.duckdb"):
        with pytest.raises(ValueError) as caught:
            parse_warehouse_url(bad)
        assert "secretpw" not in str(caught.value)
    settings = Settings(inbox_dir=Path("i"), warehouse=Path("w/dvk.duckdb"), reports_dir=Path("r"),
                        quarantine_dir=Path("q"), warehouse_url="postgresql://u:p@h:1/d")
    assert settings.warehouse_engine == "postgres"
    assert get_settings().warehouse_url is None or get_settings().warehouse_engine in ("duckdb", "postgres")


def test_transform_selects_the_postgres_target_and_exports_its_connection(monkeypatch, tmp_path):
    import os

    from dvk import transform

    duck = Settings(inbox_dir=tmp_path, warehouse=tmp_path / "dvk.duckdb", reports_dir=tmp_path,
                    quarantine_dir=tmp_path)
    pg = Settings(inbox_dir=tmp_path, warehouse=tmp_path / "dvk.duckdb", reports_dir=tmp_path,
                  quarantine_dir=tmp_path, warehouse_url="postgresql://dvk:pw@10.0.0.5:5433/wh")
    assert "--target" not in transform.dbt_cli_args(["build"], duck)
    args = transform.dbt_cli_args(["build"], pg)
    assert args[args.index("--target") + 1] == "postgres"
    assert "pw" not in " ".join(args)
    for name in ("DVK_PG_HOST", "DBT_ENV_SECRET_DVK_PG_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with transform._dbt_environment(pg):
        assert (os.environ["DVK_PG_HOST"], os.environ["DVK_PG_PORT"], os.environ["DVK_PG_USER"],
                os.environ["DVK_PG_DBNAME"], os.environ["DBT_ENV_SECRET_DVK_PG_PASSWORD"]) == (
            "10.0.0.5", "5433", "dvk", "wh", "pw")
    assert "DVK_PG_HOST" not in os.environ
    assert transform.warehouse_name(pg) == "postgresql://dvk@10.0.0.5:5433/wh"


@pytest.mark.services
@pytest.mark.e2e
def test_a_broken_check_names_model_column_and_check_on_postgres(two_builds):
    """The dense ``checks`` test on PostgreSQL: a raw row with an unknown period kind and field
    code fails the staging models' checks (views: no rebuild needed), and the error read back
    from PostgreSQL names each model, column and check. The row is removed again."""
    from dvk.transform import TransformError, run_dbt

    _, pg, dsn = two_builds
    sid = "f" * 64
    con = psycopg2.connect(dsn)
    try:
        with con, con.cursor() as cur:
            cur.execute(
                "insert into raw.submissions (submission_id, file_name, file_format, unit_code, period_id, "
                "period_kind, period_year, report_date, has_declared_totals) values "
                "(%s, 'bad.csv', 'csv', 'CQ07', '2023W01', 'week', 2023, date '2023-01-06', false)", [sid])
            cur.execute(
                "insert into raw.submission_models (submission_id, line_no, model_name, field_code, model_kind) "
                "values (%s, 1, 'Lạc lĩnh vực', 'XX', 'new')", [sid])
        with pytest.raises(TransformError) as err:
            run_dbt(["test", "--select", "stg_raw__submissions stg_raw__submission_models",
                     "--exclude-resource-type", "unit_test"], pg)
    finally:
        with con, con.cursor() as cur:
            cur.execute("delete from raw.submission_models where submission_id = %s", [sid])
            cur.execute("delete from raw.submissions where submission_id = %s", [sid])
        con.close()
    text = str(err.value)
    assert "stg_raw__submissions.period_kind: accepted_values [month, quarter, half_year, year] (1 failing, e.g. week)" in text
    assert "stg_raw__submission_models.field_code: relationships: fields.field_code (1 failing, e.g. XX)" in text
