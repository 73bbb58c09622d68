"""``pending_quarantine``: what is waiting in quarantine for a unit to fix, with its problems."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from dvk.forms import ModelLine, Submission, xlsx_bytes
from dvk.ingest import ingest_inbox
from dvk.ingest.quarantine import guess_from_name, pending_quarantine
from dvk.reference import UnitDirectory
from dvk.settings import Settings

TODAY = dt.date(2024, 12, 31)


def workbook(code, name, period, field="KT", kind="Xây mới", report_date=dt.date(2023, 3, 16)) -> bytes:
    return xlsx_bytes(Submission(unit_code=code, unit_name=name, period=period, report_date=report_date,
                                 models=[ModelLine(stt=1, name="Mô hình A", field=field, kind=kind)],
                                 with_totals_sheet=False), created=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))


@pytest.fixture
def site(tmp_path) -> Settings:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return Settings(inbox_dir=inbox, warehouse=tmp_path / "wh" / "dvk.duckdb", reports_dir=tmp_path / "reports",
                    quarantine_dir=tmp_path / "quarantine", inbox_settle_seconds=0)


def put(site: Settings, name: str, data: bytes, when: dt.datetime) -> None:
    path = site.inbox_dir / name
    path.write_bytes(data)
    stamp = when.replace(tzinfo=dt.timezone.utc).timestamp()
    os.utime(path, (stamp, stamp))


def test_empty_or_missing_warehouse(site):
    assert pending_quarantine(site) == []
    ingest_inbox(site, today=TODAY)
    assert pending_quarantine(site) == []


def test_lists_each_waiting_file_with_its_unit_and_problems(site):
    t0 = dt.datetime(2023, 3, 17, 1, 0)
    put(site, "bao-cao-quy-1.xlsx", workbook("18076", "Phường Bắc Hà", "Quý I/2023", field="Môi trường"), t0)
    put(site, "2023Q1_18073_nam-ha.xlsx", workbook(None, "Phường Nam Hạ Long", "Quý I/2023"), t0)
    put(site, "phuong-tran-phu.xlsx", b"this is not a workbook", t0)
    put(site, "khong-ro.csv", b"", t0)
    result = ingest_inbox(site, today=TODAY)
    assert len(result.quarantined) == 4

    pending = {p["file_name"]: p for p in pending_quarantine(site)}
    assert set(pending) == {"bao-cao-quy-1.xlsx", "2023Q1_18073_nam-ha.xlsx", "phuong-tran-phu.xlsx", "khong-ro.csv"}
    first = pending["bao-cao-quy-1.xlsx"]
    assert (first["unit_code"], first["period_id"], first["guessed_from"]) == ("18076", "2023Q1", "content")
    assert [(p["code"], p["sheet"], p["row"], p["column"]) for p in first["problems"]] == [
        ("unknown_field", "Mô hình", 4, "C (Lĩnh vực)")]
    assert first["problems"][0]["message_vi"] and first["problems"][0]["message_en"]
    assert first["report_path"].endswith(".problems.txt") and first["received_at"] == t0
    named = pending["2023Q1_18073_nam-ha.xlsx"]  # the content names no known unit: the file name does
    assert (named["unit_code"], named["period_id"], named["guessed_from"]) == ("18073", "2023Q1", "file_name")
    assert pending["phuong-tran-phu.xlsx"]["unit_code"] == "18070"
    assert pending["khong-ro.csv"]["unit_code"] is None

    assert [p["file_name"] for p in pending_quarantine(site, unit_code="18076")] == ["bao-cao-quy-1.xlsx"]
    assert [p["file_name"] for p in pending_quarantine(site, unit_code="18070.0")] == ["phuong-tran-phu.xlsx"]
    assert pending_quarantine(site, unit_code="CQ05") == []


def test_a_fixed_file_for_the_same_unit_and_period_ends_the_wait(site):
    put(site, "bac-ha.xlsx", workbook("18076", "Phường Bắc Hà", "Quý I/2023", field="Môi trường"),
        dt.datetime(2023, 3, 17, 1, 0))
    put(site, "nam-ha.xlsx", workbook("18073", "Phường Nam Hà", "Quý I/2023", kind="Mới toanh"),
        dt.datetime(2023, 3, 17, 1, 0))
    ingest_inbox(site, today=TODAY)
    assert {p["unit_code"] for p in pending_quarantine(site)} == {"18076", "18073"}

    put(site, "bac-ha-sua.xlsx", workbook("18076", "Phường Bắc Hà", "Quý I/2023"), dt.datetime(2023, 3, 18, 1, 0))
    result = ingest_inbox(site, today=TODAY)
    assert result.loaded == ["bac-ha-sua.xlsx"]
    assert [p["unit_code"] for p in pending_quarantine(site)] == ["18073"]
    assert pending_quarantine(site, unit_code="18076") == []


@pytest.mark.parametrize(("name", "unit", "period"), [
    ("2022Q1_18070_phuong-tran-phu_sua.xlsx", "18070", "2022Q1"),
    ("bao cao 2021 CQ5 hoi cuu chien binh.csv", "CQ05", "2021"),
    ("Xã Đồng Môn - 202203.xlsx", "18103", "202203"),
    ("thach-mon_2022S1.xlsx", "18103", "2022S1"),
    ("scan.pdf", None, None),
])
def test_guess_from_name(name, unit, period):
    assert guess_from_name(name, UnitDirectory()) == (unit, period)
