"""The dbt project's data checks, dense: one ``checks`` test per model (dbt_project/tests/generic/
checks.sql) instead of one test node per column check (issue 16). No check may be lost on the
way (the manifest's checks against the committed list), and a failing check still fails the
build with an error naming the model, the column and the check."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from dvk.settings import Settings
from dvk.transform import TransformError, build, format_failing_row
from tests.fixtures import raw_fixture
from tests.support.dbt_build import copy_build
from tests.support.dbt_checks import manifest_checks

CHECKS_LIST = Path(__file__).parent / "data" / "dbt_checks.txt"


def _manifest(root: Path) -> dict:
    return json.loads((root / "warehouse" / "dbt_target" / "manifest.json").read_text(encoding="utf-8"))


def test_no_check_is_lost(raw_fixture_build):
    """Every (node, column, check) of the committed list is still in the project, and nothing
    new is unlisted: dropping a check (or adding one) shows here; update
    tests/data/dbt_checks.txt with ``python -m tests.support.dbt_checks <manifest.json>``."""
    listed = [line for line in CHECKS_LIST.read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")]
    found = manifest_checks(_manifest(raw_fixture_build))
    assert sorted(set(listed) - set(found)) == [], "checks dropped from the dbt project"
    assert sorted(set(found) - set(listed)) == [], "checks not in tests/data/dbt_checks.txt"
    assert len(found) >= 430


def test_column_checks_go_through_one_checks_test_per_node(raw_fixture_build):
    """The rule that keeps the build dense: a generic test is a ``checks`` test, at most one per
    node and severity (singular tests, which join several models, stay their own nodes)."""
    tests = [n for n in _manifest(raw_fixture_build)["nodes"].values() if n["resource_type"] == "test"]
    generic = [n for n in tests if n.get("test_metadata")]
    assert {n["test_metadata"]["name"] for n in generic} == {"checks"}
    per_node = Counter(
        (n["test_metadata"]["kwargs"]["model"], str(n["config"]["severity"]).lower()) for n in generic
    )
    assert [key for key, count in per_node.items() if count > 1] == []


def test_failing_rows_of_a_checks_test_name_model_column_and_check():
    row = {"model_name": "fct_submission", "column_name": "period_id", "failing_rows": 2,
           "check_name": "relationships: dim_period.period_id", "example": "2023Q5"}
    assert format_failing_row(row) == (
        "fct_submission.period_id: relationships: dim_period.period_id (2 failing, e.g. 2023Q5)"
    )
    assert format_failing_row({**row, "column_name": "", "check_name": "expression: a < b", "example": None}) == (
        "fct_submission: expression: a < b (2 failing)"
    )
    assert format_failing_row({"unit_code": "18073", "n": 2}) == "unit_code=18073, n=2"


def _settings(root: Path) -> Settings:
    return Settings(
        inbox_dir=root / "inbox",
        warehouse=root / "warehouse" / "dvk.duckdb",
        reports_dir=root / "reports",
        quarantine_dir=root / "quarantine",
        due_grace_days=5,
    )


@pytest.mark.e2e
def test_a_broken_check_fails_the_build_naming_model_column_and_check(raw_fixture_build, tmp_path):
    """Raw rows that break three checks of two staging models: the build fails, its error names
    each model, column and check (with a failing value), and nothing downstream is built."""
    warehouse = copy_build(raw_fixture_build, tmp_path / "site")
    settings = _settings(tmp_path / "site")
    assert settings.warehouse == warehouse
    sid = raw_fixture.sid("broken checks")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into raw.submissions (submission_id, file_name, file_format, unit_code, "
            "period_id, period_kind, period_year, report_date, has_declared_totals) "
            "values (?, 'bad.csv', 'csv', 'CQ07', '2023W01', 'week', 2023, date '2023-01-06', false)",
            [sid],
        )
        con.execute(
            "insert into raw.submission_models (submission_id, line_no, model_name, field_code, model_kind) "
            "values (?, 1, null, 'XX', 'new')",
            [sid],
        )
    with pytest.raises(TransformError) as err:
        build(settings, unit_tests=False)
    text = str(err.value)
    assert "stg_raw__submissions.period_kind: accepted_values [month, quarter, half_year, year] (1 failing, e.g. week)" in text
    assert "stg_raw__submission_models.field_code: relationships: fields.field_code (1 failing, e.g. XX)" in text
    assert "stg_raw__submission_models.model_name: not_null (1 failing)" in text
    failed = {f.unique_id.split(".")[2] for f in err.value.failures}
    assert any(name.startswith("checks_stg_raw__submissions") for name in failed), failed
    assert any(name.startswith("checks_stg_raw__submission_models") for name in failed), failed
    assert any("fct_model" in s for s in err.value.skipped)  # not built on top of bad rows
