"""The raw fixture (tests/fixtures/raw_fixture.py) built by dbt: the session fixture
``raw_fixture_build`` (tests/conftest.py) builds it once per run; tests that change the warehouse
take a copy (``copy_build``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.fixtures import raw_fixture


def warehouse_of(root: Path) -> Path:
    return root / "warehouse" / "dvk.duckdb"


def build_raw_fixture(root: Path) -> None:
    """``root/warehouse/dvk.duckdb``: the raw fixture, then ``dbt build`` (target beside it);
    ``root/ids.json``: the fixture's submission ids by name."""
    from dvk.transform import build, release_dbt_duckdb

    path = warehouse_of(root)
    ids = raw_fixture.make_raw_warehouse(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVK_WAREHOUSE", str(path))
        mp.setenv("DVK_REPORTS_DIR", str(root / "reports"))
        mp.delenv("DVK_DUE_GRACE_DAYS", raising=False)
        try:
            build()
        finally:
            release_dbt_duckdb()  # other processes (xdist workers) open it read-only
    (root / "ids.json").write_text(json.dumps(ids), encoding="utf-8")


def read_ids(root: Path) -> dict[str, str]:
    return json.loads((root / "ids.json").read_text(encoding="utf-8"))


def copy_build(src: Path, dest: Path) -> Path:
    """A copy of a ``raw_fixture_build`` folder (warehouse, dbt target); the copy's warehouse."""
    shutil.copytree(src, dest)
    return warehouse_of(dest)
