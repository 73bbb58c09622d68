"""For analysts: open the published copy as it is *now*.

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


def connect(path: Path | str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current published copy (default ``settings.published_warehouse``).

    Raises :class:`dvk.warehouse.WarehouseNotFound` when nothing is published there yet."""
    if path is None:
        from dvk.settings import get_settings

        path = get_settings().published_warehouse
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
