"""The hostile inbox (issue 11): every class of ``tests/hostile/make_hostile.py`` in one run, beside
a good control file that must load, under memory and CPU limits; then the parts one by one (a file
that changes while it is read, a quarantine copy that is not identical, a killed load, the settle
time, ``dvk status``), and the largest accepted values through dbt, the gate and the report.

Memory and time are bounded with ``resource`` limits on a subprocess (RLIMIT_AS, RLIMIT_CPU),
never with timed assertions: before the fixes, the run aborted (SIGABRT) or ran for hours.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import duckdb
import pytest

from dvk.ingest import inbox as inbox_module
from dvk.ingest import ingest_inbox
from dvk.settings import PROJECT_ROOT, Settings

sys.path.insert(0, str(Path(__file__).resolve().parent / "hostile"))
import make_hostile as hostile  # noqa: E402

#: The ingest's subprocess may use at most this much address space and CPU time.
MEMORY_LIMIT = 1 << 30  # 1 GiB: a dense read of XFD1048576 needs hundreds of GB
CPU_SECONDS = 120  # the quadratic regex took hours on a 10 KB file
_CONTROL = {chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))}


def _settings(base: Path, settle: int = 120) -> Settings:
    return Settings(inbox_dir=base / "inbox", warehouse=base / "wh" / "dvk.duckdb", reports_dir=base / "reports",
                    quarantine_dir=base / "quarantine", inbox_settle_seconds=settle)


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


_DRIVER = """
import json
from dvk.ingest import ingest_inbox
print(json.dumps(ingest_inbox().as_dict(), ensure_ascii=False, default=str))
"""


def _ingest_limited(settings: Settings) -> dict:
    """``ingest_inbox`` in a subprocess under :data:`MEMORY_LIMIT` and :data:`CPU_SECONDS`."""
    env = dict(os.environ, DVK_INBOX_DIR=str(settings.inbox_dir), DVK_WAREHOUSE=str(settings.warehouse),
               DVK_QUARANTINE_DIR=str(settings.quarantine_dir), DVK_REPORTS_DIR=str(settings.reports_dir),
               DVK_INBOX_SETTLE_SECONDS=str(settings.inbox_settle_seconds),
               PYTHONPATH=str(PROJECT_ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # The timeout only keeps a regression (a FIFO opened, a hang) from blocking the suite.
    proc = subprocess.run([sys.executable, "-c", _DRIVER], env=env, preexec_fn=_limits, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"the ingest died (rc {proc.returncode}):\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _rows(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    settings = _settings(base)
    cases = hostile.write_inbox(settings.inbox_dir, base / "outside")
    before = {c.name: c.data for c in cases if c.kind == "file"}
    first = _ingest_limited(settings)
    listing_after_first = sorted(os.listdir(settings.inbox_dir))
    second = _ingest_limited(settings)
    return settings, cases, before, first, listing_after_first, second


def test_every_hostile_file_gets_its_outcome_and_the_control_loads(hostile_run):
    settings, cases, before, first, _, _ = hostile_run
    assert "00_control_good.xlsx" in first["loaded"]
    assert not first["failed"]
    models = dict(_rows(settings, "select s.file_name, count(m.line_no) from raw.submissions s "
                                  "left join raw.submission_models m using (submission_id) group by all"))
    for case in cases:
        expected = case.expected
        if isinstance(expected, hostile.Loaded):
            assert case.name in first["loaded"], case.name
            assert models[case.name] == expected.models, case.name
            assert [w["code"] for w in first["warnings"].get(case.name, [])] == list(expected.warnings), case.name
        elif isinstance(expected, hostile.Quarantined):
            problems = first["quarantined"].get(case.name)
            assert problems, f"{case.name} was not quarantined: {first}"
            assert expected.codes <= {p["code"] for p in problems}, (case.name, problems)
            assert not (settings.inbox_dir / case.name).exists(), case.name
        else:
            assert first[expected.outcome].get(case.name), (case.name, expected.outcome)
            path = settings.inbox_dir / case.name
            assert os.path.lexists(path), f"{case.name} left the inbox"
            if case.kind == "file":
                assert path.read_bytes() == before[case.name], f"{case.name} was changed"


def test_over_budget_and_out_of_bounds_name_sheet_row_and_column(hostile_run):
    _, cases, _, first, _, _ = hostile_run
    q = first["quarantined"]
    assert {(p["code"], p["sheet"], p["row"], p["column"]) for p in q["10_cell_at_XFD1048576.xlsx"]} == {
        ("sheet_too_large", "Mô hình", 1048576, "XFD")}
    assert {(p["code"], p["sheet"], p["row"], p["column"]) for p in q["11_cell_at_ZZ200000.xlsx"]} == {
        ("sheet_too_large", "Mô hình", 200000, "ZZ")}
    assert {(p["code"], p["sheet"], p["row"], p["column"]) for p in q["14_funds_1e308.csv"]} == {
        ("bad_value", "csv", 2, "kinh_phi_trieu_dong"), ("bad_value", "csv", 3, "kinh_phi_trieu_dong")}
    by_name = {c.name: c for c in cases}
    for name, column in (("15_funds_1e308.xlsx", "H (Kinh phí huy động (triệu đồng))"),
                         ("31_nan_households.xlsx", "G (Số hộ tham gia)")):
        assert {(p["code"], p["sheet"], p["row"], p["column"]) for p in q[name]} == {
            ("bad_value", "Mô hình", by_name[name].extra["row"], column)}, name
    assert {(p["code"], p["sheet"], p["row"]) for p in q["30_unquoted_decimal_comma.csv"]} == {
        ("field_count", "csv", 3)}


def test_nothing_outside_the_inbox_is_read_copied_or_loaded(hostile_run):
    settings, _, _, _, _, _ = hostile_run
    passwd = Path("/etc/passwd").read_bytes()
    copies = [p for p in settings.quarantine_dir.rglob("*") if p.is_file()]
    assert copies and all(p.read_bytes() != passwd for p in copies)
    assert not any("passwd" in p.name or "outside" in p.name for p in copies)
    assert _rows(settings, "select count(*) from raw.submissions where unit_code = '18100'") == [(0,)]
    assert _rows(settings, "select count(*) from raw.quarantine where file_name like '4%'") == [(0,)]


def test_quarantine_copies_are_not_world_readable(hostile_run):
    settings, _, _, _, _, _ = hostile_run
    copies = [p for p in settings.quarantine_dir.rglob("*") if p.is_file()]
    assert copies
    for path in copies:
        assert not path.stat().st_mode & 0o007, path


def test_no_control_character_reaches_the_warehouse(hostile_run):
    settings, _, _, _, _, _ = hostile_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        columns = con.execute("select table_name, column_name from duckdb_columns() where schema_name = 'raw' "
                              "and data_type = 'VARCHAR'").fetchall()
        for table, column in columns:
            for (value,) in con.execute(f'select distinct "{column}" from raw.{table} where "{column}" is not null'
                                        ).fetchall():
                assert not set(value) & _CONTROL, (table, column, value)
        names = {r[0] for r in con.execute(
            "select model_name from raw.submission_models m join raw.submissions s using (submission_id) "
            "where s.file_name like '3_\\_control%' escape '\\'").fetchall()}
    finally:
        con.close()
    assert names == {"Mô hình tổ dân phố mẫu", "Mô hình sạch"}


def test_a_workbook_typed_in_tcvn3_keeps_its_households_and_remarks(hostile_run):
    settings, cases, _, _, _, _ = hostile_run
    case = next(c for c in cases if c.name == "35_tcvn3_headers.xlsx")
    got = _rows(settings, "select households, note from raw.submission_models m join raw.submissions s "
                          "using (submission_id) where s.file_name = '35_tcvn3_headers.xlsx' order by line_no")
    assert [h for h, _ in got] == case.extra["households"]
    assert [n for _, n in got] == case.extra["notes"]


def test_an_unknown_column_with_data_is_a_warning_in_raw(hostile_run):
    settings, _, _, first, _, _ = hostile_run
    got = _rows(settings, 'select file_name, sheet, "column", code from raw.submission_warnings')
    assert got == [("36_unknown_column.xlsx", "Mô hình", "L (Số người hưởng lợi)", "unknown_column")]
    assert first["warnings"]["36_unknown_column.xlsx"][0]["column"] == "L (Số người hưởng lợi)"


def test_the_second_run_changes_nothing(hostile_run):
    settings, cases, _, first, listing_after_first, second = hostile_run
    assert not second["loaded"] and not second["quarantined"]
    assert sorted(os.listdir(settings.inbox_dir)) == listing_after_first
    assert second["waiting"] == first["waiting"] and second["refused"] == first["refused"]
    assert second["ignored"] == first["ignored"]
    assert _rows(settings, "select status, count(*) from raw.loads group by all") == [("finished", 2)]


# ---------------------------------------------------------------------------------- uploads


def test_a_file_still_being_written_waits_then_loads(tmp_path):
    settings = _settings(tmp_path, settle=120)
    settings.inbox_dir.mkdir()
    path = settings.inbox_dir / "2023_18070.xlsx"
    data = hostile.good_xlsx()
    path.write_bytes(data[:2500])  # half written, modified now
    first = ingest_inbox(settings)
    assert first.waiting == {"2023_18070.xlsx": "upload_in_progress"} and not first.quarantined
    path.write_bytes(data)  # the upload completes ...
    stamp = time.time() - 300  # ... and settles
    os.utime(path, (stamp, stamp))
    second = ingest_inbox(settings)
    assert second.loaded == ["2023_18070.xlsx"] and not second.waiting


def test_a_fresh_file_listed_in_the_manifest_is_complete(tmp_path):
    settings = _settings(tmp_path, settle=120)
    settings.inbox_dir.mkdir()
    (settings.inbox_dir / "a.xlsx").write_bytes(hostile.good_xlsx())
    (settings.inbox_dir / "_manifest.csv").write_text("file_name,received_at\na.xlsx,2023-12-16T08:00:00Z\n")
    assert ingest_inbox(settings).loaded == ["a.xlsx"]


def test_changing_files_names_what_moved_while_watched(tmp_path):
    still, grown, gone = (tmp_path / n for n in ("still.csv", "grown.csv", "gone.csv"))
    for path in (still, grown, gone):
        path.write_text("a,b\n")

    def uploader_meanwhile(seconds):
        with open(grown, "a") as fh:
            fh.write("1,2\n")
        gone.unlink()

    assert inbox_module.changing_files([still, grown, gone], 3, sleep=uploader_meanwhile) == [grown, gone]


def _hand_run(tmp_path, monkeypatch, *, changing: bool):
    """The README's run command's look at the inbox before its ingest (settle time 120 s, not set by
    hand), with the watch's sleep replaced by an uploader writing or not."""
    from dvk import run_local

    settings = _settings(tmp_path, settle=120)
    settings.inbox_dir.mkdir()
    path = settings.inbox_dir / "2023_18070.xlsx"
    path.write_bytes(hostile.good_xlsx())  # written now: within the settle time
    monkeypatch.delenv("DVK_INBOX_SETTLE_SECONDS", raising=False)
    real = inbox_module.changing_files

    def watch(paths, seconds):
        def meanwhile(_):
            if changing:
                with open(path, "ab") as fh:
                    fh.write(b"more bytes")
        return real(paths, seconds, sleep=meanwhile)

    monkeypatch.setattr(inbox_module, "changing_files", watch)
    said = []
    run_local._read_settled_uploads(settings, said.append, run_local._inbox_listing(settings))
    return said


