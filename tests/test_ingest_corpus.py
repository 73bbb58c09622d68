"""The corpus of odd and broken files (tests/corpus/make_corpus.py), ingested together in one inbox.

Every file's outcome is declared beside it in the corpus script: loaded with exact values, or
quarantined with exact (code, sheet, row, column) problems, or skipped. One ingest run over the
whole inbox must give exactly those outcomes; the other files of the run are never disturbed by a
bad one; a second run changes nothing. The raw layer is checked only (dbt is not run here).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import sys
import time
from pathlib import Path

import duckdb
import pytest

from dvk.ingest import ingest_inbox
from dvk.ingest.inbox import safe_name
from dvk.settings import Settings

_spec = importlib.util.spec_from_file_location("make_corpus", Path(__file__).parent / "corpus" / "make_corpus.py")
corpus = sys.modules.setdefault("make_corpus", importlib.util.module_from_spec(_spec))
if not hasattr(corpus, "build_cases"):
    _spec.loader.exec_module(corpus)
#: The corpus, built once for the parametrisations and the inbox (the determinism test builds it again).
CASES = corpus.build_cases()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The corpus written into one inbox and ingested once (then a second time)."""
    base = tmp_path_factory.mktemp("corpus")
    inbox = base / "inbox"
    started = time.monotonic()
    cases = corpus.write(inbox, CASES)
    settings = Settings(inbox_dir=inbox, warehouse=base / "wh" / "dvk.duckdb", reports_dir=base / "reports",
                        quarantine_dir=base / "quarantine", max_file_bytes=corpus.MAX_FILE_BYTES,
                        inbox_settle_seconds=0)
    first = ingest_inbox(settings, today=corpus.TODAY)
    listing_after_first = sorted(os.listdir(os.fsencode(inbox)))
    second = ingest_inbox(settings, today=corpus.TODAY)
    elapsed = time.monotonic() - started
    return cases, settings, first, second, listing_after_first, elapsed


