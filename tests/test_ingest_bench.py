"""The ingest benchmark (bench/ingest_throughput.py) still runs: a tiny scale, no timing assertion."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from dvk.settings import PROJECT_ROOT


def test_the_benchmark_runs_at_a_tiny_scale(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "ingest_throughput.py"), "--files", "4", "--runs", "1",
         "--per-file-runs", "1", "--workdir", str(tmp_path), "--json", str(out)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "floor: python-calamine alone" in proc.stdout and "ratio ingest / floor" in proc.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["files"] == 4 and result["model_rows"] > 0
    assert result["floor_s"] > 0 and result["ingest_s"] > 0 and result["ratio"] > 0
    # each part measured (no comparison of two timings: one run on a busy machine can invert them)
    assert result["ingest_one_process_s"] > 0 and "ingest in one process" in proc.stdout
    assert result["parse_validate_s"] > 0 and result["all_but_parse_s"] > 0 and result["warehouse_fixed_s"] > 0
    assert "all but the parse" in proc.stdout
    assert {"nproc", "memory", "duckdb", "python-calamine"} <= set(result["machine"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("dvk-bench-")]  # cleaned up
