"""The run command's summary lines (dvk.runsummary), from what a run left in the reports folder."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from dvk import runsummary


@dataclass
class _Outcome:
    tasks: dict = field(default_factory=dict)
    durations: dict = field(default_factory=dict)


@dataclass
class _Settings:
    reports_dir: Path


def _gated(reports: Path, year: int, passed: bool, report: str | None) -> None:
    """A gate result of ``year`` written now; its annual summary written now, earlier, or not."""
    gate = reports / "gate" / str(year)
    gate.mkdir(parents=True)
    (gate / "gate_result.json").write_text(json.dumps({"year": year, "passed": passed}), encoding="utf-8")
    if report is not None:
        summary = reports / "annual" / str(year) / "summary.json"
        summary.parent.mkdir(parents=True)
        summary.write_text("{}", encoding="utf-8")
        if report == "earlier":
            old = time.time() - 3600
            os.utime(summary, (old, old))


def test_one_line_per_outcome_naming_its_years(tmp_path):
    since = time.time() - 60
    for year, passed, report in ((2021, False, None), (2022, True, "now"), (2025, True, "earlier"),
                                 (2026, True, "now")):
        _gated(tmp_path, year, passed, report)
    outcome = _Outcome(durations={"year_report.gate[0]": 1.0, "year_report.report[0]": 0.5})
    assert runsummary.report_lines(outcome, _Settings(tmp_path), since) == [
        "report 2021: BLOCKED by the gate (no report)",
        "report 2022, 2026: ok",
        "report 2025: ok (unchanged) (gates and reports 1.5 s)",
    ]


def test_a_failed_report_task_is_named(tmp_path):
    since = time.time() - 60
    _gated(tmp_path, 2021, True, "earlier")
    outcome = _Outcome(tasks={"year_report.report[0]": "failed"})
    assert runsummary.report_lines(outcome, _Settings(tmp_path), since) == [
        "report 2021: NOT written (its report task failed) (gates and reports 0.0 s)"]
