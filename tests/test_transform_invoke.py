"""How dvk.transform invokes dbt: a child process, failures read from that invocation's
run_results.json (never an older one), and no dbt-duckdb state reached into when dbt never ran
in this process. No dbt run here (the builds are in test_dbt_build / test_dbt_edge)."""

from __future__ import annotations

import json
import os
import sys
import time

from dvk import transform


def _write_results(path, results, mtime=None):
    path.write_text(json.dumps({"results": results}), encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_failures_and_skipped_nodes_from_run_results(tmp_path):
    path = tmp_path / "run_results.json"
    _write_results(path, [
        {"unique_id": "model.dvk.fct_model", "status": "success", "message": "OK"},
        {"unique_id": "test.dvk.not_null_x.abc", "status": "fail", "message": "Got 3 results", "failures": 3},
        {"unique_id": "model.dvk.fct_y", "status": "error", "message": "Binder Error: no column z"},
        {"unique_id": "model.dvk.fct_z", "status": "skipped", "message": None},
    ])
    failures, skipped = transform._failures_from_run_results(path, time.time() - 60)
    assert [(f.unique_id, f.resource_type, f.status, f.failures) for f in failures] == [
        ("test.dvk.not_null_x.abc", "test", "fail", 3), ("model.dvk.fct_y", "model", "error", None),
    ]
    assert "Binder Error" in str(failures[1]) and skipped == ["model.dvk.fct_z"]


def test_an_older_run_results_is_not_this_invocations(tmp_path):
    path = tmp_path / "run_results.json"
    _write_results(path, [{"unique_id": "model.dvk.a", "status": "error", "message": "old"}],
                   mtime=time.time() - 3600)
    assert transform._failures_from_run_results(path, time.time() - 60) is None
    assert transform._failures_from_run_results(tmp_path / "missing.json", 0) is None


def test_dbt_runs_in_this_environment():
    assert transform.DBT_COMMAND[0] == sys.executable
    assert transform.DBT_COMMAND[1:] == ("-m", "dbt.cli.main")


def test_release_is_a_no_op_without_dbt_in_process(monkeypatch):
    monkeypatch.delitem(sys.modules, "dbt.adapters.duckdb.connections", raising=False)
    transform.release_dbt_duckdb()
    assert "dbt.adapters.duckdb.connections" not in sys.modules  # nothing imported for it
