"""The ingest's parse workers (dvk.ingest.parse_pool): the same outcome as parsing in the run's own
process, file for file and row for row; a worker's log and exceptions reach the run; a worker that
dies costs no file."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

import duckdb
import pytest

from dvk.ingest import ingest_inbox, parse_pool
from dvk.ingest.parse_pool import ParsePool, workers_for
from dvk.settings import Settings
from tests.support.inboxes import monthly_csv

_spec = importlib.util.spec_from_file_location("make_corpus", Path(__file__).parent / "corpus" / "make_corpus.py")
corpus = sys.modules.setdefault("make_corpus", importlib.util.module_from_spec(_spec))
if not hasattr(corpus, "build_cases"):
    _spec.loader.exec_module(corpus)

PARENT = os.getpid()


# ------------------------------------------------------------------------------- the pool itself


def _square(n: int) -> int:
    if n < 0:
        raise ValueError(f"negative: {n}")
    if n == 13:
        logging.getLogger("dvk.ingest.inbox").warning("unlucky %d in %s", n, "a worker")
    return n * n


def _where(n: int) -> int:
    return os.getpid()


def _die_in_worker(n: int) -> int:
    if os.getpid() != PARENT and n == 5:
        os._exit(3)  # a worker killed (out of memory, a crash in native code)
    return n + 100


@pytest.mark.parametrize("workers", [0, 2])
def test_results_by_key_in_any_order_with_the_exception_of_each(workers):
    with ParsePool(_square, workers, chunk_files=3) as pool:
        for n in [*range(10), -1, 11, 12]:
            pool.add(f"k{n}", n)
        assert pool.result("k12") == 144  # a key of the chunk still open
        assert [pool.result(f"k{n}") for n in (9, 0, 4)] == [81, 0, 16]
        with pytest.raises(ValueError, match="negative: -1"):
            pool.result("k-1")
        assert [pool.result(f"k{n}") for n in (1, 2, 3, 5, 6, 7, 8, 11)] == [1, 4, 9, 25, 36, 49, 64, 121]


def test_workers_are_other_processes_and_none_is_left():
    with ParsePool(_where, 2, chunk_files=1) as pool:
        assert pool.window == 2 * 1 * parse_pool.CHUNKS_AHEAD
        for n in range(8):
            pool.add(n, n)
        pids = {pool.result(n) for n in range(8)}
    assert PARENT not in pids and 1 <= len(pids) <= 2
    import multiprocessing

    assert not multiprocessing.active_children()


def test_without_workers_nothing_is_forked_and_parsed_when_asked():
    calls = []
    with ParsePool(lambda n: calls.append(n) or n, 1) as pool:
        assert pool.workers == 0 and pool.window == 0
        pool.add("a", 1)
        assert calls == []
        assert pool.result("a") == 1 and calls == [1]


def test_what_a_worker_logs_is_logged_by_the_run(caplog):
    caplog.set_level(logging.WARNING)
    with ParsePool(_square, 2, chunk_files=4) as pool:
        for n in range(12, 16):
            pool.add(n, n)
        assert pool.result(13) == 169
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("dvk.ingest.inbox", "unlucky 13 in a worker")]


def test_a_worker_that_dies_costs_no_file(caplog):
    caplog.set_level(logging.WARNING)
    with ParsePool(_die_in_worker, 2, chunk_files=2) as pool:
        for n in range(12):
            pool.add(n, n)
        assert [pool.result(n) for n in range(12)] == [n + 100 for n in range(12)]
    assert "parse worker stopped unexpectedly" in caplog.text


def test_workers_only_for_inboxes_worth_it(monkeypatch):
    monkeypatch.setattr(parse_pool, "usable_cpus", lambda: 2)
    assert workers_for(parse_pool.MIN_FILES, None) == 2
    assert workers_for(parse_pool.MIN_FILES - 1, None) == 0
    assert workers_for(10_000, 1) == 0 and workers_for(10_000, 0) == 0 and workers_for(10_000, 3) == 3
    monkeypatch.setattr(parse_pool, "usable_cpus", lambda: 1)
    assert workers_for(10_000, None) == 0
    monkeypatch.setattr(parse_pool, "usable_cpus", lambda: 64)  # a large machine: the run's share caps it
    assert workers_for(10_000, None) == parse_pool.MAX_DEFAULT_WORKERS and workers_for(10_000, 8) == 8


def test_the_setting_is_read_from_the_environment(monkeypatch):
    from dvk.settings import get_settings

    monkeypatch.setenv("DVK_INGEST_WORKERS", "3")
    assert get_settings().ingest_workers == 3
    monkeypatch.setenv("DVK_INGEST_WORKERS", "auto")
    assert get_settings().ingest_workers is None
    monkeypatch.setenv("DVK_INGEST_WORKERS", "many")
    with pytest.raises(ValueError, match="DVK_INGEST_WORKERS"):
        get_settings()


# ------------------------------------------------------------- the ingest, with and without workers


def _ingest(base: Path, workers: int) -> tuple[dict, dict[str, list[tuple]]]:
    inbox = base / "inbox"
    corpus.write(inbox)
    for dup in ("dup-a.csv", "dup-b.csv"):  # the same bytes twice in one window: loaded once
        (inbox / dup).write_bytes((inbox / sorted(p.name for p in inbox.iterdir() if p.suffix == ".csv")[0])
                                  .read_bytes())
    settings = Settings(inbox_dir=inbox, warehouse=base / "wh" / "dvk.duckdb", reports_dir=base / "reports",
                        quarantine_dir=base / "quarantine", max_file_bytes=corpus.MAX_FILE_BYTES,
                        inbox_settle_seconds=0, ingest_workers=workers)
    result = ingest_inbox(settings, today=corpus.TODAY).as_dict()
    outcome = {key: result[key] for key in ("files_seen", "loaded", "skipped", "quarantined", "failed", "notes",
                                            "waiting", "ignored", "refused", "warnings")}
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        tables = {
            "submissions": con.execute(
                "select * exclude (load_id, loaded_at) from raw.submissions order by submission_id").fetchall(),
            "submission_models": con.execute(
                "select * from raw.submission_models order by submission_id, line_no").fetchall(),
            "submission_declared_totals": con.execute(
                "select * from raw.submission_declared_totals order by all").fetchall(),
            "submission_warnings": con.execute("select * from raw.submission_warnings order by all").fetchall(),
            "quarantine": con.execute(
                "select sha256, file_name from raw.quarantine order by all").fetchall(),
            "quarantine_problems": con.execute("select * from raw.quarantine_problems order by all").fetchall(),
        }
    finally:
        con.close()
    return outcome, tables


def test_the_corpus_comes_out_the_same_with_parse_workers(tmp_path, monkeypatch):
    """Every file of the hostile corpus (and a file sent twice) gets the same outcome, problems and
    rows whether the run parses it itself or two workers do, a chunk at a time."""
    monkeypatch.setattr(parse_pool, "MIN_FILES", 1)
    monkeypatch.setattr(parse_pool, "CHUNK_FILES", 3)
    serial = _ingest(tmp_path / "serial", 1)
    parallel = _ingest(tmp_path / "parallel", 2)
    assert serial[0]["loaded"] and serial[0]["quarantined"] and serial[0]["skipped"]
    assert sum(1 for name in serial[0]["loaded"] if name.startswith("dup-")) <= 1
    assert json.dumps(parallel[0], ensure_ascii=False) == json.dumps(serial[0], ensure_ascii=False)  # order too
    for table, rows in serial[1].items():
        assert parallel[1][table] == rows, table


def _in_a_daemon(queue) -> None:
    with ParsePool(_square, 2, chunk_files=2) as pool:
        for n in range(5):
            pool.add(n, n)
        queue.put((workers_for(10_000, 2), pool.workers, [pool.result(n) for n in range(5)]))


def test_a_daemonic_process_parses_in_its_own_process():
    """A Celery prefork worker's task may not have children: no workers, the same results."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_in_a_daemon, args=(queue,), daemon=True)
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert got == (0, 0, [0, 1, 4, 9, 16])


