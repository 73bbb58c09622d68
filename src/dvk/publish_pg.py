"""Publishing on PostgreSQL (issue 14): a schema for analysts and a read-only role, no copied file.

On DuckDB the analysts get a copied database file (:mod:`dvk.publish`), because a DuckDB file has
one writer and no concurrent readers. PostgreSQL serves many readers beside its writer, so the
publication stays in the warehouse's database, under its own schemas and role:

- ``analytics``: every table of ``marts`` (minus the personal-data columns, as on DuckDB); the
  ``dim_*`` tables whole, every other table per year (its ``year`` / ``period_year`` column, or
  ``period_id`` through ``dim_period``) holding only the rows of the years that are *current*
  (gate passed); a year held back keeps the rows it had in the last publication (none if never
  published) — the same decision as on DuckDB (:func:`dvk.publish.publish_years`'s ``decide``);
- ``analytics_meta``: ``publication``, ``publication_years`` and ``published_tables``, as the
  ``meta`` schema of the DuckDB copy;
- the role ``dvk_analyst`` (NOLOGIN: a group role; give each analyst a login role that is a
  member of it): USAGE on those two schemas, SELECT on their tables (and by default privileges on
  the tables created there later), nothing else: it cannot read ``raw``, ``staging``,
  ``intermediate`` or ``marts``, and cannot write anywhere.

A publication is built, then swapped in, serialised by an advisory lock (one publisher at a time):

1. the build: the new tables are created in the private side schemas ``analytics_next`` and
   ``analytics_meta_next`` (the current years from ``marts``, the held-back years from the last
   publication), while analysts go on reading the last publication undisturbed;
2. the swap: one short transaction takes every lock it needs in one bounded ``LOCK TABLE``
   statement, drops the old tables and moves the new ones in (``alter table … set schema``).

A reader sees the last publication or the new one, whole, never half of each, and neither a reader
nor the publisher can be chosen as a deadlock victim (:func:`_swap` says why). The manifest
(``<published_dir>/manifest.json``) is written after the swap commits, as on DuckDB.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dvk import warehouse as dvk_warehouse
from dvk.settings import Settings
from dvk.warehouse import comment_on, quote_ident

log = logging.getLogger(__name__)

#: The schema analysts read, its metadata schema, and their role.
ANALYTICS_SCHEMA = "analytics"
META_SCHEMA = "analytics_meta"
ANALYST_ROLE = "dvk_analyst"
#: The tables of ``analytics_meta``.
META_TABLES = ("publication", "publication_years", "published_tables")
#: pg_advisory_xact_lock key: one publisher at a time.
PUBLISH_LOCK_KEY = 0x64766B  # "dvk"
#: The private schemas a publication is built in before the swap (no role but the warehouse's reads them).
NEXT_SCHEMA = "analytics_next"
META_NEXT_SCHEMA = "analytics_meta_next"
#: How long the swap keeps trying to take its locks before the publication fails (the last one stays).
SWAP_TIMEOUT_SECONDS = 600.0


def _tables(con, schema: str) -> list[tuple[str, str | None]]:
    return [(r[0], r[1]) for r in con.execute(
        "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = ? and c.relkind in ('r', 'v', 'm', 'p') order by c.relname", [schema]).fetchall()]


def _columns(con, schema: str, table: str) -> list[tuple[str, str | None]]:
    return [(r[0], r[1]) for r in con.execute(
        "select a.attname, col_description(a.attrelid, a.attnum) from pg_attribute a "
        "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = ? and c.relname = ? and a.attnum > 0 and not a.attisdropped order by a.attnum",
        [schema, table]).fetchall()]


def _has_table(con, schema: str, table: str) -> bool:
    return any(name == table for name, _ in _tables(con, schema))


def _year_expr(t, schema: str, alias: str = "t") -> str:
    if t.by_period:
        return (f"(select d.period_year from {quote_ident(schema)}.dim_period d "
                f"where d.period_id = {alias}.period_id)")
    return f"{alias}.{quote_ident(t.year_column)}"


def _years(con, schema: str, plan) -> set[int]:
    years: set[int] = set()
    for t in plan:
        if t.year_column is None or not _has_table(con, schema, t.name):
            continue
        if t.by_period and not _has_table(con, schema, "dim_period"):
            continue
        rows = con.execute(f"select distinct {_year_expr(t, schema)} from {quote_ident(schema)}.{quote_ident(t.name)} t"
                           ).fetchall()
        years |= {int(r[0]) for r in rows if r[0] is not None}
    return years


def _int_array(years) -> str:
    return "array[" + ", ".join(str(int(y)) for y in sorted(years)) + "]::integer[]"


def ensure_analyst_role(con, role: str = ANALYST_ROLE) -> None:
    """Create the NOLOGIN group role if missing (needs CREATEROLE, else a clear error)."""
    from dvk.publish import PublishError

    if con.execute("select 1 from pg_roles where rolname = ?", [role]).fetchone():
        return
    try:
        con.execute(f"create role {quote_ident(role)} nologin")
    except Exception as exc:
        raise PublishError(
            f"Không tạo được vai trò {role} cho người phân tích; quản trị viên hãy chạy: create role {role} nologin; "
            f"/ cannot create the analysts' role {role} (the warehouse user needs CREATEROLE, or an administrator "
            f"runs `create role {role} nologin;` once): {exc}") from exc


def _lock_wait_ms(con) -> int:
    """How long one attempt of the swap may wait for its locks: half the server's deadlock_timeout,
    so that the swap gives up before any analyst's query waiting on it checks for a deadlock."""
    (ms,) = con.execute("select setting::integer from pg_settings where name = 'deadlock_timeout'").fetchone()
    return max(10, int(ms) // 2)


def _swap(con, names: list[str], timeout: float) -> int:
    """Replace the tables of ``analytics`` / ``analytics_meta`` by those built in the side schemas, in
    one transaction; the number of attempts it took.

    Why it cannot deadlock: an analyst's query takes an ACCESS SHARE lock on each table it reads, one
    after the other in its own order, and holds them to its end; replacing a table needs ACCESS
    EXCLUSIVE. A publisher that dropped the tables one by one held some while waiting for others, and
    an analyst's join holding one of those and waiting for one of these closed a cycle (``deadlock
    detected``, the analyst's query cancelled). Here every lock the swap needs is requested by one
    ``LOCK TABLE`` statement at the start of the transaction, bounded by ``statement_timeout`` =
    half of ``deadlock_timeout``: any query that waits on the swap began waiting after that statement
    began, so when a cycle forms the swap's statement is cancelled (its transaction rolled back, every
    lock released) before that query's deadlock check runs, and the query goes on. The swap tries
    again after a short random pause, until ``timeout`` seconds have passed (then
    :class:`dvk.publish.PublishError`; the last publication is untouched). Once the statement has
    returned, the swap holds every lock it needs and waits for nobody. A query whose locks were all
    granted before the swap reads the last publication whole; one that waited reads the new one whole
    (PostgreSQL looks its tables up again after the wait, and a read-committed statement takes its
    snapshot after its locks).
    """
    import psycopg2.errors

    from dvk import publish as P

    wait_ms = _lock_wait_ms(con)
    (statement_timeout,) = con.execute("select current_setting('statement_timeout')").fetchone()
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        attempt += 1
        con.execute("begin transaction")
        try:
            old = [n for n, _ in _tables(con, ANALYTICS_SCHEMA)]
            old_meta = [n for n, _ in _tables(con, META_SCHEMA)]
            locked = [f"{ANALYTICS_SCHEMA}.{quote_ident(n)}" for n in sorted(old)] + \
                     [f"{META_SCHEMA}.{quote_ident(n)}" for n in sorted(old_meta)]
            if locked:
                con.execute("select set_config('statement_timeout', ?, true)", [f"{wait_ms}ms"])
                con.execute(f"lock table {', '.join(locked)} in access exclusive mode")
                con.execute("select set_config('statement_timeout', ?, true)", [statement_timeout])
            for schema, next_schema, tables in ((ANALYTICS_SCHEMA, NEXT_SCHEMA, names),
                                                (META_SCHEMA, META_NEXT_SCHEMA, list(META_TABLES))):
                for name, _ in _tables(con, schema):
                    con.execute(f"drop table if exists {schema}.{quote_ident(name)} cascade")
                for name in tables:
                    con.execute(f"alter table {next_schema}.{quote_ident(name)} set schema {schema}")
                con.execute(f"drop schema {next_schema}")
                con.execute(f"grant select on all tables in schema {schema} to {quote_ident(ANALYST_ROLE)}")
            con.execute("commit")
            if attempt > 1:
                log.info("Publication swapped in on attempt %d", attempt)
            return attempt
        except (psycopg2.errors.QueryCanceled, psycopg2.errors.LockNotAvailable) as exc:
            con.execute("rollback")
            if time.monotonic() >= deadline:
                raise P.PublishError(
                    f"Không thay được bản phát hành sau {attempt} lần thử trong {timeout:.0f} giây: các truy vấn "
                    f"của người phân tích giữ bảng {ANALYTICS_SCHEMA}; bản phát hành trước vẫn nguyên "
                    f"/ could not swap the publication in after {attempt} attempts in {timeout:.0f} s: analysts' "
                    f"queries hold the {ANALYTICS_SCHEMA} tables; the last publication is unchanged ({exc})") from exc
            time.sleep(random.uniform(0.01, min(1.0, 0.05 * 2 ** min(attempt, 5))))
        except BaseException:
            con.execute("rollback")
            raise


def publish(settings: Settings, decide, *, gate_years_passed: list[int],
            swap_timeout: float | None = None):
    """PostgreSQL's :func:`dvk.publish._publish` (same decision, same manifest; see the module)."""
    from dvk import publish as P

    started = time.monotonic()
    folder = Path(settings.published_dir)
    folder.mkdir(parents=True, exist_ok=True)
    gate = P.read_gate_results(settings)
    previous_manifest = P.read_manifest(settings)
    source = dvk_warehouse.target(settings)
    source_name = f"postgresql://{settings.postgres.user}@{settings.postgres.host}:{settings.postgres.port}/" \
                  f"{settings.postgres.dbname}"
    tables: list[P.PublishedTable] = []
    excluded: list[str] = []
    con = dvk_warehouse.connect(source, read_only=False)
    try:
        # one publisher at a time, over both transactions (a session lock, released in finally)
        con.execute(f"select pg_advisory_lock({PUBLISH_LOCK_KEY})")
        published_at = P._utc_now()
        stamp_iso = P._iso(published_at)
        # 1. the build, in the private side schemas: analysts keep reading the last publication
        con.execute("begin transaction")
        try:
            ensure_analyst_role(con)
            plan = []
            for schema in P.PUBLISHED_SCHEMAS:
                for name, comment in _tables(con, schema):
                    columns = _columns(con, schema, name)
                    keep = [(c, cmt) for c, cmt in columns if not P.PERSONAL_DATA_COLUMNS.search(c)]
                    excluded += [f"{schema}.{name}.{c}" for c, _ in columns if P.PERSONAL_DATA_COLUMNS.search(c)]
                    if not keep:
                        continue
                    names = [c for c, _ in keep]
                    year_column, by_period = None, False
                    if not name.startswith("dim_"):
                        year_column = next((c for c in P.YEAR_COLUMNS if c in names), None)
                        if year_column is None and "period_id" in names and _has_table(con, schema, "dim_period"):
                            year_column, by_period = "period_id", True
                    plan.append(P._Table(schema, name, comment, keep, year_column, by_period))
            if not plan:
                raise P.PublishError(
                    f"Kho dữ liệu {source_name} chưa có bảng marts (hãy chạy dbt build) "
                    f"/ the warehouse {source_name} has no marts (run the transform first)")
            source_schema = P.PUBLISHED_SCHEMAS[0]
            for schema in (ANALYTICS_SCHEMA, META_SCHEMA):
                con.execute(f"create schema if not exists {schema}")
            for schema in (NEXT_SCHEMA, META_NEXT_SCHEMA):  # left over by a publication that failed
                con.execute(f"drop schema if exists {schema} cascade")
                con.execute(f"create schema {schema}")
                con.execute(f"revoke all on schema {schema} from public")
            wh_years = _years(con, source_schema, plan)
            prev_years = _years(con, ANALYTICS_SCHEMA, plan)
            states = decide(wh_years, prev_years, previous_manifest)
            current = {y for y, st in states.items() if st.state == P.CURRENT}
            held = {y for y in prev_years if y in states and states[y].state == P.HELD_BACK}
            prev_states = (previous_manifest or {}).get("years") or {}
            for y, st in states.items():
                if st.state == P.CURRENT:
                    st.rows_as_of = stamp_iso if y in wh_years else None
                    continue
                before = prev_states.get(str(y)) or {}
                st.held_since = (before.get("held_since") if before.get("state") == P.HELD_BACK else None) or stamp_iso
                st.rows_as_of = (before.get("rows_as_of") or (previous_manifest or {}).get("published_at")) \
                    if y in prev_years else None

            # the current years' rows from the marts, the held-back years' rows from the last publication
            for t in plan:
                target = f"{NEXT_SCHEMA}.{quote_ident(t.name)}"
                select_list = ", ".join(quote_ident(c) for c, _ in t.columns)
                src = f"{quote_ident(t.schema)}.{quote_ident(t.name)}"
                sql = f"create table {target} as select {select_list} from {src} t"
                if t.year_column is not None:
                    y = _year_expr(t, t.schema)
                    sql += f" where {y} is null or {y} = any({_int_array(current)})"
                con.execute(sql)
                if (t.year_column is not None and held and _has_table(con, ANALYTICS_SCHEMA, t.name)
                        and (not t.by_period or _has_table(con, ANALYTICS_SCHEMA, "dim_period"))):
                    prev_cols = {c for c, _ in _columns(con, ANALYTICS_SCHEMA, t.name)}
                    cols = ", ".join(quote_ident(c) for c, _ in t.columns if c in prev_cols)
                    con.execute(f"insert into {target} ({cols}) select {cols} from {ANALYTICS_SCHEMA}.{quote_ident(t.name)} t "
                                f"where {_year_expr(t, ANALYTICS_SCHEMA)} = any({_int_array(held)})")
                comment_on(con, target, t.comment, t.columns)
                rows = con.execute(f"select count(*) from {target}").fetchone()[0]
                tables.append(P.PublishedTable(ANALYTICS_SCHEMA, t.name, int(rows), [c for c, _ in t.columns], None,
                                               year_column=t.year_column))

            years_current = sorted(y for y, st in states.items() if st.state == P.CURRENT)
            years_held = sorted(y for y, st in states.items() if st.state == P.HELD_BACK)
            m = META_NEXT_SCHEMA
            con.execute(f"create table {m}.publication (published_at timestamp, source_warehouse text, "
                        "source_modified_at text, gate_years_passed text, tables integer, years_current text, "
                        "years_held_back text)")
            con.execute(f"insert into {m}.publication values (?, ?, ?, ?, ?, ?, ?)", [
                published_at.replace(tzinfo=None, microsecond=0), source_name, None,
                ", ".join(str(y) for y in gate_years_passed), len(tables),
                ", ".join(str(y) for y in years_current), ", ".join(str(y) for y in years_held)])
            con.execute(f"create table {m}.publication_years (year integer, state text, reason text, "
                        "reason_vi text, reason_en text, held_since text, rows_as_of text, gate_checked_at text, "
                        "gate_failures integer)")
            for y, st in sorted(states.items()):
                con.execute(f"insert into {m}.publication_years values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [y, st.state, st.reason, st.reason_vi, st.reason_en, st.held_since, st.rows_as_of,
                             st.gate_checked_at, st.gate_failures])
            con.execute(f"create table {m}.published_tables (table_schema text, table_name text, row_count bigint, "
                        "parquet_file text, year_column text)")
            for t in tables:
                con.execute(f"insert into {m}.published_tables values (?, ?, ?, ?, ?)",
                            [t.schema, t.name, t.rows, None, t.year_column])

            # DuckDB rounds a double to n places, PostgreSQL only a numeric: the analyst guide's
            # round(sum(funds_million_vnd), 1) runs as written when analytics is on the search_path
            con.execute(f"create or replace function {ANALYTICS_SCHEMA}.round(double precision, integer) "
                        "returns numeric language sql immutable strict parallel safe "
                        "as 'select pg_catalog.round($1::numeric, $2)'")
            # the analysts' role: these two schemas, read-only, and nothing else
            role = quote_ident(ANALYST_ROLE)
            for schema in (ANALYTICS_SCHEMA, META_SCHEMA):
                con.execute(f"revoke all on schema {schema} from public")
                con.execute(f"grant usage on schema {schema} to {role}")
                con.execute(f"alter default privileges in schema {schema} grant select on tables to {role}")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        # 2. the swap: one short transaction, every lock taken up front in one bounded statement
        _swap(con, [t.name for t in plan], SWAP_TIMEOUT_SECONDS if swap_timeout is None else swap_timeout)
    finally:
        con.close()  # ends the session: its advisory lock too

    result = P.PublishResult(
        database=Path(ANALYTICS_SCHEMA), parquet_dir=Path(""), manifest=folder / P.MANIFEST_NAME,
        published_at=stamp_iso, source_warehouse=source_name, tables=tables, gate=gate,
        gate_years_passed=gate_years_passed, excluded_columns=excluded,
        duration_seconds=round(time.monotonic() - started, 3),
        years={str(y): asdict(st) for y, st in sorted(states.items())},
        years_current=years_current, years_held_back=years_held)
    manifest: dict[str, Any] = {
        "published_at": result.published_at,
        "source_warehouse": source_name,
        "engine": "postgres",
        "schema": ANALYTICS_SCHEMA,
        "meta_schema": META_SCHEMA,
        "role": ANALYST_ROLE,
        "database": None,
        "parquet_dir": None,
        "gate_years_passed": gate_years_passed,
        "years_current": years_current,
        "years_held_back": years_held,
        "years": result.years,
        "gate": gate,
        "tables": [{"schema": t.schema, "name": t.name, "rows": t.rows, "columns": t.columns, "parquet": None,
                    "year_column": t.year_column} for t in tables],
        "excluded_columns": excluded,
        "duration_seconds": result.duration_seconds,
    }
    P._write_json_atomic(result.manifest, manifest)
    log.info("Published %d tables to schema %s of %s in %.1f s; years current: %s; held back: %s",
             len(tables), ANALYTICS_SCHEMA, source_name, result.duration_seconds, years_current or "-",
             years_held or "-")
    for y in years_held:
        st = states[y]
        log.warning("Year %s held back since %s (rows as of %s): %s / %s", y, st.held_since, st.rows_as_of or "none",
                    st.reason_vi, st.reason_en)
    return result


__all__ = ["ANALYST_ROLE", "ANALYTICS_SCHEMA", "META_SCHEMA", "ensure_analyst_role", "publish"]
