"""The run command's short output (issue 15): the failed task's error in a few lines, the gate
warnings as one table, and a log that keeps what the terminal does not show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from dvk.airflow_local import DagRunOutcome
from dvk.runsummary import error_lines, failure_lines, task_log, warning_table

CAPTURED = """\
[DAG TEST] starting task_id=gated_years map_index=-1
all fine
[DAG TEST] starting task_id=gate map_index=0
noise of 2021
[DAG TEST] starting task_id=gate map_index=1
Task failed with exception
Traceback (most recent call last):
  File "x.py", line 1, in <module>
    raise GateFailed(result)
dvk.gate.result.GateFailed: Kiểm tra chất lượng số liệu năm 2025 KHÔNG ĐẠT: 2 lỗi
- Đơn vị 18604, kỳ 2025, lĩnh vực KT: tổng khai 5, đếm được 4
- Đơn vị 18619, kỳ 2025, lĩnh vực VHXH: tổng khai 3, đếm được 2
- line 3
- line 4
- line 5
- line 6
[DAG TEST] starting task_id=publish map_index=-1
published
"""


def test_task_log_is_the_part_one_task_printed():
    assert task_log(CAPTURED, "gate[0]").strip() == "noise of 2021"
    assert "GateFailed" in task_log(CAPTURED, "gate[1]")
    assert "published" not in task_log(CAPTURED, "gate[1]")
    assert task_log(CAPTURED, "publish").strip() == "published"
    assert task_log(CAPTURED, "report[0]") == ""


def test_error_lines_start_at_the_exception_not_the_traceback():
    lines = error_lines(task_log(CAPTURED, "gate[1]"), limit=3)
    assert lines[0].startswith("dvk.gate.result.GateFailed: Kiểm tra chất lượng số liệu năm 2025")
    assert lines[1].startswith("- Đơn vị 18604") and len(lines) == 3
    assert error_lines("ValueError: bad\n  more\n2026-12-06T13:08:20.48Z [info ] next record\nlast") == [
        "ValueError: bad", "  more"]
    assert error_lines("no exception here\nlast line") == ["no exception here", "last line"]


def test_failure_lines_name_the_task_and_its_error_once():
    failed = DagRunOutcome("dvk_transform", "failed", {"gate[0]": "success", "gate[1]": "failed",
                                                       "every_year_current": "upstream_failed"}, log_text=CAPTURED)
    ok = DagRunOutcome("dvk_ingest", "success", {"ingest_inbox": "success"})
    again = DagRunOutcome("dvk_annual_report", "failed", {"year_report.gate[1]": "failed"},
                          log_text=CAPTURED.replace("task_id=gate ", "task_id=year_report.gate "))
    lines = failure_lines([ok, failed, again])
    text = "\n".join(lines)
    assert "dvk_transform: failed; task failed: gate[1]; not run (upstream failed): every_year_current" in text
    assert "GateFailed" in text and "Traceback" not in text
    assert lines[-1].startswith("  year_report.gate[1]: dvk.gate.result.GateFailed") and "(as dvk_transform gate[1])" in lines[-1]
    assert "- Đơn vị 18604" not in text  # a gate's failures are printed from its result, not from the log
    assert failure_lines([ok]) == []


def test_warning_table_counts_per_check_and_year(tmp_path):
    def write(year, checks):
        folder = tmp_path / "gate" / str(year)
        folder.mkdir(parents=True)
        warnings = [{"check": c} for c in checks]
        (folder / "gate_result.json").write_text(json.dumps({"year": year, "passed": True, "warnings": warnings}))

    write(2021, ["usual_range", "usual_range", "late"])
    write(2025, ["usual_range"])
    lines = warning_table(tmp_path, since=0)
    assert lines[1].split() == ["check", "2021", "2025"]
    assert lines[2].split() == ["usual_range", "2", "1"]
    assert lines[3].split() == ["late", "1", "0"]
    assert warning_table(tmp_path / "none", since=0) == []


def test_run_log_keeps_what_the_terminal_does_not_show(tmp_path):
    """Child processes and Python's own stderr go to the log only; ``say`` to both."""
    script = textwrap.dedent(f"""
        import subprocess, sys, warnings
        from pathlib import Path
        from dvk.runlog import RunLog
        for verbose in (False, True):
            with RunLog(verbose=verbose, log_dir=Path({str(tmp_path)!r}) / str(verbose)) as log:
                print("python print", verbose)
                warnings.warn("a deprecation", DeprecationWarning, stacklevel=1)
                subprocess.run([sys.executable, "-c", "print('child process')"], check=True)
                with log.stage("stage") as text:
                    print("inside the stage")
                log.say("the summary line " + str(text().strip() == "inside the stage"))
                with log.to_terminal():
                    print("printed to the terminal")
            print("after, on the terminal")
    """)
    proc = subprocess.run([sys.executable, "-W", "always", "-c", script], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    quiet, verbose = proc.stdout.split("after, on the terminal\n")[:2]
    assert quiet == "the summary line True\nprinted to the terminal\n"
    for line in ("python print True", "child process", "inside the stage", "the summary line True"):
        assert line in verbose
    assert proc.stderr == ""
    (quiet_log,) = (tmp_path / "False").glob("run-*.log")
    text = quiet_log.read_text(encoding="utf-8")
    for line in ("python print False", "a deprecation", "child process", "inside the stage", "the summary line True",
                 "printed to the terminal"):
        assert line in text
