"""Rule 7 end to end: a province deployment is the same software with another master list.

``bench/synth.py`` writes a small inbox for Hà Tĩnh province as it is since 1 July 2025: its 69
real wards and communes (``bench/data/hatinh_province_units_2025-07.csv``) and six province agencies,
one 2025 annual report each (a few missing, a few sent twice), with the master list in the
time-versioned format (``bench/data/hatinh_province_reporting_units.csv``). The README's run command
runs on it with ``DVK_UNITS_FILE`` pointing at that list, and the 2025 summary must equal the
generator's own figures (``expected.json``).

The e2e test is skipped while ``dvk.settings`` has no units-file setting (``DVK_UNITS_FILE``): before it, the
master list can only be the seed the project ships (the city's).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dvk.settings
from dvk.settings import PROJECT_ROOT
from tests.support.scripts import synth

FIELDS = ("KT", "VHXH", "QPAN", "XDD")

needs_units_file = pytest.mark.skipif(
    "DVK_UNITS_FILE" not in Path(dvk.settings.__file__).read_text(encoding="utf-8"),
    reason="dvk.settings has no units-file setting (DVK_UNITS_FILE) yet: a deployment cannot name its master list",
)


def _synth():
    return synth()


@pytest.fixture(scope="module")
def province_run(tmp_path_factory):
    synth = _synth()
    base = tmp_path_factory.mktemp("province")
    # the province scale's list and streams, one period: the 2025 annual report (window 15 Dec 2024 -
    # 14 Dec 2025; the units are valid from 1 July 2025, so valid on its last day)
    scale = synth.Scale("province-e2e", synth.SCALES["province"].units, (2025,), units_file=synth.PROVINCE_UNITS_FILE,
                        period_ids=("2025",), stream_name="province")
    meta = synth.generate(scale, base / "data")
    expected = json.loads((base / "data" / "expected.json").read_text(encoding="utf-8"))
    # the province's own reorganisations and split shares: none recorded (its list starts on 1 July
    # 2025), so header-only files; the city's seeds must not reach the province's map or messages
    (base / "data" / "unit_changes.csv").write_text(
        "change_date,legal_act,old_code,old_name,new_code,new_name,change_kind,share_note,source\n", encoding="utf-8")
    (base / "data" / "unit_split_shares.csv").write_text(
        "change_date,old_code,new_code,share,is_estimate,basis\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVK_")}
    env.update(
        DVK_INBOX_DIR=str(base / "data" / "inbox"),
        DVK_UNITS_FILE=str(base / "data" / "units.csv"),
        DVK_UNIT_CHANGES_FILE=str(base / "data" / "unit_changes.csv"),
        DVK_UNIT_SHARES_FILE=str(base / "data" / "unit_split_shares.csv"),
        DVK_WAREHOUSE=str(base / "warehouse" / "dvk.duckdb"),
        DVK_REPORTS_DIR=str(base / "reports"),
        DVK_QUARANTINE_DIR=str(base / "quarantine"),
        DVK_PUBLISHED_DIR=str(base / "published"),
        # the session's throw-away Airflow home (tests/conftest.py), never the checkout's .local/
        DVK_AIRFLOW_HOME=os.environ["DVK_AIRFLOW_HOME"],
        DVK_LOG_DIR=str(base / "logs"),
    )
    proc = subprocess.run([sys.executable, "-m", "dvk", "run"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)
    (base / f"run-{proc.returncode}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    return base, meta, expected, proc


def test_the_generated_province_inbox_is_the_real_list():
    """The province's master list: the 69 wards and communes of the GSO list, as they are, plus agencies."""
    synth = _synth()
    with (PROJECT_ROOT / "bench" / "data" / "hatinh_province_units_2025-07.csv").open(encoding="utf-8", newline="") as fh:
        gso = {r["code"]: r for r in csv.DictReader(fh)}
    with (PROJECT_ROOT / synth.PROVINCE_UNITS_FILE).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["code", "name", "kind", "parent_code", "aliases", "valid_from", "valid_to"]
        rows = list(reader)
    wards = [r for r in rows if r["kind"] in {"phuong", "xa"}]
    assert len(gso) == len(wards) == 69
    assert {r["code"]: (r["name"], r["kind"], r["valid_from"]) for r in wards} == {
        c: (r["name"], r["kind"], r["valid_from"]) for c, r in gso.items()}
    assert wards and all(r["valid_from"] == "2025-07-01" and not r["valid_to"] for r in rows)
    assert 3 <= len(rows) - len(wards) <= 12 and all(r["code"].startswith("CQ") for r in rows if r not in wards)
    assert gso["18073"]["name"] == "Phường Thành Sen"
    units = synth.make_units("province")
    assert [(u.code, u.name) for u in units] == [(r["code"], r["name"]) for r in rows]
    # Rule 2 in the generator: a unit valid from 1 July 2025 sends nothing for a window ending before
    plan = synth.build_plan("province")
    assert {p.period.id for p in plan.files} >= {"2025Q3", "2025", "2026Q1"}
    assert not {p.period.id for p in plan.files} & {"2025Q1", "2025Q2", "2025S1"}


