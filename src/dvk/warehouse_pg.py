"""The PostgreSQL engine behind :mod:`dvk.warehouse` (issue 14; ``DVK_WAREHOUSE_URL=postgresql://…``).

:func:`connect` returns a :class:`PgConnection`, a thin wrapper around a psycopg2 connection that
speaks the part of DuckDB's connection API the package uses, so the callers of ``dvk.warehouse``
do not change:

- ``con.execute(sql, params)`` returns a cursor with ``fetchall()``, ``fetchone()``,
  ``description`` and ``df()`` (a pandas DataFrame);
- parameters are written DuckDB's way, ``?`` (a sequence) or ``$name`` (a mapping), and rewritten
  here to psycopg2's ``%s`` / ``%(name)s`` (outside string literals, quoted identifiers and
  comments; a literal ``%`` is doubled);
- the connection is in autocommit mode, so the explicit ``begin transaction`` / ``commit`` /
  ``rollback`` of the ingest (``dvk.ingest.warehouse.transaction``) work as on DuckDB, and a
  statement outside them commits on its own.

``read_only=True`` opens the session with ``default_transaction_read_only=on``: every transaction
of it is read-only (PostgreSQL refuses ``insert``, ``create``, …). There is no file lock to wait
for: PostgreSQL's MVCC lets readers and the writer run side by side, each reader seeing committed
data only; ``wait`` is accepted and only bounds the connection attempt (``connect_timeout``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dvk.settings import PostgresConnection

#: information_schema.columns.data_type → the contract's DuckDB type (to check an existing table).
CONTRACT_TYPES = {
    "text": "VARCHAR",
    "timestamp without time zone": "TIMESTAMP",
    "date": "DATE",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double precision": "DOUBLE",
    "boolean": "BOOLEAN",
}

_TOKEN = re.compile(r"""('(?:[^']|'')*'|--[^\n]*|/\*.*?\*/)|("(?:[^"]|"")*")|(\?)|\$([A-Za-z_][A-Za-z0-9_]*)|(%)""",
                    re.S)


def translate(sql: str, params: Any) -> tuple[str, Any]:
    """DuckDB's parameter style (``?``, ``$name``) → psycopg2's (``%s``, ``%(name)s``)."""
    if not params:
        return sql, None

    def repl(m: re.Match) -> str:
        if m.group(1) or m.group(2):  # psycopg2 reads every % of the statement, even in a literal
            return m.group(0).replace("%", "%%")
        if m.group(3):
            return "%s"
        if m.group(4):
            return f"%({m.group(4)})s"
        return "%%"

    out = _TOKEN.sub(repl, sql)
    if isinstance(params, Mapping):
        return out, dict(params)
    return out, list(params)


class PgCursor:
    """The result of :meth:`PgConnection.execute` (DuckDB's relation-like cursor API)."""

    def __init__(self, cur):
        self._cur = cur

    @property
    def description(self):
        return self._cur.description

    def fetchall(self) -> list[tuple]:
        return self._cur.fetchall() if self._cur.description else []

    def fetchone(self):
        return self._cur.fetchone() if self._cur.description else None

    def df(self):
        import pandas as pd

        names = [d[0] for d in self._cur.description or []]
        return pd.DataFrame.from_records(self.fetchall(), columns=names)

    def close(self) -> None:
        self._cur.close()


class PgConnection:
    """A psycopg2 connection with DuckDB's ``execute``/``close`` (see the module's docstring)."""

    engine = "postgres"

    def __init__(self, raw, target: PostgresConnection, read_only: bool):
        self.raw = raw
        self.target = target
        self.read_only = read_only

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> PgCursor:
        sql, params = translate(sql, params)
        cur = self.raw.cursor()
        cur.execute(sql, params)
        return PgCursor(cur)

    def copy_expert(self, sql: str, buffer) -> None:
        with self.raw.cursor() as cur:
            cur.copy_expert(sql, buffer)

    def close(self) -> None:
        self.raw.close()

    @property
    def closed(self) -> bool:
        return bool(self.raw.closed)

    def __repr__(self) -> str:
        return f"PgConnection({self.target!r}, read_only={self.read_only})"


def connect(target: PostgresConnection, *, read_only: bool = True, wait: float | None = None) -> PgConnection:
    """A session on the PostgreSQL warehouse; read-only sessions refuse every write."""
    import psycopg2

    options = "-c default_transaction_read_only=on" if read_only else ""
    kwargs: dict[str, Any] = {"options": options, "application_name": "dvk"}
    if wait:
        kwargs["connect_timeout"] = max(2, int(wait))
    raw = psycopg2.connect(target.dsn, **kwargs)
    raw.autocommit = True
    return PgConnection(raw, target, read_only)


def is_postgres(con: Any) -> bool:
    return isinstance(con, PgConnection)
