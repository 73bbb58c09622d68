"""Publishing on PostgreSQL while analysts query (issue 14): no deadlock, never half a publication.

A small ``marts`` schema (two dimensions, four facts) is published several times while reader
threads, each a session in the role ``dvk_analyst``, query the ``analytics`` tables in one
statement each, every reader in its own table order (the orders that made the old one-by-one
replacement deadlock). Each publication stamps every row of every table with its number and grows
``fct_a`` by one row: a reader's statement must see one number across all the tables it reads, and
``analytics_meta.published_tables`` must agree with the ``fct_a`` it sees. No query may fail.

Each reader pauses up to ``THINK_SECONDS`` between its queries, as a dashboard or a person does.
Six readers in a tight loop leave the swap almost no moment when no reader holds a table: it then
retries for minutes (seen: 457 s for the seven publications on an idle machine, 5 s with the
pauses), which measures the retry loop's patience, not its safety. With the pauses, taking out
the swap's ``LOCK TABLE`` still fails this test (deadlocks in the readers), three runs of three.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from dvk import publish, publish_pg
from dvk.settings import get_settings

psycopg2 = pytest.importorskip("psycopg2")

pytestmark = [pytest.mark.services]

TABLES = ("dim_unit", "dim_field", "fct_a", "fct_b", "fct_c", "fct_d")
ROWS = 2000
PUBLICATIONS = 6
READERS = 6
THINK_SECONDS = 0.02


def _connect(dsn: str):
    con = psycopg2.connect(dsn)
    con.autocommit = True
    return con


@pytest.fixture()
def warehouse(tmp_path, postgres_server, monkeypatch):
    url = postgres_server.new_database(f"dvk_publish_conc_{tmp_path.name[-12:].replace('-', '_')}".lower())
    for name, value in {
        "DVK_WAREHOUSE_URL": url,
        "DVK_WAREHOUSE": str(tmp_path / "wh" / "dvk.duckdb"),
        "DVK_REPORTS_DIR": str(tmp_path / "reports"),
        "DVK_PUBLISHED_DIR": str(tmp_path / "published"),
        "DVK_LOG_DIR": str(tmp_path / "logs"),
    }.items():
        monkeypatch.setenv(name, value)
    con = _connect(url)
    with con.cursor() as cur:
        cur.execute("create schema marts")
        for name in TABLES:
            year = "" if name.startswith("dim_") else "2020 + g % 2 as year, "
            cur.execute(f"create table marts.{name} as select {year}'u' || g as unit_code, 0 as marker "
                        f"from generate_series(1, {ROWS}) g")
    con.close()
    return url


def _stamp(url: str, k: int) -> None:
    """Publication k's marts: every row's marker is k, fct_a has ROWS + k rows."""
    con = _connect(url)
    with con.cursor() as cur:
        for name in TABLES:
            cur.execute(f"update marts.{name} set marker = %s", [k])
        cur.execute("insert into marts.fct_a values (2021, 'extra', %s)", [k])
    con.close()


def _statement(order: list[str]) -> str:
    parts = [f"select '{t}' as t, min(marker) as lo, max(marker) as hi, count(*) as n from analytics.{t}"
             for t in order]
    parts.insert(len(parts) // 2, "select 'meta', 0, 0, max(row_count) from analytics_meta.published_tables "
                                  "where table_name = 'fct_a'")
    # a join too, its tables in this reader's order
    a, b = order[0], order[-1]
    parts.append(f"select 'join', min(x.marker), max(y.marker), count(*) from analytics.{a} x "
                 f"join analytics.{b} y using (unit_code)")
    return " union all ".join(parts)


def _check(rows) -> str | None:
    """None when the rows are one whole publication, else what is wrong."""
    by = {r[0]: r[1:] for r in rows}
    markers = {v for t, (lo, hi, _) in by.items() if t != "meta" for v in (lo, hi)}
    if len(markers) != 1:
        return f"markers of several publications in one statement: {by}"
    (k,) = markers
    if by["fct_a"][2] != ROWS + k or by["meta"][2] != ROWS + k:
        return f"publication {k}: fct_a has {by['fct_a'][2]} rows, its metadata says {by['meta'][2]}"
    return None


def test_readers_never_fail_and_never_see_half_a_publication(warehouse):
    settings = get_settings()
    assert settings.warehouse_engine == "postgres"
    _stamp(warehouse, 1)
    publish.publish(settings, gate_years=[2020, 2021])

    stop = threading.Event()
    seen: list[set[int]] = [set() for _ in range(READERS)]
    failures: list[str] = []
    queries = [0] * READERS
    cond = threading.Condition()

    def reader(i: int) -> None:
        order = list(TABLES)
        rng = random.Random(i)
        rng.shuffle(order)
        if i % 2:
            order.reverse()
        sql = _statement(order)
        try:
            con = _connect(warehouse)
            con.cursor().execute("set role dvk_analyst")
        except Exception as exc:  # noqa: BLE001
            failures.append(f"reader {i} could not connect: {exc}")
            return
        try:
            while not stop.is_set():
                try:
                    with con.cursor() as cur:
                        cur.execute(sql)
                        rows = cur.fetchall()
                except Exception as exc:  # noqa: BLE001 — every failure an analyst would see counts
                    failures.append(f"reader {i}: {type(exc).__name__}: {exc}".strip())
                    continue
                queries[i] += 1
                wrong = _check(rows)
                if wrong:
                    failures.append(f"reader {i}: {wrong}")
                with cond:
                    seen[i].add(rows[0][1])
                    cond.notify_all()
                time.sleep(rng.uniform(0, THINK_SECONDS))
        finally:
            con.close()

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    for t in threads:
        t.start()
    try:
        for k in range(2, PUBLICATIONS + 2):
            _stamp(warehouse, k)
            publish.publish(settings, gate_years=[2020, 2021])
            with cond:  # every reader reads publication k before the next one starts (liveness bound only)
                assert cond.wait_for(lambda k=k: all(k in s for s in seen) or failures, timeout=300), \
                    f"readers did not see publication {k}"
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not failures, failures[:10]
    assert all(s >= set(range(2, PUBLICATIONS + 2)) for s in seen)
    # the side schemas are gone, the analysts' grants are on the new tables
    con = _connect(warehouse)
    with con.cursor() as cur:
        cur.execute("select nspname from pg_namespace where nspname like 'analytics%' order by 1")
        assert [r[0] for r in cur.fetchall()] == ["analytics", "analytics_meta"]
        cur.execute("select count(*) from information_schema.role_table_grants where grantee = 'dvk_analyst' "
                    "and privilege_type = 'SELECT' and table_schema in ('analytics', 'analytics_meta')")
        assert cur.fetchone()[0] == len(TABLES) + 3
    con.close()


def test_swap_gives_up_cleanly_while_a_reader_holds_a_table(warehouse, monkeypatch):
    """An analyst's open transaction holds fct_a: the swap retries, then fails with a clear error
    and leaves the last publication whole; once the analyst is done, the next publication goes in."""
    settings = get_settings()
    _stamp(warehouse, 1)
    publish.publish(settings, gate_years=[2020, 2021])
    _stamp(warehouse, 2)
    holder = psycopg2.connect(warehouse)  # not autocommit: its transaction stays open
    try:
        with holder.cursor() as cur:
            cur.execute("set role dvk_analyst")
            cur.execute("select count(*) from analytics.fct_a")
        monkeypatch.setattr(publish_pg, "SWAP_TIMEOUT_SECONDS", 1.0)
        with pytest.raises(publish.PublishError, match="last publication is unchanged"):
            publish.publish(settings, gate_years=[2020, 2021])
        with holder.cursor() as cur:  # still publication 1, whole
            cur.execute(_statement(list(TABLES)))
            rows = cur.fetchall()
        assert _check(rows) is None and rows[0][1] == 1
    finally:
        holder.close()
    publish.publish(settings, gate_years=[2020, 2021])
    con = _connect(warehouse)
    with con.cursor() as cur:
        cur.execute(_statement(list(TABLES)))
        rows = cur.fetchall()
    con.close()
    assert _check(rows) is None and rows[0][1] == 2


def test_a_held_back_year_keeps_its_rows_through_the_swap(warehouse):
    """2021 held back: its rows stay those of the last publication (built from the old analytics
    tables in the side schema), 2020's are the warehouse's new ones."""
    from dvk.publish import CURRENT, HELD_BACK, YearState

    settings = get_settings()
    _stamp(warehouse, 1)
    publish.publish(settings, gate_years=[2020, 2021])
    _stamp(warehouse, 2)

    def decide(wh_years, prev_years, manifest):
        return {2020: YearState(year=2020, state=CURRENT),
                2021: YearState(year=2021, state=HELD_BACK, reason="gate_failed", reason_vi="kiểm tra không đạt",
                                reason_en="the gate failed")}

    publish_pg.publish(settings, decide, gate_years_passed=[2020])
    con = _connect(warehouse)
    with con.cursor() as cur:
        cur.execute("select year, min(marker), max(marker), count(*) from analytics.fct_a group by year order by year")
        assert cur.fetchall() == [(2020, 2, 2, ROWS // 2), (2021, 1, 1, ROWS // 2 + 1)]
        cur.execute("select min(marker), max(marker) from analytics.dim_unit")
        assert cur.fetchone() == (2, 2)
        cur.execute("select year, state from analytics_meta.publication_years order by year")
        assert cur.fetchall() == [(2020, "current"), (2021, "held_back")]
        cur.execute("select row_count from analytics_meta.published_tables where table_name = 'fct_a'")
        assert cur.fetchone() == (ROWS + 1,)
    con.close()
