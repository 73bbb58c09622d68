"""For analysts: open the published copy as it is *now* (DuckDB; on PostgreSQL the ``analytics`` schema).

    from dvk.analyst import connect
    con = connect()                                  # settings.published_warehouse
    con.sql("select * from marts.fct_annual_unit_status where year = 2021").df()
    con.close()

Why not ``duckdb.connect(path, read_only=True)``: DuckDB keeps one database instance per file in
a process and hands it back to every later ``duckdb.connect`` of the same path while any
connection to it is still open. A publication replaces the file (an atomic rename), so a notebook
that still holds one connection gets the *old* copy again on "reconnect", without a word. This
helper opens a fresh in-memory session and attaches the file read-only (``ATTACH ... (READ_ONLY)``,
then ``USE``): every call reads the file that is published at that moment, and unqualified names
(``marts.fct_model``, ``meta.publication``) work as with a plain connection. Writes are refused.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from dvk import warehouse

#: The name the published database is attached under (``select * from dvk.marts.fct_model`` works too).
ALIAS = "dvk"


def connect(path: Path | str | None = None):
    """A read-only connection to the current published copy (default ``settings.published_warehouse``).

    On PostgreSQL (``DVK_WAREHOUSE_URL``, or ``path`` a ``postgresql://`` URL, e.g. an analyst's own
    login) the publication is the schema ``analytics`` of the warehouse's database: a read-only
    session (:class:`dvk.warehouse_pg.PgConnection`, the same ``execute(...).fetchall()/.df()``)
    in the role ``dvk_analyst`` when the login may take it, with ``search_path = analytics,
    analytics_meta`` (``select * from fct_model``, ``analytics.fct_model``); every statement reads
    the publication committed at that moment (no file to reopen).

    Raises :class:`dvk.warehouse.WarehouseNotFound` when nothing is published there yet."""
    from dvk.settings import get_settings

    if isinstance(path, str) and "://" in path:
        return _connect_postgres(path)
    if path is None:
        settings = get_settings()
        if settings.postgres is not None:
            return _connect_postgres(settings.warehouse_url)
        path = settings.published_warehouse
    path = Path(path)
    if not path.is_file():
        raise warehouse.WarehouseNotFound(
            f"Chưa có bản phát hành {path}: hãy chạy ./scripts/dvk publish "
            f"/ nothing published at {path} yet: run ./scripts/dvk publish"
        )
    con = duckdb.connect(":memory:")
    try:
        warehouse.attach(con, path, ALIAS, read_only=True, wait=0)
        con.execute(f"use {warehouse.quote_ident(ALIAS)}")
    except BaseException:
        con.close()
        raise
    return con


def _connect_postgres(url: str):
    from dvk.publish_pg import ANALYST_ROLE, ANALYTICS_SCHEMA, META_SCHEMA

    con = warehouse.connect(url, read_only=True)
    try:
        if not con.execute("select 1 from information_schema.tables where table_schema = ? "
                           "and table_name = 'publication'", [META_SCHEMA]).fetchone():
            raise warehouse.WarehouseNotFound(
                f"Chưa có bản phát hành trong {ANALYTICS_SCHEMA} của {con.target.dbname}: hãy chạy ./scripts/dvk publish "
                f"/ nothing published in schema {ANALYTICS_SCHEMA} of {con.target.dbname} yet: run ./scripts/dvk publish")
        # as an analyst sees it (a member of the role, or an administrator); a login that may not
        # take the role keeps its own rights (read-only either way)
        if con.execute("select pg_has_role(current_user, ?, 'MEMBER')", [ANALYST_ROLE]).fetchone()[0]:
            con.execute(f"set role {warehouse.quote_ident(ANALYST_ROLE)}")
        con.execute(f"set search_path = {ANALYTICS_SCHEMA}, {META_SCHEMA}")
    except BaseException:
        con.close()
        raise
    return con


def parquet_folder(published_dir: Path | str | None = None) -> Path:
    """The current publication's Parquet folder, by its own name (``<published>/parquet-<stamp>/``),
    not the ``parquet`` link (default ``settings.published_dir``).

    Read the files of this folder, not ``<published>/parquet/<table>.parquet``, in a script that
    may run while a publication is made: DuckDB opens a Parquet file more than once in one query
    (to bind, then to scan), and a publication moves the ``parquet`` link to a new folder in one
    step, so a query that reads through the link at that moment can get the old file's footer and
    the new file's bytes ("TProtocolException: Invalid data"). A version folder is never changed
    and the last two are kept: resolve it once per job, and read every table of the job from it
    (the tables of one publication, even if another is made meanwhile).

    Raises :class:`dvk.warehouse.WarehouseNotFound` when nothing is published there."""
    from dvk.publish import PARQUET_LINK
    from dvk.settings import get_settings

    folder = Path(published_dir) if published_dir is not None else get_settings().published_dir
    link = folder / PARQUET_LINK
    if not link.is_dir():
        raise warehouse.WarehouseNotFound(
            f"Chưa có tệp Parquet trong {folder} (bản phát hành trên PostgreSQL không có Parquet): "
            f"hãy chạy ./scripts/dvk publish / no Parquet files in {folder} (a publication on "
            f"PostgreSQL has none): run ./scripts/dvk publish"
        )
    return link.resolve()


def parquet_file(table: str, published_dir: Path | str | None = None) -> Path:
    """The Parquet file of ``table`` (``fct_model``; another schema's ``meta.publication``) in the
    current publication's folder (:func:`parquet_folder`, whose reasons apply). For several tables
    of one publication, take :func:`parquet_folder` once and the files in it.

    Raises :class:`dvk.warehouse.WarehouseNotFound` when the publication has no such file."""
    folder = parquet_folder(published_dir)
    path = folder / f"{table}.parquet"
    if not path.is_file():
        raise warehouse.WarehouseNotFound(
            f"Không có tệp Parquet {table}.parquet trong {folder} / no Parquet file {table}.parquet in {folder}"
        )
    return path
