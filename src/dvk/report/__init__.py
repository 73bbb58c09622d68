"""The annual report of spec §6: ``<reports_dir>/annual/<year>/`` with ``summary.json`` and the
Vietnamese workbook ``bao-cao-dan-van-kheo-<year>.xlsx``.

Public API::

    build_annual_report(year, settings=None, gate_result=None) -> Path
    years_with_annual_submissions(settings=None) -> list[int]

The report reads the warehouse read-only and refuses (``dvk.gate.GateFailed``) unless the quality
gate of the year passed.
"""

from __future__ import annotations

from dvk.report.build import annual_report_dir, build_annual_report
from dvk.report.data import years_with_annual_submissions

__all__ = ["annual_report_dir", "build_annual_report", "years_with_annual_submissions"]
