"""The one place for settings (spec section 7).

Every path the project uses is resolved here, from environment variables with defaults under the
project's local data folder (``.local/``), so that the run command, the DAGs, the tests and the
command line all agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("DVK_PROJECT_ROOT", Path(__file__).resolve().parents[2]))
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DEMO_INBOX_DIR = PROJECT_ROOT / "demo" / "inbox"
LOCAL_DIR = PROJECT_ROOT / ".local"
DEFAULT_UNITS_FILE = SEEDS_DIR / "reporting_units.csv"


@dataclass(frozen=True)
class Settings:
    inbox_dir: Path
    warehouse: Path
    reports_dir: Path
    quarantine_dir: Path
    due_grace_days: int = 5
    max_file_bytes: int = 20 * 1024 * 1024
    #: Where the read-only copy for analysts is published (``dvk.publish``); None: beside the
    #: warehouse, ``<warehouse dir>/published``.
    published_dir: Path | None = None
    #: The master list of reporting units, time-versioned (``code,name,kind,parent_code,aliases,
    #: valid_from,valid_to``): the ingest resolves units against it and dbt builds the unit
    #: dimension from it (``dvk.transform`` passes it as the ``units_file`` var). None: the shipped
    #: seed ``dbt_project/seeds/reporting_units.csv`` (Hà Tĩnh city, 2019 → today).
    units_file: Path | None = None

    def __post_init__(self) -> None:
        if self.published_dir is None:
            object.__setattr__(self, "published_dir", Path(self.warehouse).parent / "published")
        if self.units_file is None:
            object.__setattr__(self, "units_file", DEFAULT_UNITS_FILE)

    @property
    def published_warehouse(self) -> Path:
        """The published database analysts open (read-only): ``<published_dir>/dvk.duckdb``."""
        return self.published_dir / "dvk.duckdb"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's target/ and logs/ live beside the warehouse, never inside ``dbt_project/``."""
        return self.warehouse.parent / "dbt_target"


def _path(name: str, default: Path | None) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def get_settings() -> Settings:
    """Read the settings now (not at import time), so tests and DAG runs can change them."""
    return Settings(
        inbox_dir=_path("DVK_INBOX_DIR", DEMO_INBOX_DIR),
        warehouse=_path("DVK_WAREHOUSE", LOCAL_DIR / "warehouse" / "dvk.duckdb"),
        reports_dir=_path("DVK_REPORTS_DIR", LOCAL_DIR / "reports"),
        quarantine_dir=_path("DVK_QUARANTINE_DIR", LOCAL_DIR / "quarantine"),
        due_grace_days=int(os.environ.get("DVK_DUE_GRACE_DAYS", "5")),
        max_file_bytes=int(os.environ.get("DVK_MAX_FILE_BYTES", str(20 * 1024 * 1024))),
        published_dir=_path("DVK_PUBLISHED_DIR", None),
        units_file=_path("DVK_UNITS_FILE", DEFAULT_UNITS_FILE),
    )
