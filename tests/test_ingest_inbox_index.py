"""The inbox index (dvk.ingest.inbox_index): a run does not read again the files the last run read
and the warehouse holds as loaded; anything else is read and hashed as before."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from dvk.ingest import inbox as inbox_module, ingest_inbox
from dvk.ingest.inbox_index import FILE_NAME
from dvk.settings import Settings
from tests.support.inboxes import monthly_csv


@pytest.fixture
def site(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for month in range(1, 6):
        (inbox / f"m{month}.csv").write_bytes(monthly_csv(month))
    settings = Settings(inbox_dir=inbox, warehouse=tmp_path / "wh" / "dvk.duckdb", reports_dir=tmp_path / "r",
                        quarantine_dir=tmp_path / "q", inbox_settle_seconds=0)
    reads: list[str] = []
    real = inbox_module._read

    def counting(path, max_bytes, listed=None):
        reads.append(path.name)
        return real(path, max_bytes, listed)

    monkeypatch.setattr(inbox_module, "_read", counting)
    return settings, reads


def _run(settings: Settings) -> dict:
    return ingest_inbox(settings, today=dt.date(2023, 1, 31)).as_dict()


def test_the_next_run_reads_only_what_is_new(site):
    settings, reads = site
    first = _run(settings)
    assert first["files_loaded"] == 5 and len(reads) == 5
    index = json.loads((settings.warehouse.parent / FILE_NAME).read_text(encoding="utf-8"))
    assert sorted(index["files"]) == [f"m{m}.csv" for m in range(1, 6)]
    reads.clear()
    (settings.inbox_dir / "m6.csv").write_bytes(monthly_csv(6))
    second = _run(settings)
    assert reads == ["m6.csv"]  # the five others were not opened
    assert second["loaded"] == ["m6.csv"] and second["skipped"] == {f"m{m}.csv": "already_loaded" for m in range(1, 6)}
    assert list(second["skipped"]) == [f"m{m}.csv" for m in range(1, 6)]  # in the inbox's order


def test_a_file_rewritten_in_place_is_read_again_even_with_its_old_size_and_time(site):
    settings, reads = site
    _run(settings)
    reads.clear()
    path = settings.inbox_dir / "m3.csv"
    before = path.stat()
    path.write_bytes(monthly_csv(3, households=20))  # same length, other bytes
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and its old modification time
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    again = _run(settings)
    assert reads == ["m3.csv"] and again["loaded"] == ["m3.csv"]  # a new version of the report


@pytest.mark.parametrize("damage", ["garbage", "another inbox", "warehouse replaced"])
def test_an_index_that_cannot_be_trusted_costs_reads_only(site, damage):
    settings, reads = site
    _run(settings)
    reads.clear()
    index = settings.warehouse.parent / FILE_NAME
    if damage == "garbage":
        index.write_text("{not json", encoding="utf-8")
    elif damage == "another inbox":
        data = json.loads(index.read_text(encoding="utf-8"))
        index.write_text(json.dumps({**data, "inbox": "/elsewhere"}), encoding="utf-8")
    else:  # a warehouse restored from before these files: the index names files it does not hold
        settings.warehouse.unlink()
    again = _run(settings)
    assert sorted(reads) == [f"m{m}.csv" for m in range(1, 6)]
    expected_loaded = 5 if damage == "warehouse replaced" else 0
    assert again["files_loaded"] == expected_loaded and again["files_seen"] == 5
    assert sorted(json.loads(index.read_text(encoding="utf-8"))["files"]) == [f"m{m}.csv" for m in range(1, 6)]


def test_a_file_not_loaded_is_not_in_the_index(site):
    settings, reads = site
    (settings.inbox_dir / "bad.csv").write_text("not,a,form\n1,2,3\n", encoding="utf-8")
    result = _run(settings)
    assert "bad.csv" in result["quarantined"]
    files = json.loads((settings.warehouse.parent / FILE_NAME).read_text(encoding="utf-8"))["files"]
    assert "bad.csv" not in files and len(files) == 5
