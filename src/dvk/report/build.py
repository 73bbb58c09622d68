"""Build the annual report of one year: ``<reports_dir>/annual/<year>/``.

    build_annual_report(2021)                        # runs enforce_gate(2021) first
    build_annual_report(2021, gate_result=result)    # reuse a passed GateResult of 2021

The report is refused (``GateFailed``) unless the quality gate of that year passed. Both files
are written into a temporary folder under ``<reports_dir>/.tmp/`` and the folder is then moved
into place, so a half-written report never exists at ``annual/<year>/``. When the gate fails,
an existing report of an earlier run is left as it was (the gate result says why there is no
newer one).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from dvk.gate import GateFailed, GateResult, enforce_gate
from dvk.report.data import load_annual_data
from dvk.report.summary import build_summary
from dvk.report.workbook import workbook_name, write_workbook
from dvk.settings import Settings, get_settings

log = logging.getLogger(__name__)


def annual_report_dir(year: int, settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.reports_dir / "annual" / str(int(year))


def _move_into_place(tmp: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        old = tmp.parent / f"{final.name}.old-{uuid.uuid4().hex}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def build_annual_report(year: int, settings: Settings | None = None,
                        gate_result: GateResult | None = None) -> Path:
    """Write ``summary.json`` and ``bao-cao-dan-van-kheo-<year>.xlsx``; return their folder.

    Without ``gate_result`` the gate is run here (``enforce_gate``); with one, it must be a
    passed result of the same year. Raises ``GateFailed`` when the gate did not pass.
    """
    year = int(year)
    settings = settings or get_settings()
    if gate_result is None:
        gate_result = enforce_gate(year, settings)
    elif int(gate_result.year) != year:
        raise ValueError(f"gate result is for {gate_result.year}, not {year}")
    elif not gate_result.passed:
        raise GateFailed(gate_result)

    data = load_annual_data(year, settings)
    summary = build_summary(data)

    final = annual_report_dir(year, settings)
    staging = settings.reports_dir / ".tmp"
    staging.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"annual-{year}-", dir=staging))
    try:
        (tmp / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        write_workbook(tmp / workbook_name(year), data, summary)
        tmp.chmod(0o755)
        _move_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        try:
            staging.rmdir()  # only when empty: another report may be under way
        except OSError:
            pass
    log.info(
        "Báo cáo năm %s / annual report %s: %s đơn vị / units, %s mô hình / models "
        "(%s xây mới / new, %s nhân rộng / replicated) -> %s",
        year, year, summary["units_registered"], summary["models_total"], summary["models_new"],
        summary["models_replicated"], final,
    )
    return final
