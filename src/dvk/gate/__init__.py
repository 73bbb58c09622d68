"""The quality gate of spec §6: Great Expectations on the marts of one year.

Public API::

    run_gate(year, settings=None, *, data_docs=True) -> GateResult
        # validate, save gate/<year>/gate_result.json, build gate/<year>/data_docs/
    enforce_gate(year, settings=None) -> GateResult  # same, raise GateFailed unless passed
    GateResult, GateFailed, gate_result_path(year, settings=None), data_docs_path(year, settings=None)

The suites are kept as code in ``expectations/*.yml`` (see ``expectations/README.md`` and
``docs/quality-gate.md``): the checks of spec §6 block the year's report; warnings (year-to-date
counts that shrink, values far outside a unit's usual range) are reported and never block. The
gate only reads the warehouse (read-only DuckDB connection); it never writes into it.
"""

from __future__ import annotations

from dvk.gate._gx import quiet_logging
from dvk.gate.runner import (
    GateFailed,
    GateResult,
    data_docs_path,
    enforce_gate,
    gate_result_path,
    run_gate,
)

quiet_logging()

__all__ = ["GateFailed", "GateResult", "data_docs_path", "enforce_gate", "gate_result_path", "run_gate"]