def test_workers_that_cannot_start_leave_the_parse_to_the_run(monkeypatch, caplog):
    class Refused(parse_pool.ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            raise OSError(11, "Resource temporarily unavailable")  # fork refused (EAGAIN)

    monkeypatch.setattr(parse_pool, "ProcessPoolExecutor", Refused)
    caplog.set_level(logging.WARNING)
    with ParsePool(_square, 2) as pool:
        assert pool.workers == 0 and pool.window == 0
        pool.add("a", 3)
        assert pool.result("a") == 9
    assert "could not start" in caplog.text


def _small_inbox(base: Path, workers: int, monkeypatch) -> dict:
    """Eight CSV files, two with the same bytes; the first of those changes while it is parsed,
    another changes while it is read: both wait for the next run, the copy is loaded."""
    from dvk.ingest import inbox as inbox_module

    inbox = base / "inbox"
    inbox.mkdir(parents=True)
    for i, name in enumerate(["a.csv", "b.csv", "c-first.csv", "d.csv", "e-read.csv", "f.csv", "g-copy.csv",
                              "h.csv"]):
        (inbox / name).write_bytes(monthly_csv(i + 1))
    (inbox / "c-first.csv").write_bytes((inbox / "g-copy.csv").read_bytes())
    real_unchanged, real_read = inbox_module._unchanged, inbox_module._read

    def unchanged(path, listed):
        return path.name != "c-first.csv" and real_unchanged(path, listed)

    def read(path, max_bytes, listed=None):
        if path.name == "e-read.csv":
            raise inbox_module._Changed(inbox_module.WAIT_CHANGED)
        return real_read(path, max_bytes, listed)

    monkeypatch.setattr(inbox_module, "_unchanged", unchanged)
    monkeypatch.setattr(inbox_module, "_read", read)
    settings = Settings(inbox_dir=inbox, warehouse=base / "wh" / "dvk.duckdb", reports_dir=base / "reports",
                        quarantine_dir=base / "quarantine", inbox_settle_seconds=0, ingest_workers=workers)
    import datetime as dt

    return ingest_inbox(settings, today=dt.date(2023, 1, 31)).as_dict()


def test_a_copy_of_a_file_that_waits_is_loaded_and_the_order_is_the_inbox_order(tmp_path, monkeypatch):
    monkeypatch.setattr(parse_pool, "MIN_FILES", 1)
    monkeypatch.setattr(parse_pool, "CHUNK_FILES", 2)
    serial = _small_inbox(tmp_path / "serial", 1, monkeypatch)
    parallel = _small_inbox(tmp_path / "parallel", 2, monkeypatch)
    assert serial["waiting"] == {"c-first.csv": "changed_while_read", "e-read.csv": "changed_while_read"}
    assert "g-copy.csv" in serial["loaded"] and serial["files_loaded"] == 6, serial
    keys = ("loaded", "skipped", "quarantined", "waiting", "failed", "files_seen")
    assert json.dumps({k: parallel[k] for k in keys}) == json.dumps({k: serial[k] for k in keys})
