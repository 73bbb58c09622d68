"""Settings: where the warehouse URL comes from (DVK_WAREHOUSE_URL, or Airflow's connection)."""

from __future__ import annotations

import json

import pytest

from dvk.settings import airflow_connection_url, get_settings

CONN = "AIRFLOW_CONN_DVK_WAREHOUSE"


@pytest.fixture
def env(monkeypatch):
    monkeypatch.delenv("DVK_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv(CONN, raising=False)
    return monkeypatch


def test_neither_set_is_duckdb(env):
    settings = get_settings()
    assert settings.warehouse_url is None
    assert settings.warehouse_engine == "duckdb"


def test_airflow_connection_uri_selects_postgres(env):
    env.setenv(CONN, "postgres://dvk:s%40cret@warehouse-db:5433/dvk")
    pg = get_settings().postgres
    assert (pg.host, pg.port, pg.user, pg.password, pg.dbname) == ("warehouse-db", 5433, "dvk", "s@cret", "dvk")


def test_airflow_connection_json_form(env):
    env.setenv(CONN, json.dumps({"conn_type": "postgres", "host": "10.0.0.5", "port": 5432,
                                 "login": "dvk", "password": "p@ss:/w?#", "schema": "warehouse",
                                 "extra": {"sslmode": "prefer"}}))
    settings = get_settings()
    assert settings.warehouse_engine == "postgres"
    pg = settings.postgres
    assert (pg.host, pg.port, pg.user, pg.password, pg.dbname) == ("10.0.0.5", 5432, "dvk", "p@ss:/w?#", "warehouse")


def test_dvk_warehouse_url_wins_over_the_connection(env):
    env.setenv(CONN, "postgresql://dvk:x@conn-host/dvk")
    env.setenv("DVK_WAREHOUSE_URL", "postgresql://dvk:y@own-host/dvk")
    assert get_settings().postgres.host == "own-host"
    # ... even when it asks for DuckDB explicitly
    env.setenv("DVK_WAREHOUSE_URL", "duckdb")
    assert get_settings().warehouse_engine == "duckdb"


def test_an_empty_connection_is_unset(env):
    env.setenv(CONN, "  ")
    assert get_settings().warehouse_url is None


@pytest.mark.parametrize("value, words", [
    ("mysql://dvk:topsecret@db/dvk", "postgres connection"),
    ('{"conn_type": "mysql", "host": "db", "login": "dvk", "password": "topsecret", "schema": "dvk"}', "mysql"),
    ('{"conn_type": "postgres", "host": "db", "password": "topsecret", "schema": "dvk"}', "login"),
    ('{"conn_type": "postgres", "host": "db", "login": "dvk", "password": "topsecret", "schema": "dvk", "port": "x"}',
     "invalid port"),
    ("{not json topsecret", "valid JSON"),
    ("postgresql://dvk:topsecret@db", "database"),
])
def test_a_bad_connection_is_refused_naming_the_variable_not_the_password(env, value, words):
    env.setenv(CONN, value)
    with pytest.raises(ValueError) as raised:
        get_settings()
    message = str(raised.value)
    assert CONN in message and words in message
    assert "topsecret" not in message


def test_connection_url_round_trips_through_the_parser():
    assert airflow_connection_url(None) is None
    url = airflow_connection_url('{"conn_type": "postgresql", "host": "db", "login": "a b", "schema": "d"}')
    assert url == "postgresql://a%20b@db:5432/d"
