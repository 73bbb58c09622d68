"""The dbt runner on the edges: empty raw tables, no raw tables, a failing dbt test, the grace
setting, and the argument list it hands to dbt."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from dvk import transform
from dvk.settings import DBT_PROJECT_DIR, Settings, get_settings
from dvk.transform import TransformError, build, dbt_child_environment, dbt_cli_args, docs, missing_raw_tables
from tests.fixtures import raw_fixture

pytestmark = pytest.mark.e2e  # dbt builds (empty raw, grace setting, a failing test)

MARTS = [
    "dim_reporting_unit", "dim_field", "dim_period", "fct_submission", "fct_model",
    "fct_annual_unit_status", "fct_annual_unit_field", "fct_submission_totals_check",
    "dim_reporting_unit_history", "dim_reporting_unit_year", "dim_date", "fct_reporting_rate",
    "fct_reporting_rate_unit", "fct_model_year", "fct_unit_field_ytd", "fct_annual_unit_source",
]
# the master list's unit versions (57 in the seed, 2019 to today): present without any submission
UNIT_DIMS = {"dim_reporting_unit": 57, "dim_field": 4, "dim_reporting_unit_history": 57}


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
    build(settings, unit_tests=False)
    return settings


def test_empty_raw_tables_build(empty_build):
    counts = _counts(empty_build.warehouse)
    assert {m: n for m, n in counts.items() if m in UNIT_DIMS} == UNIT_DIMS
    assert {m: n for m, n in counts.items() if m not in UNIT_DIMS} == {
        m: 0 for m in MARTS if m not in UNIT_DIMS
    }
    with duckdb.connect(str(empty_build.warehouse)) as con:
        # no data: no year to list units for (dim_reporting_unit_year spans the years with data)
        assert con.execute("select count(*) from marts.dim_reporting_unit_year").fetchone() == (0,)


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
        # and a 2019 report: loaded and counted, but nobody is expected before 2020 ("Reports are
        # expected from 2020 on", the setting first_expected_year), so nobody is missing for 2019
        con.execute(
            "insert into raw.submissions (submission_id, file_name, file_format, unit_code, "
            "period_id, period_kind, period_year, report_date, received_at, has_declared_totals) "
            "values (?, 'y.csv', 'csv', '18076', '2019', 'year', 2019, date '2019-12-10', "
            "timestamp '2019-12-11 08:00', false)",
            [raw_fixture.sid("bh_2019")],
        )
        con.execute(
            "insert into raw.submission_models (submission_id, line_no, model_name, field_code, "
            "model_kind) values (?, 1, 'Đường hoa', 'VHXH', 'new')",
            [raw_fixture.sid("bh_2019")],
        )
    build(settings, unit_tests=False)
    with duckdb.connect(str(settings.warehouse)) as con:
        assert con.execute(
            "select unit_code, status, is_expected from marts.fct_annual_unit_status where year = 2019"
        ).fetchall() == [("18076", "reported", False)]
        assert con.execute(
            "select expected_units, received_units, missing_units from marts.fct_reporting_rate where period_id = '2019'"
        ).fetchone() == (0, 0, 0)
        assert con.execute(
            "select sum(models_total) from marts.fct_annual_unit_field where year = 2019").fetchone() == (1,)
        assert con.execute("select count(*) filter (where is_expected) from marts.dim_reporting_unit_year "
                           "where year = 2019").fetchone() == (0,)
    from dvk.ops import collect_missing  # `dvk missing 2019`: nobody
    missing_2019 = collect_missing(settings, "2019")
    assert (missing_2019["expected"], missing_2019["missing"]) == (0, [])
    with duckdb.connect(str(settings.warehouse)) as con:
        assert con.execute(
            "select window_end, due_date from marts.dim_period where period_id = '2023'"
        ).fetchone() == (date(2023, 12, 14), date(2023, 12, 21))
        assert con.execute(
            "select status, source_submission_id from marts.fct_annual_unit_status "
            "where year = 2023 and unit_code = 'CQ07'"
        ).fetchone() == ("reported", sid)
        assert con.execute(
            "select models_total, models_new, households from marts.fct_annual_unit_field where year = 2023"
        ).fetchall() == [(1, 1, 0)]
        assert con.execute("select count(*) from marts.fct_submission_totals_check").fetchone() == (0,)
        # the grace of 7 days moves the due date, and the on-time flag with it
        assert con.execute(
            "select due_date, received_on, is_on_time from marts.fct_submission where submission_id = ?",
            [sid],
        ).fetchone() == (date(2023, 12, 21), date(2023, 12, 11), True)
        assert con.execute(
            "select expected_units, received_units, on_time_units, missing_units "
            "from marts.fct_reporting_rate where period_id = '2023'"
        ).fetchone() == (28, 1, 1, 27)
        # loaded_at unknown (null): the incremental facts still take the submission
        assert con.execute(
            "select model_name_key, first_period_id, unit_year_loaded_at from marts.fct_model where unit_code = 'CQ07'"
        ).fetchall() == [("camera an ninh", "2023", None)]
        assert con.execute("select count(*) from marts.fct_model_year where year = 2023").fetchone() == (1,)


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
        build(settings, unit_tests=False)
    text = str(err.value)
    # the model's one `checks` test failed; its error names the model, the column and the check
    assert "stg_raw__submission_models.field_code: relationships: fields.field_code (1 failing, e.g. XX)" in text
    assert any(f.unique_id.startswith("test.dvk.checks_stg_raw__submission_models.") for f in err.value.failures)
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
    assert "--vars" not in opts  # the settings go through dbt's environment (dbt_child_environment)
    env = dbt_child_environment(settings, args)
    assert env["DVK_DUE_GRACE_DAYS"] == "9"
    assert (env["DVK_UNITS_FILE"], env["DVK_UNIT_CHANGES_FILE"], env["DVK_UNIT_SHARES_FILE"]) == (
        str(settings.units_file), str(settings.unit_changes_file), str(settings.unit_shares_file))
    assert "--target-path" not in dbt_cli_args(["debug"], settings)
    given = dbt_cli_args(["run", "--vars", '{"due_grace_days": 1}'], settings)
    assert given[given.index("--vars") + 1] == '{"due_grace_days": 1}' and given.count("--vars") == 1


def test_build_and_docs_hand_dbt_the_right_commands(tmp_path, monkeypatch):
    settings = _settings(tmp_path)
    raw_fixture.make_raw_warehouse(settings.warehouse, empty=True)
    calls = []
    monkeypatch.setattr(transform, "run_dbt", lambda args, s=None: calls.append(list(args)))
    build(settings, full_refresh=True)
    build(settings, select="fct_model+")
    assert docs(settings) == settings.dbt_target_dir / "index.html"
    assert calls == [
        ["build", "--full-refresh"],
        ["build", "--select", "fct_model+"],
        ["docs", "generate", "--static"],
    ]


def test_docs_needs_the_raw_tables(tmp_path):
    with pytest.raises(TransformError, match="run the ingest"):
        docs(_settings(tmp_path))
