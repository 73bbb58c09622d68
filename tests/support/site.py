"""The demo site: the demo inbox ingested, built by dbt, gated, reported and published, under one
folder (inbox, warehouse, reports, quarantine, published copy).

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
    """The demo inbox ingested, built, gated (every year with annual submissions: a year whose gate
    has not run is not published), the 2021 report written, and published under ``base``."""
    from dvk.pipeline import gate, ingest, report, report_years, transform
    from dvk.publish import publish_years

    shutil.copytree(DEMO_INBOX_DIR, base / "inbox")
    with using_site(base) as settings:
        ingest()
        transform()
        years = report_years(None)
        for year in years:
            gate(year)
        report(2021)
        result = publish_years(years, settings)
        assert result.years_held_back == [], result.years
    return settings


def copy_site(src: Path, dest: Path, *, adopt_gate_results: bool = False) -> Settings:
    """A copy of the site at ``src`` (file times kept). Its gate results still name ``src``'s
    warehouse, so the copy publishes nothing until its gate runs again; ``adopt_gate_results``
    makes them the copy's own (as if the gate had run on the copy), for tests that publish it."""
    shutil.copytree(src, dest, symlinks=True)
    settings = site_settings(dest)
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
