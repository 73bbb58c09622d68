"""The command line for the data engineer's daily questions: ``python -m dvk …`` or ``./scripts/dvk …``.

    dvk status                      last ingest, files waiting, quarantine, gate per year, publication
    dvk missing --period 2022Q1     expected units without an accepted submission for a period
    dvk quarantine [--unit 18070]   quarantined files and each file's problems
    dvk rebuild --year 2021         dbt build, then the gate and the annual report of that year
    dvk report --year 2021          the gate and the annual report of that year
    dvk publish [--year 2021]       publish for analysts the years whose gate passed (others keep their rows)
    dvk sql [-c "select …"]         read-only SQL on the published warehouse (``./scripts/sql``)

Every read goes through a read-only DuckDB connection. The settings come from ``dvk.settings``
(``DVK_INBOX_DIR``, ``DVK_WAREHOUSE``, ``DVK_REPORTS_DIR``, ``DVK_QUARANTINE_DIR``,
``DVK_PUBLISHED_DIR``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import hashlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import duckdb

from dvk.settings import Settings, get_settings

EXIT_OK = 0
EXIT_FAILED = 1  # a gate failed, a publication was refused, a query failed
EXIT_USAGE = 2  # bad arguments (argparse uses 2 as well)
EXIT_UNAVAILABLE = 3  # no warehouse / no publication yet / the warehouse is held by a writer


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------------------------
# output helpers


class Progress:
    """Step lines with the seconds elapsed since the command started."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out
        self.t0 = time.monotonic()

    def line(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", file=self.out or sys.stdout, flush=True)

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        start = time.monotonic()
        self.line(f"▶ {label} …")
        try:
            yield
        except BaseException:
            self.line(f"✗ {label}: thất bại / failed ({time.monotonic() - start:.1f}s)")
            raise
        self.line(f"✓ {label} ({time.monotonic() - start:.1f}s)")


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fmt_ts(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if value.tzinfo is None else "")
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


def _is_lock_error(exc: BaseException) -> bool:
    from dvk.warehouse_lock import is_lock_error

    return is_lock_error(exc)


#: How long a command waits for a pipeline run that holds the warehouse (someone is at the terminal).
CLI_LOCK_WAIT_SECONDS = 20.0


def _open_read_only(path: Path, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``path``, waiting with backoff (``dvk.warehouse_lock``) up to
    ``wait`` seconds (default: ``CLI_LOCK_WAIT_SECONDS`` or ``DVK_LOCK_WAIT_SECONDS`` if shorter)
    while a writer holds it; CliError if missing or still held."""
    from dvk.warehouse_lock import WarehouseBusy, wait_for_lock

    path = Path(path)
    if not path.is_file():
        raise CliError(
            f"Không tìm thấy cơ sở dữ liệu {path} / database file {path} does not exist", EXIT_UNAVAILABLE
        )
    if wait is None:
        wait = min(CLI_LOCK_WAIT_SECONDS, get_settings().lock_wait_seconds)
    try:
        return wait_for_lock(lambda: duckdb.connect(str(path), read_only=True), what=str(path), timeout=wait)
    except WarehouseBusy as exc:
        raise CliError(
            f"Kho dữ liệu {path} đang được một lần chạy khác ghi; hãy thử lại sau "
            f"/ the warehouse {path} is being written by a pipeline run; try again later ({exc})",
            EXIT_UNAVAILABLE,
        ) from exc


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = _open_read_only(path)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def _marts(settings: Settings, published: bool) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """Read-only marts: the warehouse, or the published copy when asked or when a writer holds
    the warehouse. Yields (connection, label of the source)."""
    con = None
    source = ""
    if not published:
        try:
            # With a published copy to fall back on, wait only briefly for a writer.
            wait = 2.0 if settings.published_warehouse.is_file() else None
            con = _open_read_only(settings.warehouse, wait=wait)
            source = f"kho dữ liệu / warehouse {settings.warehouse}"
        except CliError as exc:
            if exc.code != EXIT_UNAVAILABLE or not settings.published_warehouse.is_file():
                raise
            _err(f"{exc}\n→ dùng bản phát hành / reading the published copy {settings.published_warehouse}")
    if con is None:
        con = _open_read_only(settings.published_warehouse)
        source = f"bản phát hành / published copy {settings.published_warehouse}"
    try:
        yield con, source
    finally:
        con.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


# --------------------------------------------------------------------------------------------
# status


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
        "warehouse": str(settings.warehouse),
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
    if settings.warehouse.is_file():
        try:
            with _read_only(settings.warehouse) as con:
                status["warehouse_state"] = "ok"
                tables = {r[0] for r in con.execute(
                    "select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()}
                if "loads" in tables:
                    last = _rows(con, """
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
                    status["warnings"] = _rows(con, """
                        select file_name, sheet, "row", "column", code, message_vi, message_en
                        from raw.submission_warnings order by file_name, warning_no limit 50""")
        except CliError as exc:
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
            status["waiting_files"] = [p.name for p in files if _hash_file(p) not in known]
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
            "database": str(settings.published_warehouse),
            "gate_years_passed": manifest.get("gate_years_passed"),
            "years_current": manifest.get("years_current"),
            "years_held_back": manifest.get("years_held_back"),
            "years": manifest.get("years") or {},
            "tables": len(manifest.get("tables") or []),
            "source_modified_at": manifest.get("source_modified_at"),
            "warehouse_changed_since": _warehouse_changed_since(settings, manifest.get("source_modified_at")),
        }
    return status


def _warehouse_changed_since(settings: Settings, source_modified_at: str | None) -> bool | None:
    if not source_modified_at or not settings.warehouse.is_file():
        return None
    try:
        published = dt.datetime.fromisoformat(source_modified_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    now = dt.datetime.fromtimestamp(settings.warehouse.stat().st_mtime, dt.timezone.utc).replace(microsecond=0)
    return now > published


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    s = collect_status(settings)
    if args.json:
        _print_json(s)
        return EXIT_OK
    print(f"Kho dữ liệu / warehouse:   {s['warehouse']}")
    if s["warehouse_state"] == "missing":
        print("  chưa có: hãy chạy ./scripts/run / not built yet: run ./scripts/run")
    elif s["warehouse_state"] == "busy":
        print("  đang được ghi (một lần chạy đang diễn ra) / being written (a pipeline run is in progress)")
    last = s["last_load"]
    if last:
        print(
            f"Lần nạp gần nhất / last ingest: {_fmt_ts(last['started_at'])} (load {str(last['load_id'])[:8]}, "
            f"{s['loads']} lần / runs in all)"
        )
        print(
            f"  {last['files_seen']} tệp / files seen: {last['files_loaded']} nạp / loaded, "
            f"{last['files_skipped']} bỏ qua (đã nạp) / skipped (already loaded), "
            f"{last['files_quarantined']} cách ly / quarantined"
            + ("" if last["finished_at"] else "  — CHƯA KẾT THÚC / NOT FINISHED")
        )
    elif s["warehouse_state"] == "ok":
        print("Lần nạp gần nhất / last ingest: chưa có / none")
    if s["submissions"] is not None:
        print(f"Báo cáo trong kho / submissions loaded: {s['submissions']}")
    waiting = s["waiting_files"]
    if waiting is None:
        print(f"Tệp chờ nạp / files waiting in the inbox: ? ({s['inbox_dir']})")
    else:
        uploading = len(s["uploads_in_progress"] or [])
        print(f"Tệp chờ nạp / files waiting in the inbox: {len(waiting) + uploading} ({s['inbox_dir']})")
        for name in waiting[:20]:
            print(f"  - {name}")
        if len(waiting) > 20:
            print(f"  … và {len(waiting) - 20} tệp khác / and {len(waiting) - 20} more")
    for name in s["uploads_in_progress"] or []:
        print(f"  - {name}  (đang tải lên, chờ lần chạy sau / upload in progress: waits for the next run)")
    for label, items in (("Tệp bỏ qua (tên tạm) / ignored (temporary names)", s["ignored_files"]),
                         ("Tệp bị từ chối / refused (not regular files)", s["refused_files"])):
        if items:
            print(f"{label}: {len(items)}")
            for name, why in list(items.items())[:20]:
                print(f"  - {name}: {why}")
    if s["warnings"]:
        print(f"Cảnh báo khi nạp / ingest warnings: {len(s['warnings'])}")
        for w in s["warnings"][:20]:
            print(f"  - {w['file_name']}: {_where(w)}: {w['message_vi']}")
    if s["quarantined_files"] is not None:
        hint = "  (./scripts/dvk quarantine)" if s["quarantined_files"] else ""
        print(f"Tệp bị cách ly / quarantined files: {s['quarantined_files']}{hint}")
    build = s["dbt_last_build"]
    if build:
        failed = f", {len(build['failed'])} lỗi / failed" if build["failed"] else ""
        print(f"dbt build gần nhất / last dbt build: {build['generated_at']} ({build['nodes']} nodes{failed})")
    if s["gate"]:
        print("Kiểm tra chất lượng / quality gate:")
        for year, g in sorted(s["gate"].items()):
            verdict = "ĐẠT / passed" if g.get("passed") else f"KHÔNG ĐẠT / FAILED ({g.get('failures', '?')} lỗi / failures)"
            print(f"  {year}: {verdict}, {g.get('checked_at')}")
    else:
        print("Kiểm tra chất lượng / quality gate: chưa chạy / not run yet")
    for year, r in sorted(s["annual_reports"].items()):
        print(
            f"Báo cáo năm / annual report {year}: {r['units_registered']} đơn vị / units, {r['models_total']} mô hình / models "
            f"({r['models_new']} xây mới / new, {r['models_replicated']} nhân rộng / replicated) → {r['path']}"
        )
    p = s["published"]
    if p:
        years = ", ".join(str(y) for y in p["gate_years_passed"] or []) or "—"
        print(f"Bản phát hành / published: {p['published_at']} ({p['tables']} bảng / tables, năm đạt / gate years: {years})")
        print(f"  {p['database']}")
        _print_years(p["years"], indent="  ")
        if p["warehouse_changed_since"]:
            print("  kho dữ liệu đã thay đổi sau lần phát hành / the warehouse changed since (./scripts/dvk publish)")
    else:
        print("Bản phát hành / published: chưa có / nothing published yet")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# missing


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


def cmd_missing(args: argparse.Namespace, settings: Settings) -> int:
    from dvk.periods import PeriodError, parse_period

    try:
        period = parse_period(args.period, today=dt.date(9999, 1, 1))
    except PeriodError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    params = {"year": period.year, "period": period.id, "window_end": period.window_end}
    with _marts(settings, args.published) as (con, source):
        missing = _rows(con, MISSING_SQL, params)
        expected = con.execute(EXPECTED_COUNT_SQL, {"window_end": period.window_end}).fetchone()[0]
    due = period.due_date(settings.due_grace_days)
    if args.json:
        _print_json({"period_id": period.id, "due_date": due, "expected": expected,
                     "missing": missing, "source": source})
        return EXIT_OK
    print(f"Kỳ / period {period.id} (hạn nộp / due {due:%d/%m/%Y}); nguồn / source: {source}")
    print(
        f"{len(missing)} / {expected} đơn vị phải báo cáo chưa có báo cáo được chấp nhận "
        f"/ of the expected units have no accepted submission"
    )
    for row in missing:
        other = f"  (đã gửi / has sent: {row['other_periods_reported']})" if row["other_periods_reported"] else ""
        print(f"  {row['unit_code']:<6} {row['unit_name']} [{row['unit_kind']}]{other}")
    return EXIT_OK


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
    with _read_only(settings.warehouse) as con:
        tables = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()}
        if "quarantine" not in tables:
            return []
        files = _rows(con, """
            select sha256, file_name, received_at, quarantined_at, load_id, quarantine_path, report_path
            from raw.quarantine order by quarantined_at, file_name""")
        problems = _rows(con, """
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


def _where(p: dict[str, Any]) -> str:
    parts = []
    if p.get("sheet"):
        parts.append(f"sheet «{p['sheet']}»")
    if p.get("row") is not None:
        parts.append(f"dòng / row {p['row']}")
    if p.get("column"):
        parts.append(f"cột / column «{p['column']}»")
    return ", ".join(parts) or "tệp / file"


def cmd_quarantine(args: argparse.Namespace, settings: Settings) -> int:
    files = collect_quarantine(settings, args.unit)
    if args.json:
        _print_json(files)
        return EXIT_OK
    scope = f" của đơn vị / for unit {args.unit}" if args.unit else ""
    print(f"{len(files)} tệp bị cách ly{scope} / quarantined file(s){scope}")
    for i, f in enumerate(files, start=1):
        print(
            f"\n{i}. {f['file_name']}  (nhận / received {_fmt_ts(f['received_at'])}, "
            f"cách ly / quarantined {_fmt_ts(f['quarantined_at'])}, load {str(f['load_id'])[:8]})"
        )
        print(f"   tệp / file: {f['quarantine_path']}")
        print(f"   báo cáo lỗi / problem report: {f['report_path']}")
        for p in f["problems"]:
            print(f"   - [{p['code']}] {_where(p)}: {p['message_vi']}")
            print(f"     {p['message_en']}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# rebuild / report / publish


@contextlib.contextmanager
def _quiet_dbt(verbose: bool) -> Iterator[None]:
    """dbt prints every node; keep only its errors unless --verbose."""
    if verbose:
        yield
        return
    saved = os.environ.get("DBT_QUIET")
    os.environ["DBT_QUIET"] = "true"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DBT_QUIET", None)
        else:
            os.environ["DBT_QUIET"] = saved


def _gate_and_report(year: int, progress: Progress) -> int:
    from dvk import pipeline
    from dvk.gate import GateFailed

    try:
        with progress.step(f"kiểm tra chất lượng năm {year} / quality gate {year} (Great Expectations)"):
            gate_result = pipeline.gate(year)
    except GateFailed as exc:
        print(str(exc))
        return EXIT_FAILED
    with progress.step(f"lập báo cáo năm {year} / annual report {year}"):
        folder = Path(pipeline.report(year, gate_result))
    _print_headline(folder)
    print("→ ./scripts/dvk publish: phát hành cho người phân tích / publish it for the analysts")
    return EXIT_OK


def _print_headline(folder: Path) -> None:
    try:
        s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(f"→ {folder}")
        return
    print(
        f"Năm {s['year']}: {s['units_registered']} đơn vị, {s['models_total']} mô hình, {s['models_new']} xây mới, "
        f"{s['models_replicated']} nhân rộng / {s['units_registered']} units, {s['models_total']} models, "
        f"{s['models_new']} new, {s['models_replicated']} replicated → {folder}"
    )


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from dvk import pipeline
    from dvk.transform import TransformError

    progress = Progress()
    progress.line(f"kho dữ liệu / warehouse {settings.warehouse}")
    try:
        with progress.step("dbt build (staging, intermediate, marts, dbt tests)"), _quiet_dbt(args.verbose):
            pipeline.transform()
    except TransformError as exc:
        print(str(exc))
        return EXIT_FAILED
    return _gate_and_report(args.year, progress)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    progress = Progress()
    if not settings.warehouse.is_file():
        raise CliError(f"Không tìm thấy kho dữ liệu / no warehouse at {settings.warehouse}", EXIT_UNAVAILABLE)
    return _gate_and_report(args.year, progress)


def _print_years(years: dict[str, dict[str, Any]], indent: str = "  ") -> None:
    """One line per year of a publication: current, or held back with why and since when."""
    for year, y in sorted(years.items()):
        if y.get("state") == "current":
            gated = "kiểm tra đạt / gate passed" if y.get("gated") else "không kiểm tra (chưa có báo cáo năm) / not gated (no annual report)"
            print(f"{indent}{year}: MỚI NHẤT / current ({gated})")
            continue
        rows = y.get("rows_as_of")
        rows_txt = (f"giữ số liệu phát hành {rows} / keeps the rows published {rows}" if rows
                    else "chưa từng phát hành: không có số liệu / never published: no rows")
        print(f"{indent}{year}: GIỮ LẠI / HELD BACK từ / since {y.get('held_since')}: {y.get('reason_vi')} / "
              f"{y.get('reason_en')}; {rows_txt}")
        for line in y.get("gate_failure_summary") or []:
            print(f"{indent}    - {line}")
        more = (y.get("gate_failures") or 0) - len(y.get("gate_failure_summary") or [])
        if more > 0:
            print(f"{indent}    - … và {more} lỗi khác / and {more} more ({y.get('gate_result')})")


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    from dvk.publish import PublishError, PublishRefused, publish_years

    progress = Progress()
    years = args.year or None
    try:
        with progress.step(f"phát hành / publishing to {settings.published_dir}"):
            result = publish_years(years, settings, only=bool(years))
    except PublishRefused as exc:
        print(str(exc))
        return EXIT_FAILED
    except PublishError as exc:
        print(str(exc))
        return EXIT_UNAVAILABLE
    years_txt = ", ".join(str(y) for y in result.gate_years_passed) or "—"
    print(f"Đã phát hành / published {result.published_at} (năm đạt kiểm tra / gate years passed: {years_txt})")
    print(f"  DuckDB:  {result.database}")
    print(f"  Parquet: {result.parquet_dir}/")
    for t in result.tables:
        print(f"  {t.qualified:<36} {t.rows:>8} dòng / rows")
    print("Các năm / years:")
    _print_years(result.years)
    # a year asked for (by default: every gated year) that was held back is a failure to look at
    held = [y for y in result.years_held_back if (y in years if years else result.years[str(y)].get("gated"))]
    return EXIT_FAILED if held else EXIT_OK


# --------------------------------------------------------------------------------------------
# sql


SQL_HELP = """\
Lệnh / commands (read-only; end SQL statements with ;):
  .tables              các bảng / the published tables, with row counts
  .schema TABLE        các cột của bảng / a table's columns (marts. may be omitted)
  .mode box|csv        cách in kết quả / output format
  .maxrows N           số dòng tối đa khi in bảng / rows shown per result (box mode)
  .reload              mở lại bản phát hành mới nhất / reopen the newest publication
  .help                trợ giúp / this help
  .quit                thoát / quit (also Ctrl-D)
The marts are on the search path: `from fct_model` = `from marts.fct_model`.
"""


_TRAILING_COMMENT = re.compile(r"--[^\n']*$")


def _statement_text(query: str) -> str:
    """The statement without its trailing ``;`` and comments (``.show()`` re-parses the text as a
    subquery, where they are a syntax error); "" for a statement that is only comments."""
    try:
        tokens = duckdb.tokenize(query)
    except Exception:  # noqa: BLE001 - no tokenizer: the text as it is
        return query.strip().rstrip(";").strip()
    comment = duckdb.token_type.comment
    operator = duckdb.token_type.operator
    data = query.encode("utf-8")  # token positions are byte offsets
    last = None
    for i, (start, kind) in enumerate(tokens):
        if kind == comment or (kind == operator and data[start:start + 1] == b";"):
            continue
        last = i
    if last is None:
        return ""
    end = tokens[last + 1][0] if last + 1 < len(tokens) else len(data)
    return data[:end].decode("utf-8").strip()


class SqlSession:
    """A small read-only SQL shell on one DuckDB file."""

    def __init__(self, path: Path, out: TextIO | None = None, fmt: str = "box",
                 max_rows: int | None = None, max_width: int | None = None) -> None:
        self.path = Path(path)
        self.out = out
        self.fmt = fmt
        self.max_rows = max_rows
        self.max_width = max_width
        self.con: duckdb.DuckDBPyConnection | None = None
        self.connect()

    @property
    def stdout(self) -> TextIO:
        return self.out or sys.stdout

    def connect(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
        if not self.path.is_file():
            raise CliError(
                f"Chưa có bản phát hành {self.path}: hãy chạy ./scripts/dvk publish "
                f"/ nothing published at {self.path} yet: run ./scripts/dvk publish",
                EXIT_UNAVAILABLE,
            )
        try:
            self.con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as exc:
            if _is_lock_error(exc):
                raise CliError(f"{self.path} đang bị khoá / is locked by a writer: {exc}", EXIT_UNAVAILABLE) from exc
            raise
        schemas = {r[0] for r in self.con.execute("select schema_name from duckdb_schemas()").fetchall()}
        path = ",".join(s for s in ("marts", "meta", "main") if s in schemas)
        if path:
            self.con.execute(f"set search_path = '{path}'")

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def published_at(self) -> str | None:
        try:
            row = self.con.execute("select published_at from meta.publication").fetchone()
        except duckdb.Error:
            return None
        return _fmt_ts(row[0]) if row else None

    # ---- output

    def _print_relation(self, rel: duckdb.DuckDBPyRelation) -> None:
        if self.fmt == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(rel.columns)
            for row in rel.fetchall():
                writer.writerow(["" if v is None else v for v in row])
            return
        kwargs: dict[str, Any] = {}
        if self.max_rows is not None:
            kwargs["max_rows"] = self.max_rows
        width = self.max_width
        if width is None and not self.stdout.isatty():
            width = 100_000  # piped or captured: never elide columns for a terminal that isn't there
        if width is not None:
            kwargs["max_width"] = width
        if self.out is None:
            rel.show(**kwargs)
        else:
            with contextlib.redirect_stdout(self.out):
                rel.show(**kwargs)

    # ---- execution

    def execute(self, text: str) -> bool:
        """Run every statement of ``text``; print results; False on the first error."""
        try:
            statements = duckdb.extract_statements(text)
        except duckdb.Error as exc:
            _err(f"Lỗi / error: {exc}")
            return False
        for statement in statements:
            text = _statement_text(statement.query)
            if not text:
                continue
            try:
                rel = self.con.sql(text)
                if rel is not None:
                    self._print_relation(rel)
            except duckdb.Error as exc:
                _err(f"Lỗi / error: {exc}")
                return False
        return True

    def dot(self, line: str) -> bool | None:
        """A dot command; None means quit."""
        parts = line.split()
        cmd, rest = parts[0].lower(), parts[1:]
        if cmd in (".quit", ".exit", ".q"):
            return None
        if cmd == ".help":
            print(SQL_HELP, file=self.stdout)
            return True
        if cmd == ".tables":
            try:
                self.con.execute("select 1 from meta.published_tables limit 0")
            except duckdb.Error:
                return self.execute(
                    "select schema_name || '.' || table_name as table_name, estimated_size as row_count "
                    "from duckdb_tables() where database_name = current_database() order by 1;"
                )
            return self.execute(
                "select table_schema || '.' || table_name as table_name, row_count, parquet_file "
                "from meta.published_tables order by 1;"
            )
        if cmd in (".schema", ".describe") and rest:
            name = rest[0].rstrip(";")
            return self.execute(f"describe {name};")
        if cmd == ".mode" and rest and rest[0] in ("box", "csv"):
            self.fmt = rest[0]
            return True
        if cmd == ".maxrows" and rest and rest[0].isdigit():
            self.max_rows = int(rest[0])
            return True
        if cmd == ".reload":
            self.connect()
            print(f"Đã mở lại / reopened {self.path} (phát hành / published {self.published_at()})", file=self.stdout)
            return True
        _err(f"Lệnh không rõ / unknown command: {line} (.help)")
        return False

    def repl(self, stream: TextIO, interactive: bool) -> int:
        if interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())
            print(
                f"DVK — {self.path} (chỉ đọc / read-only; phát hành / published {self.published_at() or '—'})\n"
                "Kết thúc câu lệnh bằng ; — .help để xem trợ giúp, .quit để thoát. "
                "/ End statements with ; — .help for help, .quit to quit.",
                file=self.stdout,
            )
        buffer: list[str] = []
        failures = 0
        while True:
            if interactive:
                try:
                    line = input("dvk> " if not buffer else " ..> ")
                except EOFError:
                    print(file=self.stdout)
                    break
                except KeyboardInterrupt:
                    print(file=self.stdout)
                    buffer.clear()
                    continue
            else:
                line = stream.readline()
                if line == "":
                    break
            stripped = line.strip()
            if not buffer and stripped.startswith("."):
                try:
                    outcome = self.dot(stripped)
                except CliError as exc:
                    _err(str(exc))
                    outcome = False
                if outcome is None:
                    break
                failures += outcome is False
                continue
            if not buffer and not stripped:
                continue
            buffer.append(line.rstrip("\n"))
            if _TRAILING_COMMENT.sub("", stripped).rstrip().endswith(";"):
                failures += not self._run(buffer)
        if buffer and "".join(buffer).strip():
            failures += not self._run(buffer)
        return EXIT_FAILED if failures and not interactive else EXIT_OK

    def _run(self, buffer: list[str]) -> bool:
        text = "\n".join(buffer)
        buffer.clear()
        try:
            return self.execute(text)
        except KeyboardInterrupt:
            _err("Đã dừng câu lệnh / statement interrupted")
            return False


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    if args.db:
        path = Path(args.db).expanduser()
    elif args.warehouse:
        path = settings.warehouse
    else:
        path = settings.published_warehouse
    session = SqlSession(path, fmt="csv" if args.csv else "box", max_rows=args.max_rows, max_width=args.max_width)
    try:
        if args.command is not None:
            return EXIT_OK if session.execute(args.command) else EXIT_FAILED
        return session.repl(sys.stdin, interactive=sys.stdin.isatty())
    finally:
        session.close()


# --------------------------------------------------------------------------------------------
# parser


DESCRIPTION = """\
Dân vận khéo — công cụ dòng lệnh cho người vận hành kho dữ liệu.
Dân vận khéo — the command line for the warehouse's operators.

Cài đặt / settings: DVK_INBOX_DIR, DVK_WAREHOUSE, DVK_REPORTS_DIR, DVK_QUARANTINE_DIR, DVK_PUBLISHED_DIR.
"""

EPILOG = """\
Ví dụ / examples:
  ./scripts/dvk status
  ./scripts/dvk missing --period 2022Q1          (or "Quý I/2022")
  ./scripts/dvk quarantine --unit 18070
  ./scripts/dvk rebuild --year 2021
  ./scripts/dvk report --year 2021
  ./scripts/dvk publish
  ./scripts/dvk sql -c "select * from marts.dim_field"
"""


def _year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"năm không hợp lệ / not a year: {text!r}") from None
    if not 2000 <= year <= 2100:
        raise argparse.ArgumentTypeError(f"năm ngoài khoảng 2000–2100 / year outside 2000–2100: {year}")
    return year


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="dvk", description=DESCRIPTION, epilog=EPILOG, formatter_class=fmt)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="in nhật ký chi tiết (dbt, Great Expectations) / show detailed logs")
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND")

    p = sub.add_parser(
        "status", formatter_class=fmt,
        help="tình trạng kho dữ liệu / pipeline status",
        description="Lần nạp gần nhất, tệp chờ nạp, tệp bị cách ly, kết quả kiểm tra từng năm, bản phát hành.\n"
                    "Last ingest, files waiting in the inbox, quarantine, last gate result per year, publication.",
    )
    p.add_argument("--json", action="store_true", help="in JSON / print JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "missing", formatter_class=fmt,
        help="đơn vị chưa báo cáo một kỳ / units that have not reported for a period",
        description="Các đơn vị phải báo cáo trong năm của kỳ mà chưa có báo cáo được chấp nhận cho đúng kỳ đó.\n"
                    "Units expected in the period's year without an accepted submission for that period.",
    )
    p.add_argument("--period", required=True,
                   help="kỳ báo cáo / the period: 2022Q1, 2022S1, 2021, 202203, \"Quý I/2022\", \"Năm 2021\" …")
    p.add_argument("--published", action="store_true",
                   help="đọc bản phát hành thay vì kho dữ liệu / read the published copy instead of the warehouse")
    p.add_argument("--json", action="store_true", help="in JSON / print JSON")
    p.set_defaults(func=cmd_missing)

    p = sub.add_parser(
        "quarantine", formatter_class=fmt,
        help="danh sách tệp bị cách ly và lỗi / quarantined files and their problems",
        description="Mỗi tệp bị cách ly với từng lỗi (sheet, dòng, cột) từ raw.quarantine_problems.\n"
                    "Every quarantined file with each problem (sheet, row, column) from raw.quarantine_problems.",
    )
    p.add_argument("--unit", metavar="CODE",
                   help="chỉ các tệp của đơn vị (mã trong tên tệp) / only files of this unit (code or name in the file name)")
    p.add_argument("--json", action="store_true", help="in JSON / print JSON")
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser(
        "rebuild", formatter_class=fmt,
        help="dựng lại (dbt build), kiểm tra và lập báo cáo một năm / rebuild, gate and report a year",
        description="dbt build (staging, intermediate, marts, dbt tests), rồi kiểm tra chất lượng và báo cáo năm.\n"
                    "dbt build, then the quality gate and the annual report of the year. Exit 1 if the gate fails.",
    )
    p.add_argument("--year", type=_year, required=True, help="năm báo cáo / the report year")
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser(
        "report", formatter_class=fmt,
        help="kiểm tra chất lượng và lập báo cáo năm / gate and annual report of a year",
        description="Kiểm tra chất lượng (Great Expectations) rồi lập báo cáo năm, trên kho dữ liệu hiện có.\n"
                    "The quality gate, then the annual report, on the warehouse as it is. Exit 1 if the gate fails.",
    )
    p.add_argument("--year", type=_year, required=True, help="năm báo cáo / the report year")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "publish", formatter_class=fmt,
        help="phát hành kho dữ liệu cho người phân tích / publish the warehouse for analysts",
        description="Sao các bảng marts sang một tệp DuckDB chỉ đọc và Parquet: các năm đạt kiểm tra chất lượng được\n"
                    "cập nhật; năm không đạt (hoặc chưa kiểm tra, hoặc kiểm tra trước khi kho thay đổi) giữ số liệu\n"
                    "đã phát hành lần trước (không có nếu chưa từng phát hành).\n"
                    "Copy the marts into a read-only DuckDB file and Parquet files: the years whose gate passed are\n"
                    "updated; a year whose gate failed (or has not run, or ran before the warehouse changed) keeps\n"
                    "its last published rows (none if never published). Exit 1 if a year was held back by its gate,\n"
                    "or nothing was published because no year passed.",
    )
    p.add_argument("--year", type=_year, action="append",
                   help="chỉ phát hành năm này (lặp lại được); các năm khác giữ nguyên như lần phát hành trước "
                        "/ publish only this year (repeatable); every other year stays as last published")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser(
        "sql", formatter_class=fmt,
        help="truy vấn SQL chỉ đọc trên bản phát hành / read-only SQL on the published warehouse",
        description="Phiên SQL chỉ đọc trên bản phát hành (./scripts/sql). Không có -c: đọc câu lệnh từ bàn phím hoặc stdin.\n"
                    "A read-only SQL session on the published warehouse. Without -c: statements from the keyboard or stdin.",
    )
    p.add_argument("-c", "--command", metavar="SQL", help="chạy một lần rồi thoát / run once and exit")
    p.add_argument("--csv", action="store_true", help="in CSV thay vì bảng / print CSV instead of tables")
    p.add_argument("--max-rows", type=int, default=None, help="số dòng tối đa mỗi kết quả / rows shown per result")
    p.add_argument("--max-width", type=int, default=None, help="độ rộng tối đa / maximum output width")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--warehouse", action="store_true",
                     help="mở kho dữ liệu (chỉ đọc) thay vì bản phát hành / open the warehouse itself (read-only)")
    src.add_argument("--db", metavar="PATH", help="mở tệp DuckDB khác (chỉ đọc) / open another DuckDB file (read-only)")
    p.set_defaults(func=cmd_sql)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="replace")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = get_settings()
    from dvk.filemodes import apply_umask

    apply_umask(settings)
    try:
        return args.func(args, settings)
    except CliError as exc:
        _err(str(exc))
        return exc.code
    except KeyboardInterrupt:
        _err("Đã dừng / interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK


__all__ = ["SqlSession", "build_parser", "collect_quarantine", "collect_status", "main"]
