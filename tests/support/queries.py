"""Reading the warehouse of the current settings in a test."""

from __future__ import annotations

import duckdb

from dvk.settings import get_settings


def rows(sql: str) -> list[tuple]:
    """The rows of ``sql`` on the warehouse of the current settings (``DVK_WAREHOUSE``), read-only."""
    con = duckdb.connect(str(get_settings().warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
