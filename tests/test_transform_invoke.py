"""How dvk.transform invokes dbt: a child process (here started as ``python -m dbt.cli.main``, the
path without the fork server, which gets the same arguments, environment and folder), failures read from that invocation's
run_results.json (never an older one), and no dbt-duckdb state reached into when dbt never ran
in this process. No dbt run here (the builds are in test_dbt_build / test_dbt_edge)."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from dvk import transform
from dvk.settings import get_settings


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
    assert transform.DBT_COMMAND[1:] == ("-P", "-m", "dbt.cli.main")  # -P: its folder not on sys.path


def test_release_is_a_no_op_without_dbt_in_process(monkeypatch):
    monkeypatch.delitem(sys.modules, "dbt.adapters.duckdb.connections", raising=False)
    transform.release_dbt_duckdb()
    assert "dbt.adapters.duckdb.connections" not in sys.modules  # nothing imported for it


_REPORT_ENVIRONMENT = (
    "import json, os, sys; print('DBT-CHILD ' + json.dumps({'cwd': os.getcwd(), "
    "'warehouse': os.environ.get('DVK_WAREHOUSE'), "
    "'parse_state': os.environ.get('DBT_PARTIAL_PARSE_FILE_PATH'), 'argv': sys.argv[1:], "
    "'settings': {k: v for k, v in os.environ.items() if k in ('DVK_UNITS_FILE', 'DVK_UNIT_CHANGES_FILE', "
    "'DVK_UNIT_SHARES_FILE', 'DVK_DUE_GRACE_DAYS')}}))"
)


def _child_sees(monkeypatch, capsys, settings, *args: str) -> dict:
    """What a dbt child of run_dbt sees (a stand-in for dbt that prints it, started as
    ``python -m dbt.cli.main`` would be: the fork server passes the same arguments, environment and
    folder to dbt's command line, tests/test_dbt_forkserver.py)."""
    monkeypatch.setattr(transform, "DBT_COMMAND", (sys.executable, "-c", _REPORT_ENVIRONMENT))
    transform.run_dbt(["parse", *args], replace(settings, dbt_forkserver=False))
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("DBT-CHILD "))
    return json.loads(line[len("DBT-CHILD "):])


def test_dbt_runs_in_the_warehouse_folder_and_names_it_by_its_file(tmp_path, monkeypatch, capsys):
    # the profile's connection values are part of dbt's parse state: with the file's name (relative
    # to the folder dbt runs in) a warehouse copied or moved with its dbt_target keeps its state
    settings = replace(get_settings(), warehouse=tmp_path / "site" / "wh" / "dvk.duckdb")
    seen = _child_sees(monkeypatch, capsys, settings)
    assert seen["warehouse"] == "dvk.duckdb"
    assert os.path.samefile(seen["cwd"], tmp_path / "site" / "wh")


def test_this_process_environment_is_left_as_it_is(tmp_path, monkeypatch, capsys):
    # another thread's get_settings() must never see the bare file name dbt gets
    monkeypatch.setenv("DVK_WAREHOUSE", str(tmp_path / "wh" / "dvk.duckdb"))
    seen_here = []
    monkeypatch.setattr(transform, "DBT_COMMAND", (sys.executable, "-c", _REPORT_ENVIRONMENT))
    real_popen = transform.subprocess.Popen

    def popen(*args, **kwargs):
        seen_here.append(os.environ.get("DVK_WAREHOUSE"))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(transform.subprocess, "Popen", popen)
    transform.run_dbt(["parse"], replace(get_settings(), warehouse=tmp_path / "wh" / "dvk.duckdb", dbt_forkserver=False))
    assert seen_here == [str(tmp_path / "wh" / "dvk.duckdb")]
    assert '"warehouse": "dvk.duckdb"' in capsys.readouterr().out


def test_a_relative_warehouse_path_is_the_same_file_for_dbt(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    settings = replace(get_settings(), warehouse=Path("site") / "dvk.duckdb", units_file=Path("units.csv"))
    seen = _child_sees(monkeypatch, capsys, settings)
    assert os.path.samefile(seen["cwd"], tmp_path / "site") and seen["warehouse"] == "dvk.duckdb"
    argv = seen["argv"]
    assert argv[argv.index("--target-path") + 1] == str(tmp_path / "site" / "dbt_target")
    assert seen["settings"]["DVK_UNITS_FILE"] == str(tmp_path / "units.csv")


def test_the_settings_reach_dbt_in_its_environment_never_as_vars(tmp_path, monkeypatch, capsys):
    # dbt parses the whole project again when its vars change, only the files that read an
    # environment variable when that changes: a deployment's own units file or grace must not
    # cost a full parse. The child's values are this process's settings, not its environment.
    monkeypatch.setenv("DVK_UNITS_FILE", str(tmp_path / "not-this.csv"))
    settings = replace(get_settings(), warehouse=tmp_path / "wh" / "dvk.duckdb", due_grace_days=9,
                       units_file=tmp_path / "u.csv", unit_changes_file=tmp_path / "c.csv",
                       unit_shares_file=tmp_path / "s.csv")
    seen = _child_sees(monkeypatch, capsys, settings)
    assert "--vars" not in seen["argv"]
    assert seen["settings"] == {"DVK_UNITS_FILE": str(tmp_path / "u.csv"),
                                "DVK_UNIT_CHANGES_FILE": str(tmp_path / "c.csv"),
                                "DVK_UNIT_SHARES_FILE": str(tmp_path / "s.csv"), "DVK_DUE_GRACE_DAYS": "9"}


def test_a_given_parse_state_only_seeds_a_target_folder_without_one(tmp_path, monkeypatch, capsys):
    given = tmp_path / "state.msgpack"
    monkeypatch.setenv("DBT_PARTIAL_PARSE_FILE_PATH", str(given))
    settings = replace(get_settings(), warehouse=tmp_path / "wh" / "dvk.duckdb")
    # not there yet (the test suite's is made in the background): dbt is not given a missing file
    assert _child_sees(monkeypatch, capsys, settings)["parse_state"] is None
    given.write_bytes(b"")
    assert _child_sees(monkeypatch, capsys, settings)["parse_state"] == str(given)
    (settings.dbt_target_dir / transform.PARTIAL_PARSE_FILE).write_bytes(b"its own")
    assert _child_sees(monkeypatch, capsys, settings)["parse_state"] is None
    # the target folder of the invocation is the one given to dbt, when one is
    other = tmp_path / "other_target"
    other.mkdir()
    assert _child_sees(monkeypatch, capsys, settings, "--target-path", str(other))["parse_state"] == str(given)


def test_warm_up_names_the_build_dbt_will_run(tmp_path, monkeypatch):
    """The README's run command primes dbt's fork server with the build the transform will run:
    the same project, profile, target folder, environment and working folder as run_dbt's."""
    from dvk import dbt_forkserver

    sent = []
    monkeypatch.setattr(dbt_forkserver, "warm_up", lambda invocation, settings=None: sent.append(invocation))
    settings = replace(get_settings(), warehouse=tmp_path / "wh" / "dvk.duckdb")
    transform.warm_up(settings)
    ((args, env, cwd),) = sent
    target = transform.dbt_paths(transform._absolute_paths(settings))["target_path"]
    assert args[0] == "build" and dbt_forkserver.option_value(args, "--target-path") == str(target)
    assert env["DVK_WAREHOUSE"] == "dvk.duckdb" and Path(cwd) == transform.dbt_working_dir(settings)
