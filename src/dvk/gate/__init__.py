"""The quality gate of spec §6: Great Expectations on the marts of one year.

Public API::

    run_gate(year, settings=None) -> GateResult      # validate, save gate/<year>/gate_result.json
    enforce_gate(year, settings=None) -> GateResult  # same, raise GateFailed unless passed
    GateResult, GateFailed, gate_result_path(year, settings=None)

The suites are kept as code in ``expectations/*.yml`` (see ``expectations/README.md``). The gate
only reads the warehouse (read-only DuckDB connection); it never writes into it.
"""

from __future__ import annotations

from dvk.gate._gx import quiet_logging
from dvk.gate.runner import GateFailed, GateResult, enforce_gate, gate_result_path, run_gate

quiet_logging()

__all__ = ["GateFailed", "GateResult", "enforce_gate", "gate_result_path", "run_gate"]
