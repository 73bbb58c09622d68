"""Great Expectations, imported lazily and quietly.

Importing GX logs hundreds of "Skipping registering function" INFO lines (through structlog in an
Airflow process) and validations draw progress bars: both are silenced here, once.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from types import ModuleType

QUIET_LOGGERS = ("great_expectations", "great_expectations._docs_decorators")


def quiet_logging() -> None:
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def gx() -> ModuleType:
    quiet_logging()
    import great_expectations

    return great_expectations


#: The name of the gate's Data Docs site in the context's configuration.
DATA_DOCS_SITE = "dvk_gate"


def ephemeral_context(data_docs_dir: Path | None = None):
    """A throw-away, in-memory Data Context without progress bars or analytics.

    With ``data_docs_dir``, the context has one local Data Docs site writing there (the stores stay
    in memory: the site shows this context's suites and validation results only)."""
    gx()  # quiet import first
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if data_docs_dir is not None:
        sites[DATA_DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(data_docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_cta_footer": False},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites=sites,
    )
    return gx().get_context(mode="ephemeral", project_config=config)
