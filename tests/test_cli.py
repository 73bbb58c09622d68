"""The operators' command line (``python -m dvk …`` / ``./scripts/dvk``) on the demo warehouse.

The demo site is the session fixture ``demo_site`` (tests/conftest.py), built and published once
per run; tests that change it work on a copy. Commands run in-process (``dvk.cli.main`` with capsys) or,
for the entry point itself, the SQL session without a terminal and dbt, as ``python -m dvk``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import duckdb
import pytest

from dvk import cli
from dvk.settings import PROJECT_ROOT
from tests.support import site as site_helpers

STEP_DONE = re.compile(r"^\[\s*\d+\.\d+s\] ✓ ", re.MULTILINE)


@pytest.fixture
def site(demo_site) -> Path:
    """The demo site, built once per run: read it, or ``copy_site`` it."""
    return demo_site


def run_cli(monkeypatch, capsys, base: Path, *argv: str) -> tuple[int, str, str]:
    for key, value in site_helpers.site_env(base).items():
        monkeypatch.setenv(key, value)
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_module(base: Path, *argv: str, stdin: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(site_helpers.site_env(base))
    return subprocess.run(
        [sys.executable, "-m", "dvk", *argv], cwd=PROJECT_ROOT, env=env, input=stdin if stdin is not None else "",
        capture_output=True, text=True, timeout=timeout,
    )


# --------------------------------------------------------------------------------------------
# help


def test_help_in_vietnamese_and_english(capsys):
    proc = subprocess.run([sys.executable, "-m", "dvk", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0
    for command in ("status", "missing", "quarantine", "rebuild", "report", "publish", "sql"):
        assert command in proc.stdout
    assert "tình trạng kho dữ liệu / pipeline status" in proc.stdout
    # each command's help, in-process (the entry point itself is checked above)
    for command in ("status", "missing", "quarantine", "rebuild", "report", "publish", "sql", "ingest", "transform",
                    "gate"):
        code = cli.main([command, "--help"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert " / " in out  # every help line says it in both languages


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "status" in capsys.readouterr().out


def test_wrappers_call_bootstrap_then_the_console_script():
    for name, command in (("sql", 'dvk" sql'), ("dvk", 'dvk"')):
        path = PROJECT_ROOT / "scripts" / name
        assert path.is_file() and os.access(path, os.X_OK)
        text = path.read_text(encoding="utf-8")
        assert '"$ROOT/scripts/bootstrap"' in text and f'exec "$ROOT/.venv/bin/{command} "$@"' in text
        assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    script = Path(sys.executable).parent / "dvk"  # [project.scripts] dvk = "dvk.cli:main"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for command in ("ingest", "transform", "gate", "report", "publish", "run", "status", "missing", "quarantine", "sql"):
        assert f"  {command} " in proc.stdout


@pytest.mark.parametrize("argv", [
    ["nosuch"],
    ["report", "--year", "abc"],
    ["publish", "--year", "1999"],
    ["gate", "--year", "20x1"],
    ["missing"],
    ["status", "--nope"],
    ["sql", "--warehouse", "--db", "other.duckdb"],
    ["run", "--year", "abc"],
])
def test_wrong_input_prints_usage_and_exits_2(argv, capsys):
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert "usage" in err.lower() and "Traceback" not in out + err


def test_entry_points_are_the_commands(monkeypatch, capsys):
    """``python -m dvk.transform|gate|report|ingest`` are the ``dvk`` commands: help, not an error.
    The help through runpy (what ``python -m`` runs), in-process; the error as a real process."""
    import runpy

    for module, option in (("dvk.transform", "--select"), ("dvk.gate", "--year"), ("dvk.report", "--year"),
                           ("dvk.ingest", "--help")):
        monkeypatch.setattr(sys, "argv", [module, "--help"])
        # runpy warns when the module is imported already (this worker's other tests did): a real
        # ``python -m`` imports it once
        with pytest.raises(SystemExit) as exited, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*found in sys.modules after import", category=RuntimeWarning)
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        out, err = capsys.readouterr()
        assert exited.value.code in (0, None) and option in out, err
    proc = subprocess.run([sys.executable, "-m", "dvk.gate", "twenty"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "not a year" in proc.stderr and "Traceback" not in proc.stderr


def test_only_the_process_command_line_ends_without_the_last_collections(monkeypatch, capsys):
    """``main()`` without arguments is the process's command line (the console script, ``python -m
    dvk``): the process ends with it, without the interpreter's last garbage collections. Called with
    arguments (by a test, by another program) it leaves the collector as it is."""
    import gc

    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    assert cli.main(["--help"]) == 0 and frozen == []
    monkeypatch.setattr(sys, "argv", ["dvk", "--help"])
    assert cli.main() == 0 and frozen == [True]
    # and a real process still ends as usual: its whole output, its exit code
    proc = subprocess.run([sys.executable, "-m", "dvk", "missing", "--period", "Quý 5/2022"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Quý 5/2022" in proc.stderr and "Traceback" not in proc.stderr
    help_text = subprocess.run([sys.executable, "-m", "dvk", "--help"], cwd=PROJECT_ROOT, capture_output=True,
                               text=True)
    assert help_text.returncode == 0 and help_text.stdout.rstrip().endswith(capsys.readouterr().out.rstrip()[-40:])


def test_transform_passes_dbt_commands_on(monkeypatch, capsys):
    import dvk.transform as transform

    calls = []
    monkeypatch.setattr(transform, "build", lambda **kw: calls.append(("build", kw)))
    monkeypatch.setattr(transform, "run_dbt", lambda args: calls.append(("dbt", args)))
    monkeypatch.setattr(transform, "docs", lambda: calls.append(("docs",)) or "index.html")
    assert cli.main(["transform"]) == 0
    assert cli.main(["transform", "build", "--select", "+fct_model"]) == 0
    assert cli.main(["transform", "--full-refresh"]) == 0
    assert cli.main(["transform", "docs"]) == 0
    assert cli.main(["transform", "test", "--select", "test_type:unit"]) == 0
    assert cli.main(["transform", "build", "--vars", "{x: 1}"]) == 0
    assert calls == [
        ("build", {"select": None, "full_refresh": False}),
        ("build", {"select": "+fct_model", "full_refresh": False}),
        ("build", {"select": None, "full_refresh": True}),
        ("docs",),
        ("dbt", ["test", "--select", "test_type:unit"]),
        ("dbt", ["build", "--vars", "{x: 1}"]),
    ]
    assert "index.html" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# status


def test_status(site, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, site, "status")
    assert code == 0
    # the site has run twice: every demo file loaded the first night, nothing new the second
    seen = re.search(r"(\d+) tệp / files seen: 0 nạp / loaded, \1 bỏ qua", out)
    assert seen and f"Báo cáo trong kho / submissions loaded: {seen.group(1)}" in out, out
    assert "Tệp chờ nạp / files waiting in the inbox: 0" in out
    assert "Tệp bị cách ly / quarantined files: 0" in out
    assert "2021: ĐẠT / passed" in out
    assert "253 mô hình / models" in out
    assert "Bản phát hành / published: 20" in out

    code, out, _ = run_cli(monkeypatch, capsys, site, "status", "--json")
    status = json.loads(out)
    assert status["warehouse_state"] == "ok"
    last = status["last_load"]
    assert last["files_skipped"] == last["files_seen"] > 0 and last["files_loaded"] == last["files_quarantined"] == 0
    assert status["waiting_files"] == [] and status["quarantined_files"] == 0
    assert status["gate"]["2021"]["passed"] is True
    assert 2021 in status["published"]["gate_years_passed"]  # and every other gated demo year
    assert status["published"]["warehouse_changed_since"] is False
    assert status["annual_reports"]["2021"]["models_total"] == 253


def test_status_says_when_publishing_would_change_a_year(site, tmp_path, monkeypatch, capsys):
    """After a night with nothing new the warehouse file was written (its load log) but no year
    changed (test_status); a year whose data differ from what was published is a change."""
    settings = site_helpers.copy_site(site, tmp_path / "site")
    path = settings.published_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["years"]["2021"]["data_fingerprint"] = "0" * 64  # published from other submissions
    path.chmod(0o640)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    code, out, _ = run_cli(monkeypatch, capsys, tmp_path / "site", "status", "--json")
    assert code == 0 and json.loads(out)["published"]["warehouse_changed_since"] is True
    code, out, _ = run_cli(monkeypatch, capsys, tmp_path / "site", "status")
    assert "the warehouse changed since" in out


def test_status_lists_files_waiting_and_a_busy_warehouse(site, tmp_path, monkeypatch, capsys):
    settings = site_helpers.copy_site(site, tmp_path / "site")
    (settings.inbox_dir / "2022Q1_18073_phuong-nam-ha.csv").write_text("ma_don_vi\n18073\n", encoding="utf-8")
    code, out, _ = run_cli(monkeypatch, capsys, tmp_path / "site", "status")
    assert code == 0
    assert "Tệp chờ nạp / files waiting in the inbox: 1" in out and "2022Q1_18073_phuong-nam-ha.csv" in out
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(settings.warehouse)!r}); "
                               "print('holding', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    # a reader waits min(20 s, DVK_LOCK_WAIT_SECONDS) for the writer before falling back: 1 s here
    monkeypatch.setenv("DVK_LOCK_WAIT_SECONDS", "1")
    try:
        assert holder.stdout.readline().strip() == "holding"
        code, out, _ = run_cli(monkeypatch, capsys, tmp_path / "site", "status")
        assert code == 0
        assert "đang được ghi" in out and "being written" in out
        assert "2021: ĐẠT / passed" in out  # what does not need the warehouse is still shown
        # `missing` falls back on the published copy while the warehouse is written
        code, out, err = run_cli(monkeypatch, capsys, tmp_path / "site", "missing", "--period", "2021")
        assert code == 0 and "CQ12" in out
        assert "published copy" in err
    finally:
        holder.kill()
        holder.wait()


# --------------------------------------------------------------------------------------------
# missing


def test_missing_for_a_quarter(site, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, site, "missing", "--period", "2022Q1")
    assert code == 0
    assert "22 / 28" in out
    assert "19/03/2022" in out  # due 5 days after the window closes on 14 March
    for unit in ("18073", "18076", "CQ12", "CQ13"):
        assert re.search(rf"^\s+{unit}\s", out, re.MULTILINE), unit
    for unit in ("18070", "18079", "18100", "18103", "CQ02", "CQ07"):  # sent their 2022Q1 report
        assert not re.search(rf"^\s+{unit}\s", out, re.MULTILINE), unit
    code, out, _ = run_cli(monkeypatch, capsys, site, "missing", "--period", "Quý I/2022", "--json")
    data = json.loads(out)
    assert data["period_id"] == "2022Q1" and data["expected"] == 28 and len(data["missing"]) == 22


def test_missing_for_a_year_and_from_the_published_copy(site, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, site, "missing", "--period", "2021", "--published", "--json")
    data = json.loads(out)
    assert [u["unit_code"] for u in data["missing"]] == ["CQ12"]
    assert "published" in data["source"]


def test_missing_with_a_bad_period(site, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, site, "missing", "--period", "Quý 5/2022")
    assert code == 2
    assert "2022" in err


# --------------------------------------------------------------------------------------------
# quarantine


def test_quarantine_lists_each_file_with_its_problems(site, tmp_path, monkeypatch, capsys):
    from dvk.ingest import ingest_inbox

    base = tmp_path / "site"
    settings = site_helpers.copy_site(site, base)
    (settings.inbox_dir / "2022Q1_18070_phuong-tran-phu_sua.xlsx").write_bytes(b"not a workbook at all\n")
    (settings.inbox_dir / "2022Q1_CQ05_hoi-cuu-chien-binh.csv").write_text(
        "ma_don_vi,ten_don_vi\nCQ05,Hội Cựu chiến binh\n", encoding="utf-8")
    result = ingest_inbox(settings)
    assert len(result.quarantined) == 2

    code, out, _ = run_cli(monkeypatch, capsys, base, "quarantine")
    assert code == 0
    assert "2 tệp bị cách ly" in out
    assert "2022Q1_18070_phuong-tran-phu_sua.xlsx" in out and "2022Q1_CQ05_hoi-cuu-chien-binh.csv" in out
    assert out.count("   - [") >= 2  # at least one problem line per file, with its code
    assert ".problems.txt" in out

    code, out, _ = run_cli(monkeypatch, capsys, base, "quarantine", "--unit", "18070")
    assert "1 tệp bị cách ly" in out and "18070" in out and "CQ05" not in out
    code, out, _ = run_cli(monkeypatch, capsys, base, "quarantine", "--unit", "CQ05", "--json")
    files = json.loads(out)
    assert [f["file_name"] for f in files] == ["2022Q1_CQ05_hoi-cuu-chien-binh.csv"]
    assert files[0]["problems"] and all(p["message_vi"] and p["message_en"] for p in files[0]["problems"])
    code, out, _ = run_cli(monkeypatch, capsys, base, "quarantine", "--unit", "18073")
    assert "0 tệp bị cách ly" in out

    code, out, _ = run_cli(monkeypatch, capsys, base, "status", "--json")
    assert json.loads(out)["quarantined_files"] == 2


# --------------------------------------------------------------------------------------------
# report, publish, rebuild


def test_report_then_publish(site, tmp_path, monkeypatch, capsys):
    base = tmp_path / "site"
    site_helpers.copy_site(site, base, adopt_gate_results=True)  # the shared site stays as built
    code, out, _ = run_cli(monkeypatch, capsys, base, "report", "--year", "2021")
    assert code == 0, out
    assert len(STEP_DONE.findall(out)) == 2
    assert "27 units, 253 models, 157 new, 96 replicated" in out

    code, out, _ = run_cli(monkeypatch, capsys, base, "publish")
    assert code == 0, out
    assert "marts.fct_annual_unit_field" in out and STEP_DONE.search(out)
    manifest = json.loads((site_helpers.site_settings(base).published_dir / "manifest.json").read_text())
    assert 2021 in manifest["gate_years_passed"] and manifest["years_held_back"] == []


def test_publish_refused_when_the_gate_failed(site, tmp_path, monkeypatch, capsys):
    settings = site_helpers.copy_site(site, tmp_path / "site")
    before = site_helpers.published_state(settings)
    gate_file = settings.reports_dir / "gate" / "2021" / "gate_result.json"
    data = json.loads(gate_file.read_text(encoding="utf-8"))
    data.update(passed=False, warehouse=str(settings.warehouse), failures=[{"message_vi": "x", "detail_en": "y"}])
    gate_file.write_text(json.dumps(data), encoding="utf-8")
    code, out, _ = run_cli(monkeypatch, capsys, tmp_path / "site", "publish", "--year", "2021")
    assert code == 1
    assert "FAILED" in out and "2021" in out
    assert site_helpers.published_state(settings) == before


def test_rebuild_a_year_shows_progress(site, tmp_path):
    settings = site_helpers.copy_site(site, tmp_path / "site")
    proc = run_module(tmp_path / "site", "rebuild", "--year", "2021")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    steps = STEP_DONE.findall(proc.stdout)
    assert len(steps) == 3, proc.stdout
    assert "dbt build" in proc.stdout and "quality gate 2021" in proc.stdout and "annual report 2021" in proc.stdout
    assert "27 units, 253 models, 157 new, 96 replicated" in proc.stdout
    assert json.loads((settings.reports_dir / "gate" / "2021" / "gate_result.json").read_text())["passed"] is True


# --------------------------------------------------------------------------------------------
# sql


def test_sql_one_shot_on_the_published_warehouse(site):
    proc = run_module(site, "sql", "-c", "select sum(models_total) as total from marts.fct_annual_unit_field "
                                          "where year = 2021; select count(*) as n from dim_field")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"│\s+253\s+│", proc.stdout)
    assert re.search(r"│\s+4\s+│", proc.stdout)  # the marts are on the search path


def test_sql_reads_statements_from_stdin_without_a_terminal(site):
    script = (
        ".tables\n"
        "select field_code,\n       field_name_en\nfrom marts.dim_field\norder by sort_order;\n"
        "select 42 as answer; -- a comment after the statement\n"
        "-- a line of comment only\n"
        "select 'a;--b' as tricky -- comment with a quote: don't\n;\n"
        "select 'Phường Bắc Hà' as tên; -- tiếng Việt có dấu\n"
        ".quit\n"
        "select 'never run' as after_quit;\n"
    )
    proc = run_module(site, "sql", stdin=script)
    assert proc.returncode == 0, proc.stderr
    assert "marts.fct_model" in proc.stdout and "parquet/fct_model.parquet" in proc.stdout
    assert "Economic development" in proc.stdout and "Building the Party" in proc.stdout
    assert re.search(r"│\s+42\s+│", proc.stdout) and "a;--b" in proc.stdout and "Phường Bắc Hà" in proc.stdout
    assert "never run" not in proc.stdout


def test_sql_csv_output(site):
    proc = run_module(site, "sql", "--csv", "-c", "select field_code, sort_order from marts.dim_field order by 2")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == ["field_code,sort_order", "KT,1", "VHXH,2", "QPAN,3", "XDD,4"]


def test_sql_dot_commands_with_c(site):
    proc = run_module(site, "sql", "-c", ".tables")
    assert proc.returncode == 0, proc.stderr
    assert "marts.fct_model" in proc.stdout
    proc = run_module(site, "sql", "-c", ".mode csv\nselect field_code from marts.dim_field order by sort_order;")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["field_code", "KT", "VHXH", "QPAN", "XDD"]
    proc = run_module(site, "sql", "-c", ".nonsense")
    assert proc.returncode == 1 and "unknown command" in proc.stderr


def test_sql_is_read_only_and_reports_errors(site):
    before = site_helpers.file_digest(site_helpers.site_settings(site).published_warehouse)
    proc = run_module(site, "sql", "-c", "create table marts.x as select 1")
    assert proc.returncode == 1 and "read-only" in proc.stderr
    proc = run_module(site, "sql", stdin="delete from marts.fct_model;\nselect 42 as answer;\n")
    assert proc.returncode == 1 and "read-only" in proc.stderr and "42" in proc.stdout
    proc = run_module(site, "sql", "-c", "select no_such_column from marts.fct_model")
    assert proc.returncode == 1 and "no_such_column" in proc.stderr
    assert site_helpers.file_digest(site_helpers.site_settings(site).published_warehouse) == before


def test_sql_without_a_publication(tmp_path):
    proc = run_module(tmp_path, "sql", "-c", "select 1")
    assert proc.returncode == 3
    assert "publish" in proc.stderr


def test_sql_session_reload_sees_a_new_publication(site, tmp_path):
    from dvk.publish import publish

    settings = site_helpers.copy_site(site, tmp_path / "site")
    sql = "select field_name_en from marts.dim_field where field_code = 'KT'"
    session = cli.SqlSession(settings.published_warehouse)
    try:
        assert session.con.execute(sql).fetchone()[0] == "Economic development"
        con = duckdb.connect(str(settings.warehouse))
        con.execute("update marts.dim_field set field_name_en = 'Economy' where field_code = 'KT'")
        con.close()
        publish(settings)
        assert session.con.execute(sql).fetchone()[0] == "Economic development"  # its own consistent copy
        session.connect()  # what .reload does
        assert session.con.execute(sql).fetchone()[0] == "Economy"
    finally:
        session.close()
