"""The raw layer of the warehouse (``dvk.contract``, docs/architecture.md "Raw tables"): the writes.

Only ``dvk.ingest`` writes ``raw.*``. Missing tables are created; an existing table must have
exactly the contract's columns, in order, with their types: a warehouse built by another version of
the code is refused with a clear message (and left as it was) instead of being half-written.

Rows are inserted in bulk: the rows of a table, as columns of Python values (NumPy object arrays),
are copied with one ``insert ... select`` per table, with explicit casts to the contract's types
(None is NULL, never NaN). The caller wraps the writes in one transaction (:func:`transaction`);
the ingest commits several whole files together (group commit, see :mod:`dvk.ingest.inbox`),
never part of a file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import duckdb
import numpy as np

from dvk.contract import ADDED_COLUMNS, RAW_TABLES, column_type, ddl
from dvk.ingest.form import DECLARED_TOTAL_VALUES, MODEL_LINE_VALUES, ParsedSubmission
from dvk.ingest.problems import Problem
from dvk.warehouse import engine_of, quote_ident

#: raw.loads.status: a run in progress (or killed: see :func:`close_interrupted_loads`), done,
#: done with files the warehouse refused, or found unfinished by a later run.
LOAD_STATUSES = ("running", "finished", "failed", "interrupted")

DDL = ddl()


class SchemaMismatch(RuntimeError):
    """An existing raw table that is not the one docs/architecture.md describes."""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``raw`` and its missing tables; refuse existing tables that differ from the contract.

    One catalog query (``duckdb_columns()``, which ``information_schema.columns`` is a view of)
    finds the existing tables and views of ``raw``; only those are checked: a table this call
    creates comes from the contract itself (``tests/test_ingest_inbox.py`` checks that DuckDB
    reports it as the contract says). A warehouse that is refused is left as it was. Run it in a
    transaction (:func:`transaction`) to create the tables with one commit.

    On PostgreSQL the same rules, with its catalog (:func:`dvk.ingest.pg_write.existing_columns`) and types.
    """
    engine = engine_of(con)
    if engine == "postgres":
        from dvk.ingest import pg_write

        con.execute("create schema if not exists raw")
        found = {t: cols for t, cols in pg_write.existing_columns(con).items() if t in RAW_TABLES}
    else:
        found = {}
        for table, column, dtype in con.execute(
            "select table_name, column_name, data_type from duckdb_columns() "
            "where schema_name = 'raw' and database_name = current_database() order by table_name, column_index"
        ).fetchall():
            found.setdefault(table, []).append((column, dtype.upper()))
    for table, added in ADDED_COLUMNS.items():
        cols, have = RAW_TABLES[table], found.get(table)
        if have is not None and have != cols and len(have) < len(cols) and cols[:len(have)] == have and all(
                c in added for c, _ in cols[len(have):]):
            for column, dtype in cols[len(have):]:
                con.execute(f"alter table raw.{table} add column {quote_ident(column)} {column_type(dtype, engine)}")
            found[table] = list(cols)
    wrong = [t for t, cols in RAW_TABLES.items() if t in found and found[t] != cols]
    if wrong:
        detail = "; ".join(f"raw.{t}: expected {RAW_TABLES[t]}, found {found.get(t)}" for t in wrong)
        raise SchemaMismatch(f"the warehouse's raw tables differ from docs/architecture.md: {detail}")
    missing = [t for t in RAW_TABLES if t not in found]
    if missing:
        con.execute(ddl(missing, if_not_exists=False, engine=engine))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK on any error (which is re-raised)."""
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def known_hashes(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[str]]:
    """The sha256 of every file already loaded, and of every file already quarantined."""
    loaded = {r[0] for r in con.execute("select submission_id from raw.submissions").fetchall()}
    quarantined = {r[0] for r in con.execute("select distinct sha256 from raw.quarantine").fetchall()}
    return loaded, quarantined


#: A batch of rows as columns: column name → a 1-D object array of Python values (None is NULL).
Columns = dict[str, np.ndarray]


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: Columns) -> None:
    """Append rows, given as columns, to ``raw.<table>`` in one statement, cast to the contract's types.

    DuckDB reads a dict of NumPy object arrays as it reads an object-dtype pandas frame (the same
    type detection; None and NaN are NULL), without a DataFrame being built. The statement names a
    local variable, found by DuckDB's replacement scan, rather than a view made with ``register``:
    a registered view detects the column types once more when it is created, which cost as much
    again as the insert of a small batch.
    """
    columns = RAW_TABLES[table]
    if not len(frame[columns[0][0]]):
        return
    if engine_of(con) == "postgres":  # COPY from an in-memory buffer (dvk.ingest.pg_write)
        from dvk.ingest import pg_write

        pg_write.insert_frame(con, table, frame)
        return
    # Read by the statement below, by its name (DuckDB's replacement scan: no table of the warehouse
    # has this name, and the connection keeps the default python_enable_replacements).
    _dvk_ingest_rows = frame  # noqa: F841
    select = ", ".join(f"cast({quote_ident(c)} as {t}) as {quote_ident(c)}" for c, t in columns)
    con.execute(f"insert into raw.{table} ({', '.join(quote_ident(c) for c, _ in columns)}) "
                f"select {select} from _dvk_ingest_rows")


def _column(values: Sequence[object]) -> np.ndarray:
    """Python values as a 1-D object array (``fromiter``: never read as nested sequences, and fast)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _frame(table: str, records: Sequence[dict]) -> Columns:
    """Records (dicts by column name; a missing key is NULL) as columns."""
    return {c: _column([r.get(c) for r in records]) for c, _ in RAW_TABLES[table]}


