"""The operators' questions answered as data: ``status``, ``missing``, ``quarantine``.

Each function opens the warehouse (or the published copy) read-only and returns plain dicts
(JSON-friendly through ``dvk.warehouse.json_value``); :mod:`dvk.cli` only presents them. Errors are
:class:`OpsError` with the exit code a command line should end with.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from dvk import warehouse
from dvk.settings import Settings, get_settings
from dvk.warehouse import query_rows

log = logging.getLogger(__name__)


EXIT_OK = 0
EXIT_FAILED = 1  # a gate failed, a publication was refused, a query failed
EXIT_USAGE = 2  # bad arguments (argparse uses 2 as well)
EXIT_UNAVAILABLE = 3  # no warehouse / no publication yet / the warehouse is held by a writer


class OpsError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def fmt_ts(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if value.tzinfo is None else "")
    return str(value)


#: How long a command waits for a pipeline run that holds the warehouse (someone is at the terminal).
CLI_LOCK_WAIT_SECONDS = 20.0


def open_read_only(path: Path | str, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``path`` (``dvk.warehouse.connect``: a DuckDB file or a
    ``postgresql://`` URL), waiting up to ``wait`` seconds (default: ``CLI_LOCK_WAIT_SECONDS`` or
    ``DVK_LOCK_WAIT_SECONDS`` if shorter) while a writer holds it; OpsError(EXIT_UNAVAILABLE) if
    missing or still held."""
    if not (isinstance(path, str) and "://" in path):
        path = Path(path)
    if wait is None:
        wait = min(CLI_LOCK_WAIT_SECONDS, get_settings().lock_wait_seconds)
    try:
        return warehouse.connect(path, read_only=True, wait=wait)
    except warehouse.WarehouseNotFound as exc:
        raise OpsError(str(exc), EXIT_UNAVAILABLE) from exc
    except warehouse.WarehouseBusy as exc:
        raise OpsError(
            f"Kho dữ liệu {path} đang được một lần chạy khác ghi; hãy thử lại sau "
            f"/ the warehouse {path} is being written by a pipeline run; try again later ({exc})",
            EXIT_UNAVAILABLE,
        ) from exc


