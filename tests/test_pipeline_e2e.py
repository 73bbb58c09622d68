"""End to end through Airflow: the README's run command (``python -m dvk run``, what `./scripts/run` runs) on real files.

Each scenario runs the three DAGs with ``dag.test()`` in a subprocess, on a copy of the demo inbox,
with its own warehouse, reports and quarantine folders. Both scenarios are shared states built once
a test run: the demo site (tests/support/site.py: the run, then a second run with nothing new) and
the broken run (tests/support/runs.py: a 2021 report that fails the gate and a file that is not a
workbook).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

import dvk.settings
from tests.support.runs import UNREADABLE_FILE, read_run
from tests.support.scripts import demo_generator
from tests.support.site import marts_fingerprint, site_runs

pytestmark = pytest.mark.e2e  # the three DAGs, in subprocesses

FIELDS = ("KT", "VHXH", "QPAN", "XDD")

#: The demo's 2025 and 2026 files name the units of the time-versioned master list (reused codes,
#: the seven units of today); the warehouse resolves them once the list and its setting
#: (``DVK_UNITS_FILE``) have landed. Until then those figures are not checked.
needs_time_versioned_units = pytest.mark.skipif(
    "DVK_UNITS_FILE" not in Path(dvk.settings.__file__).read_text(encoding="utf-8"),
    reason="dvk.settings has no units-file setting (DVK_UNITS_FILE) yet: the time-versioned master list is not merged",
)

def demo_oracle() -> dict[int, dict]:
    """The demo generator's own expected figures per year (``EXPECTED_FIGURES`` in demo/generate.py)."""
    return demo_generator().EXPECTED_FIGURES


