"""The ingest's writes on PostgreSQL (issue 14): the raw tables' catalog, and rows by COPY.

:mod:`dvk.ingest.warehouse` calls these when its connection is a PostgreSQL one
(``dvk.warehouse.engine_of(con) == "postgres"``); everything else (the transactions, one per
group of whole files with the fallback of one file per transaction, the loads' rows) is shared
with DuckDB. The tables are created from :mod:`dvk.contract` with PostgreSQL's types
(``contract.ddl(engine="postgres")``); an existing table must have the contract's columns, in
order, with the matching types. Rows are sent with ``COPY raw.<table> (...) FROM STDIN`` (CSV,
built in memory: NULL is an empty unquoted field, every text quoted, so an empty text stays
empty), inside the caller's transaction: a failed COPY rolls back with the rest of the group.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterable

from dvk.contract import RAW_TABLES
from dvk.warehouse import quote_ident
from dvk.warehouse_pg import CONTRACT_TYPES


def existing_columns(con) -> dict[str, list[tuple[str, str]]]:
    """``raw``'s tables → [(column, contract type)], as PostgreSQL reports them."""
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_catalog = current_database() order by table_name, ordinal_position"
    ).fetchall():
        found.setdefault(table, []).append((column, CONTRACT_TYPES.get(dtype, dtype.upper())))
    return found


def _csv_field(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # a NumPy scalar
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return '"' + text.replace('"', '""') + '"'


def copy_rows(con, table: str, rows: Iterable[Iterable[object]]) -> int:
    """COPY ``rows`` (values in the contract's column order) into ``raw.<table>``; the row count."""
    buffer = io.StringIO()
    n = 0
    for row in rows:
        buffer.write(",".join(_csv_field(v) for v in row))
        buffer.write("\n")
        n += 1
    if not n:
        return 0
    buffer.seek(0)
    columns = ", ".join(quote_ident(c) for c, _ in RAW_TABLES[table])
    con.copy_expert(f"copy raw.{quote_ident(table)} ({columns}) from stdin with (format csv)", buffer)
    return n


def insert_frame(con, table: str, frame: dict) -> None:
    """Rows given as columns (``dvk.ingest.warehouse.Columns``) into ``raw.<table>`` by COPY."""
    columns = [frame[c] for c, _ in RAW_TABLES[table]]
    copy_rows(con, table, zip(*columns))
