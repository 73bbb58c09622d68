"""The quality gate of spec §6: Great Expectations on the marts of one year.

Public API::

    run_gate(year, settings=None, *, data_docs=True) -> GateResult
        # validate, save gate/<year>/gate_result.json, write the report gate/<year>/data_docs/
    enforce_gate(year, settings=None) -> GateResult  # same, raise GateFailed unless passed
    run_gates(years, settings=None) -> {year: GateResult | Exception}  # every year, one GX context
    GateResult, GateFailed, gate_result_path(year, settings=None), data_docs_path(year, settings=None)
    load_result(year, settings=None) -> GateResult | None  # the saved result of the latest run

The suites are kept as code in ``expectations/*.yml`` (see ``expectations/README.md`` and
``docs/quality-gate.md``): the checks of spec §6 block the year's report; warnings (year-to-date
counts that shrink, values far outside a unit's usual range) are reported and never block. The
gate only reads the warehouse (read-only DuckDB connection); it never writes into it.
"""

from __future__ import annotations

from typing import Any

from dvk.gate._gx import quiet_logging
from dvk.gate.result import GateFailed, GateResult, data_docs_path, gate_result_path, load_result

quiet_logging()

#: Imported on first use: the runner brings pandas and Great Expectations (1.5 s and more of a
#: process's start), which a report given its gate result, a publish or a DAG file never needs.
_RUNNER = ("enforce_gate", "run_gate", "run_gates")


def __getattr__(name: str) -> Any:
    if name in _RUNNER:
        from dvk.gate import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'dvk.gate' has no attribute {name!r}")

__all__ = ["GateFailed", "GateResult", "data_docs_path", "enforce_gate", "gate_result_path", "load_result",
           "run_gate", "run_gates"]