def query(settings: Settings, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def by_kind(cases, kind):
    return [c for c in cases if isinstance(c.expect, kind)]


def test_the_corpus_is_big_enough_and_fast(run):
    cases, _, _, _, _, elapsed = run
    assert len(cases) >= 30
    assert len(by_kind(cases, corpus.Quarantined)) >= 20 and len(by_kind(cases, corpus.Loaded)) >= 15
    assert elapsed < 30, f"corpus generation + two ingest runs took {elapsed:.1f} s"


def test_the_corpus_is_deterministic():
    first = [(c.name, c.data) for c in corpus.build_cases()]
    corpus._zip_bomb.cache_clear()  # made again, not taken from the first build
    again = [(c.name, c.data) for c in corpus.build_cases()]
    assert first == again


def test_every_file_has_its_outcome(run):
    cases, _, first, _, _, _ = run
    assert sorted(first.loaded) == sorted(c.shown_name for c in by_kind(cases, corpus.Loaded))
    assert sorted(first.quarantined) == sorted(c.shown_name for c in by_kind(cases, corpus.Quarantined))
    assert first.skipped == {c.shown_name: c.expect.reason for c in by_kind(cases, corpus.Skipped)}
    assert not first.failed


@pytest.mark.parametrize("case", [c for c in CASES if isinstance(c.expect, corpus.Loaded)],
                         ids=lambda c: c.shown_name[:40])
def test_loaded_with_exact_values(run, case):
    _, settings, _, _, _, _ = run
    want = case.expect
    (sub,) = query(settings, "select submission_id, unit_code, period_id, report_date, file_format, "
                             "has_declared_totals, unit_name_raw from raw.submissions where file_name = ?",
                   [case.shown_name])
    sid = sub[0]
    assert sub[1:6] == (want.unit_code, want.period_id, want.report_date, want.file_format,
                        want.totals is not None)
    if want.unit_name_raw is not None:
        assert sub[6] == want.unit_name_raw
    models = query(settings, "select line_no, source_row, stt, model_name, field_code, model_kind, registered_on, "
                             "households, funds_million_vnd, labour_days, land_m2, note from raw.submission_models "
                             "where submission_id = ? order by line_no", [sid])
    assert [tuple(m) for m in models] == [tuple(m) for m in want.models]
    totals = query(settings, "select source_row, field_code, models_total, models_new, models_replicated, "
                             "funds_million_vnd from raw.submission_declared_totals where submission_id = ? "
                             "order by source_row", [sid])
    assert totals == list(want.totals or ())


@pytest.mark.parametrize("case", [c for c in CASES if isinstance(c.expect, corpus.Quarantined)],
                         ids=lambda c: c.shown_name[:40])
def test_quarantined_with_every_problem_located(run, case):
    _, settings, first, _, listing, _ = run
    name = case.shown_name
    got = query(settings, 'select code, sheet, "row", "column" from raw.quarantine_problems where file_name = ?',
                [name])
    assert set(got) == set(case.expect.problems) and len(got) == len(case.expect.problems)
    assert {(p.code, p.sheet, p.row, p.column) for p in first.quarantined[name]} == set(case.expect.problems)
    messages = query(settings, "select message_vi, message_en from raw.quarantine_problems where file_name = ?",
                     [name])
    assert all(vi and en and vi != en for vi, en in messages)

    # moved aside under a safe name, beside its report; gone from the inbox
    ((path, report),) = query(settings, "select quarantine_path, report_path from raw.quarantine where file_name = ?",
                              [name])
    moved, report = Path(path), Path(report)
    assert moved.read_bytes() == case.data
    assert moved.parent.parent == settings.quarantine_dir
    assert moved.name == safe_name(name) or moved.name.endswith("_" + safe_name(name))  # sha prefix: a clash
    assert len(moved.name.encode()) <= 255 - len(".problems.txt") and report.name == moved.name + ".problems.txt"
    text = report.read_text(encoding="utf-8")
    assert name in text and "Hãy sửa tệp" in text and "Fix the file" in text
    raw_name = case.name if isinstance(case.name, bytes) else os.fsencode(case.name)
    assert raw_name not in listing


def test_corrections_keep_every_version_with_its_received_time(run):
    _, settings, _, _, _, _ = run
    versions = query(settings, "select file_name, report_date, received_at from raw.submissions "
                               "where unit_code = '18077' and period_id = '2023' order by received_at")
    assert versions == [("20_correction_v1.xlsx", dt.date(2023, 12, 14), dt.datetime(2023, 12, 15, 2, 0)),
                        ("21_correction_v2.xlsx", dt.date(2023, 12, 18), dt.datetime(2023, 12, 19, 3, 0))]


def test_an_older_version_received_later_does_not_win(run):
    """The dbt layer orders versions by report_date, then received_at, then submission_id (the newest
    wins): applied to raw, the out-of-order pair keeps the newer report although it arrived first."""
    _, settings, _, _, _, _ = run
    newest = query(settings, """
        select unit_code, period_id, file_name from (
            select *, row_number() over (partition by unit_code, period_id
                                         order by report_date desc, received_at desc, submission_id desc) as rn
            from raw.submissions) where rn = 1 and unit_code in ('18077', 'CQ03') order by unit_code""")
    assert newest == [("18077", "2023", "21_correction_v2.xlsx"), ("CQ03", "2023Q4", "22_out_of_order_newer.xlsx")]
    arrival = query(settings, "select file_name from raw.submissions where unit_code = 'CQ03' order by received_at")
    assert arrival == [("22_out_of_order_newer.xlsx",), ("23_out_of_order_older.xlsx",)]


def test_legacy_encodings_are_stored_as_unicode(run):
    _, settings, _, _, _, _ = run
    names = query(settings, "select m.model_name from raw.submission_models m join raw.submissions s "
                            "using (submission_id) where s.file_name in ('02_tcvn3_abc.xlsx', '03_vni_times.xlsx', "
                            "'01_nfd_unicode.xlsx') order by s.file_name, m.line_no")
    import unicodedata

    assert all(unicodedata.is_normalized("NFC", n) for (n,) in names)
    assert ("Đường điện chiếu sáng khu dân cư",) in names and ("Hỗ trợ hộ nghèo phát triển kinh tế",) in names


def test_a_second_run_changes_nothing(run):
    cases, settings, first, second, _, _ = run
    assert second.loaded == [] and not second.quarantined and not second.failed
    assert set(second.skipped.values()) == {"already_loaded"}
    assert sorted(second.skipped) == sorted(first.loaded + list(first.skipped))
    counts = query(settings, "select (select count(*) from raw.submissions), (select count(*) from raw.quarantine), "
                             "(select count(*) from raw.quarantine_problems)")
    assert counts == [(len(first.loaded), len(first.quarantined),
                       sum(len(c.expect.problems) for c in by_kind(cases, corpus.Quarantined)))]
