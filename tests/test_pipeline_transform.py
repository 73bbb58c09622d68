"""Which dbt build a run makes (dvk.pipeline.transform): none, only what the raw data feeds, or
everything, from what the last successful build recorded. dbt itself is replaced by a recorder
here; tests/test_nightly_changes.py runs the real builds."""

from __future__ import annotations

import json

import pytest

from dvk import changes, pipeline, transform

BUILT = {"reference_fingerprint": "ref-1", "submissions": "3:abc", "quarantine": "0:", "warehouse": "/w/dvk.duckdb",
         "inode": 7, "has_marts": True}


@pytest.fixture
def builds(tmp_path, monkeypatch):
    """The recorded builds (``data_only`` of each); ``now`` is what build_inputs says before the build."""
    record = tmp_path / "dvk_build_inputs.json"
    state = {"now": dict(BUILT), "builds": []}

    def fake_build(settings=None, select=None, *, full_refresh=False, unit_tests=True, data_only=False):
        record.unlink(missing_ok=True)  # as run_dbt does before dbt writes
        state["builds"].append(data_only)
        state["now"] = {**state["now"], "has_marts": True}

    monkeypatch.setattr(changes, "build_inputs_path", lambda settings=None: record)
    monkeypatch.setattr(changes, "build_inputs", lambda settings=None: dict(state["now"]))
    monkeypatch.setattr(transform, "build", fake_build)
    state["record"] = record
    return state


def _last(builds, **changed) -> None:
    builds["record"].write_text(json.dumps({**BUILT, **changed}), encoding="utf-8")


def test_no_record_builds_everything(builds):
    assert pipeline.transform() is True and builds["builds"] == [False]
    assert json.loads(builds["record"].read_text(encoding="utf-8")) == BUILT  # recorded after success


def test_nothing_new_builds_nothing(builds):
    _last(builds)
    assert pipeline.transform() is False and builds["builds"] == []


def test_new_submissions_only_build_what_the_raw_data_feeds(builds):
    _last(builds, submissions="2:ab")
    assert pipeline.transform() is True and builds["builds"] == [True]


@pytest.mark.parametrize("changed", [{"reference_fingerprint": "ref-0"}, {"inode": 6}, {"warehouse": "/v/dvk.duckdb"},
                                     {"has_marts": False}])
def test_anything_else_changed_builds_everything(builds, changed):
    _last(builds, submissions="2:ab", **changed)
    assert pipeline.transform() is True and builds["builds"] == [False]


def test_marts_gone_since_builds_everything(builds):
    _last(builds, submissions="2:ab")
    builds["now"]["has_marts"] = False
    assert pipeline.transform() is True and builds["builds"] == [False]


def test_force_builds_everything(builds):
    _last(builds, submissions="2:ab")
    assert pipeline.transform(force=True) is True and builds["builds"] == [False]


def test_any_dbt_command_that_writes_forgets_the_record(tmp_path, monkeypatch):
    """A build by hand (``dvk transform``, another units file...) leaves the warehouse built from
    other inputs than the record says: the next nightly build must build everything."""
    from dvk.settings import Settings

    settings = Settings(inbox_dir=tmp_path, warehouse=tmp_path / "wh" / "dvk.duckdb", reports_dir=tmp_path,
                        quarantine_dir=tmp_path)
    record = changes.build_inputs_path(settings)
    calls = []

    def dbt_child(cli_args, env, cwd, on_line, forkserver=True, prime=True):  # dbt itself never runs here
        calls.append(cli_args)
        return 0

    monkeypatch.setattr(transform, "_run_child", dbt_child)
    for command, forgets in (("build", True), ("run", True), ("seed", True), ("snapshot", True), ("ls", False),
                             ("compile", False)):
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text("{}", encoding="utf-8")
        transform.run_dbt([command], settings)
        assert record.exists() is not forgets, command
    assert len(calls) == 6
