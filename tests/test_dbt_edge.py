"""The dbt runner on the edges: empty raw tables, no raw tables, a failing dbt test, the grace
setting, and the argument list it hands to dbt."""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dvk.settings import DBT_PROJECT_DIR, Settings, get_settings
from dvk.transform import TransformError, build, dbt_cli_args, missing_raw_tables

_spec = importlib.util.spec_from_file_location(
    "dvk_test_raw_fixture_edge", Path(__file__).parent / "fixtures" / "raw_fixture.py"
)
raw_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(raw_fixture)

MARTS = [
    "dim_reporting_unit", "dim_field", "dim_period", "fct_submission", "fct_model",
    "fct_annual_unit_status", "fct_annual_unit_field", "fct_submission_totals_check",
]


def _settings(root: Path, grace: int = 5) -> Settings:
    return Settings(
        inbox_dir=root / "inbox",
        warehouse=root / "warehouse" / "dvk.duckdb",
        reports_dir=root / "reports",
        quarantine_dir=root / "quarantine",
        due_grace_days=grace,
    )


def _counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path)) as con:
        return {m: con.execute(f"select count(*) from marts.{m}").fetchone()[0] for m in MARTS}


@pytest.fixture(scope="module")
def empty_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbt_empty")
    settings = _settings(root)
    raw_fixture.make_raw_warehouse(settings.warehouse, empty=True)
    build(settings)
    return settings


def test_empty_raw_tables_build(empty_build):
    counts = _counts(empty_build.warehouse)
    assert counts["dim_reporting_unit"] == 28
    assert counts["dim_field"] == 4
    assert {m: n for m, n in counts.items() if not m.startswith(("dim_reporting", "dim_field"))} == {
        m: 0 for m in MARTS if not m.startswith(("dim_reporting", "dim_field"))
    }


def test_grace_setting_and_a_new_submission(empty_build):
    settings = _settings(empty_build.warehouse.parent.parent, grace=7)
    sid = raw_fixture.sid("u9_2023")
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            "insert into raw.submissions (submission_id, file_name, file_format, unit_code, "
            "period_id, period_kind, period_year, report_date, received_at, has_declared_totals) "
            "values (?, 'x.csv', 'csv', 'CQ07', '2023', 'year', 2023, date '2023-12-10', "
            "timestamp '2023-12-11 08:00', false)",
            [sid],
        )
        con.execute(
            "insert into raw.submission_models (submission_id, line_no, model_name, field_code, "
            "model_kind) values (?, 1, 'Camera an ninh', 'QPAN', 'new')",
            [sid],
        )
    build(settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        assert con.execute(
            "select window_end, due_date from marts.dim_period where period_id = '2023'"
        ).fetchone() == (date(2023, 12, 14), date(2023, 12, 21))
        assert con.execute(
            "select status, source_submission_id from marts.fct_annual_unit_status "
            "where year = 2023 and unit_code = 'CQ07'"
        ).fetchone() == ("reported", sid)
        assert con.execute(
            "select models_total, models_new, households from marts.fct_annual_unit_field"
        ).fetchall() == [(1, 1, 0)]
        assert con.execute("select count(*) from marts.fct_submission_totals_check").fetchone() == (0,)


def test_failing_dbt_test_raises_with_node_names(empty_build):
    settings = _settings(empty_build.warehouse.parent.parent)
    sid = raw_fixture.sid("bad field")
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            "insert into raw.submissions (submission_id, file_name, file_format, unit_code, "
            "period_id, period_kind, period_year, report_date, has_declared_totals) "
            "values (?, 'bad.csv', 'csv', 'CQ07', '2023Q1', 'quarter', 2023, date '2023-03-10', false)",
            [sid],
        )
        con.execute(
            "insert into raw.submission_models (submission_id, line_no, model_name, field_code, "
            "model_kind) values (?, 1, 'Lạc lĩnh vực', 'XX', 'new')",
            [sid],
        )
    with pytest.raises(TransformError) as err:
        build(settings)
    text = str(err.value)
    assert "accepted_values_stg_raw__submission_models_field_code" in text
    assert any("field_code" in f.unique_id for f in err.value.failures)
    assert err.value.skipped  # the models downstream of the failed test were not built


def test_missing_raw_tables(tmp_path):
    settings = _settings(tmp_path)
    assert len(missing_raw_tables(settings)) == 6
    with pytest.raises(TransformError, match="run the ingest"):
        build(settings)
    assert not settings.warehouse.exists()


def test_dbt_cli_args(tmp_path, monkeypatch):
    monkeypatch.setenv("DVK_WAREHOUSE", str(tmp_path / "w" / "dvk.duckdb"))
    monkeypatch.setenv("DVK_DUE_GRACE_DAYS", "9")
    settings = get_settings()
    args = dbt_cli_args(["build", "--select", "marts"], settings)
    assert args[:3] == ["build", "--select", "marts"]
    opts = dict(zip(args[3::2], args[4::2]))
    assert opts["--project-dir"] == str(DBT_PROJECT_DIR)
    assert opts["--profiles-dir"] == str(DBT_PROJECT_DIR)
    assert opts["--target-path"] == str(tmp_path / "w" / "dbt_target")
    assert opts["--log-path"] == str(tmp_path / "w" / "dbt_target" / "logs")
    assert json.loads(opts["--vars"]) == {"due_grace_days": 9}
    assert "--target-path" not in dbt_cli_args(["debug"], settings)
    given = dbt_cli_args(["run", "--vars", '{"due_grace_days": 1}'], settings)
    assert given.count("--vars") == 1