def test_the_run_command_reads_fresh_files_that_stay_unchanged(tmp_path, monkeypatch):
    # spec §7: DVK_INBOX_DIR=/some/folder runs the whole pipeline on that folder, files just put there included
    said = _hand_run(tmp_path, monkeypatch, changing=False)
    assert os.environ["DVK_INBOX_SETTLE_SECONDS"] == "3"  # for this run's tasks (monkeypatch restores it)
    assert len(said) == 1 and "read now" in said[0]


def test_the_run_command_leaves_a_file_still_being_written(tmp_path, monkeypatch):
    said = _hand_run(tmp_path, monkeypatch, changing=True)
    assert "DVK_INBOX_SETTLE_SECONDS" not in os.environ  # the settle time holds: the nightly rule
    assert len(said) == 1 and "still being written" in said[0] and "2023_18070.xlsx" in said[0]


def test_the_run_command_keeps_a_settle_time_set_by_hand(tmp_path, monkeypatch):
    from dvk import run_local

    settings = _settings(tmp_path, settle=120)
    settings.inbox_dir.mkdir()
    (settings.inbox_dir / "a.xlsx").write_bytes(hostile.good_xlsx())
    monkeypatch.setenv("DVK_INBOX_SETTLE_SECONDS", "120")
    said = []
    run_local._read_settled_uploads(settings, said.append, run_local._inbox_listing(settings))
    assert said == [] and os.environ["DVK_INBOX_SETTLE_SECONDS"] == "120"