def query(base: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(base / "warehouse" / "dvk.duckdb"), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _proc(record: dict) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(["dvk", "run"], record["returncode"], record["stdout"], record["stderr"])


@pytest.fixture(scope="module")
def demo_runs(demo_site):
    """The shared demo site (tests/support/site.py): the README's run command on a copy of the demo
    inbox, then again with nothing new (``--unit 18076 --verbose``), with what the first run left."""
    runs = site_runs(demo_site)
    first_counts = [tuple(r) for r in runs["first_counts"]]
    return (demo_site, demo_site / "inbox", _proc(runs["first"]), _proc(runs["second"]), runs["first_summary"],
            first_counts, runs["first_marts"])


def test_demo_2021_headline(demo_runs):
    base, _, first, _, summary, *_ = demo_runs
    assert summary["year"] == 2021
    assert (summary["units_registered"], summary["models_total"], summary["models_new"],
            summary["models_replicated"]) == (27, 253, 157, 96)
    fields = summary["fields"]
    assert set(fields) == set(FIELDS)
    assert all(fields[f]["total"] > 0 for f in FIELDS)
    for key, total in (("total", 253), ("new", 157), ("replicated", 96)):
        assert sum(fields[f][key] for f in FIELDS) == total
    assert len(summary["units"]) == 27
    assert sum(u["total"] for u in summary["units"]) == 253
    assert len(summary["missing_units"]) >= 1
    workbooks = list((base / "reports" / "annual" / "2021").glob("*.xlsx"))
    assert len(workbooks) == 1
    assert str(base / "reports" / "annual" / "2021") in first.stdout


def full_log(proc: subprocess.CompletedProcess) -> Path:
    found = re.findall(r"full log: (\S+\.log)$", proc.stdout, re.M)
    assert found, proc.stdout[-2000:]
    return Path(found[-1])


def test_the_run_prints_a_short_summary_and_logs_the_rest(demo_runs):
    """Issue 15: at most 40 lines without --verbose: a line a stage, the warnings once, the outcome;
    dbt's node lines, Airflow's and the gate's logs only in the log file."""
    first = demo_runs[2]
    lines = first.stdout.splitlines()
    assert len(lines) <= 40, first.stdout
    assert "  2021: 27 đơn vị, 253 mô hình, 157 xây mới, 96 nhân rộng;" in first.stdout
    for stage in ("ingest: ", "dbt build: ", "  gate 2021: passed", "publish: ", "report 2021, 2022, 2025, 2026: ok"):
        assert any(line.startswith(stage) for line in lines), stage
    assert re.search(r"^ingest: \d+ tệp / files seen, \d+ loaded", first.stdout, re.M)
    assert "of 374" not in first.stdout and " START " not in first.stdout and "[DAG TEST]" not in first.stdout
    assert first.stderr.strip() == ""
    log = full_log(first).read_text(encoding="utf-8")
    assert "Running with dbt=" in log and "[DAG TEST]" in log
    assert "  2021: 27 đơn vị, 253 mô hình, 157 xây mới, 96 nhân rộng;" in log


def test_verbose_shows_the_detail(demo_runs):
    second = demo_runs[3]
    # nothing new in the second run: dbt's build is skipped and says so (issue 16)
    assert "[DAG TEST]" in second.stdout and "dbt build skipped" in second.stdout
    assert len(second.stdout.splitlines()) > 40
    assert full_log(second).exists()


def test_second_run_gives_the_same_marts(demo_runs):
    """Idempotent to the last bit: sums of decimals do not depend on the order rows are added in."""
    base, *_, first_marts = demo_runs
    assert len(first_marts) >= 10
    assert marts_fingerprint(base / "warehouse" / "dvk.duckdb") == first_marts


def test_the_nightly_build_runs_data_tests_but_not_dbt_unit_tests(demo_runs):
    base = demo_runs[0]
    results = json.loads((base / "warehouse" / "dbt_target" / "run_results.json").read_text(encoding="utf-8"))
    ids = [r["unique_id"] for r in results["results"]]
    assert sum(i.startswith("test.") for i in ids) > 50  # one `checks` test per model, and the singular tests
    assert not [i for i in ids if i.startswith("unit_test.")]


def test_years_with_annual_submissions_and_years_due_are_reported(demo_runs):
    base = demo_runs[0]
    years = sorted(p.name for p in (base / "reports" / "annual").iterdir())
    assert years == ["2021", "2022", "2025", "2026"]
    # 2022 has quarterly reports only, and its annual report is long due: every unit that sent one
    # is counted from it, provisional (spec §2); the others are missing
    summary = json.loads((base / "reports" / "annual" / "2022" / "summary.json").read_text(encoding="utf-8"))
    assert summary["units"] and all(u["provisional"] for u in summary["units"])
    assert (summary["units_reported"], summary["units_provisional"], summary["units_missing"]) == (0, 6, 22)
    assert {u["source_period_id"] for u in summary["provisional_units"]} == {"2022Q1"}
    assert re.search(r"^  2021: 27 đơn vị, 253 mô hình", demo_runs[2].stdout, re.M)
    for year in years:  # ./scripts/run prints every year's line
        assert re.search(rf"^  {year}: \d+ đơn vị, \d+ mô hình", demo_runs[2].stdout, re.M), year


@needs_time_versioned_units
@pytest.mark.parametrize("year", [2025, 2026])
def test_demo_years_of_change_match_the_generators_oracle(demo_runs, year):
    """2025: the seven units of today, Đồng Tiến from its predecessors' 2025S1 (provisional); 2026:
    the early annual reports, two provisional units, Thạch Lạc missing (reorganisations.md Rules 2-3)."""
    base = demo_runs[0]
    expected = demo_oracle()[year]
    summary = json.loads((base / "reports" / "annual" / str(year) / "summary.json").read_text(encoding="utf-8"))
    assert (summary["units_registered"], summary["models_total"], summary["models_new"], summary["models_replicated"]) == (
        expected["units_registered"], expected["models_total"], expected["models_new"], expected["models_replicated"])
    assert {f: summary["fields"][f] for f in FIELDS} == expected["fields"]
    assert sorted(summary["missing_units"]) == expected["missing_units"]
    counted = {u["code"] for u in summary["units"] if u["total"] > 0}
    assert len(counted) == expected["units_registered"] and not counted & set(expected["missing_units"])
    provisional = sorted(u["code"] for u in summary["units"] if u["provisional"])
    assert provisional == sorted(expected["provisional_units"] + expected["from_predecessors_units"])
    if "units_expected" in summary:
        assert summary["units_expected"] == expected["units_expected"]


def test_second_run_changes_nothing_and_loads_nothing(demo_runs):
    base, inbox, _, second, first_summary, first_counts, _ = demo_runs
    assert second.returncode == 0, second.stdout[-4000:]
    assert re.search(r"^unit_summary 18076: success", second.stdout, re.M)
    summary = json.loads((base / "reports" / "annual" / "2021" / "summary.json").read_text(encoding="utf-8"))
    assert summary == first_summary
    counts = query(base, "select count(*) from raw.submissions union all select count(*) from raw.submission_models")
    assert counts == first_counts
    loads = query(base, "select files_loaded, files_skipped from raw.loads order by started_at")
    assert len(loads) == 2
    assert loads[1][0] == 0
    assert loads[1][1] == loads[0][0]
    submission_files = [p for p in inbox.iterdir() if p.suffix.lower() in {".xlsx", ".csv"} and not p.name.startswith("_")]
    assert first_counts[0][0] == len(submission_files)


@pytest.fixture(scope="module")
def broken_run(broken_demo_run):
    """The shared run of the demo inbox with a 2021 report whose declared KT totals break the gate
    and a file that is not a workbook (tests/support/runs.py)."""
    proc, unit_code = read_run(broken_demo_run)
    return broken_demo_run, broken_demo_run / "inbox", proc, unit_code


def test_gate_failure_blocks_the_report_and_names_unit_and_field(broken_run):
    base, _, proc, unit_code = broken_run
    assert proc.returncode != 0
    assert not (base / "reports" / "annual" / "2021").exists()
    result = json.loads((base / "reports" / "gate" / "2021" / "gate_result.json").read_text(encoding="utf-8"))
    assert result["passed"] is False
    failing = [f for f in result["failures"] if f["unit_code"] == unit_code]
    assert failing, result["failures"]
    assert {f["field_code"] for f in failing} == {"KT"}
    assert all(f["period_id"] == "2021" for f in failing)
    assert unit_code in proc.stdout and "KT" in proc.stdout
    # short: the failed task and the first lines of its error, not a traceback
    assert len(proc.stdout.splitlines()) <= 40, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert re.search(r"^dvk_annual_report: failed; task failed: .*year_report\.gate\[0\]", proc.stdout, re.M), proc.stdout
    assert re.search(r"^  gate 2021: BLOCKED \(\d+ failures\)", proc.stdout, re.M)
    assert re.search(r"^report 2021: BLOCKED by the gate", proc.stdout, re.M)
    assert "GateFailed" in proc.stdout
    assert "Traceback" in full_log(proc).read_text(encoding="utf-8")


def test_unreadable_file_is_quarantined_and_the_others_load(broken_run):
    base, inbox, _, _ = broken_run
    assert not (inbox / UNREADABLE_FILE).exists()
    moved = list((base / "quarantine").rglob(UNREADABLE_FILE))
    assert len(moved) == 1
    reports = list((base / "quarantine").rglob(UNREADABLE_FILE + ".problems.txt"))
    assert len(reports) == 1 and reports[0].read_text(encoding="utf-8").strip()
    problems = query(base, "select count(*) from raw.quarantine_problems where file_name = ?", [UNREADABLE_FILE])
    assert problems[0][0] >= 1
    good_files = [p for p in inbox.iterdir() if p.suffix.lower() in {".xlsx", ".csv"} and not p.name.startswith("_")]
    loaded = query(base, "select count(*) from raw.submissions")
    assert loaded[0][0] == len(good_files)
