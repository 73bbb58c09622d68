"""Which years the night changed: the years the transform gates and publishes (issue 16).

A year's published rows and its gate verdict depend on two things only:

* the **year's submissions**: ``raw.submissions`` whose ``period_year`` is the year (their
  ``submission_id`` is the file's sha256, so a correction or a late report is a new id), with
  their model lines, declared totals and ingest warnings, which are keyed by that id;
* the **reference**: the dbt project (models, macros, seeds: the master list of units, the
  changes and split shares), the deployment's units / changes / shares files when set
  (``DVK_UNITS_FILE``, ...), the grace days of the due dates, the gate's suites
  (``expectations/*.yml``) and the gate's code (``src/dvk/gate/``).

Each is reduced to a fingerprint (:func:`year_fingerprints`, :func:`reference_fingerprint`), and
the publication records, for every year it made current, the fingerprints it was published at
(``manifest.json``, ``years.<year>``). A year is **changed**, and is gated and published again,
unless the last publication has it current at the same year fingerprint and the same reference
fingerprint. Conservative by construction: a year never published, held back (gate failed or not
run), touched by any load since (a new submission of that year), or any change of the reference
(which may change every year) is changed; only a year whose inputs are byte for byte those it was
last published from is left as it is.

The load ids that touched a changed year since its last publication are listed too (for the log
and the manifest): the ``load_id`` of its submissions loaded after the year's ``loaded_through``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dvk.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR, Settings, get_settings

log = logging.getLogger(__name__)

#: Folders of the dbt project that are dbt's output or downloads, not the project.
_DBT_IGNORED = {"target", "logs", "dbt_packages", "__pycache__", ".user.yml"}
_GATE_CODE_DIR = Path(__file__).resolve().parent / "gate"

#: Per year: how many submissions, a digest of their ids, the latest loaded_at, and every load id.
YEAR_FINGERPRINTS_SQL = """
    select
        period_year as year,
        count(*) as submissions,
        md5(string_agg(submission_id, ',' order by submission_id)) as digest,
        max(loaded_at) as loaded_through
    from raw.submissions
    where period_year is not null
    group by period_year
    order by period_year
"""
LOADS_SINCE_SQL = """
    select distinct load_id from raw.submissions
    where period_year = $year and ($since is null or loaded_at > cast($since as timestamp))
    order by load_id
"""


def _hash_tree(h: hashlib._Hash, root: Path, *, ignored: set[str] = frozenset(), suffixes: tuple[str, ...] = ()) -> None:
    if not root.exists():
        h.update(f"missing:{root.name}".encode())
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if ignored.intersection(rel.parts) or (suffixes and path.suffix not in suffixes):
            continue
        h.update(str(rel).encode())
        h.update(b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())


def reference_fingerprint(settings: Settings | None = None) -> str:
    """A digest of everything besides the submissions that a year's marts or gate depend on."""
    settings = settings or get_settings()
    h = hashlib.sha256(b"dvk-reference-v1")
    _hash_tree(h, DBT_PROJECT_DIR, ignored=_DBT_IGNORED)
    _hash_tree(h, EXPECTATIONS_DIR)
    _hash_tree(h, _GATE_CODE_DIR, suffixes=(".py", ".html", ".j2", ".jinja", ".css", ".yml"))
    for name in ("units_file", "unit_changes_file", "unit_shares_file"):
        path = getattr(settings, name, None)
        h.update(name.encode())
        if path is not None:
            path = Path(path)
            h.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"missing")
    h.update(f"due_grace_days={settings.due_grace_days}".encode())
    h.update(f"first_expected_year={settings.first_expected_year}".encode())
    return h.hexdigest()


def year_fingerprints(con: Any) -> dict[int, dict[str, Any]]:
    """Every year with submissions: ``{"fingerprint", "submissions", "loaded_through"}``."""
    out: dict[int, dict[str, Any]] = {}
    for year, n, digest, loaded_through in con.execute(YEAR_FINGERPRINTS_SQL).fetchall():
        out[int(year)] = {
            "fingerprint": f"{int(n)}:{digest}",
            "submissions": int(n),
            "loaded_through": loaded_through.isoformat(sep=" ") if loaded_through is not None else None,
        }
    return out


def year_inputs(con: Any, year: int, settings: Settings | None = None) -> dict[str, Any]:
    """What ``year``'s gate verdict depends on, recorded in its ``gate_result.json`` (``inputs``):
    the year's data fingerprint and the reference fingerprint. Equal inputs, equal verdict."""
    now = year_fingerprints(con).get(int(year)) or {}
    return {"data_fingerprint": now.get("fingerprint"), "reference_fingerprint": reference_fingerprint(settings)}


#: PostgreSQL's answer to a DuckDB file's modification time: every relation of the warehouse's own
#: schemas (not the publication's) by name and OID. ``dbt build`` replaces every table and view
#: model (a new OID each; incremental models keep theirs, but a build replaces the table models
#: beside them), the ingest adds rows to ``raw.*`` (:data:`RAW_INPUTS_SQL` covers those).
PG_RELATIONS_SQL = """
    select coalesce(md5(string_agg(n.nspname || '.' || c.relname || '#' || c.oid::text, ','
                                   order by n.nspname, c.relname)), '')
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'v', 'm', 'p')
      and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema' and n.nspname not like 'analytics%'
"""