@needs_units_file
def test_province_summary_equals_the_generators_figures(province_run):
    base, meta, expected, proc = province_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert meta["units"] == 75 and 60 <= meta["files"] <= 90
    quarantined = list((base / "quarantine").rglob("*.problems.txt")) if (base / "quarantine").exists() else []
    assert not quarantined, [p.read_text(encoding="utf-8")[:500] for p in quarantined[:3]]
    exp = expected["years"]["2025"]
    summary = json.loads((base / "reports" / "annual" / "2025" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["units_registered"], summary["models_total"], summary["models_new"], summary["models_replicated"]) == (
        exp["units_registered"], exp["models_total"], exp["models_new"], exp["models_replicated"])
    assert {f: summary["fields"][f] for f in FIELDS} == exp["fields"]
    assert sorted(summary["missing_units"]) == exp["missing_units"]
    assert sorted(u["code"] for u in summary["units"] if u["provisional"]) == exp["provisional_units"]
    assert (summary["households"], summary["labour_days"]) == (exp["households"], exp["labour_days"])
    assert summary["funds_million_vnd"] == pytest.approx(exp["funds_million_vnd"])
    assert summary["land_m2"] == pytest.approx(exp["land_m2"])
    if "units_expected" in summary:
        assert summary["units_expected"] == exp["units_expected"] == 75
    # the province's units, by the province list's names (18073 is Phường Thành Sen here, never Nam Hà)
    listed = {u.code: u.name for u in _synth().make_units("province")}
    names = {u["code"]: u["name"] for u in summary["units"]}
    assert len(names) == exp["units_expected"] - len(exp["missing_units"])
    assert names == {code: listed[code] for code in names}
    assert "2025: " in proc.stdout


@needs_units_file
def test_province_today_map_is_the_provinces_own(province_run):
    """DVK_UNIT_CHANGES_FILE / DVK_UNIT_SHARES_FILE: the province's today's geography is built from
    its own (empty) list of changes, so none of the city's old wards (Nam Hà, Đại Nài...) is a
    version of the province's map; its 69 wards and communes are the units of today, whole."""
    base, meta, expected, proc = province_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    import duckdb
    with duckdb.connect(str(base / "warehouse" / "dvk.duckdb"), read_only=True) as con:
        changes = con.execute("select count(*) from staging.stg_reference__unit_changes").fetchone()[0]
        versions = con.execute("""
            select count(*), count(*) filter (where is_current), bool_and(in_master_list)
            from intermediate.int_unit_versions""").fetchone()
        today = con.execute("""
            select count(distinct today_unit_code), bool_or(is_estimated), bool_or(is_incomplete)
            from marts.fct_annual_unit_today where year = 2025""").fetchone()
        nam_ha = con.execute(
            "select count(*) from intermediate.int_unit_today_map where unit_name = 'Phường Nam Hà'").fetchone()[0]
    assert changes == 0
    assert versions == (69, 69, True)
    assert today == (69, False, False)
    assert nam_ha == 0
