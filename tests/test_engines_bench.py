"""The two-engine benchmark (bench/engines_bench.py) still runs, end to end, at a tiny scale.

No timing is asserted: the test checks that every stage ran on both engines (their annual figures
checked against the generator's by the benchmark itself), that the ratios are computed, and that
the concurrent analysts were served on both engines while the nightly build ran. The analysts
pause up to 200 ms between queries (``--think-seconds``): two in a tight loop kept both CPUs busy
for the whole nightly build, which this test does not measure (with 50 ms they still sent some 400
queries a night on DuckDB, each opening the published copy; a few dozen show the same).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dvk.settings import PROJECT_ROOT

pytestmark = [pytest.mark.bench, pytest.mark.services, pytest.mark.e2e]
pytest.importorskip("psycopg2")

STAGES = {"ingest", "dbt build", "gate", "publish", "report", "query: annual summary"}


def test_the_engines_benchmark_runs_at_a_tiny_scale(tmp_path):
    out = tmp_path / "tiny.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVK_", "AIRFLOW"))}
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "engines_bench.py"), "--scale", "tiny", "--runs", "1",
         "--analysts", "2", "--idle-seconds", "0.5", "--think-seconds", "0.2", "--query-repeats", "2", "--work", str(tmp_path / "work"),
         "--json", str(out)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result["stages"]) == STAGES
    for label, row in result["stages"].items():
        for engine in ("duckdb", "postgres"):
            assert row[engine]["median_s"] > 0, (label, engine)
        assert row["pg_over_duckdb"] > 0, label
    # both engines loaded and built the same data
    assert result["stages"]["ingest"]["duckdb"]["rows"] == result["stages"]["ingest"]["postgres"]["rows"] > 0
    assert result["stages"]["publish"]["duckdb"]["rows"] == result["stages"]["publish"]["postgres"]["rows"] > 0
    for engine in ("duckdb", "postgres"):
        c = result["concurrent"][engine]
        assert c["analysts"] == 2 and c["new_files"] > 0
        assert set(c["nightly_stages_s"]) == {"ingest", "dbt build", "gate", "publish"}
        for phase in ("idle", "nightly"):
            assert c[phase]["queries"] > 0, (engine, phase, c[phase])
            assert c[phase]["p50_ms"] <= c[phase]["p95_ms"]
    assert "bench/engines_bench.py" in result["command"]