@contextlib.contextmanager
def read_only(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_read_only(path)
    try:
        yield con
    finally:
        con.close()


def warehouse_present(settings: Settings) -> bool:
    """Whether the warehouse is there (``dvk.warehouse.exists``); OpsError(EXIT_UNAVAILABLE) when
    its PostgreSQL server cannot be reached."""
    try:
        return warehouse.exists(settings)
    except OpsError:
        raise
    except Exception as exc:  # psycopg2.OperationalError: server down, wrong password...
        raise OpsError(f"Không kết nối được kho dữ liệu {warehouse.describe(settings)} "
                       f"/ cannot reach the warehouse {warehouse.describe(settings)}: {exc}",
                       EXIT_UNAVAILABLE) from exc


@contextlib.contextmanager
def marts(settings: Settings, published: bool) -> Iterator[tuple[duckdb.DuckDBPyConnection, str, str | None, str]]:
    """Read-only marts: the warehouse, or the published copy when asked or when a writer holds
    the warehouse. Yields (connection, label of the source, why the published copy is read or None,
    the schema of the marts there: ``marts``, or ``analytics`` for PostgreSQL's publication)."""
    if settings.postgres is not None:  # one server, no file lock: the publication is a schema of it
        con = open_read_only(warehouse.target(settings))
        where = warehouse.describe(settings)
        source = (f"bản phát hành / publication (schema analytics) {where}" if published
                  else f"kho dữ liệu / warehouse {where}")
        try:
            yield con, source, None, "analytics" if published else "marts"
        finally:
            con.close()
        return
    con = None
    source = ""
    notice = None
    if not published:
        try:
            # With a published copy to fall back on, wait only briefly for a writer.
            wait = 2.0 if settings.published_warehouse.is_file() else None
            con = open_read_only(settings.warehouse, wait=wait)
            source = f"kho dữ liệu / warehouse {settings.warehouse}"
        except OpsError as exc:
            if exc.code != EXIT_UNAVAILABLE or not settings.published_warehouse.is_file():
                raise
            notice = (f"{exc}\n→ dùng bản phát hành / reading the published copy {settings.published_warehouse}")
    if con is None:
        con = open_read_only(settings.published_warehouse)
        source = f"bản phát hành / published copy {settings.published_warehouse}"
    try:
        yield con, source, notice, "marts"
    finally:
        con.close()


def _dbt_last_build(settings: Settings) -> dict[str, Any] | None:
    path = settings.dbt_target_dir / "run_results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    results = data.get("results") or []
    failed = [r.get("unique_id") for r in results if r.get("status") in ("error", "fail", "runtime error")]
    return {
        "generated_at": (data.get("metadata") or {}).get("generated_at"),
        "nodes": len(results),
        "failed": failed,
    }


def collect_status(settings: Settings | None = None) -> dict[str, Any]:
    """Everything ``dvk status`` shows, as a JSON-friendly dict."""
    from dvk.ingest.inbox import list_inbox, read_manifest as read_inbox_manifest
    from dvk.publish import read_gate_results, read_manifest

    settings = settings or get_settings()
    status: dict[str, Any] = {
        "warehouse": warehouse.describe(settings),
        "engine": settings.warehouse_engine,
        "inbox_dir": str(settings.inbox_dir),
        "quarantine_dir": str(settings.quarantine_dir),
        "published_dir": str(settings.published_dir),
        "warehouse_state": "missing",
        "last_load": None,
        "loads": 0,
        "submissions": None,
        "quarantined_files": None,
        "inbox_files": None,
        "waiting_files": None,
        "uploads_in_progress": None,
        "ignored_files": None,
        "refused_files": None,
        "warnings": None,
        "dbt_last_build": _dbt_last_build(settings),
        "gate": read_gate_results(settings),
        "annual_reports": {},
        "published": None,
    }
    loaded: set[str] | None = None
    try:
        present = warehouse_present(settings)
    except OpsError:
        present = False
        status["warehouse_state"] = "unreachable"
    if present:
        try:
            with read_only(warehouse.target(settings)) as con:
                status["warehouse_state"] = "ok"
                tables = warehouse.table_names(con, "raw")
                if "loads" in tables:
                    last = query_rows(con, """
                        select load_id, started_at, finished_at, inbox_dir, files_seen, files_loaded,
                               files_skipped, files_quarantined
                        from raw.loads order by started_at desc limit 1""")
                    status["last_load"] = last[0] if last else None
                    status["loads"] = con.execute("select count(*) from raw.loads").fetchone()[0]
                if "submissions" in tables:
                    loaded = {r[0] for r in con.execute("select submission_id from raw.submissions").fetchall()}
                    status["submissions"] = len(loaded)
                if "quarantine" in tables:
                    status["quarantined_files"] = con.execute(
                        "select count(distinct sha256) from raw.quarantine").fetchone()[0]
                if "submission_warnings" in tables:
                    status["warnings"] = query_rows(con, """
                        select file_name, sheet, "row", "column", code, message_vi, message_en
                        from raw.submission_warnings order by file_name, warning_no limit 50""")
        except OpsError as exc:
            if exc.code != EXIT_UNAVAILABLE:
                raise
            status["warehouse_state"] = "busy"
    if settings.inbox_dir.is_dir():
        listing = list_inbox(settings.inbox_dir, settle_seconds=settings.inbox_settle_seconds,
                             manifest=read_inbox_manifest(settings.inbox_dir))
        files = [p for p, _ in listing.files]
        status["uploads_in_progress"] = sorted(listing.waiting)
        status["ignored_files"] = dict(listing.ignored)
        status["refused_files"] = dict(listing.refused)
        status["inbox_files"] = len(files) + len(listing.waiting)
        if loaded is not None or status["warehouse_state"] == "missing":
            known = loaded or set()
            status["waiting_files"] = [p.name for p in files if warehouse.sha256_file(p) not in known]
    for path in sorted((settings.reports_dir / "annual").glob("*/summary.json")):
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        status["annual_reports"][path.parent.name] = {
            k: summary.get(k) for k in ("units_registered", "models_total", "models_new", "models_replicated")
        } | {"path": str(path.parent)}
    manifest = read_manifest(settings)
    if manifest:
        status["published"] = {
            "published_at": manifest.get("published_at"),
            "database": (f"schema {manifest.get('schema') or 'analytics'}, {warehouse.describe(settings)}"
                         if manifest.get("engine") == "postgres" else str(settings.published_warehouse)),
            "gate_years_passed": manifest.get("gate_years_passed"),
            "years_current": manifest.get("years_current"),
            "years_held_back": manifest.get("years_held_back"),
            "years": manifest.get("years") or {},
            "tables": len(manifest.get("tables") or []),
            "source_modified_at": manifest.get("source_modified_at"),
            "warehouse_changed_since": _warehouse_changed_since(
                settings, manifest.get("source_modified_at"), readable=status["warehouse_state"] == "ok"),
        }
    return status


def _warehouse_changed_since(settings: Settings, source_modified_at: str | None, *, readable: bool) -> bool | None:
    """Whether publishing now would change the publication: a year whose submissions, reference
    data or checks changed since it was last published current, as the nightly run decides it
    (:func:`dvk.changes.plan_changes`). A night that loaded nothing still writes the warehouse
    (its load log) but changes no year: False. When the plan cannot be made (the warehouse is busy,
    or was never built: ``readable`` False), the file's modification time against the
    publication's source time; status never waits for a writer."""
    if not source_modified_at:
        return None
    if readable:
        from dvk.changes import plan_changes

        try:
            return bool(plan_changes(settings).changed)
        except Exception as exc:  # noqa: BLE001 - status must answer; fall back to the file's time
            log.debug("status: no change plan (%s); comparing the warehouse file's time", exc)
    if settings.warehouse_engine != "duckdb" or not settings.warehouse.is_file():
        return None
    try:
        published = dt.datetime.fromisoformat(source_modified_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    now = dt.datetime.fromtimestamp(settings.warehouse.stat().st_mtime, dt.timezone.utc).replace(microsecond=0)
    return now > published


# Rule 2 of the reorganisations spec: the units expected for a period are the unit versions
# valid on the last day of its data window ($window_end).
MISSING_SQL = """
with expected as (
    select unit_key, unit_code, unit_name, unit_kind
    from marts.dim_reporting_unit
    where valid_from <= $window_end and (valid_to is null or valid_to > $window_end)
),
accepted as (
    select unit_key, unit_code, period_id
    from marts.fct_submission
    where is_accepted and period_year = $year
)
select
    expected.unit_code,
    expected.unit_name,
    expected.unit_kind,
    (select string_agg(distinct accepted.period_id, ', ' order by accepted.period_id)
     from accepted where accepted.unit_key = expected.unit_key) as other_periods_reported
from expected
where expected.unit_key not in (
    select unit_key from accepted where period_id = $period and unit_key is not null)
order by case expected.unit_kind when 'phuong' then 1 when 'xa' then 2 when 'doan_the' then 3 else 4 end,
    expected.unit_code
"""

EXPECTED_COUNT_SQL = """
select count(*) from marts.dim_reporting_unit
where valid_from <= $window_end and (valid_to is null or valid_to > $window_end)
"""


def collect_missing(settings: Settings, period_text: str, published: bool = False) -> dict[str, Any]:
    """The units expected for a period without an accepted submission for it (``dvk missing``).

    ``period_text`` is anything :func:`dvk.periods.parse_period` reads; OpsError(EXIT_USAGE) if not.
    ``notice`` says why the published copy was read instead of the warehouse (else None)."""
    from dvk.periods import PeriodError, parse_period

    try:
        period = parse_period(period_text, today=dt.date(9999, 1, 1))
    except PeriodError as exc:
        raise OpsError(str(exc), EXIT_USAGE) from exc
    params = {"year": period.year, "period": period.id, "window_end": period.window_end}
    with marts(settings, published) as (con, source, notice, schema):
        if period.year < settings.first_expected_year:  # nobody is expected before (DVK_FIRST_EXPECTED_YEAR)
            missing, expected = [], 0
        else:
            missing = query_rows(con, MISSING_SQL.replace("marts.", f"{schema}."), params)
            expected = con.execute(EXPECTED_COUNT_SQL.replace("marts.", f"{schema}."),
                                   {"window_end": period.window_end}).fetchone()[0]
    return {"period_id": period.id, "due_date": period.due_date(settings.due_grace_days),
            "expected": expected, "missing": missing, "source": source, "notice": notice}

# --------------------------------------------------------------------------------------------
# quarantine


def _words(text: str) -> str:
    from dvk.text import fold

    return f" {fold(text)} "


_UNIT_PREFIXES = re.compile(r"^(phuong|xa|p|x|thi tran|tt)\s+")


def _mentions_unit(file_name: str, code: str, names: list[str]) -> bool:
    """Does the file's name point at the unit (its code, name or an alias)?"""
    from dvk.text import fold

    words = _words(file_name)
    if f" {fold(code)} " in words:
        return True
    for name in names:
        key = _UNIT_PREFIXES.sub("", fold(name)).strip()
        if key and f" {key} " in words:
            return True
    return False


def collect_quarantine(settings: Settings, unit: str | None = None) -> list[dict[str, Any]]:
    with read_only(warehouse.target(settings)) as con:
        tables = warehouse.table_names(con, "raw")
        if "quarantine" not in tables:
            return []
        files = query_rows(con, """
            select sha256, file_name, received_at, quarantined_at, load_id, quarantine_path, report_path
            from raw.quarantine order by quarantined_at, file_name""")
        problems = query_rows(con, """
            select sha256, file_name, problem_no, sheet, "row", "column", code, message_vi, message_en
            from raw.quarantine_problems order by sha256, file_name, problem_no""") if "quarantine_problems" in tables else []
    by_file: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in problems:
        by_file.setdefault((p["sha256"], p["file_name"]), []).append(p)
    if unit:
        from dvk.reference import UnitDirectory

        found = UnitDirectory().lookup_code(unit)
        names = [found.name, *found.aliases] if found else []
        files = [f for f in files if _mentions_unit(f["file_name"], unit, names)]
    for f in files:
        f["problems"] = by_file.get((f["sha256"], f["file_name"]), [])
    return files

