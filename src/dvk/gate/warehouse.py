"""Read-only access to the warehouse for the gate and the report.

The gate and the report never write into the warehouse: every connection is opened with
``read_only=True``, only ``select`` / ``with`` queries go through it, and it is closed as soon as
the DataFrames are built.

Another process that writes the warehouse (an ingest, a dbt build) is waited for, with backoff, up
to ``DVK_LOCK_WAIT_SECONDS``. DuckDB refuses a read-only connection to a file that the same process
holds open read-write (waiting would not help there), so
whatever ran dbt in this process must release dbt-duckdb's database first
(``dvk.pipeline.transform`` does).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

log = logging.getLogger(__name__)


class WarehouseNotFound(FileNotFoundError):
    """The warehouse file does not exist (the pipeline has not been run yet)."""


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Read-only, waiting with backoff while another process holds the file (``dvk.warehouse_lock``)."""
    from dvk.warehouse_lock import wait_for_lock

    return wait_for_lock(
        lambda: duckdb.connect(str(path), read_only=True), what=f"kho dữ liệu / the warehouse {path}"
    )


@contextmanager
def read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only DuckDB connection to the warehouse file, closed on exit."""
    path = Path(path)
    if not path.is_file():
        raise WarehouseNotFound(
            f"Không tìm thấy kho dữ liệu {path} / warehouse file {path} does not exist "
            "(run the ingest and the transform first)"
        )
    con = _connect(path)
    try:
        yield con
    finally:
        con.close()


def _check_select(sql: str) -> None:
    head = sql.lstrip().split(None, 1)[0].lower() if sql.strip() else ""
    if head not in {"select", "with"}:
        raise ValueError("the gate and the report only read the warehouse (select / with queries)")


def query_df(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    """Run a ``select`` (named ``$parameters``) and return a DataFrame."""
    _check_select(sql)
    return con.execute(sql, params or {}).df()


def query_rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[tuple]:
    """Run a ``select`` (named ``$parameters``) and return its rows."""
    _check_select(sql)
    return con.execute(sql, params or {}).fetchall()
