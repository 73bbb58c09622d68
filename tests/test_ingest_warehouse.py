"""The raw layer's schema check and bulk insert (``dvk.ingest.warehouse``), on in-memory warehouses."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from dvk.ingest import warehouse

CONTRACT = [(t, c, d) for t, cols in sorted(warehouse.RAW_TABLES.items()) for c, d in cols]


def columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute("select table_name, column_name, data_type from information_schema.columns "
                       "where table_schema = 'raw' order by table_name, ordinal_position").fetchall()


def test_a_new_warehouse_gets_the_contract_and_a_second_check_passes():
    con = duckdb.connect()
    warehouse.ensure_schema(con)
    assert columns(con) == CONTRACT
    warehouse.ensure_schema(con)  # existing tables: checked, nothing created
    assert columns(con) == CONTRACT


def test_missing_tables_are_created_beside_the_existing_ones():
    con = duckdb.connect()
    con.execute(warehouse.ddl(["loads", "submissions"]))
    con.execute("insert into raw.loads (load_id) values ('earlier')")
    warehouse.ensure_schema(con)
    assert columns(con) == CONTRACT
    assert con.execute("select load_id from raw.loads").fetchall() == [("earlier",)]


def test_a_table_that_differs_from_the_contract_is_refused_and_nothing_is_created():
    con = duckdb.connect()
    con.execute("create schema raw; create table raw.submissions (submission_id varchar primary key, x integer)")
    with pytest.raises(warehouse.SchemaMismatch, match=r"raw\.submissions: expected .* found \[\('submission_id', "
                                                       r"'VARCHAR'\), \('x', 'INTEGER'\)\]"):
        warehouse.ensure_schema(con)
    assert [t for t, _, _ in columns(con)] == ["submissions", "submissions"]  # left as it was


def test_a_column_of_another_type_is_refused():
    con = duckdb.connect()
    con.execute(warehouse.DDL.replace('"households" BIGINT', '"households" INTEGER'))
    with pytest.raises(warehouse.SchemaMismatch, match=r"raw\.submission_models"):
        warehouse.ensure_schema(con)


def test_insert_keeps_none_as_null_and_the_contract_types():
    con = duckdb.connect()
    warehouse.ensure_schema(con)
    line = ("s", "Mô hình", "KT", "Kinh tế", "new", "Xây mới")
    rows = [
        (line[0], 1, line[1], 4, None, "Tên", *line[2:], None, None, None, None, None, None, None),
        (line[0], 2, line[1], 5, 2, "Tên 2", *line[2:], dt.date(2022, 3, 1), "Cấp xã", 2**40, 5, 7, float("nan"),
         ""),
    ]
    warehouse._insert_frame(con, "submission_models", warehouse._rows_frame("submission_models", rows))
    warehouse._insert_frame(con, "submission_models", warehouse._rows_frame("submission_models", []))  # a no-op
    got = con.execute("select stt, registered_on, households, funds_million_vnd, land_m2, note, typeof(line_no), "
                      "typeof(households), typeof(funds_million_vnd) from raw.submission_models order by line_no"
                      ).fetchall()
    assert got == [
        (None, None, None, None, None, None, "INTEGER", "BIGINT", "DOUBLE"),
        (2, dt.date(2022, 3, 1), 2**40, 5.0, None, "", "INTEGER", "BIGINT", "DOUBLE"),  # NaN is NULL, never NaN
    ]