def _changing_reader(monkeypatch, victim: str):
    real = inbox_module.read_submission

    def reader(path, *args, **kwargs):
        if path.name == victim:  # the uploader writes more while the file is parsed
            with open(path, "ab") as fh:
                fh.write(b"more bytes")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(inbox_module, "read_submission", reader)


@pytest.mark.parametrize("data", [hostile.good_xlsx(), b"not a workbook"], ids=["good", "bad"])
def test_a_file_that_changes_while_read_is_left_in_place(tmp_path, monkeypatch, data):
    settings = _settings(tmp_path, settle=0)
    settings.inbox_dir.mkdir()
    path = settings.inbox_dir / "x.xlsx"
    path.write_bytes(data)
    _changing_reader(monkeypatch, "x.xlsx")
    result = ingest_inbox(settings)
    assert result.waiting == {"x.xlsx": "changed_while_read"}
    assert not result.loaded and not result.quarantined
    assert path.read_bytes() == data + b"more bytes"
    assert not settings.quarantine_dir.exists() or not any(settings.quarantine_dir.rglob("*.xlsx"))
    assert _rows(settings, "select (select count(*) from raw.submissions), (select count(*) from raw.quarantine)") \
        == [(0, 0)]


def test_the_inbox_copy_stays_unless_the_quarantine_copy_is_identical(tmp_path, monkeypatch):
    settings = _settings(tmp_path, settle=0)
    settings.inbox_dir.mkdir()
    path = settings.inbox_dir / "x.xlsx"
    path.write_bytes(b"not a workbook at all")
    real = inbox_module._write_private

    def bad_disk(target, data):
        real(target, data[:-1] if target.name.endswith(".partial") else data)

    monkeypatch.setattr(inbox_module, "_write_private", bad_disk)
    result = ingest_inbox(settings)
    assert not result.quarantined and result.waiting == {"x.xlsx": "changed_while_read"}
    assert path.read_bytes() == b"not a workbook at all"
    assert not any(p.is_file() for p in settings.quarantine_dir.rglob("*"))
    monkeypatch.setattr(inbox_module, "_write_private", real)
    result = ingest_inbox(settings)
    assert list(result.quarantined) == ["x.xlsx"] and not path.exists()
    (copy,) = [p for p in settings.quarantine_dir.rglob("x.xlsx")]
    assert copy.read_bytes() == b"not a workbook at all"