def start_load(con: duckdb.DuckDBPyConnection, load_id: str, started_at: dt.datetime, inbox_dir: str) -> None:
    con.execute("insert into raw.loads (load_id, started_at, inbox_dir, status) values (?, ?, ?, 'running')",
                [load_id, started_at, inbox_dir])


def close_interrupted_loads(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> list[str]:
    """Mark the runs that never finished (killed: the warehouse allows one writer, so none of them
    is still running) ``interrupted``, closed at ``now`` (when this run found them); their ids.

    Their committed files stay (each whole); the files of their last, uncommitted group are loaded
    by this run, their sha256 being unknown."""
    rows = con.execute("select load_id from raw.loads where finished_at is null order by started_at").fetchall()
    if rows:
        con.execute("update raw.loads set finished_at = ?, status = 'interrupted' where finished_at is null", [now])
    return [r[0] for r in rows]


def finish_load(con: duckdb.DuckDBPyConnection, load_id: str, finished_at: dt.datetime, *, seen: int,
                loaded: int, skipped: int, quarantined: int, status: str = "finished") -> None:
    con.execute(
        "update raw.loads set finished_at = ?, files_seen = ?, files_loaded = ?, files_skipped = ?, "
        "files_quarantined = ?, status = ? where load_id = ?",
        [finished_at, seen, loaded, skipped, quarantined, status, load_id],
    )


def submission_record(sub: ParsedSubmission, *, submission_id: str, file_name: str, size: int,
                      received_at: dt.datetime, loaded_at: dt.datetime, load_id: str) -> dict:
    """The ``raw.submissions`` row of a parsed submission."""
    return {
        "submission_id": submission_id, "file_name": file_name, "file_format": sub.file_format,
        "file_size_bytes": size, "received_at": received_at, "loaded_at": loaded_at, "load_id": load_id,
        "unit_code": sub.unit_code, "unit_code_raw": sub.unit_code_raw, "unit_name_raw": sub.unit_name_raw,
        "period_id": sub.period.id, "period_kind": sub.period.kind, "period_year": sub.period.year,
        "period_raw": sub.period_raw, "report_date": sub.report_date, "preparer_name": sub.preparer_name,
        "preparer_phone": sub.preparer_phone, "has_declared_totals": sub.has_declared_totals,
    }


def insert_submissions(con: duckdb.DuckDBPyConnection, items: Sequence[tuple[ParsedSubmission, dict]]) -> None:
    """Insert several submissions, each whole, with one statement per table.

    ``items``: (parsed submission, its :func:`submission_record`). The caller wraps this in
    :func:`transaction`: the rows of a file are never split across transactions, so a file is in
    the warehouse whole or not at all, however many files share the transaction.
    """
    submissions: list[dict] = []
    models: list[tuple] = []
    totals: list[tuple] = []
    warnings: list[tuple] = []
    for sub, record in items:
        sid = record["submission_id"]
        submissions.append(record)
        warnings.extend((sid, record["file_name"], i, w.sheet, w.row, w.column, w.code, w.message_vi, w.message_en)
                        for i, w in enumerate(sub.warnings, start=1))
        models.extend((sid, i, *line) for i, line in enumerate(map(MODEL_LINE_VALUES, sub.models), start=1))
        totals.extend((sid, *line) for line in map(DECLARED_TOTAL_VALUES, sub.totals))
    _insert_frame(con, "submissions", _frame("submissions", submissions))
    _insert_frame(con, "submission_models", _rows_frame("submission_models", models))
    _insert_frame(con, "submission_declared_totals", _rows_frame("submission_declared_totals", totals))
    if warnings:
        _insert_frame(con, "submission_warnings", _rows_frame("submission_warnings", warnings))


def _rows_frame(table: str, rows: Sequence[tuple]) -> Columns:
    """Row tuples (in the contract's column order) as columns."""
    columns = [c for c, _ in RAW_TABLES[table]]
    if not rows:
        return {c: _column(()) for c in columns}
    return {c: _column(v) for c, v in zip(columns, zip(*rows))}


def insert_submission(con: duckdb.DuckDBPyConnection, sub: ParsedSubmission, *, submission_id: str,
                      file_name: str, size: int, received_at: dt.datetime, loaded_at: dt.datetime,
                      load_id: str) -> None:
    """Insert one submission whole (its row, its model lines, its declared totals).

    The caller wraps this in :func:`transaction`, so that a failure leaves nothing of the file.
    """
    insert_submissions(con, [(sub, submission_record(
        sub, submission_id=submission_id, file_name=file_name, size=size, received_at=received_at,
        loaded_at=loaded_at, load_id=load_id))])


def quarantined_copies(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """(sha256, file name) → where each quarantined copy was recorded (to finish an interrupted move)."""
    out: dict[tuple[str, str], list[str]] = {}
    for sha, name, path in con.execute("select sha256, file_name, quarantine_path from raw.quarantine").fetchall():
        out.setdefault((sha, name), []).append(path)
    return out


def insert_quarantine(con: duckdb.DuckDBPyConnection, *, sha256: str, file_name: str, received_at: dt.datetime,
                      quarantined_at: dt.datetime, load_id: str, quarantine_path: str, report_path: str,
                      problems: Sequence[Problem]) -> None:
    """One ``raw.quarantine`` row and one ``raw.quarantine_problems`` row per problem."""
    _insert_frame(con, "quarantine", _frame("quarantine", [{
        "sha256": sha256, "file_name": file_name, "received_at": received_at, "quarantined_at": quarantined_at,
        "load_id": load_id, "quarantine_path": quarantine_path, "report_path": report_path,
    }]))
    _insert_frame(con, "quarantine_problems", _frame("quarantine_problems", [
        {"sha256": sha256, "file_name": file_name, "problem_no": i, "sheet": p.sheet, "row": p.row,
         "column": p.column, "code": p.code, "message_vi": p.message_vi, "message_en": p.message_en}
        for i, p in enumerate(problems, start=1)
    ]))
