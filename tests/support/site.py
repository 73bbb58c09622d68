"""The demo site: the README's run command on the demo inbox (ingested, built by dbt, gated,
reported and published), under one folder (inbox, warehouse, reports, quarantine, published copy).

``build_site`` is what the session fixture ``demo_site`` (tests/conftest.py) builds once per run;
tests that change something take a copy (``copy_site``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from dvk.settings import DEMO_INBOX_DIR, Settings


def site_env(base: Path) -> dict[str, str]:
    return {
        "DVK_INBOX_DIR": str(base / "inbox"),
        "DVK_WAREHOUSE": str(base / "warehouse" / "dvk.duckdb"),
        "DVK_REPORTS_DIR": str(base / "reports"),
        "DVK_QUARANTINE_DIR": str(base / "quarantine"),
        "DVK_PUBLISHED_DIR": str(base / "warehouse" / "published"),
        "DVK_LOG_DIR": str(base / "logs"),
    }


def site_settings(base: Path) -> Settings:
    env = site_env(base)
    return Settings(
        inbox_dir=Path(env["DVK_INBOX_DIR"]),
        warehouse=Path(env["DVK_WAREHOUSE"]),
        reports_dir=Path(env["DVK_REPORTS_DIR"]),
        quarantine_dir=Path(env["DVK_QUARANTINE_DIR"]),
        published_dir=Path(env["DVK_PUBLISHED_DIR"]),
    )


@contextlib.contextmanager
def using_site(base: Path) -> Iterator[Settings]:
    """The DVK_* variables of ``base`` for the pipeline's steps run in this process."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in site_env(base).items():
            mp.setenv(key, value)
        yield site_settings(base)


def build_site(base: Path) -> Settings:
    """The README's run command (the three DAGs with ``dag.test()``, tests/support/runs.py) on a
    copy of the demo inbox under ``base``: ingested, built, gated (every year), reported (every
    year with annual submissions) and published; then run again with nothing new
    (``--unit 18076 --verbose``), as the next night would. ``runs.json`` records both runs'
    exit codes and output, and what the first run left (the 2021 summary, the raw row counts, the
    marts' fingerprint) for tests/test_pipeline_e2e.py to compare the second run with."""
    from .runs import readme_run

    inbox = base / "inbox"
    shutil.copytree(DEMO_INBOX_DIR, inbox)
    first = readme_run(base, inbox)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    settings = site_settings(base)
    record = {
        "first": {"returncode": first.returncode, "stdout": first.stdout, "stderr": first.stderr},
        "first_summary": json.loads((settings.reports_dir / "annual" / "2021" / "summary.json").read_text(encoding="utf-8")),
        "first_counts": raw_counts(settings.warehouse),
        "first_marts": marts_fingerprint(settings.warehouse),
    }
    second = readme_run(base, inbox, "--unit", "18076", "--verbose")
    record["second"] = {"returncode": second.returncode, "stdout": second.stdout, "stderr": second.stderr}
    (base / "runs.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    return settings


def site_runs(base: Path) -> dict:
    """What :func:`build_site` recorded of its two runs (``first``/``second``: returncode, stdout, stderr)."""
    return json.loads((base / "runs.json").read_text(encoding="utf-8"))


def raw_counts(warehouse: Path) -> list[list[int]]:
    """The row counts of raw.submissions and raw.submission_models."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return [list(r) for r in con.execute(
            "select count(*) from raw.submissions union all select count(*) from raw.submission_models").fetchall()]
    finally:
        con.close()


def marts_fingerprint(warehouse: Path) -> dict[str, str]:
    """A digest of every marts table's rows, timestamp columns left out (they record the run)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
        for table in tables:
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = ? and data_type not like 'TIMESTAMP%' order by ordinal_position", [table]).fetchall()]
            select = ", ".join(f'"{c}"' for c in cols)
            out[table] = con.execute(
                f"select count(*) || ':' || coalesce(md5(string_agg(row_text, '|' order by row_text)), '') from "
                f"(select cast(row({select}) as varchar) as row_text from marts.{table})").fetchone()[0]
        return out
    finally:
        con.close()


def copy_site(src: Path, dest: Path, *, adopt_gate_results: bool = False) -> Settings:
    """A copy of the site at ``src`` (file times kept). Its gate results still name ``src``'s
    warehouse, so the copy publishes nothing until its gate runs again; ``adopt_gate_results``
    makes them the copy's own (as if the gate had run on the copy), for tests that publish it.

    The record of the last successful dbt build (``dvk.changes.build_inputs_path``) is made the
    copy's: the copy's warehouse holds, byte for byte, what that build made. So a night on the copy
    builds as the next night on the site would (only what the raw data feeds), instead of a
    restored warehouse's build of everything."""
    from dvk.changes import build_inputs_path

    shutil.copytree(src, dest, symlinks=True)
    settings = site_settings(dest)
    record = build_inputs_path(settings)
    if record.is_file() and settings.warehouse.is_file():
        data = json.loads(record.read_text(encoding="utf-8"))
        data.update(warehouse=str(settings.warehouse.resolve()), inode=settings.warehouse.stat().st_ino)
        record.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if adopt_gate_results:
        for path in sorted((settings.reports_dir / "gate").glob("*/gate_result.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            data["warehouse"] = str(settings.warehouse)
            stat = path.stat()
            path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return settings


def query_one(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_state(settings: Settings) -> dict:
    """What an analyst could see: the database file (inode and bytes), the manifest, the Parquet link."""
    folder = settings.published_dir
    db = settings.published_warehouse
    return {
        "db_inode": db.stat().st_ino,
        "db_sha256": file_digest(db),
        "manifest": (folder / "manifest.json").read_bytes(),
        "parquet": os.readlink(folder / "parquet"),
        "parquet_files": {p.name: file_digest(p) for p in sorted((folder / "parquet").glob("*.parquet"))},
    }
