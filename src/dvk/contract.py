"""The raw contract, declared once: the tables of schema ``raw`` that ``dvk.ingest`` writes and dbt
reads, their columns in order, and their DuckDB types.

Everything else is derived from it or tested against it: the ingest creates and checks the
tables from it (``dvk.ingest.warehouse.ensure_schema``), the transform asks for the tables the
models read (``dvk.transform.missing_raw_tables``), the tests build their hand-made raw dataset
from :func:`ddl` (``tests/fixtures/raw_fixture.py``), and ``tests/test_contract.py`` checks that
dbt's ``models/staging/_sources.yml`` and docs/architecture.md ("Raw tables", where each column's
meaning is written) list exactly these tables and columns. To change the contract: change
:data:`RAW_TABLES` (a column added to an existing table also goes into :data:`ADDED_COLUMNS`),
then the sources file and the docs; the test says what is out of step.
"""

from __future__ import annotations

from collections.abc import Sequence

from dvk.warehouse import quote_ident

#: table → [(column, DuckDB type)], in column order.
RAW_TABLES: dict[str, list[tuple[str, str]]] = {
    "loads": [
        ("load_id", "VARCHAR"), ("started_at", "TIMESTAMP"), ("finished_at", "TIMESTAMP"),
        ("inbox_dir", "VARCHAR"), ("files_seen", "INTEGER"), ("files_loaded", "INTEGER"),
        ("files_skipped", "INTEGER"), ("files_quarantined", "INTEGER"), ("status", "VARCHAR"),
    ],
    "submissions": [
        ("submission_id", "VARCHAR"), ("file_name", "VARCHAR"), ("file_format", "VARCHAR"),
        ("file_size_bytes", "BIGINT"), ("received_at", "TIMESTAMP"), ("loaded_at", "TIMESTAMP"),
        ("load_id", "VARCHAR"), ("unit_code", "VARCHAR"), ("unit_code_raw", "VARCHAR"),
        ("unit_name_raw", "VARCHAR"), ("period_id", "VARCHAR"), ("period_kind", "VARCHAR"),
        ("period_year", "INTEGER"), ("period_raw", "VARCHAR"), ("report_date", "DATE"),
        ("preparer_name", "VARCHAR"), ("preparer_phone", "VARCHAR"), ("has_declared_totals", "BOOLEAN"),
    ],
    "submission_models": [
        ("submission_id", "VARCHAR"), ("line_no", "INTEGER"), ("source_sheet", "VARCHAR"),
        ("source_row", "INTEGER"), ("stt", "INTEGER"), ("model_name", "VARCHAR"), ("field_code", "VARCHAR"),
        ("field_raw", "VARCHAR"), ("model_kind", "VARCHAR"), ("model_kind_raw", "VARCHAR"),
        ("registered_on", "DATE"), ("recognition_level", "VARCHAR"), ("households", "BIGINT"),
        ("funds_million_vnd", "DOUBLE"), ("labour_days", "BIGINT"), ("land_m2", "DOUBLE"), ("note", "VARCHAR"),
    ],
    "submission_declared_totals": [
        ("submission_id", "VARCHAR"), ("source_row", "INTEGER"), ("field_code", "VARCHAR"),
        ("field_raw", "VARCHAR"), ("models_total", "BIGINT"), ("models_new", "BIGINT"),
        ("models_replicated", "BIGINT"), ("funds_million_vnd", "DOUBLE"),
    ],
    "quarantine": [
        ("sha256", "VARCHAR"), ("file_name", "VARCHAR"), ("received_at", "TIMESTAMP"),
        ("quarantined_at", "TIMESTAMP"), ("load_id", "VARCHAR"), ("quarantine_path", "VARCHAR"),
        ("report_path", "VARCHAR"),
    ],
    "quarantine_problems": [
        ("sha256", "VARCHAR"), ("file_name", "VARCHAR"), ("problem_no", "INTEGER"), ("sheet", "VARCHAR"),
        ("row", "INTEGER"), ("column", "VARCHAR"), ("code", "VARCHAR"), ("message_vi", "VARCHAR"),
        ("message_en", "VARCHAR"),
    ],
    "submission_warnings": [
        ("submission_id", "VARCHAR"), ("file_name", "VARCHAR"), ("warning_no", "INTEGER"), ("sheet", "VARCHAR"),
        ("row", "INTEGER"), ("column", "VARCHAR"), ("code", "VARCHAR"), ("message_vi", "VARCHAR"),
        ("message_en", "VARCHAR"),
    ],
}
#: Columns added to a table after it was first released: an existing table that lacks only these
#: (at its end) is brought up to the contract with ``alter table ... add column`` (NULL in old rows).
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {"loads": ("status",)}
#: Declared keys (the ingest relies on the submissions' one: the same bytes are one submission).
PRIMARY_KEYS = {"submissions": "submission_id"}
#: Tables of the contract that no dbt model reads (the gate and ``dvk status`` read them directly).
NOT_READ_BY_DBT = ("submission_warnings",)
#: The tables the dbt models read: a build needs all of them.
READ_BY_DBT = tuple(t for t in RAW_TABLES if t not in NOT_READ_BY_DBT)


#: The contract's (DuckDB) types on PostgreSQL (issue 14: the ingest's DDL there).
PG_TYPES = {
    "VARCHAR": "text", "TIMESTAMP": "timestamp", "DATE": "date", "INTEGER": "integer",
    "BIGINT": "bigint", "DOUBLE": "double precision", "BOOLEAN": "boolean",
}
ENGINES = ("duckdb", "postgres")


def column_type(dtype: str, engine: str = "duckdb") -> str:
    """A contract type (DuckDB's name) as ``engine`` spells it."""
    if engine not in ENGINES:
        raise ValueError(f"unknown warehouse engine {engine!r} (expected one of {ENGINES})")
    return PG_TYPES[dtype.upper()] if engine == "postgres" else dtype


def ddl(tables: Sequence[str] | None = None, *, if_not_exists: bool = True, engine: str = "duckdb") -> str:
    """``create schema`` and ``create table`` statements for ``tables`` (default: all the contract's).

    ``if_not_exists=False``: a table that exists after all is an error, never taken unchecked.
    ``engine``: ``duckdb`` (the contract's types as they are) or ``postgres`` (:data:`PG_TYPES`).
    """
    statements = ["create schema if not exists raw;"]
    create = "create table if not exists" if if_not_exists else "create table"
    for table in RAW_TABLES if tables is None else tables:
        key = PRIMARY_KEYS.get(table)
        cols = [f"{quote_ident(c)} {column_type(t, engine)}" + (" primary key" if key == c else "") for c, t in RAW_TABLES[table]]
        statements.append(f"{create} raw.{table} (\n    " + ",\n    ".join(cols) + "\n);")
    return "\n".join(statements)
