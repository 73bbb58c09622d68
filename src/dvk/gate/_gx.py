"""Great Expectations, imported lazily and quietly.

Importing GX logs hundreds of "Skipping registering function" INFO lines (through structlog in an
Airflow process) and validations draw progress bars: both are silenced here, once.
"""

from __future__ import annotations

import logging
from functools import lru_cache
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


def ephemeral_context():
    """A throw-away, in-memory Data Context without progress bars, analytics or Data Docs site
    (the gate writes its own report: :mod:`dvk.gate.report`)."""
    gx()  # quiet import first
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites={},
    )
    return gx().get_context(mode="ephemeral", project_config=config)
