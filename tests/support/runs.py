"""The README's run command (``python -m dvk run``: the three DAGs with ``dag.test()``) in a
subprocess, on a folder of its own, and the shared runs built from it once per test run.

``broken_demo_run`` (a session fixture of tests/conftest.py) is the demo inbox with one 2021
annual report whose declared KT totals are one model more than its lines, and a file that is not
a workbook: the 2021 gate fails (the 2021 report is blocked and 2021 is held back from the
publication), the other years pass and are published, the bad file is quarantined. Both
tests/test_pipeline_e2e.py and tests/test_publish.py read it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl

from dvk.settings import DEMO_INBOX_DIR, PROJECT_ROOT

from .site import site_env

#: the file of ``broken_demo_run`` that is not a workbook
UNREADABLE_FILE = "hong-khong-mo-duoc.xlsx"


def readme_run(base: Path, inbox: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    """The README's run command, ``dvk run *args`` (as ``python -m dvk run``: the console script's
    own entry, :func:`dvk.cli.main` without arguments), with the DVK_* folders of ``base`` (inbox
    ``inbox``); its output is also written to ``base/run-<exit code>.log``."""
    env = dict(os.environ)
    env.update(site_env(base))
    env["DVK_INBOX_DIR"] = str(inbox)
    proc = subprocess.run([sys.executable, "-m", "dvk", "run", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    (base / f"run-{proc.returncode}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr,
                                                     encoding="utf-8")
    return proc


def _summary_sheet(wb):
    return next(ws for ws in wb.worksheets if ws.title.strip().lower() in {"tổng hợp", "tonghop"})


def break_declared_totals(path: Path) -> None:
    """Declare one more KT model (and keep the declared sheet self-consistent) than the lines hold."""
    wb = openpyxl.load_workbook(path)
    for row in _summary_sheet(wb).iter_rows(min_row=1):
        label = str(row[0].value or "").strip()
        if label in {"Phát triển kinh tế", "Tổng cộng"}:
            row[1].value = int(row[1].value) + 1  # Tổng số mô hình
            row[2].value = int(row[2].value) + 1  # Xây mới
    wb.save(path)


def _unit_with_one_2021_report(inbox: Path) -> Path:
    """The first 2021 annual report (no correction beside it) that lists KT models."""
    for path in sorted(inbox.glob("2021_*.xlsx")):
        if "_v" in path.stem.split("_")[-1] or len(list(inbox.glob(f"2021_{path.stem.split('_')[1]}_*"))) != 1:
            continue
        wb = openpyxl.load_workbook(path, read_only=True)
        labels = [str(r[0] or "").strip() for r in _summary_sheet(wb).iter_rows(values_only=True)]
        wb.close()
        if "Phát triển kinh tế" in labels:
            return path
    raise AssertionError(f"no 2021 annual report with KT models and no correction in {inbox}")


def build_broken_demo_run(base: Path) -> None:
    """``base``: the broken demo inbox run once by the README's command; ``run.json`` holds the
    exit code, the output and the broken unit's code."""
    inbox = base / "inbox"
    shutil.copytree(DEMO_INBOX_DIR, inbox)
    target = _unit_with_one_2021_report(inbox)
    break_declared_totals(target)
    (inbox / UNREADABLE_FILE).write_bytes(b"this is not a workbook, just text renamed to .xlsx\n")
    proc = readme_run(base, inbox)
    record = {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
              "unit_code": target.stem.split("_")[1]}
    (base / "run.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def read_run(base: Path) -> tuple[subprocess.CompletedProcess, str]:
    """The run recorded by :func:`build_broken_demo_run`, and the broken unit's code."""
    record = json.loads((base / "run.json").read_text(encoding="utf-8"))
    proc = subprocess.CompletedProcess(["dvk", "run"], record["returncode"], record["stdout"], record["stderr"])
    return proc, record["unit_code"]
