"""The warehouse access layer: every module that opens the warehouse (or the published copy) goes
through here, and so do quoting, rows as dicts / DataFrames, JSON-safe values and file hashing.

    from dvk import warehouse

    with warehouse.read_only() as con:            # settings.warehouse, waits for a writer
        rows = warehouse.query_rows(con, "select * from raw.loads where status = $s", {"s": "failed"})
    with warehouse.read_write() as con:           # the ingest (the only writer of raw.*)
        ...
    con = warehouse.connect(path, read_only=True, wait=0)   # try once, no wait

**One lock-wait policy.** DuckDB's file lock is exclusive: while one process writes the warehouse,
a read-only open from another process fails with ``IOException: Could not set lock``, and while a
reader holds it a writer cannot open it. Under Airflow the ``dvk_warehouse`` pool (``dvk.pools``)
keeps the DAGs' own tasks apart; everything else (the gate and report outside Airflow, publishing,
the operators' ``status`` and ``sql`` commands, the quarantine list, an ingest started by hand)
waits here: retry with growing pauses (0.5 s, doubling, at most 5 s) until the lock is free or the
wait is over (default ``DVK_LOCK_WAIT_SECONDS``; 0 tries once), then :class:`WarehouseBusy` with a
message in Vietnamese and English that says what held it up. A caller may wait less (the command
line waits at most 20 s for someone at the terminal), never differently.

**Engines.** DuckDB is the default. With ``DVK_WAREHOUSE_URL=postgresql://…`` (issue 14) the
warehouse of the settings is a PostgreSQL database: :func:`connect` (and :func:`read_only`,
:func:`read_write`) called with no path, or with ``settings.warehouse``, or with a
``postgresql://`` URL, returns a :class:`dvk.warehouse_pg.PgConnection`, which speaks the same
``execute(sql, params)`` / ``fetchall`` / ``df`` API (``?`` and ``$name`` parameters rewritten for
psycopg2). There is no lock to wait for on PostgreSQL (MVCC: readers never block the writer); a
read-only connection is a session whose transactions are all read-only. The public functions
(``connect``, ``read_only``, ``read_write``, ``attach``, ``query_rows``, ``query_df``,
``query_value``, ``table_names``, ``quote_ident``, ``quote_string``) work on both engines
(``attach`` is DuckDB's only); :func:`engine_of` says which one a connection is. Engine-specific
SQL stays in dbt or in the module that needs it (``dvk.ingest.pg_write``, ``dvk.publish_pg``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import duckdb

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 5.0

Params = Sequence[Any] | Mapping[str, Any] | None


class WarehouseBusy(RuntimeError):
    """The warehouse stayed locked by another process for longer than the wait allowed."""


class WarehouseNotFound(FileNotFoundError):
    """The database file does not exist (the pipeline has not been run yet)."""


# --------------------------------------------------------------------------------------------
# opening, with one lock-wait policy


def is_lock_error(exc: BaseException) -> bool:
    """True for DuckDB's "Could not set lock on file" (another process holds the file)."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def wait_for_lock(
    open_: Callable[[], T],
    *,
    what: str,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``open_()`` until it does not fail on DuckDB's file lock; return what it returns.

    ``timeout``: seconds to keep trying (default: the ``DVK_LOCK_WAIT_SECONDS`` setting; 0 tries
    once). Any error other than the lock is raised at once. After the wait, raises
    :class:`WarehouseBusy` (chained to DuckDB's error).
    """
    if timeout is None:
        from dvk.settings import get_settings

        timeout = get_settings().lock_wait_seconds
    deadline = clock() + max(0.0, timeout)
    delay = FIRST_DELAY_SECONDS
    attempts = 0
    while True:
        attempts += 1
        try:
            return open_()
        except duckdb.Error as exc:
            if not is_lock_error(exc):
                raise
            now = clock()
            if now >= deadline:
                raise WarehouseBusy(
                    f"{what} vẫn bị một tiến trình khác khoá sau {timeout:.0f} giây ({attempts} lần thử) "
                    f"/ {what} stayed locked by another process for {timeout:.0f} s ({attempts} attempts): {exc}"
                ) from exc
            pause = min(delay, max(0.0, deadline - now))
            log.info("%s is locked by another process; retrying in %.1f s", what, pause)
            sleep(pause)
            delay = min(delay * 2, MAX_DELAY_SECONDS)


def _default_path() -> Path:
    from dvk.settings import get_settings

    return Path(get_settings().warehouse)


def _label(path: Path) -> str:
    return f"kho dữ liệu / the warehouse {path}"


def postgres_target(path: Path | str | None = None):
    """The PostgreSQL warehouse that ``path`` names, or None for a DuckDB file.

    A ``postgresql://`` URL is parsed; no path, or the path of ``settings.warehouse``, is the
    settings' warehouse: PostgreSQL when ``DVK_WAREHOUSE_URL`` is set, else DuckDB. Any other path
    is a DuckDB file (the published copy, a test's own file)."""
    from dvk.settings import get_settings, parse_warehouse_url

    if isinstance(path, str) and "://" in path:
        return parse_warehouse_url(path)
    settings = get_settings()
    if settings.postgres is None:
        return None
    if path is None or Path(path).resolve() == Path(settings.warehouse).resolve():
        return settings.postgres
    return None


def target(settings=None) -> Path | str:
    """What to pass to :func:`connect` for the warehouse of ``settings`` (default: the current
    settings): its ``postgresql://`` URL on PostgreSQL, else the DuckDB file. Callers holding a
    :class:`~dvk.settings.Settings` use ``read_only(warehouse.target(settings))``."""
    if settings is None:
        from dvk.settings import get_settings

        settings = get_settings()
    return settings.warehouse_url if settings.postgres is not None else Path(settings.warehouse)


def describe(settings=None) -> str:
    """The warehouse of ``settings`` as people and gate results name it: the DuckDB file's path, or
    ``postgresql://user@host:port/dbname`` (never the password)."""
    if settings is None:
        from dvk.settings import get_settings

        settings = get_settings()
    pg = settings.postgres
    if pg is None:
        return str(settings.warehouse)
    return f"postgresql://{pg.user}@{pg.host}:{pg.port}/{pg.dbname}"


def exists(settings=None) -> bool:
    """Whether the warehouse of ``settings`` is there to be read: the DuckDB file exists, or (on
    PostgreSQL, a server that is always there) its schema ``raw`` does."""
    where = target(settings)
    if isinstance(where, Path):
        return where.is_file()
    with read_only(where) as con:
        return bool(query_value(con, "select count(*) from information_schema.schemata where schema_name = 'raw'"))


def engine_of(con: Any) -> str:
    """``postgres`` or ``duckdb``: the engine of a connection :func:`connect` returned."""
    return getattr(con, "engine", "duckdb")


def connect(path: Path | str | None = None, *, read_only: bool = True,
            wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file ``path`` (default: ``settings.warehouse``).

    ``read_only=True``: the file must exist (:class:`WarehouseNotFound`); ``False``: it is created
    (with its folder) when missing. Waits while another process holds the file, up to ``wait``
    seconds (default ``DVK_LOCK_WAIT_SECONDS``; 0 tries once), then :class:`WarehouseBusy`.

    DuckDB refuses a read-only connection to a file that the same process holds open read-write
    (waiting would not help there): whatever ran dbt in this process must release dbt-duckdb's
    database first (``dvk.transform.release_dbt_duckdb``; ``dvk.pipeline.transform`` does).
    """
    pg = postgres_target(path)
    if pg is not None:
        from dvk import warehouse_pg

        return warehouse_pg.connect(pg, read_only=read_only, wait=wait)
    path = Path(path) if path is not None else _default_path()
    if read_only and not path.is_file():
        raise WarehouseNotFound(
            f"Không tìm thấy cơ sở dữ liệu {path} / database file {path} does not exist "
            "(run the ingest and the transform first)"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return wait_for_lock(lambda: duckdb.connect(str(path), read_only=read_only), what=_label(path), timeout=wait)


@contextmanager
def read_only(path: Path | str | None = None, *, wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection (see :func:`connect`), closed on exit."""
    con = connect(path, read_only=True, wait=wait)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def read_write(path: Path | str | None = None, *, wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection (see :func:`connect`), closed on exit. Only the ingest writes
    ``raw.*``; dbt writes the rest through its own adapter."""
    con = connect(path, read_only=False, wait=wait)
    try:
        yield con
    finally:
        con.close()


def attach(con: duckdb.DuckDBPyConnection, path: Path | str, alias: str, *, read_only: bool = True,
           wait: float | None = None, storage_version: str | None = None) -> None:
    """``ATTACH path AS alias`` on ``con``, waiting like :func:`connect` while another process
    holds the file. ``storage_version`` (e.g. ``'v1.2.0'``): the storage format a new file is
    written in (what older DuckDB versions can read)."""
    options = []
    if read_only:
        options.append("read_only")
    if storage_version:
        options.append(f"storage_version {quote_string(storage_version)}")
    sql = f"attach {quote_string(str(path))} as {quote_ident(alias)}"
    if options:
        sql += f" ({', '.join(options)})"
    wait_for_lock(lambda: con.execute(sql), what=_label(Path(path)), timeout=wait)


def table_names(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    """The tables (and views) of ``schema`` in the connection's current database (both engines)."""
    return {r[0] for r in con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_catalog = current_database()", [schema]).fetchall()}


# --------------------------------------------------------------------------------------------
# quoting


def quote_ident(name: str) -> str:
    """A SQL identifier, double-quoted (``"row"``, ``"a""b"``)."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_string(value: str) -> str:
    """A SQL string literal (``'it''s'``); prefer parameters wherever the statement takes them."""
    return "'" + str(value).replace("'", "''") + "'"


def comment_on(con: Any, target: str, comment: str | None, columns: Iterable[tuple[str, str | None]]) -> None:
    """``comment on table`` / ``comment on column`` for the table ``target`` (already quoted) and
    its ``(column, comment)`` pairs (empty comments skipped): the same statements on both engines."""
    if comment:
        con.execute(f"comment on table {target} is {quote_string(comment)}")
    for column, column_comment in columns:
        if column_comment:
            con.execute(f"comment on column {target}.{quote_ident(column)} is {quote_string(column_comment)}")


# --------------------------------------------------------------------------------------------
# results


#: Result column types whose values may be a float NaN, as ``str(type_code)``: DuckDB's type
#: names, psycopg2's type codes (float4, float8).
_FLOAT_TYPES = frozenset({"DOUBLE", "FLOAT", "REAL", "700", "701"})


def query_rows(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None, *,
               nan_as_null: bool = False) -> list[dict[str, Any]]:
    """Run ``sql`` (``?`` or named ``$parameters``) and return its rows as dicts, column → value.
    ``nan_as_null``: a float NaN becomes None (looked for in the float columns only: a national
    report reads 150,000 model rows this way)."""
    cur = con.execute(sql, params or [])
    description = cur.description or []
    names = [d[0] for d in description]
    rows = [dict(zip(names, row)) for row in cur.fetchall()]
    if nan_as_null:
        for name in (d[0] for d in description if str(d[1]) in _FLOAT_TYPES):
            for row in rows:
                value = row[name]
                if value != value:
                    row[name] = None
    return rows


def query_value(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


def query_df(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None):
    """Run ``sql`` and return a pandas DataFrame."""
    return con.execute(sql, params or []).df()


def records(df) -> list[dict[str, Any]]:
    """A DataFrame's rows as dicts of plain Python values (:func:`plain_value`)."""
    return [{k: plain_value(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


# --------------------------------------------------------------------------------------------
# values


def plain_value(value: Any) -> Any:
    """A plain Python value from what DuckDB, pandas, NumPy or Great Expectations hand back:
    NumPy scalars become Python ones, NaN / NaT / ``pd.NA`` become None, a pandas Timestamp a
    ``datetime``; everything else is returned as it is."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (str, int, bool, Decimal)):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp (or NaT)
        import pandas as pd

        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, (list, tuple, set, dict)):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError, ImportError):
        pass
    return value


def json_value(value: Any) -> Any:
    """A value ``json.dumps`` writes: :func:`plain_value`, dates and times in ISO 8601, lists and
    dicts converted item by item, anything else (Decimal, Path, …) as its text."""
    value = plain_value(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_value(v) for v in value]
    return str(value)


# --------------------------------------------------------------------------------------------
# files


def sha256_file(source: Path | str | BinaryIO) -> str:
    """The SHA-256 (hex) of a file's bytes, read in 1 MiB blocks: a path, or a binary file
    object read from where it stands to its end (and left open)."""
    digest = hashlib.sha256()
    with contextlib.nullcontext(source) if hasattr(source, "read") else open(source, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
