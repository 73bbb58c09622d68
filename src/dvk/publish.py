"""Publish the warehouse for analysts: a read-only DuckDB copy and Parquet files, swapped in atomically.

DuckDB lets one process write a database file and, while it does, nobody else may open it, not
even read-only. Analysts therefore never open the warehouse itself: after a run, the marts are
copied into a *new* database file which is then moved onto the published one with ``os.replace``
(an atomic rename). A reader that holds the old file open keeps reading the old inode, a consistent
copy, for as long as it likes; a reader that connects after the swap sees the new figures; the
writer never waits on readers, and readers never wait on the writer.

One failed year never holds back the others (issue 11 §6). Each year is published on its own
gate: a year whose gate passed on the warehouse as it is now is *current* (the warehouse's rows);
a year whose gate failed, has not run, or ran before the warehouse last changed is *held back*: it
keeps the rows it had in the last publication (none if it never had any). Per-year tables are the
facts (every table but the ``dim_*`` ones) with a ``year`` or ``period_year`` column, or a
``period_id`` (its year from ``dim_period``); the dims are published whole from the warehouse.

    publish_years(years=None, settings=None, only=False)     # the pipeline and ``dvk publish``;
                                                              # only=True: ``dvk publish --year``
    publish_if_gate_passed(years=None, settings=None)        # the same, without ``only``
    publish(settings=None) -> PublishResult                  # every year current, no gate decision

Layout under ``settings.published_dir`` (``DVK_PUBLISHED_DIR``, default ``<warehouse dir>/published``)::

    dvk.duckdb                 schema ``marts`` (every mart and dim), schema ``meta`` (publication,
                               publication_years, published_tables); storage format v1.2.0
                               (:data:`PUBLISHED_STORAGE_VERSION`), so DuckDB 1.x opens it too
    parquet/<table>.parquet    one file per mart; ``parquet`` is a symlink to ``parquet-<stamp>/``,
                               swapped atomically: each file opened through it is one
                               publication's. DuckDB opens a file more than once in a query, and
                               two tables read through the link may straddle a publication, so
                               scripts read the version's own folder (:func:`dvk.analyst.parquet_folder`)
    manifest.json              tables, row counts, source warehouse, published_at, and per year:
                               current or held back, why, since when, whose rows

The database, the Parquet folder and the manifest are read-only on disk (write bits removed); the
published folder itself stays writable by the owner, so the next publication can swap them.

On PostgreSQL (``DVK_WAREHOUSE_URL``) nothing is copied: the same years are published into the
schema ``analytics`` of the warehouse, readable by the role ``dvk_analyst`` (:mod:`dvk.publish_pg`).

Only the ``marts`` schema is published (no raw, staging or intermediate layer), and any column that
carries personal data (``preparer_name``, ``preparer_phone`` and the like) is left out even if a
mart were ever to expose it. The warehouse is read through ``ATTACH ... (READ_ONLY)``, so publishing
never holds it for writing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from dvk import warehouse as dvk_warehouse
from dvk.filemodes import make_read_only, remove_tree, write_text_atomic
from dvk.settings import Settings, get_settings
from dvk.warehouse import comment_on, quote_ident, quote_string

log = logging.getLogger(__name__)

#: The schemas of the warehouse that analysts get.
PUBLISHED_SCHEMAS = ("marts",)
#: Column names that carry personal data (spec §3: "Người lập biểu", "Số điện thoại"): never published.
PERSONAL_DATA_COLUMNS = re.compile(r"preparer|phone|nguoi_lap|dien_thoai|so_dt", re.IGNORECASE)
DATABASE_NAME = "dvk.duckdb"
PARQUET_LINK = "parquet"
MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".publish.lock"
#: How many Parquet versions stay on disk (the current one and the one before, for slow readers).
KEEP_PARQUET_VERSIONS = 2
#: How long to wait for a writer that holds the warehouse (e.g. an ingest that started meanwhile).
ATTACH_TIMEOUT_SECONDS = 120.0
#: The storage format of the published database: DuckDB 2.0 writes files DuckDB 1.x cannot open
#: ("database file with version number 999"); v1.2.0 is read by every DuckDB from 1.2 on
#: (tests/test_analyst_guide.py opens it with DuckDB 1.4 and runs the guide's queries).
PUBLISHED_STORAGE_VERSION = "v1.2.0"
#: The name the new database is attached under while it is written.
PUBLISHED_ALIAS = "pub"


class PublishError(RuntimeError):
    """Publishing could not run (no warehouse, no marts, the warehouse held by a writer too long)."""


class PublishRefused(PublishError):
    """The gate of a year did not pass (or has not run on the warehouse as it is): nothing published."""

    def __init__(self, reasons: list[tuple[int, str, str]]):
        self.reasons = reasons  # (year, message_vi, message_en)
        lines = [
            "Không phát hành kho dữ liệu cho người phân tích; bản phát hành trước được giữ nguyên. "
            "/ Not publishing the warehouse; the last published copy stays as it was."
        ]
        lines += [f"- {year}: {vi} / {en}" for year, vi, en in reasons]
        super().__init__("\n".join(lines))

    @property
    def years(self) -> list[int]:
        return sorted({year for year, _, _ in self.reasons})


@dataclass
class PublishedTable:
    schema: str
    name: str
    rows: int
    columns: list[str]
    parquet: str | None  # relative to the published folder
    #: the column that says each row's year (a per-year table); None: published whole (dims)
    year_column: str | None = None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class PublishResult:
    database: Path
    parquet_dir: Path
    manifest: Path
    published_at: str
    source_warehouse: str
    tables: list[PublishedTable] = field(default_factory=list)
    gate: dict[str, dict[str, Any]] = field(default_factory=dict)
    gate_years_passed: list[int] = field(default_factory=list)
    excluded_columns: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0
    #: every year's state (:class:`YearState` as a dict), by year
    years: dict[str, dict[str, Any]] = field(default_factory=dict)
    years_current: list[int] = field(default_factory=list)
    years_held_back: list[int] = field(default_factory=list)
    #: the years whose rows this publication wrote from the warehouse (the others' rows are the
    #: last publication's: held back, or carried because nothing of theirs changed)
    years_republished: list[int] = field(default_factory=list)
    #: the last publication was updated (a copy of it, swapped in) rather than written whole
    in_place: bool = False
    #: nothing was published: every year's inputs are those of the last publication, which stays
    unchanged: bool = False

    @property
    def row_counts(self) -> dict[str, int]:
        return {t.qualified: t.rows for t in self.tables}

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["database"] = str(self.database)
        out["parquet_dir"] = str(self.parquet_dir)
        out["manifest"] = str(self.manifest)
        return out


# --------------------------------------------------------------------------------------------
# helpers


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _mtime_iso(path: Path) -> str | None:
    try:
        return _iso(dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc))
    except FileNotFoundError:
        return None


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort; not every platform can open a folder)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _publish_lock(folder: Path) -> Iterator[None]:
    """One publisher at a time (readers never take it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+") as fh:
        try:
            import fcntl
        except ImportError:  # not POSIX: rely on the scheduler running one publisher at a time
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _attach_warehouse(con: duckdb.DuckDBPyConnection, warehouse: Path, timeout: float) -> None:
    """``ATTACH <warehouse> AS wh (READ_ONLY)``, waiting while another process writes it."""
    try:
        dvk_warehouse.attach(con, warehouse, "wh", read_only=True, wait=timeout)
    except dvk_warehouse.WarehouseBusy as exc:
        raise PublishError(str(exc)) from exc


def _source_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str | None]]:
    """(schema, name, comment) of every table and view of the published schemas of ``wh``."""
    placeholders = ", ".join("?" for _ in PUBLISHED_SCHEMAS)
    rows = con.execute(
        f"""
        select schema_name, table_name, comment from duckdb_tables()
        where database_name = 'wh' and schema_name in ({placeholders})
        union all
        select schema_name, view_name, comment from duckdb_views()
        where database_name = 'wh' and not internal and schema_name in ({placeholders})
        order by 1, 2
        """,
        [*PUBLISHED_SCHEMAS, *PUBLISHED_SCHEMAS],
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def _source_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str | None]]:
    rows = con.execute(
        """
        select column_name, comment from duckdb_columns()
        where database_name = 'wh' and schema_name = ? and table_name = ?
        order by column_index
        """,
        [schema, table],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def read_gate_results(settings: Settings | None = None) -> dict[str, dict[str, Any]]:
    """Every year's last gate verdict (``<reports_dir>/gate/<year>/gate_result.json``)."""
    settings = settings or get_settings()
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((settings.reports_dir / "gate").glob("*/gate_result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            out[path.parent.name] = {"passed": False, "checked_at": _mtime_iso(path), "unreadable": True}
            continue
        out[str(data.get("year", path.parent.name))] = {
            "passed": bool(data.get("passed")),
            "checked_at": _mtime_iso(path),
            "failures": len(data.get("failures") or []),
            "path": str(path),
        }
    return out


def read_manifest(settings: Settings | None = None) -> dict[str, Any] | None:
    """The manifest of the current publication, or None if nothing was published yet."""
    settings = settings or get_settings()
    path = settings.published_dir / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _write_json_atomic(path: Path, data: Any, *, read_only: bool = False) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n", durable=True, read_only=read_only)


def _remove_stale(folder: Path, keep: Iterable[Path]) -> None:
    """Leftovers of interrupted publications, and Parquet versions older than the last ones kept.

    The version the ``parquet`` link points at is never removed, and it and the one before it are
    the ones kept (analysts' scripts read a resolved version folder, ``dvk.analyst.parquet_folder``):
    a version folder newer than the link's, which no link ever pointed at (a publication killed
    before its swap), is a leftover and does not count."""
    keep = {p.resolve() for p in keep}
    for tmp in folder.glob("dvk.tmp-*.duckdb*"):
        if tmp.resolve() not in keep:
            tmp.unlink(missing_ok=True)
    for tmp in folder.glob(f".{PARQUET_LINK}.tmp-*"):
        remove_tree(tmp)
    link = folder / PARQUET_LINK
    live = link.resolve() if link.is_symlink() and link.exists() else None
    if live is not None:
        keep.add(live)
    versions = sorted(
        (p for p in folder.glob(f"{PARQUET_LINK}-*") if p.is_dir() and not p.is_symlink()),
        key=lambda p: p.name,
    )
    published = [v for v in versions if live is None or v.name <= live.name or v.resolve() in keep]
    for leftover in (v for v in versions if v not in published):
        remove_tree(leftover)
    for old in published[:-KEEP_PARQUET_VERSIONS]:
        if old.resolve() not in keep:
            remove_tree(old)  # read-only on disk (make_read_only): made writable first


def _swap_parquet(folder: Path, version_dir: Path) -> Path:
    """Point ``<folder>/parquet`` at ``version_dir`` in one atomic step; return the link."""
    link = folder / PARQUET_LINK
    if link.exists() and not link.is_symlink():
        # A plain folder (an older layout or a platform without symlinks): move it aside first.
        link.rename(folder / f"{PARQUET_LINK}-0-legacy-{uuid.uuid4().hex[:8]}")
    tmp_link = folder / f".{PARQUET_LINK}.tmp-{uuid.uuid4().hex}"
    try:
        os.symlink(version_dir.name, tmp_link, target_is_directory=True)
    except (OSError, NotImplementedError):  # no symlinks here: a plain folder, renamed into place
        if link.exists():
            link.rename(folder / f"{PARQUET_LINK}-0-old-{uuid.uuid4().hex[:8]}")
        version_dir.rename(link)
        return link
    os.replace(tmp_link, link)
    return link


# --------------------------------------------------------------------------------------------
# which rows of which year (docs/analyst-guide.md, "Which years are new")


@dataclass
class YearState:
    """What the publication holds for one year: ``current`` (this warehouse's rows) or
    ``held_back`` (the rows of the last publication that had this year current, or none)."""

    year: int
    state: str  # CURRENT | HELD_BACK
    #: why held back: gate_failed, gate_not_run, gate_stale, gate_other_warehouse, gate_unreadable,
    #: not_requested; None when current
    reason: str | None = None
    reason_vi: str | None = None
    reason_en: str | None = None
    #: the year's gate applies (annual submissions, its annual report due, or asked for); False: a
    #: year in progress with only in-year (quarterly, half-year, monthly) reports, published as it is
    gated: bool = True
    gate_passed: bool | None = None
    gate_checked_at: str | None = None
    gate_failures: int | None = None
    #: the first failures of the gate (Vietnamese / English), all of them in ``gate_result``
    gate_failure_summary: list[str] = field(default_factory=list)
    gate_result: str | None = None
    data_docs: str | None = None
    #: held back since which publication (UTC); None when current
    held_since: str | None = None
    #: the publication whose rows of this year analysts see (UTC); None: no rows of this year
    rows_as_of: str | None = None
    #: current and left as it was: the inputs of the year (its submissions, the reference data and
    #: the dbt project, the gate) are those it was last published current from, so it was neither
    #: gated nor written again (its rows are the last publication's; ``dvk.changes``)
    carried: bool = False
    #: the inputs this year's rows were published from (``dvk.changes``): a digest of the year's
    #: submissions, of the reference (dbt project, seeds, units files, gate), the latest loaded_at
    data_fingerprint: str | None = None
    reference_fingerprint: str | None = None
    loaded_through: str | None = None


CURRENT = "current"
HELD_BACK = "held_back"
#: How many of a failed gate's messages the manifest repeats (all are in gate_result.json).
FAILURE_SUMMARY_LINES = 5
#: A year's column in a per-year table, in order of preference.
YEAR_COLUMNS = ("year", "period_year")


def _year_gate(year: int, settings: Settings, warehouse_mtime: float | None,
               warehouse_version: str | None = None) -> YearState:
    """The verdict of ``year``'s gate on the warehouse as it is now (its file's modification time on
    DuckDB, its :func:`dvk.changes.warehouse_version` on PostgreSQL)."""
    from dvk.gate import gate_result_path

    path = gate_result_path(year, settings)
    state = YearState(year=year, state=CURRENT, gate_result=str(path))

    def held(code: str, vi: str, en: str) -> YearState:
        state.state, state.reason, state.reason_vi, state.reason_en = HELD_BACK, code, vi, en
        return state

    if not path.is_file():
        state.gate_result = None
        return held("gate_not_run", f"chưa chạy kiểm tra chất lượng ({path})",
                    f"the gate has not run ({path} does not exist)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return held("gate_unreadable", f"không đọc được {path}", f"cannot read {path}: {exc}")
    failures = data.get("failures") or []
    state.gate_passed = bool(data.get("passed"))
    state.gate_checked_at = data.get("checked_at") or _mtime_iso(path)
    state.gate_failures = len(failures)
    state.data_docs = data.get("data_docs")
    if not state.gate_passed:
        state.gate_failure_summary = [
            f"{f.get('message_vi')} / {f.get('message_en')}" for f in failures[:FAILURE_SUMMARY_LINES]
        ]
        n = len(failures)
        return held("gate_failed", f"kiểm tra chất lượng KHÔNG ĐẠT ({n} lỗi, xem {path})",
                    f"the gate FAILED ({n} failure(s), see {path})")
    checked = data.get("warehouse")
    if settings.postgres is not None:
        other = checked != dvk_warehouse.describe(settings)
    else:
        other = bool(checked) and Path(checked).resolve() != Path(settings.warehouse).resolve()
    if other:
        return held("gate_other_warehouse", f"kết quả kiểm tra thuộc kho dữ liệu khác ({checked})",
                    f"the gate result is for another warehouse ({checked})")
    if settings.postgres is not None and data.get("warehouse_version") != warehouse_version:
        return held("gate_stale",
                    "kho dữ liệu đã thay đổi sau lần kiểm tra chất lượng gần nhất; hãy chạy lại kiểm tra",
                    "the warehouse changed after the last gate run; run the gate again")
    if warehouse_mtime is not None and path.stat().st_mtime < warehouse_mtime:
        return held("gate_stale",
                    "kho dữ liệu đã thay đổi sau lần kiểm tra chất lượng gần nhất; hãy chạy lại kiểm tra",
                    "the warehouse changed after the last gate run; run the gate again")
    return state


def _warehouse_mtime(settings: Settings) -> float | None:
    if settings.postgres is not None:  # no file: the gate result is not compared with a change time
        return None
    warehouse = Path(settings.warehouse)
    changed = [p.stat().st_mtime for p in (warehouse, warehouse.with_name(warehouse.name + ".wal")) if p.exists()]
    return max(changed) if changed else None


def _warehouse_version(settings: Settings) -> str | None:
    if settings.postgres is None:
        return None
    from dvk.changes import warehouse_version

    with dvk_warehouse.read_only(dvk_warehouse.target(settings)) as con:
        return warehouse_version(con)


def gate_refusals(years: Iterable[int], settings: Settings | None = None) -> list[tuple[int, str, str]]:
    """Why each of ``years`` may not be published from the warehouse as it is now (empty: every
    year's gate passed on it)."""
    settings = settings or get_settings()
    mtime = _warehouse_mtime(settings)
    version = _warehouse_version(settings)
    out = []
    for year in sorted({int(y) for y in years}):
        state = _year_gate(year, settings, mtime, version)
        if state.state != CURRENT:
            out.append((year, state.reason_vi, state.reason_en))
    return out


@dataclass
class _Table:
    schema: str
    name: str
    comment: str | None
    columns: list[tuple[str, str | None]]  # kept (name, comment)
    year_column: str | None  # per-year table: its year column; None: published whole
    by_period: bool = False  # the year comes from period_id through marts.dim_period


def _year_expr(table: _Table, db: str, alias: str = "t") -> str:
    if table.by_period:
        return (f"(select d.period_year from {db}.{quote_ident(table.schema)}.dim_period d "
                f"where d.period_id = {alias}.period_id)")
    return f"{alias}.{quote_ident(table.year_column)}"


def _classify(con: duckdb.DuckDBPyConnection, schema: str, name: str, columns: list[str]) -> tuple[str | None, bool]:
    """A table's year: dims (``dim_*``) are never per year; any other table is per year by its
    ``year`` or ``period_year`` column, or by ``period_id`` (year from ``dim_period``)."""
    if name.startswith("dim_"):
        return None, False
    for col in YEAR_COLUMNS:
        if col in columns:
            return col, False
    if "period_id" in columns:
        has_dim = con.execute(
            "select count(*) from duckdb_tables() where database_name = 'wh' and schema_name = ? "
            "and table_name = 'dim_period'", [schema]).fetchone()[0]
        if has_dim:
            return "period_id", True
    return None, False


def _table_years(con: duckdb.DuckDBPyConnection, db: str, tables: list[_Table]) -> set[int]:
    years: set[int] = set()
    for t in tables:
        if t.year_column is None or not _has_table(con, db, t.schema, t.name):
            continue
        if t.by_period and not _has_table(con, db, t.schema, "dim_period"):
            continue
        rows = con.execute(
            f"select distinct {_year_expr(t, db)} from {db}.{quote_ident(t.schema)}.{quote_ident(t.name)} t").fetchall()
        years |= {int(r[0]) for r in rows if r[0] is not None}
    return years


def _has_table(con: duckdb.DuckDBPyConnection, db: str, schema: str, name: str) -> bool:
    return bool(con.execute(
        "select count(*) from (select database_name, schema_name, table_name from duckdb_tables() "
        "union all select database_name, schema_name, view_name from duckdb_views()) "
        "where database_name = ? and schema_name = ? and table_name = ?", [db, schema, name]).fetchone()[0])


def _table_columns(con: duckdb.DuckDBPyConnection, db: str, schema: str, name: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ?",
        [db, schema, name]).fetchall()]


def _int_list(years: Iterable[int]) -> str:
    return "[" + ", ".join(str(int(y)) for y in sorted(years)) + "]::integer[]"


#: Why a year's gate verdict does not make it current, that still lets it keep its publication when
#: its inputs have not changed since (the gate was not run on this warehouse, only on identical data).
CARRY_REASONS = ("gate_stale", "gate_not_run")

#: Decides the years of a publication: (years in the warehouse, years in the last publication,
#: the last manifest) -> every year's state.
Decide = Callable[[set[int], set[int], "dict[str, Any] | None"], dict[int, YearState]]


# --------------------------------------------------------------------------------------------
# public API


def publish(
    settings: Settings | None = None,
    *,
    gate_years: Iterable[int] | None = None,
    attach_timeout: float = ATTACH_TIMEOUT_SECONDS,
) -> PublishResult:
    """Publish every table of the warehouse's marts for analysts, every year current.

    Takes no gate decision: :func:`publish_years` is what the pipeline and ``dvk publish`` use.
    ``gate_years``: recorded in the manifest as ``gate_years_passed`` (default: every year whose
    last ``gate_result.json`` says passed).
    """
    settings = settings or get_settings()
    gate = read_gate_results(settings)
    if gate_years is None:
        passed = sorted(int(y) for y, g in gate.items() if g.get("passed") and str(y).isdigit())
    else:
        passed = sorted({int(y) for y in gate_years})

    def decide(wh_years: set[int], prev_years: set[int], _manifest: dict | None) -> dict[int, YearState]:
        return {y: YearState(year=y, state=CURRENT, gated=y in passed, gate_passed=True if y in passed else None)
                for y in sorted(wh_years | prev_years | set(passed))}

    return _publish(settings, decide, attach_timeout=attach_timeout, gate_years_passed=passed)


def publish_years(
    years: Iterable[int] | None = None,
    settings: Settings | None = None,
    *,
    only: bool = False,
    attach_timeout: float = ATTACH_TIMEOUT_SECONDS,
) -> PublishResult:
    """Publish the years whose gate passed on the warehouse as it is now; a year whose gate failed
    (or has not run, or ran before the warehouse last changed) keeps the rows it had in the last
    publication, none if it never had any.

    Gated: ``years`` and every year to report in the warehouse (:func:`dvk.report.years_to_report`,
    the years the pipeline gates). A year in progress with only in-year reports (quarterly,
    half-year, monthly; its annual report not yet due) is not gated: it is published as it is.
    With ``only`` (``dvk publish --year``), only ``years`` may change: every other year keeps its
    last published rows.

    Raises :class:`PublishRefused`, leaving the published copy as it was, when no gated year
    passed (a warehouse no gate vouches for is never the source of a publication).
    """
    settings = settings or get_settings()
    if settings.postgres is None and not Path(settings.warehouse).is_file():
        raise PublishError(
            f"Không tìm thấy kho dữ liệu {settings.warehouse} / warehouse file {settings.warehouse} does not "
            "exist (run the ingest and the transform first)"
        )
    requested = set() if years is None else {int(y) for y in years}
    if only:
        if not requested:
            raise ValueError("only=True needs the years to publish")
        gated = requested
    else:
        from dvk.report import years_to_report

        gated = requested | set(years_to_report(settings))
    from dvk.changes import reference_fingerprint, year_fingerprints

    reference = reference_fingerprint(settings)
    with dvk_warehouse.read_only(dvk_warehouse.target(settings)) as con:
        prints = year_fingerprints(con)
    mtime = _warehouse_mtime(settings)
    version = _warehouse_version(settings)
    verdicts = {y: _year_gate(y, settings, mtime, version) for y in sorted(gated)}

    def fingerprinted(st: YearState) -> YearState:
        now = prints.get(st.year) or {}
        st.data_fingerprint, st.loaded_through = now.get("fingerprint"), now.get("loaded_through")
        st.reference_fingerprint = reference
        return st

    def unchanged(y: int, manifest: dict | None) -> YearState | None:
        """The year as the last publication has it, if it was current there and its inputs are
        the same now (never with ``only``: ``dvk publish --year`` decides by the gate alone)."""
        was = ((manifest or {}).get("years") or {}).get(str(y)) or {}
        if only or was.get("state") != CURRENT or not was.get("data_fingerprint"):
            return None
        if was.get("data_fingerprint") != (prints.get(y) or {}).get("fingerprint"):
            return None
        if was.get("reference_fingerprint") != reference:
            return None
        fields = {k: v for k, v in was.items() if k in YearState.__dataclass_fields__}
        return YearState(**{**fields, "year": y, "state": CURRENT, "carried": True})

    def carried(y: int, v: YearState, manifest: dict | None) -> YearState | None:
        # a year gated (and failed) on this warehouse is never carried; one not gated since the
        # warehouse last changed is, when its inputs are those of its last publication
        return unchanged(y, manifest) if v.reason in CARRY_REASONS else None

    manifest_now = read_manifest(settings)
    passed = sorted(y for y, v in verdicts.items() if v.state == CURRENT)
    kept = sorted(y for y, v in verdicts.items() if v.state != CURRENT and carried(y, v, manifest_now))
    if gated and not passed and not kept:
        error = PublishRefused([(y, v.reason_vi, v.reason_en) for y, v in sorted(verdicts.items())])
        log.error("%s", error)
        raise error

    def decide(wh_years: set[int], prev_years: set[int], manifest: dict | None) -> dict[int, YearState]:
        out = {}
        for y, v in verdicts.items():
            keep = None if v.state == CURRENT else carried(y, v, manifest)
            out[y] = keep or (fingerprinted(v) if v.state == CURRENT else v)
        before = (manifest or {}).get("years") or {}
        for y in sorted((wh_years | prev_years) - gated):
            if only:
                # not asked for: its rows stay those of the last publication; a year held back
                # there stays held back for the same reason, since the same time
                was = before.get(str(y)) or {}
                if was.get("state") == HELD_BACK:
                    fields = {k: v for k, v in was.items() if k in YearState.__dataclass_fields__}
                    out[y] = YearState(**{**fields, "year": y, "state": HELD_BACK})
                else:
                    out[y] = YearState(
                        year=y, state=HELD_BACK, gated=False, reason="not_requested",
                        reason_vi="không nằm trong các năm được yêu cầu phát hành lần này",
                        reason_en="not among the years asked for in this publication")
            else:
                out[y] = unchanged(y, manifest) or fingerprinted(YearState(year=y, state=CURRENT, gated=False))
        return out

    return _publish(settings, decide, attach_timeout=attach_timeout, gate_years_passed=sorted({*passed, *kept}),
                    reference=reference)


def publish_if_gate_passed(years: Iterable[int] | None = None, settings: Settings | None = None) -> PublishResult:
    """:func:`publish_years`: ``years`` (and every year to report) each on its own
    gate; raise :class:`PublishRefused` when none of them passed."""
    return publish_years(years, settings)


def _update_in_place(con: duckdb.DuckDBPyConnection, plan: list[_Table], from_wh: set[int],
                     from_prev: set[int]) -> list[PublishedTable]:
    """The copy of the last publication (``con``'s own database) becomes this one: in each per-year
    table the rows of the years taken from the warehouse (and of no year) are replaced, the rows of
    ``from_prev`` stay; the dims are written whole. The same rows as writing it whole (the full
    path), for a fraction of the writes when few years changed. Raises :class:`_Rebuild` when the
    copy's tables are not the warehouse's (then the publication is written whole)."""
    db = quote_ident(con.execute("select current_database()").fetchone()[0])
    name = con.execute("select current_database()").fetchone()[0]
    existing = {(r[0], r[1]) for r in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ?", [name]).fetchall()}
    for t in plan:
        have = [r[0] for r in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and schema_name = ? "
            "and table_name = ? order by column_index", [name, t.schema, t.name]).fetchall()]
        if t.year_column is not None and have != [c for c, _ in t.columns]:
            raise _Rebuild(f"{t.schema}.{t.name}: its columns differ from the last publication's")
        if t.by_period and (t.schema, "dim_period") not in existing:
            raise _Rebuild(f"{t.schema}.dim_period is not in the last publication")
    wanted = {(t.schema, t.name) for t in plan}
    for schema, table in sorted(existing - wanted):
        if schema != "meta":
            con.execute(f"drop table {quote_ident(schema)}.{quote_ident(table)}")
    keep = _int_list(from_prev)
    per_year = [t for t in plan if t.year_column is not None]
    # 1. the rows that change go (a period's year read from the copy's own dim_period, still the old one)
    for t in per_year:
        y = _year_expr(t, db)
        con.execute(f"delete from {quote_ident(t.schema)}.{quote_ident(t.name)} t "
                    f"where {y} is null or not list_contains({keep}, {y})")
    # 2. the dims, whole
    for t in plan:
        if t.year_column is not None:
            continue
        target = f"{quote_ident(t.schema)}.{quote_ident(t.name)}"
        con.execute(f"create or replace table {target} as select {', '.join(quote_ident(c) for c, _ in t.columns)} "
                    f"from wh.{quote_ident(t.schema)}.{quote_ident(t.name)}")
        comment_on(con, target, t.comment, t.columns)
    # 3. the warehouse's rows of the years published now (and of no year)
    for t in per_year:
        y_wh = _year_expr(t, "wh")
        cols = ", ".join(quote_ident(c) for c, _ in t.columns)
        con.execute(f"insert into {quote_ident(t.schema)}.{quote_ident(t.name)} ({cols}) select {cols} "
                    f"from wh.{quote_ident(t.schema)}.{quote_ident(t.name)} t "
                    f"where {y_wh} is null or list_contains({_int_list(from_wh)}, {y_wh})")
    out = []
    for t in plan:
        rows = con.execute(f"select count(*) from {quote_ident(t.schema)}.{quote_ident(t.name)}").fetchone()[0]
        out.append(PublishedTable(t.schema, t.name, int(rows), [c for c, _ in t.columns], None,
                                  year_column=t.year_column))
    return out


class _Rebuild(Exception):
    """The last publication cannot be updated in place (its tables differ): write a new one whole."""


def _publish(settings: Settings, decide: Decide, *, attach_timeout: float, gate_years_passed: list[int],
             reference: str | None = None) -> PublishResult:
    if settings.postgres is not None:  # a schema and a role in the warehouse itself (dvk.publish_pg)
        from dvk import publish_pg

        return publish_pg.publish(settings, decide, gate_years_passed=gate_years_passed)
    try:
        return _publish_once(settings, decide, attach_timeout=attach_timeout, gate_years_passed=gate_years_passed,
                             reference=reference, in_place=reference is not None)
    except _Rebuild as why:
        log.info("Writing the publication whole: %s", why)
        return _publish_once(settings, decide, attach_timeout=attach_timeout, gate_years_passed=gate_years_passed,
                             reference=reference, in_place=False)


def _unchanged_result(settings: Settings, manifest: dict[str, Any], started: float) -> PublishResult:
    """Nothing to publish: every year's inputs are those of the last publication, which stays."""
    folder = Path(settings.published_dir)
    tables = [PublishedTable(t["schema"], t["name"], int(t["rows"]), list(t["columns"]), t.get("parquet"),
                             year_column=t.get("year_column")) for t in manifest.get("tables") or []]
    years = manifest.get("years") or {}
    return PublishResult(
        database=folder / DATABASE_NAME, parquet_dir=folder / PARQUET_LINK, manifest=folder / MANIFEST_NAME,
        published_at=manifest.get("published_at"), source_warehouse=manifest.get("source_warehouse"),
        tables=tables, gate=manifest.get("gate") or {}, gate_years_passed=manifest.get("gate_years_passed") or [],
        excluded_columns=manifest.get("excluded_columns") or [],
        duration_seconds=round(time.monotonic() - started, 3), years=years,
        years_current=manifest.get("years_current") or [], years_held_back=manifest.get("years_held_back") or [],
        unchanged=True)


def _publish_once(settings: Settings, decide: Decide, *, attach_timeout: float, gate_years_passed: list[int],
                  reference: str | None, in_place: bool) -> PublishResult:
    started = time.monotonic()
    warehouse = Path(settings.warehouse)
    if not warehouse.is_file():
        raise PublishError(
            f"Không tìm thấy kho dữ liệu {warehouse} / warehouse file {warehouse} does not exist "
            "(run the ingest and the transform first)"
        )
    folder = Path(settings.published_dir)
    gate = read_gate_results(settings)

    with _publish_lock(folder):
        published_at = _utc_now()
        stamp = published_at.strftime("%Y%m%dT%H%M%S%fZ")
        token = uuid.uuid4().hex
        tmp_db = folder / f"dvk.tmp-{token}.duckdb"
        version_dir = folder / f"{PARQUET_LINK}-{stamp}-{token[:8]}"
        _remove_stale(folder, keep=[])
        previous_db = folder / DATABASE_NAME
        previous_manifest = read_manifest(settings) if previous_db.is_file() else None
        tables: list[PublishedTable] = []
        excluded: list[str] = []
        # Update the last publication in place (a copy of it, then swapped like a new one) when it
        # was written from the same dbt project: its tables are those of the warehouse.
        in_place = bool(in_place and previous_db.is_file() and previous_manifest
                        and previous_manifest.get("reference_fingerprint") == reference)
        try:
            # The new file is written in a storage format DuckDB 1.x reads (what most analysts'
            # tools bundle), not 2.0's default: attached from an in-memory session. Updated in place:
            # a copy of the last publication (written in that format too) is attached instead.
            if in_place:
                shutil.copyfile(previous_db, tmp_db)
            con = duckdb.connect(":memory:")
            try:
                dvk_warehouse.attach(con, tmp_db, PUBLISHED_ALIAS, read_only=False,
                                     storage_version=PUBLISHED_STORAGE_VERSION)
                con.execute(f"use {PUBLISHED_ALIAS}")
                _attach_warehouse(con, warehouse, attach_timeout)
                has_prev = previous_db.is_file()
                if has_prev:
                    try:
                        con.execute(f"attach {quote_string(str(previous_db))} as prev (read_only)")
                    except duckdb.Error as exc:
                        raise PublishError(
                            f"Không đọc được bản phát hành trước {previous_db}, nơi giữ số liệu các năm chưa đạt "
                            f"/ cannot read the last publication {previous_db}, which holds the rows of the years "
                            f"held back: {exc}"
                        ) from exc
                sources = _source_tables(con)
                if not sources:
                    raise PublishError(
                        f"Kho dữ liệu {warehouse} chưa có bảng marts (hãy chạy dbt build) "
                        f"/ the warehouse {warehouse} has no marts (run the transform first)"
                    )
                plan: list[_Table] = []
                for schema, name, comment in sources:
                    columns = _source_columns(con, schema, name)
                    keep = [(c, cmt) for c, cmt in columns if not PERSONAL_DATA_COLUMNS.search(c)]
                    excluded += [f"{schema}.{name}.{c}" for c, _ in columns if PERSONAL_DATA_COLUMNS.search(c)]
                    if not keep:
                        continue
                    year_column, by_period = _classify(con, schema, name, [c for c, _ in keep])
                    plan.append(_Table(schema, name, comment, keep, year_column, by_period))

                wh_years = _table_years(con, "wh", plan)
                prev_years = _table_years(con, "prev", plan) if has_prev else set()
                states = decide(wh_years, prev_years, previous_manifest)
                if (has_prev and previous_manifest and states and all(st.carried for st in states.values())
                        and set(states) == wh_years | prev_years
                        and previous_manifest.get("reference_fingerprint") == reference):
                    # every year's inputs are those of the last publication: it stays as it is
                    con.close()
                    tmp_db.unlink(missing_ok=True)
                    log.info("Không có gì mới để phát hành / nothing new to publish: every year (%s) is as "
                             "last published at %s", ", ".join(str(y) for y in sorted(states)),
                             previous_manifest.get("published_at"))
                    return _unchanged_result(settings, previous_manifest, started)
                # the rows of a year come from the warehouse (current, gated or published now) or
                # from the last publication (held back, or current and unchanged: carried)
                current = {y for y, st in states.items() if st.state == CURRENT and not st.carried}
                from_prev = {y for y, st in states.items() if st.state == HELD_BACK or st.carried}
                prev_states = (previous_manifest or {}).get("years") or {}
                stamp_iso = _iso(published_at)
                for y, st in states.items():
                    if st.carried:
                        continue  # rows, gate and dates of the last publication
                    if st.state == CURRENT:
                        st.rows_as_of = stamp_iso if y in wh_years else None
                        continue
                    before = prev_states.get(str(y)) or {}
                    st.held_since = before.get("held_since") if before.get("state") == HELD_BACK else None
                    st.held_since = st.held_since or stamp_iso
                    if y in prev_years:
                        st.rows_as_of = before.get("rows_as_of") or (previous_manifest or {}).get("published_at")
                    else:
                        st.rows_as_of = None

                if in_place:
                    tables = _update_in_place(con, plan, current, from_prev)
                for schema in sorted({t.schema for t in plan}):
                    con.execute(f"create schema if not exists {quote_ident(schema)}")
                for t in ([] if in_place else plan):
                    target = f"{quote_ident(t.schema)}.{quote_ident(t.name)}"
                    select_list = ", ".join(quote_ident(c) for c, _ in t.columns)
                    source = f"wh.{quote_ident(t.schema)}.{quote_ident(t.name)}"
                    if t.year_column is None:
                        sql = f"create table {target} as select {select_list} from {source}"
                    else:
                        y_wh = _year_expr(t, "wh")
                        sql = (f"create table {target} as select {select_list} from {source} t "
                               f"where {y_wh} is null or list_contains({_int_list(current)}, {y_wh})")
                        held = {y for y in prev_years if y in from_prev}
                        if held and _has_table(con, "prev", t.schema, t.name) and (
                                not t.by_period or _has_table(con, "prev", t.schema, "dim_period")):
                            prev_cols = set(_table_columns(con, "prev", t.schema, t.name))
                            cols = [c for c, _ in t.columns if c in prev_cols]
                            y_prev = _year_expr(t, "prev")
                            sql += (f" union all by name select {', '.join(quote_ident(c) for c in cols)} "
                                    f"from prev.{quote_ident(t.schema)}.{quote_ident(t.name)} t "
                                    f"where list_contains({_int_list(held)}, {y_prev})")
                    con.execute(sql)
                    comment_on(con, target, t.comment, t.columns)
                    rows = con.execute(f"select count(*) from {target}").fetchone()[0]
                    tables.append(PublishedTable(t.schema, t.name, int(rows), [c for c, _ in t.columns], None,
                                                 year_column=t.year_column))
                con.execute("detach wh")
                if has_prev:
                    con.execute("detach prev")
                if excluded:
                    log.warning("Personal data columns left out of the publication: %s", ", ".join(excluded))

                # meta: what this copy is, for analysts who only have the database file
                years_current = sorted(y for y, st in states.items() if st.state == CURRENT)
                years_held = sorted(y for y, st in states.items() if st.state == HELD_BACK)
                con.execute("drop schema if exists meta cascade")
                con.execute("create schema meta")
                con.execute(
                    "create table meta.publication (published_at timestamp, source_warehouse varchar, "
                    "source_modified_at varchar, gate_years_passed varchar, tables integer, "
                    "years_current varchar, years_held_back varchar)"
                )
                con.execute(
                    "insert into meta.publication values (?, ?, ?, ?, ?, ?, ?)",
                    [
                        published_at.replace(tzinfo=None, microsecond=0),
                        str(warehouse),
                        _mtime_iso(warehouse),
                        ", ".join(str(y) for y in gate_years_passed),
                        len(tables),
                        ", ".join(str(y) for y in years_current),
                        ", ".join(str(y) for y in years_held),
                    ],
                )
                con.execute(
                    "create table meta.publication_years (year integer, state varchar, reason varchar, "
                    "reason_vi varchar, reason_en varchar, held_since varchar, rows_as_of varchar, "
                    "gate_checked_at varchar, gate_failures integer, republished boolean, loaded_through varchar)"
                )
                for y, st in sorted(states.items()):
                    con.execute(
                        "insert into meta.publication_years values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [y, st.state, st.reason, st.reason_vi, st.reason_en, st.held_since, st.rows_as_of,
                         st.gate_checked_at, st.gate_failures, y in current, st.loaded_through],
                    )
                con.execute(
                    "create table meta.published_tables (table_schema varchar, table_name varchar, "
                    "row_count bigint, parquet_file varchar, year_column varchar)"
                )

                # Parquet, from the new database (the same snapshot), into a fresh version folder
                version_dir.mkdir(parents=True)
                for table in tables:
                    file_name = f"{table.name}.parquet" if table.schema == "marts" else f"{table.schema}.{table.name}.parquet"
                    con.execute(
                        f"copy {quote_ident(table.schema)}.{quote_ident(table.name)} "
                        f"to {quote_string(str(version_dir / file_name))} (format parquet)"
                    )
                    table.parquet = f"{PARQUET_LINK}/{file_name}"
                    con.execute(
                        "insert into meta.published_tables values (?, ?, ?, ?, ?)",
                        [table.schema, table.name, table.rows, table.parquet, table.year_column],
                    )
                con.execute(f"checkpoint {PUBLISHED_ALIAS}")
                con.execute(f"use memory; detach {PUBLISHED_ALIAS}")
            finally:
                con.close()
            wal = tmp_db.with_name(tmp_db.name + ".wal")
            if wal.exists():  # a clean close checkpoints; never publish a file that needs its WAL
                raise PublishError(f"the new database {tmp_db} was not checkpointed ({wal} remains)")
            with open(tmp_db, "rb") as fh:
                os.fsync(fh.fileno())
            # read-only on disk: nobody edits the analysts' copy in place (the folder stays
            # writable for the owner, so the next publication can swap it)
            make_read_only(tmp_db)
            make_read_only(version_dir)

            # the swaps: database first, then the Parquet folder, then the manifest
            database = folder / DATABASE_NAME
            stale_wal = database.with_name(database.name + ".wal")
            if stale_wal.exists():
                log.warning("Removing a stray WAL beside the published database: %s", stale_wal)
                stale_wal.unlink(missing_ok=True)
            os.replace(tmp_db, database)
            parquet_link = _swap_parquet(folder, version_dir)
            _fsync_dir(folder)
        except BaseException:
            tmp_db.unlink(missing_ok=True)
            tmp_db.with_name(tmp_db.name + ".wal").unlink(missing_ok=True)
            if version_dir.exists() and not (folder / PARQUET_LINK).resolve() == version_dir.resolve():
                remove_tree(version_dir)
            raise

        result = PublishResult(
            database=database,
            parquet_dir=parquet_link,
            manifest=folder / MANIFEST_NAME,
            published_at=_iso(published_at),
            source_warehouse=str(warehouse),
            tables=tables,
            gate=gate,
            gate_years_passed=gate_years_passed,
            excluded_columns=excluded,
            duration_seconds=round(time.monotonic() - started, 3),
            years={str(y): asdict(st) for y, st in sorted(states.items())},
            years_current=years_current,
            years_held_back=years_held,
            years_republished=sorted(current),
            in_place=in_place,
        )
        manifest = {
            "published_at": result.published_at,
            "source_warehouse": result.source_warehouse,
            "source_modified_at": _mtime_iso(warehouse),
            "database": DATABASE_NAME,
            "parquet_dir": PARQUET_LINK,
            "parquet_version": version_dir.name,
            "gate_years_passed": gate_years_passed,
            "years_current": years_current,
            "years_held_back": years_held,
            "years": result.years,
            "years_republished": result.years_republished,
            "years_carried": sorted(y for y, st in states.items() if st.carried),
            "reference_fingerprint": reference,
            "updated_in_place": in_place,
            "gate": gate,
            "tables": [
                {"schema": t.schema, "name": t.name, "rows": t.rows, "columns": t.columns, "parquet": t.parquet,
                 "year_column": t.year_column}
                for t in tables
            ],
            "excluded_columns": excluded,
            "duration_seconds": result.duration_seconds,
        }
        _write_json_atomic(result.manifest, manifest, read_only=True)
        _remove_stale(folder, keep=[version_dir])
    log.info(
        "Published %d tables to %s (Parquet: %s) in %.1f s; years current: %s; held back: %s",
        len(tables), result.database, result.parquet_dir, result.duration_seconds,
        years_current or "-", years_held or "-",
    )
    for y in years_held:
        st = states[y]
        log.warning("Year %s held back since %s (rows as of %s): %s / %s", y, st.held_since, st.rows_as_of or "none",
                    st.reason_vi, st.reason_en)
    return result


__all__ = [
    "CURRENT",
    "HELD_BACK",
    "PERSONAL_DATA_COLUMNS",
    "PublishError",
    "PublishRefused",
    "PublishResult",
    "PublishedTable",
    "YearState",
    "gate_refusals",
    "publish",
    "publish_if_gate_passed",
    "publish_years",
    "read_gate_results",
    "read_manifest",
]
