"""The tests' throw-away PostgreSQL server: :mod:`dvk.pg_local` in a ``dvk-test-pg-`` folder; a
machine without PostgreSQL fails the test that needs it, saying what to install. ``stop()`` it
(the session fixture ``postgres_server`` in tests/conftest.py and the services stack do)."""

from __future__ import annotations

import pytest

from dvk.pg_local import PgServer, PostgresUnavailable, start


def start_postgres() -> PgServer:
    try:
        return start(prefix="dvk-test-pg-")
    except PostgresUnavailable as exc:
        pytest.fail(f"{exc} (.ci/run installs postgresql)")
