"""The scale benchmark (bench/scale_bench.py) still runs, end to end, at a tiny scale.

No timing is asserted (speed is measured by the benchmark, never in a test): the test checks that
every stage ran, that the comparisons the docs quote are computed, and that the benchmark's own
figure checks passed (pipeline and pandas script both equal the generator's expected figures).

The stage "whole pipeline through Airflow" is left out (``--no-airflow``): it runs
``python -m dvk.run_local``, the README's run command, which the ``demo_site`` fixture runs on the
demo inbox; with it, this test took twice as long (an ``airflow db migrate`` and a whole run, about
30 of its 63 seconds alone).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from dvk.settings import PROJECT_ROOT

STAGES = {
    "floor", "ingest", "dbt build", "dbt start-up (no work)", "dbt start-up, full parse (no work)",
    "direct SQL (same SQL)", "gate", "publish",
    "report", "query: annual summary", "pandas script (openpyxl)", "pandas script (calamine)",
    "nightly: ingest", "nightly: dbt build", "nightly: gate", "nightly: publish",
}


def test_the_scale_benchmark_runs_at_a_tiny_scale(tmp_path):
    out = tmp_path / "tiny.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVK_", "AIRFLOW"))}
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "scale_bench.py"), "--scale", "tiny", "--runs", "1",
         "--query-repeats", "3", "--no-airflow", "--work", str(tmp_path / "work"), "--json", str(out)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result["stages"]) == STAGES
    for label, stage in result["stages"].items():
        assert stage["median_s"] > 0, label
        assert stage["peak_mib"] > 0, label
    assert result["stages"]["ingest"]["rows"] > 0
    assert result["stages"]["ingest"]["rows"] == result["stages"]["dbt build"]["rows"]
    c = result["comparisons"]
    assert c["ingest_over_floor"] > 0 and c["dbt_over_direct"] > 0 and c["dbt_startup_s"] > 0
    assert c["dbt_startup_cold_s"] > 0 and "dbt_minus_cold_startup_over_direct" in c
    assert 0 < c["nightly_over_full"] and c["nightly_new_files"] >= 1
    assert set(c["query_median_ms"]) == {"headline_by_year", "models_per_field_and_year"}
    assert {"nproc", "memory", "cpu", "versions"} <= set(result["machine"])
    assert "ingest / parse-only floor" in proc.stdout and "nightly" in proc.stdout
    # Nothing of the benchmark lands in the project: the work folder holds the data and the runs.
    assert (tmp_path / "work").is_dir()