# ---------------------------------------------------------------------------------- leftovers


def test_a_killed_load_is_marked_interrupted_by_the_next_run(tmp_path):
    settings = _settings(tmp_path, settle=0)
    settings.inbox_dir.mkdir()
    ingest_inbox(settings)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("update raw.loads set finished_at = null, status = 'running'")  # as a SIGKILL leaves it
    (killed,) = con.execute("select load_id from raw.loads").fetchone()
    con.close()
    result = ingest_inbox(settings)
    assert result.interrupted_loads == [killed]
    got = dict((r[0], r[1:]) for r in _rows(settings, "select load_id, status, finished_at is not null from raw.loads"))
    assert got[killed] == ("interrupted", True) and got[result.load_id] == ("finished", True)


def test_an_old_loads_table_gets_its_status_column(tmp_path):
    settings = _settings(tmp_path, settle=0)
    settings.inbox_dir.mkdir()
    ingest_inbox(settings)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("alter table raw.loads drop column status")  # a warehouse of the previous contract
    con.close()
    ingest_inbox(settings)
    assert _rows(settings, "select status from raw.loads order by started_at") in ([(None,), ("finished",)],
                                                                                 [("finished",), (None,)])


def test_status_shows_waiting_ignored_and_refused(tmp_path):
    from dvk.cli import collect_status

    settings = _settings(tmp_path, settle=120)
    settings.inbox_dir.mkdir()
    (settings.inbox_dir / "fresh.xlsx").write_bytes(b"half")
    (settings.inbox_dir / "x.xlsx.part").write_bytes(b"half")
    (settings.inbox_dir / "link.csv").symlink_to("/etc/passwd")
    status = collect_status(settings)
    assert status["uploads_in_progress"] == ["fresh.xlsx"]
    assert list(status["ignored_files"]) == ["x.xlsx.part"]
    assert list(status["refused_files"]) == ["link.csv"]


