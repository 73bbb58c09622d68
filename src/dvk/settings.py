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
    #: The file-creation mask of every process that writes (``DVK_UMASK``, octal, default 027):
    #: files 0640, folders 0750, so the warehouse (raw holds the preparers' names and phones),
    #: the quarantine copies and the reports are never world-readable. See ``dvk.filemodes``.
    umask: int = 0o027

    def __post_init__(self) -> None:
        if self.published_dir is None:
            object.__setattr__(self, "published_dir", Path(self.warehouse).parent / "published")

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


def _umask(value: str) -> int:
    try:
        mask = int(value, 8)
    except ValueError:
        raise ValueError(f"DVK_UMASK must be an octal mask such as 027, not {value!r}") from None
    if not 0 <= mask <= 0o777:
        raise ValueError(f"DVK_UMASK must be between 000 and 777, not {value!r}")
    return mask


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
        umask=_umask(os.environ.get("DVK_UMASK", "").strip() or "027"),
    )
