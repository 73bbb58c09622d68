"""Publishing the warehouse for analysts (dvk.publish), on a real warehouse built from the demo inbox.

The demo warehouse is built once per test run (the README's run command on a copy of demo/inbox:
ingest, dbt build, gate, publish, reports), then each test that changes something works on its own
copy of that site.

- The published copy holds the marts (and dims) only, with no personal data, and the same figures
  as the warehouse; every mart is also a Parquet file; the manifest describes it.
- Readers and writer: two reader processes hold / poll the published warehouse while a third
  process runs ingest + dbt build + gate + publish on new data (a 2021 correction adding one
  model). Nobody errors, the holder keeps its consistent old copy, the poller (reconnecting every
  iteration) sees 253 until the swap and 254 after, never back.
- A gate failure of the only gated year publishes nothing and leaves the last report as it was.
- One failed year never holds back the others (issue 11 §6): the years that passed are published,
  a failed year keeps its last published rows (or none); the manifest, meta.publication_years and
  ``dvk status`` say which years are current and which are held back, why and since when;
  ``dvk publish --year`` never publishes another year. In-process, and once through Airflow.
- File modes (issue 11 §4): nothing the pipeline writes is world-readable; the published copy is
  read-only on disk and still replaced by the next publication.

The demo site is the session fixture ``demo_site`` (tests/conftest.py, built by
tests/support/site.py), shared with tests/test_cli.py and tests/test_analyst_guide.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dvk.settings import PROJECT_ROOT, Settings
from tests.support.corrections import CORRECTED_UNIT, broken_kt_totals, write_correction
from tests.support.runs import read_run
from tests.support.scripts import demo_generator
from tests.support.site import (
    copy_site,
    published_state,
    query_one,
    site_env,
    site_settings,
    using_site,
)

HEADLINE_SQL = "select sum(models_total) from marts.fct_annual_unit_field where year = 2021"


@pytest.fixture
def site(demo_site) -> Path:
    """The demo site, built once per run (tests/conftest.py): read it, or ``copy_site`` it."""
    return demo_site


# --------------------------------------------------------------------------------------------
# what is published


def test_layout_and_manifest(site):
    settings = site_settings(site)
    folder = settings.published_dir
    assert settings.published_warehouse == folder / "dvk.duckdb"
    assert settings.published_warehouse.is_file()
    assert (folder / "parquet").is_symlink() and (folder / "parquet").is_dir()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source_warehouse"] == str(settings.warehouse)
    assert 2021 in manifest["gate_years_passed"] and manifest["years_held_back"] == []
    assert manifest["gate"]["2021"]["passed"] is True
    assert manifest["published_at"].endswith("Z")
    names = {t["name"] for t in manifest["tables"]}
    assert {"dim_reporting_unit", "dim_field", "dim_period", "fct_submission", "fct_model",
            "fct_annual_unit_status", "fct_annual_unit_field"} <= names
    # nothing left over from the publication itself
    leftovers = [p.name for p in folder.iterdir() if ".tmp-" in p.name]
    assert leftovers == []
    assert not (folder / "dvk.duckdb.wal").exists()


def test_published_marts_equal_the_warehouse_and_hold_no_personal_data(site):
    settings = site_settings(site)
    manifest = json.loads((settings.published_dir / "manifest.json").read_text(encoding="utf-8"))
    wh = duckdb.connect(str(settings.warehouse), read_only=True)
    pub = duckdb.connect(str(settings.published_warehouse), read_only=True)
    try:
        marts = {r[0] for r in wh.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
        published = {r[0] for r in pub.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
        assert published == marts
        schemas = {r[0] for r in pub.execute(
            "select distinct schema_name from duckdb_tables() union select distinct schema_name from duckdb_views() "
            "where not internal").fetchall()}
        assert schemas <= {"marts", "meta"}, schemas
        columns = [r[0] for r in pub.execute("select column_name from duckdb_columns()").fetchall()]
        assert not [c for c in columns if "preparer" in c.lower() or "phone" in c.lower()]
        for table in manifest["tables"]:
            name = f'marts."{table["name"]}"'
            assert pub.execute(f"select count(*) from {name}").fetchone()[0] == table["rows"]
            assert wh.execute(f"select count(*) from {name}").fetchone()[0] == table["rows"]
        assert pub.execute(HEADLINE_SQL).fetchone()[0] == 253
        assert pub.execute(
            "select count(distinct unit_code), sum(models_new), sum(models_replicated) "
            "from marts.fct_annual_unit_field where year = 2021").fetchone() == (27, 157, 96)
        meta = pub.execute("select source_warehouse, gate_years_passed, tables from meta.publication").fetchone()
        assert (meta[0], meta[2]) == (str(settings.warehouse), len(manifest["tables"]))
        assert meta[1] == ", ".join(str(y) for y in manifest["gate_years_passed"]) and "2021" in meta[1]
        # the phone numbers and names of the demo preparers appear nowhere
        phones = [r[0] for r in wh.execute(
            "select distinct preparer_phone from raw.submissions where preparer_phone is not null").fetchall()]
        assert phones
        names = [r[0] for r in wh.execute(
            "select distinct preparer_name from raw.submissions where preparer_name is not null").fetchall()]
        assert names
        for table in manifest["tables"]:
            text = repr(pub.execute(f'select * from marts."{table["name"]}"').fetchall())
            assert not [v for v in phones + names if v in text], table["name"]
    finally:
        wh.close()
        pub.close()


def test_every_mart_is_published_as_parquet(site):
    settings = site_settings(site)
    manifest = json.loads((settings.published_dir / "manifest.json").read_text(encoding="utf-8"))
    con = duckdb.connect()
    for table in manifest["tables"]:
        path = settings.published_dir / table["parquet"]
        assert path == settings.published_dir / "parquet" / f"{table['name']}.parquet"
        assert con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0] == table["rows"]
        cols = [r[0] for r in con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()]
        assert cols == table["columns"]
    total = con.execute(
        "select sum(models_total) from read_parquet(?) where year = 2021",
        [str(settings.published_dir / "parquet" / "fct_annual_unit_field.parquet")],
    ).fetchone()[0]
    assert total == 253


def test_personal_data_columns_are_left_out_even_if_a_mart_had_them(site, tmp_path):
    from dvk.publish import publish

    settings = copy_site(site, tmp_path / "site")
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute("alter table marts.fct_submission add column preparer_phone varchar default '0912 345 678'")
    finally:
        con.close()
    result = publish(settings)
    assert result.excluded_columns == ["marts.fct_submission.preparer_phone"]
    cols = [r[0] for r in duckdb.connect(str(settings.published_warehouse), read_only=True).execute(
        "select column_name from duckdb_columns() where table_name = 'fct_submission'").fetchall()]
    assert "preparer_phone" not in cols and "submission_id" in cols


def test_republishing_keeps_two_parquet_versions_and_cleans_leftovers(site, tmp_path):
    from dvk.publish import publish

    settings = copy_site(site, tmp_path / "site")
    folder = settings.published_dir
    (folder / "dvk.tmp-deadbeef.duckdb").write_bytes(b"left by a crashed run")
    for _ in range(3):
        publish(settings)
    versions = sorted(p.name for p in folder.glob("parquet-*"))
    assert len(versions) == 2
    assert os.readlink(folder / "parquet") == versions[-1]
    assert not list(folder.glob("dvk.tmp-*"))


def test_publish_waits_for_a_writer_then_gives_up(site, tmp_path):
    from dvk.publish import PublishError, publish

    settings = copy_site(site, tmp_path / "site")
    before = published_state(settings)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(settings.warehouse)!r})   # read-write: the nightly writer
            print("holding", flush=True)
            time.sleep(30)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        with pytest.raises(PublishError, match="locked"):
            publish(settings, attach_timeout=2)
        assert time.monotonic() - started >= 2
    finally:
        holder.kill()
        holder.wait()
    assert published_state(settings) == before
    assert not list(settings.published_dir.glob("dvk.tmp-*"))


# --------------------------------------------------------------------------------------------
# publish_if_gate_passed


def test_refused_without_a_gate_result_or_after_the_warehouse_changed(site, tmp_path):
    from dvk.publish import PublishRefused, publish_if_gate_passed, read_manifest

    settings = copy_site(site, tmp_path / "site")
    before = published_state(settings)
    with pytest.raises(PublishRefused) as refused:
        publish_if_gate_passed([2021, 2030], settings)
    # 2021 (and any other gated demo year): the gate ran on the original site's warehouse
    assert {2021, 2030} <= set(refused.value.years)
    assert "2030" in str(refused.value)
    # the gate result of this very warehouse, then a write to the warehouse after it
    gate_file = settings.reports_dir / "gate" / "2021" / "gate_result.json"
    data = json.loads(gate_file.read_text(encoding="utf-8"))
    data["warehouse"] = str(settings.warehouse)
    gate_file.write_text(json.dumps(data), encoding="utf-8")
    publish_if_gate_passed([2021], settings)  # fresh: publishes
    after_first = published_state(settings)
    assert after_first["db_inode"] != before["db_inode"]
    first = read_manifest(settings)
    # a write that leaves 2021's inputs as they were (same submissions, same reference): 2021
    # keeps its publication (carried: not gated, not written again), it is not refused
    later = time.time() + 5
    os.utime(settings.warehouse, (later, later))
    kept = publish_if_gate_passed([2021], settings)
    assert kept.years["2021"]["state"] == "current" and kept.years["2021"]["carried"]
    assert 2021 not in kept.years_republished
    assert kept.years["2021"]["rows_as_of"] == first["years"]["2021"]["rows_as_of"]
    after_kept = published_state(settings)
    # a new submission of 2021 after its gate: refused, the publication stays as it was
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute("insert into raw.submissions (submission_id, file_name, period_year, loaded_at, load_id) "
                    "values ('f' || repeat('0', 63), 'late.xlsx', 2021, now()::timestamp, 'late-load')")
    finally:
        con.close()
    with pytest.raises(PublishRefused, match="changed after the last gate run"):
        publish_if_gate_passed([2021], settings)
    assert published_state(settings) == after_kept


def test_gate_failure_leaves_the_published_warehouse_and_the_last_report_unchanged(site, tmp_path):
    from dvk.gate import GateFailed, gate_result_path
    from dvk.pipeline import gate, ingest, report, transform
    from dvk.publish import PublishRefused, publish_if_gate_passed

    base = tmp_path / "site"
    settings = copy_site(site, base)
    before = published_state(settings)
    summary = settings.reports_dir / "annual" / "2021" / "summary.json"
    summary_before = summary.read_bytes()
    write_correction(settings, extra_models=1, break_totals=True)
    with using_site(base):
        assert ingest()["files_loaded"] == 1
        transform()
        with pytest.raises(GateFailed):
            gate(2021)
        with pytest.raises(GateFailed):
            report(2021)
    result = json.loads(gate_result_path(2021, settings).read_text(encoding="utf-8"))
    assert result["passed"] is False
    assert any(f["unit_code"] == CORRECTED_UNIT for f in result["failures"])
    # the warehouse now holds the unchecked figures ...
    assert query_one(settings.warehouse, HEADLINE_SQL) == 254
    # ... but nothing of it reaches the analysts
    with pytest.raises(PublishRefused, match="FAILED"):
        publish_if_gate_passed([2021], settings)
    assert published_state(settings) == before
    assert query_one(settings.published_warehouse, HEADLINE_SQL) == 253
    assert summary.read_bytes() == summary_before
    assert not [p for p in settings.published_dir.iterdir() if ".tmp-" in p.name]


# --------------------------------------------------------------------------------------------
# readers never wait, never err, never see a half-built warehouse


READER = textwrap.dedent('''
    """Reader process: mode 'hold' keeps one connection for its whole life; mode 'poll'
    reconnects every iteration and also reads the Parquet copy, by the path of its current version
    (dvk.analyst.parquet_file, as the analyst guide says for scripts). One JSON line per iteration."""
    import json, sys, time
    from pathlib import Path
    import duckdb
    from dvk.analyst import parquet_file

    mode, db, published_dir, out, stop = sys.argv[1:6]
    sql = "select sum(models_total) from marts.fct_annual_unit_field where year = 2021"
    deadline = time.monotonic() + 600
    held = duckdb.connect(db, read_only=True) if mode == "hold" else None
    with open(out, "w", encoding="utf-8") as fh:
        while not Path(stop).exists() and time.monotonic() < deadline:
            record = {"t": time.time()}
            try:
                if held is not None:
                    record["db"] = int(held.execute(sql).fetchone()[0])
                else:
                    con = duckdb.connect(db, read_only=True)
                    try:
                        record["db"] = int(con.execute(sql).fetchone()[0])
                    finally:
                        con.close()
                    mem = duckdb.connect()
                    try:
                        parquet = str(parquet_file("fct_annual_unit_field", published_dir))
                        record["parquet"] = int(mem.execute(
                            "select sum(models_total) from read_parquet(?) where year = 2021", [parquet]
                        ).fetchone()[0])
                    finally:
                        mem.close()
            except Exception as exc:  # recorded, never raised: the test asserts there are none
                record["error"] = repr(exc)
            fh.write(json.dumps(record) + "\\n")
            fh.flush()
            time.sleep(0.02)
''')

WRITER = textwrap.dedent('''
    """Writer process: the whole nightly run on the new data, then publish."""
    import json, time
    t = {"start": time.time()}
    from dvk.pipeline import gate, ingest, report, transform
    from dvk.publish import publish_if_gate_passed
    loaded = ingest()["files_loaded"]
    t["ingested"] = time.time()
    transform()
    t["transformed"] = time.time()
    gate(2021)
    report(2021)
    t["gated"] = time.time()
    result = publish_if_gate_passed([2021])
    t["published"] = time.time()
    print(json.dumps({"loaded": loaded, "times": t, "publish_seconds": result.duration_seconds}))
''')


def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:  # a line being written when read
            pass
    return out


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_readers_keep_reading_while_the_pipeline_runs_and_publishes(site, tmp_path):
    base = tmp_path / "site"
    settings = copy_site(site, base)
    assert query_one(settings.published_warehouse, HEADLINE_SQL) == 253
    write_correction(settings, extra_models=1)

    env = dict(os.environ)
    env.update(site_env(base))
    stop = tmp_path / "stop"
    logs = {mode: tmp_path / f"reader-{mode}.jsonl" for mode in ("hold", "poll")}
    readers = {
        mode: subprocess.Popen(
            [sys.executable, "-c", READER, mode, str(settings.published_warehouse), str(settings.published_dir),
             str(log), str(stop)],
            cwd=tmp_path, env=env,
        )
        for mode, log in logs.items()
    }
    try:
        _wait_for(lambda: all(len(_records(log)) >= 3 for log in logs.values()), 60, "the readers to start")
        writer = subprocess.run(
            [sys.executable, "-c", WRITER], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
        )
        assert writer.returncode == 0, writer.stdout[-3000:] + writer.stderr[-3000:]
        outcome = json.loads(writer.stdout.strip().splitlines()[-1])
        assert outcome["loaded"] == 1
        swapped_at = outcome["times"]["published"]
        # let the poller see the new copy for a while, then stop both readers
        _wait_for(lambda: sum(1 for r in _records(logs["poll"]) if r["t"] > swapped_at) >= 10, 60,
                  "the poller to read after the swap")
    finally:
        stop.touch()
        for proc in readers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert all(proc.returncode == 0 for proc in readers.values())

    held, polled = _records(logs["hold"]), _records(logs["poll"])
    for name, records in (("hold", held), ("poll", polled)):
        errors = [r["error"] for r in records if "error" in r]
        assert not errors, f"{name} reader errors: {errors[:5]}"

    # the reader that kept its connection saw one consistent copy, the old one, before and after the swap
    assert {r["db"] for r in held} == {253}
    assert held[0]["t"] < outcome["times"]["start"] and held[-1]["t"] > swapped_at

    # the reader that reconnects saw the old figures until the swap and the new ones after, never back
    for key in ("db", "parquet"):
        seq = [r[key] for r in polled]
        assert set(seq) == {253, 254}, (key, sorted(set(seq)))
        assert seq == sorted(seq), f"{key}: the figures went back from new to old"
        first_new = next(r["t"] for r in polled if r[key] == 254)
        assert first_new >= outcome["times"]["gated"]  # nothing new before the gate had passed
    old_while_writing = [r for r in polled if outcome["times"]["start"] <= r["t"] <= outcome["times"]["gated"]]
    assert len(old_while_writing) >= 20 and {r["db"] for r in old_while_writing} == {253}
    assert all(r["db"] == 254 for r in polled if r["t"] > swapped_at + 0.5)
    assert outcome["publish_seconds"] < 60

    # and the published copy now agrees with the new annual report
    summary = json.loads((settings.reports_dir / "annual" / "2021" / "summary.json").read_text(encoding="utf-8"))
    assert summary["models_total"] == query_one(settings.published_warehouse, HEADLINE_SQL) == 254


# --------------------------------------------------------------------------------------------
# one failed year never holds back the others (issue 11 §6)


def write_annual(settings: Settings, year: int, *, models: int, version: int, break_totals: bool = False) -> Path:
    """An annual report of Phường Bắc Hà for ``year`` with ``models`` new KT models (version
    ``version``, signed ``10 + version`` December); ``break_totals`` declares one model too many."""
    from dvk.forms import FIELD_NAMES, ModelLine, Submission, compute_declared_totals, write_xlsx

    lines = [
        ModelLine(name=f"Mô hình thử năm {year} số {i + 1}", field=FIELD_NAMES["KT"], kind="Xây mới",
                  registered_on=date(year, 3, 1 + i), recognition_level="Cấp xã", households=10 + i,
                  funds_million_vnd=5.5, labour_days=20)
        for i in range(models)
    ]
    declared = compute_declared_totals(lines)
    if break_totals:
        declared = broken_kt_totals(declared)
    submission = Submission(
        unit_code=CORRECTED_UNIT, unit_name="Phường Bắc Hà", period=f"Năm {year}",
        report_date=date(year, 12, 10 + version), models=lines, preparer_name="Nguyễn Văn Thử",
        preparer_phone="0912 000 222", declared_totals=declared,
    )
    return write_xlsx(submission, settings.inbox_dir / f"{year}_{CORRECTED_UNIT}_phuong-bac-ha_v{version}.xlsx")


#: the facts of a year (each by its own year column) that the test follows
YEAR_ROWS_SQL = {
    "fct_submission": "select * from marts.fct_submission where period_year = $y",
    "fct_model": "select * from marts.fct_model where period_year = $y",
    "fct_annual_unit_field": "select * from marts.fct_annual_unit_field where year = $y",
    "fct_submission_totals_check": "select c.* from marts.fct_submission_totals_check c "
                                   "join marts.dim_period p using (period_id) where p.period_year = $y",
}


def year_rows(path: Path, year: int) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {name: sorted(map(repr, con.execute(sql, {"y": year}).fetchall())) for name, sql in YEAR_ROWS_SQL.items()}
    finally:
        con.close()


def _manifest(settings: Settings) -> dict:
    return json.loads((settings.published_dir / "manifest.json").read_text(encoding="utf-8"))


def _run_to_publish(base: Path, expect_loaded: int, failing: set[int]) -> dict:
    """ingest, dbt build, the gate of every year (``failing`` must fail), then publish as the
    dvk_transform DAG does (pipeline.publish on the gated years)."""
    from dvk.gate import GateFailed
    from dvk.pipeline import gate, ingest, publish, report_years, transform

    with using_site(base):
        assert ingest()["files_loaded"] == expect_loaded
        transform()
        years = report_years(None)
        for year in years:
            if year in failing:
                with pytest.raises(GateFailed):
                    gate(year)
            else:
                gate(year)
        return publish(years)


def test_a_failed_year_keeps_its_last_rows_and_the_others_are_published(site, tmp_path, capsys):
    from dvk.cli import main as dvk
    from dvk.pipeline import every_year_current

    base = tmp_path / "site"
    settings = copy_site(site, base)
    rows_2021 = year_rows(settings.published_warehouse, 2021)
    rows_2022 = year_rows(settings.warehouse, 2022)  # quarterly only, its annual report due: gated too
    assert rows_2022["fct_submission"]

    # 1. 2023's first report fails its gate: 2023 was never published, so analysts see none of it
    write_annual(settings, 2023, models=3, version=1, break_totals=True)
    out = _run_to_publish(base, 1, failing={2023})
    assert set(out["years_held_back"]) == {2023} and {2021, 2022} <= set(out["years_current"])
    assert 2023 not in out["years_current"]
    with pytest.raises(RuntimeError, match="2023"):
        every_year_current(out)
    assert year_rows(settings.warehouse, 2023)["fct_model"]  # the warehouse has them ...
    assert year_rows(settings.published_warehouse, 2023) == {k: [] for k in YEAR_ROWS_SQL}  # ... analysts don't
    assert year_rows(settings.published_warehouse, 2021) == rows_2021
    assert year_rows(settings.published_warehouse, 2022) == rows_2022
    m1 = _manifest(settings)
    y = m1["years"]["2023"]
    assert (y["state"], y["reason"], y["rows_as_of"]) == ("held_back", "gate_failed", None)
    assert y["held_since"] == m1["published_at"] and y["gate_failures"] >= 1
    assert any(CORRECTED_UNIT in line for line in y["gate_failure_summary"])
    assert m1["years"]["2021"]["state"] == "current" and m1["years"]["2021"]["gated"] is True
    assert m1["years"]["2022"]["state"] == "current" and m1["years"]["2022"]["gated"] is True
    assert m1["years_held_back"] == [2023] and {2021, 2022} <= set(m1["years_current"])
    meta = duckdb.connect(str(settings.published_warehouse), read_only=True)
    try:
        assert meta.execute("select state, reason, rows_as_of from meta.publication_years where year = 2023"
                            ).fetchone() == ("held_back", "gate_failed", None)
    finally:
        meta.close()

    # 2. a good 2023 report: 2023 is published
    write_annual(settings, 2023, models=4, version=2)
    out = _run_to_publish(base, 1, failing=set())
    assert out["years_held_back"] == {} and {2021, 2022, 2023} <= set(out["years_current"])
    every_year_current(out)
    m2 = _manifest(settings)
    rows_2023 = year_rows(settings.published_warehouse, 2023)
    assert rows_2023 == year_rows(settings.warehouse, 2023)
    assert query_one(settings.published_warehouse,
                     "select sum(models_total) from marts.fct_annual_unit_field where year = 2023") == 4

    # 3. a 2021 correction that passes and a 2023 correction that fails, in the same run: analysts
    #    get the new 2021 figures and keep 2023 as published in step 2
    write_correction(settings, extra_models=1)
    write_annual(settings, 2023, models=5, version=3, break_totals=True)
    out = _run_to_publish(base, 2, failing={2023})
    assert set(out["years_held_back"]) == {2023}
    assert query_one(settings.warehouse, HEADLINE_SQL) == 254
    assert query_one(settings.published_warehouse, HEADLINE_SQL) == 254
    assert year_rows(settings.published_warehouse, 2021) == year_rows(settings.warehouse, 2021)
    assert year_rows(settings.published_warehouse, 2023) == rows_2023
    assert year_rows(settings.warehouse, 2023) != rows_2023
    # the Parquet files say the same as the database
    parquet = settings.published_dir / "parquet" / "fct_annual_unit_field.parquet"
    assert duckdb.connect().execute(
        "select sum(models_total) filter (where year = 2021), sum(models_total) filter (where year = 2023) "
        "from read_parquet(?)", [str(parquet)]).fetchone() == (254, 4)
    m3 = _manifest(settings)
    y = m3["years"]["2023"]
    assert (y["state"], y["reason"]) == ("held_back", "gate_failed")
    assert y["rows_as_of"] == m2["published_at"] and y["held_since"] == m3["published_at"]
    assert m3["years"]["2021"]["rows_as_of"] == m3["published_at"]

    # dvk status says which years are current, which are held back, why and since when
    with using_site(base):
        capsys.readouterr()
        assert dvk(["status"]) == 0
        text = capsys.readouterr().out
    assert "2021: MỚI NHẤT / current" in text
    assert f"2023: GIỮ LẠI / HELD BACK từ / since {m3['published_at']}" in text
    assert "the gate FAILED" in text and f"keeps the rows published {m2['published_at']}" in text

    # dvk publish --year 2023 publishes nothing (its gate failed) and never another year's rows
    before = published_state(settings)
    with using_site(base):
        assert dvk(["publish", "--year", "2023"]) == 1
    assert published_state(settings) == before
    # dvk publish --year 2021: 2021 only; 2023 stays held back, same reason, same since
    with using_site(base):
        assert dvk(["publish", "--year", "2021"]) == 0
    m4 = _manifest(settings)
    assert m4["years_current"] == [2021]
    assert {k: m4["years"]["2023"][k] for k in ("state", "reason", "held_since", "rows_as_of")} == {
        "state": "held_back", "reason": "gate_failed", "held_since": m3["published_at"], "rows_as_of": m2["published_at"]}
    assert m4["years"]["2022"]["reason"] == "not_requested"
    assert year_rows(settings.published_warehouse, 2023) == rows_2023
    assert year_rows(settings.published_warehouse, 2022) == rows_2022
    assert query_one(settings.published_warehouse, HEADLINE_SQL) == 254
    # and without --year: the same per-year rule, exit 1 because 2023 is held back
    with using_site(base):
        assert dvk(["publish"]) == 1
    assert _manifest(settings)["years_held_back"] == [2023]


def test_through_airflow_a_failed_year_is_held_back_and_the_others_published(broken_demo_run):
    """The README's run command (the three DAGs with dag.test) on the demo inbox with a 2021 annual
    report that fails its gate (the shared run of tests/support/runs.py): dvk_transform publishes
    the other years, holds 2021 back (never published: no rows), and fails."""
    proc, _ = read_run(broken_demo_run)
    out = proc.stdout
    settings = site_settings(broken_demo_run)
    assert proc.returncode == 1, out[-3000:] + proc.stderr[-3000:]
    # the run's stage lines (dvk.runsummary) and what it says of the failed run
    assert re.search(r"^dbt build: .*; success \(", out, re.MULTILINE), out
    assert re.search(r"^publish: years current .*; held back 2021; success \(", out, re.MULTILINE), out
    gates = dict(re.findall(r"^  gate (\d{4}): (passed|BLOCKED)", out, re.MULTILINE))
    assert gates.pop("2021") == "BLOCKED" and gates and set(gates.values()) == {"passed"}, out
    failed = re.search(r"^dvk_transform: failed; task failed: ([^;\n]+)", out, re.MULTILINE)
    assert failed, out
    tasks = failed.group(1).split(", ")
    assert "every_year_current" in tasks and "gate" in tasks, tasks  # one gate task: every changed year
    manifest = _manifest(settings)
    assert manifest["years_held_back"] == [2021]
    assert {int(y) for y in gates} <= set(manifest["years_current"]) and 2022 in manifest["years_current"]
    assert manifest["years"]["2021"]["reason"] == "gate_failed"
    assert year_rows(settings.published_warehouse, 2021) == {k: [] for k in YEAR_ROWS_SQL}
    expected_2025 = demo_generator().EXPECTED_FIGURES[2025]["models_total"]
    assert query_one(settings.published_warehouse, HEADLINE_SQL.replace("2021", "2025")) == expected_2025
    assert all(year_rows(settings.published_warehouse, 2025).values())
    # 2021's report is blocked by its gate; the other years' are written
    assert not (settings.reports_dir / "annual" / "2021").exists()
    assert (settings.reports_dir / "annual" / "2025" / "summary.json").is_file()


# --------------------------------------------------------------------------------------------
# file modes (issue 11 §4): nothing world-readable, the published copy read-only on disk


def test_nothing_the_pipeline_writes_is_world_readable(site, tmp_path):
    import stat

    from dvk.pipeline import ingest

    base = tmp_path / "site"
    settings = copy_site(site, base)
    bad = settings.inbox_dir / "2021_18070_not-a-workbook.xlsx"
    bad.write_bytes(b"this is not a workbook")
    bad.chmod(0o644)  # as an office's upload script leaves it
    with using_site(base):
        assert ingest()["files_quarantined"] == 1
    checked = 0
    for top in (settings.warehouse.parent, settings.reports_dir, settings.quarantine_dir):
        assert top.is_dir()
        for path in [top, *top.rglob("*")]:
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o007 == 0, f"{path}: {oct(mode)}"
            checked += 1
    assert checked > 50
    assert stat.S_IMODE(settings.warehouse.stat().st_mode) == 0o640
    assert stat.S_IMODE(settings.warehouse.parent.stat().st_mode) == 0o750
    copies = [p for p in settings.quarantine_dir.rglob("2021_18070_not-a-workbook.xlsx*") if p.is_file()]
    assert len(copies) == 2  # the file and its problem report
    # the inbox file was 0644; its quarantine copy is not
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o640 for p in copies)
    annual = settings.reports_dir / "annual" / "2021"
    assert stat.S_IMODE(annual.stat().st_mode) == 0o750


def test_the_published_copy_is_read_only_on_disk_and_can_be_replaced(site, tmp_path):
    import stat

    from dvk.filemodes import apply_umask
    from dvk.publish import publish

    settings = copy_site(site, tmp_path / "site")
    folder = settings.published_dir

    def modes() -> dict[str, int]:
        version = folder / os.readlink(folder / "parquet")
        out = {"dvk.duckdb": folder / "dvk.duckdb", "manifest.json": folder / "manifest.json", "parquet/": version}
        out.update({f"parquet/{p.name}": p for p in version.iterdir()})
        return {k: stat.S_IMODE(p.stat().st_mode) for k, p in out.items()}

    previous = apply_umask()  # as every entry point does (DVK_UMASK, default 027)
    try:
        for _ in range(2):  # the first publication's read-only files are replaced by the second's
            publish(settings)
            found = modes()
            assert found["parquet/"] == 0o550
            assert {k: v for k, v in found.items() if k != "parquet/"} == {k: 0o440 for k in found if k != "parquet/"}
    finally:
        os.umask(previous)
    assert stat.S_IMODE(folder.stat().st_mode) & 0o200  # the folder stays writable for the next swap
    if os.geteuid() != 0:  # root writes whatever the mode says
        with pytest.raises(PermissionError):
            open(folder / "dvk.duckdb", "r+b")
    assert query_one(settings.published_warehouse, HEADLINE_SQL) == 253


def test_umask_setting(monkeypatch, tmp_path):
    import stat

    from dvk.filemodes import apply_umask
    from dvk.settings import get_settings

    monkeypatch.delenv("DVK_UMASK", raising=False)
    assert get_settings().umask == 0o027
    monkeypatch.setenv("DVK_UMASK", "077")
    previous = apply_umask()
    try:
        (tmp_path / "f").write_text("x")
        (tmp_path / "d").mkdir()
        assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700
    finally:
        os.umask(previous)
    monkeypatch.setenv("DVK_UMASK", "u=rwx")
    with pytest.raises(ValueError, match="DVK_UMASK"):
        get_settings()
