"""The PostgreSQL engine's pure parts (no server): parameter rewriting, COPY's CSV fields, the
contract's DDL per engine, and which engine a path or URL selects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dvk import contract, warehouse
from dvk.ingest.pg_write import _csv_field
from dvk.warehouse_pg import translate


def test_question_marks_and_named_parameters_become_psycopg2s():
    sql, params = translate("select * from t where a = ? and b = ?", [1, 2])
    assert sql == "select * from t where a = %s and b = %s" and params == [1, 2]
    sql, params = translate("select $year, $year + 1", {"year": 2021})
    assert sql == "select %(year)s, %(year)s + 1" and params == {"year": 2021}


def test_literals_identifiers_and_comments_are_left_alone_but_percent_is_doubled():
    sql, _ = translate("select '?', \"$x?\", a % 2 -- it's ?\nfrom t where b like 'x%' and c = $c /* ' ? */",
                       {"c": 1})
    assert sql == ("select '?', \"$x?\", a %% 2 -- it's ?\nfrom t where b like 'x%%' and c = %(c)s /* ' ? */")


def test_without_parameters_the_statement_is_unchanged():
    assert translate("select 'a%' , ?", None) == ("select 'a%' , ?", None)


@pytest.mark.parametrize("value, text", [
    (None, ""),
    ("", '""'),
    ('say "hi", ok\nnext', '"say ""hi"", ok\nnext"'),
    (True, "true"),
    (3, "3"),
    (0.1, "0.1"),
    (float("nan"), ""),
    (dt.date(2021, 12, 31), "2021-12-31"),
    (dt.datetime(2021, 1, 2, 3, 4, 5), "2021-01-02 03:04:05"),
    (dt.datetime(2021, 1, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))), "2021-01-02 03:00:00"),
])
def test_copy_csv_fields(value, text):
    assert _csv_field(value) == text


def test_contract_ddl_per_engine():
    pg = contract.ddl(["submission_models"], engine="postgres")
    assert '"funds_million_vnd" double precision' in pg and '"note" text' in pg
    duck = contract.ddl(["submission_models"])
    assert '"funds_million_vnd" DOUBLE' in duck
    with pytest.raises(ValueError):
        contract.ddl(engine="oracle")


def test_target_selects_the_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DVK_WAREHOUSE", str(tmp_path / "dvk.duckdb"))
    monkeypatch.delenv("DVK_WAREHOUSE_URL", raising=False)
    assert warehouse.target() == tmp_path / "dvk.duckdb"
    assert warehouse.postgres_target(tmp_path / "dvk.duckdb") is None
    monkeypatch.setenv("DVK_WAREHOUSE_URL", "postgresql://u:secret@db:5433/dvk")
    assert warehouse.target() == "postgresql://u:secret@db:5433/dvk"
    pg = warehouse.postgres_target(tmp_path / "dvk.duckdb")  # the settings' warehouse: PostgreSQL
    assert (pg.host, pg.port, pg.dbname) == ("db", 5433, "dvk")
    assert warehouse.postgres_target(Path(tmp_path / "published.duckdb")) is None  # another file: DuckDB