def warehouse_version(con: Any) -> str | None:
    """On PostgreSQL, a digest that changes whenever the ingest or ``dbt build`` changes the
    warehouse (:data:`PG_RELATIONS_SQL` and :data:`RAW_INPUTS_SQL`): what a gate result records
    and publishing compares, where DuckDB compares the file's modification time. None on DuckDB."""
    from dvk.warehouse import engine_of, table_names

    if engine_of(con) != "postgres":
        return None
    (relations,) = con.execute(PG_RELATIONS_SQL).fetchone()
    raw = table_names(con, "raw")
    inputs = con.execute(RAW_INPUTS_SQL).fetchone() if {"submissions", "quarantine"} <= raw else ("", "")
    return hashlib.md5("|".join([relations, *map(str, inputs)]).encode()).hexdigest()


#: Everything of ``raw.*`` the dbt project reads: the submissions (their lines, totals and
#: warnings hang on their ids) and the quarantined files (their problems hang on the sha256).
RAW_INPUTS_SQL = """
    select
        (select count(*) || ':' || coalesce(md5(string_agg(submission_id, ',' order by submission_id)), '')
         from raw.submissions) as submissions,
        (select count(*) || ':' || coalesce(md5(string_agg(sha256 || '@' || cast(quarantined_at as varchar), ','
                                            order by sha256, quarantined_at)), '')
         from raw.quarantine) as quarantine
"""


def build_inputs(settings: Settings | None = None) -> dict[str, Any] | None:
    """What a ``dbt build`` of the warehouse depends on: the reference fingerprint, the raw
    tables' content (:data:`RAW_INPUTS_SQL`) and the warehouse file (path and inode: a file
    replaced or restored is built again), and whether it has marts at all. None when the
    warehouse cannot say (no raw tables), and on PostgreSQL (no file to tell a restored database
    by: every build runs)."""
    import duckdb

    from dvk.warehouse import read_only, table_names

    settings = settings or get_settings()
    if settings.postgres is not None:
        return None
    warehouse = Path(settings.warehouse)
    try:
        with read_only(warehouse) as con:
            submissions, quarantine = con.execute(RAW_INPUTS_SQL).fetchone()
            marts = len(table_names(con, "marts"))
    except (duckdb.Error, OSError):
        return None
    return {"reference_fingerprint": reference_fingerprint(settings), "submissions": submissions,
            "quarantine": quarantine, "warehouse": str(warehouse.resolve()), "inode": warehouse.stat().st_ino,
            "has_marts": bool(marts)}


def build_inputs_path(settings: Settings | None = None) -> Path:
    """Where the inputs of the last successful build are kept (beside dbt's target folder)."""
    settings = settings or get_settings()
    return settings.dbt_target_dir / "dvk_build_inputs.json"


@dataclass
class ChangePlan:
    """The years of the night: every year the gate applies to, and which of them changed."""

    #: every year to report (annual submissions, or the annual report due: the years the gate applies to)
    years: list[int]
    #: the years to gate and publish again
    changed: list[int]
    #: the years whose publication stays as it is (same inputs as when last published current)
    unchanged: list[int]
    reference_fingerprint: str
    #: every year with submissions: fingerprint, submissions, loaded_through
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: why each changed year is changed (English code: never_published, not_current,
    #: reference_changed, new_loads)
    reasons: dict[str, str] = field(default_factory=dict)
    #: the load ids that touched each changed year since its last publication
    loads: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChangePlan:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def plan_changes(settings: Settings | None = None, *, years: list[int] | None = None) -> ChangePlan:
    """Compare the warehouse with the last publication's record of each year (see module doc).

    ``years``: the years the gate applies to (default: the years with an annual report to write,
    :func:`dvk.report.data.report_years_in`)."""
    from dvk.publish import CURRENT, read_manifest
    from dvk.report.data import report_years_in
    from dvk.warehouse import read_only, target as warehouse_target

    settings = settings or get_settings()
    reference = reference_fingerprint(settings)
    with read_only(warehouse_target(settings)) as con:
        prints = year_fingerprints(con)
        gated = sorted({int(y) for y in years} if years is not None
                       else set(report_years_in(con, settings.due_grace_days)))
        manifest = read_manifest(settings) or {}
        before = manifest.get("years") or {}
        changed, unchanged, reasons, loads = [], [], {}, {}
        for y in gated:
            was = before.get(str(y)) or {}
            now = prints.get(y, {})
            if not was:
                reason = "never_published"
            elif was.get("state") != CURRENT or not was.get("gated", True) or not was.get("data_fingerprint"):
                reason = "not_current"
            elif was.get("reference_fingerprint") != reference:
                reason = "reference_changed"
            elif was.get("data_fingerprint") != now.get("fingerprint"):
                reason = "new_loads"
            else:
                unchanged.append(y)
                continue
            changed.append(y)
            reasons[str(y)] = reason
            since = was.get("loaded_through") if reason == "new_loads" else None
            loads[str(y)] = [r[0] for r in con.execute(LOADS_SINCE_SQL, {"year": y, "since": since}).fetchall()]
    plan = ChangePlan(years=gated, changed=changed, unchanged=unchanged, reference_fingerprint=reference,
                      fingerprints={str(y): v for y, v in prints.items()}, reasons=reasons, loads=loads)
    log.info("Năm thay đổi / years changed: %s (%s); unchanged, publication kept: %s",
             changed or "-", ", ".join(f"{y}: {r}" for y, r in reasons.items()) or "-", unchanged or "-")
    return plan


__all__ = ["ChangePlan", "build_inputs", "build_inputs_path", "plan_changes", "reference_fingerprint",
           "warehouse_version", "year_fingerprints", "year_inputs"]
