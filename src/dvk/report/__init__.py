"""The annual report of spec §6: ``<reports_dir>/annual/<year>/``, versioned.

The folder holds the current version: ``summary.json`` (for machines, the spec's keys first), the
Vietnamese workbook ``bao-cao-dan-van-kheo-<year>.xlsx`` (for people), CSV extracts of its tables
(UTF-8 with BOM), ``models.json``, and ``changes.json`` / ``changes.md`` (what changed since the
previous version). ``versions/v<N>/`` keeps every published version. See docs/annual-report.md.

Public API::

    build_annual_report(year, settings=None, gate_result=None) -> Path
    years_to_report(settings=None) -> list[int]

The report reads the warehouse read-only and refuses (``dvk.gate.GateFailed``) unless the quality
gate of the year passed. The same warehouse gives the same report; a new version is written only
when the content changed.

Modules: ``data`` (what is read from the marts), ``summary`` (summary.json and the headline),
``tables`` (the tables shared by the workbook and the CSVs), ``workbook``, ``extracts`` (CSV, with
the CSV-injection guard), ``versions`` (content fingerprint, changes), ``build`` (all of it,
atomically).
"""

from __future__ import annotations

from dvk.report.build import annual_report_dir, build_annual_report
from dvk.report.data import years_to_report

__all__ = ["annual_report_dir", "build_annual_report", "years_to_report"]