# ---------------------------------------------------------------------------------- bounds


def test_the_largest_accepted_values_pass_dbt_the_gate_and_the_report(tmp_path):
    """Every measure at its bound, on many lines of two units, beside the demo: the ingest accepts
    them, dbt builds, the gate runs, the report's totals are exact."""
    import shutil

    from dvk.gate import run_gate
    from dvk.ingest.bounds import MODEL_BOUNDS
    from dvk.report import build_annual_report
    from dvk.settings import DEMO_INBOX_DIR
    from dvk.transform import build, release_dbt_duckdb

    settings = _settings(tmp_path, settle=0)
    shutil.copytree(DEMO_INBOX_DIR, settings.inbox_dir)
    n = 60
    top = {k: (int(v) if k in ("households", "labour_days") else v) for k, v in MODEL_BOUNDS.items()}
    for code, name in (("18070", "Phường Trần Phú"), ("18073", "Phường Nam Hà")):
        sub = hostile.good_submission(code=code, name=name, period="Năm 2023", n=n, **top)
        (settings.inbox_dir / f"2023_{code}_max.xlsx").write_bytes(hostile.xlsx_bytes(sub))
    (settings.inbox_dir / "2023_CQ02_control.csv").write_bytes(hostile.control_csv())
    result = ingest_inbox(settings)  # the demo holds reports up to 2026: no earlier "today"
    assert not result.quarantined, result.quarantined
    try:
        build(settings, unit_tests=False)
    finally:
        release_dbt_duckdb()
    gate = run_gate(2023, settings, data_docs=False)
    assert gate.passed, gate.to_dict()
    folder = build_annual_report(2023, settings, gate_result=gate)
    summary = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    assert summary["households"] == 2 * n * top["households"] + 3 + 4
    assert summary["labour_days"] == 2 * n * top["labour_days"]
    assert summary["funds_million_vnd"] == 2 * n * top["funds_million_vnd"]
    assert summary["land_m2"] == 2 * n * top["land_m2"]
    extracts = {path: path.read_text(encoding="utf-8-sig") for path in Path(folder).rglob("*.csv")}
    assert any("Mô hình tổ dân phố mẫu" in text for text in extracts.values())  # the cleaned name is there
    for path, text in extracts.items():
        assert not (set(text) & (_CONTROL - {"\n", "\r", "\t"})), path
