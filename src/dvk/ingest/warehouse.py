"""The raw layer of the warehouse (docs/architecture.md): its tables and the writes of one file."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import duckdb
import pandas as pd

from dvk.ingest.parse import ParsedSubmission
from dvk.ingest.problems import Problem

DDL = """
create schema if not exists raw;
create table if not exists raw.loads (
    load_id varchar primary key, started_at timestamp, finished_at timestamp, inbox_dir varchar,
    files_seen integer, files_loaded integer, files_skipped integer, files_quarantined integer);
create table if not exists raw.submissions (
    submission_id varchar primary key, file_name varchar, file_format varchar, file_size_bytes bigint,
    received_at timestamp, loaded_at timestamp, load_id varchar, unit_code varchar,
    unit_code_raw varchar, unit_name_raw varchar, period_id varchar, period_kind varchar,
    period_year integer, period_raw varchar, report_date date, preparer_name varchar,
    preparer_phone varchar, has_declared_totals boolean);
create table if not exists raw.submission_models (
    submission_id varchar, line_no integer, source_sheet varchar, source_row integer, stt integer,
    model_name varchar, field_code varchar, field_raw varchar, model_kind varchar,
    model_kind_raw varchar, registered_on date, recognition_level varchar, households bigint,
    funds_million_vnd double, labour_days bigint, land_m2 double, note varchar,
    primary key (submission_id, line_no));
create table if not exists raw.submission_declared_totals (
    submission_id varchar, source_row integer, field_code varchar, field_raw varchar,
    models_total bigint, models_new bigint, models_replicated bigint, funds_million_vnd double);
create table if not exists raw.quarantine (
    sha256 varchar, file_name varchar, received_at timestamp, quarantined_at timestamp,
    load_id varchar, quarantine_path varchar, report_path varchar);
create table if not exists raw.quarantine_problems (
    sha256 varchar, file_name varchar, problem_no integer, sheet varchar, "row" integer,
    "column" varchar, code varchar, message_vi varchar, message_en varchar);
"""

MODEL_COLUMNS = [
    "submission_id", "line_no", "source_sheet", "source_row", "stt", "model_name", "field_code",
    "field_raw", "model_kind", "model_kind_raw", "registered_on", "recognition_level", "households",
    "funds_million_vnd", "labour_days", "land_m2", "note",
]
TOTAL_COLUMNS = [
    "submission_id", "source_row", "field_code", "field_raw", "models_total", "models_new",
    "models_replicated", "funds_million_vnd",
]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def known_hashes(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[str]]:
    loaded = {r[0] for r in con.execute("select submission_id from raw.submissions").fetchall()}
    quarantined = {r[0] for r in con.execute("select distinct sha256 from raw.quarantine").fetchall()}
    return loaded, quarantined


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    con.register("_dvk_rows", frame)
    try:
        con.execute(f"insert into {table} by name select * from _dvk_rows")
    finally:
        con.unregister("_dvk_rows")


def insert_submission(con: duckdb.DuckDBPyConnection, sub: ParsedSubmission, *, submission_id: str,
                      file_name: str, size: int, received_at: dt.datetime, loaded_at: dt.datetime,
                      load_id: str) -> None:
    """Insert one submission whole: the caller wraps this in a transaction."""
    con.execute(
        "insert into raw.submissions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [submission_id, file_name, sub.file_format, size, received_at, loaded_at, load_id, sub.unit_code,
         sub.unit_code_raw, sub.unit_name_raw, sub.period.id, sub.period.kind, sub.period.year,
         sub.period_raw, sub.report_date, sub.preparer_name, sub.preparer_phone, sub.has_declared_totals],
    )
    models = pd.DataFrame(
        [{"submission_id": submission_id, "line_no": i, **asdict(m)} for i, m in enumerate(sub.models, start=1)],
        columns=MODEL_COLUMNS,
    )
    _insert_frame(con, "raw.submission_models", models.astype(object).where(models.notna(), None))
    totals = pd.DataFrame([{"submission_id": submission_id, **asdict(t)} for t in sub.totals], columns=TOTAL_COLUMNS)
    _insert_frame(con, "raw.submission_declared_totals", totals.astype(object).where(totals.notna(), None))


def insert_quarantine(con: duckdb.DuckDBPyConnection, *, sha256: str, file_name: str, received_at: dt.datetime,
                      quarantined_at: dt.datetime, load_id: str, quarantine_path: str, report_path: str,
                      problems: list[Problem]) -> None:
    con.execute("insert into raw.quarantine values (?, ?, ?, ?, ?, ?, ?)",
                [sha256, file_name, received_at, quarantined_at, load_id, quarantine_path, report_path])
    con.executemany(
        "insert into raw.quarantine_problems values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[sha256, file_name, i, p.sheet, p.row, p.column, p.code, p.message_vi, p.message_en]
         for i, p in enumerate(problems, start=1)],
    )
