"""Atomicity under SIGKILL: a killed ingest, run again, converges to the same warehouse as an
uninterrupted one (no duplicate, no partial submission, nothing lost).

Design. The same ~60 generated files (54 good, 6 broken) go into two inboxes. Inbox A is ingested
once, uninterrupted: the reference. Inbox B is ingested by a subprocess slowed down (10 ms per
file, groups of 5 files a commit) and SIGKILLed once its log shows that some files are loaded or
quarantined: mid-run, with committed groups, an uncommitted group and files not yet read. Right
after the kill, every submission in B's warehouse must be whole (as many model lines as in the
reference). A second, normal run on B must then give exactly A's content: ``raw.submissions``
(submission_id, unit, period), every ``raw.submission_models`` row, the quarantined files and
their problems, and the files left in the inbox. Load ids and timestamps are not compared.

A second test kills the process in the narrowest window of a quarantine: after its rows are
committed and before the file leaves the inbox. The next run must finish the move.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

from dvk.forms import ModelLine, Submission, csv_bytes, xlsx_bytes
from dvk.ingest import ingest_inbox
from dvk.reference import load_units
from dvk.settings import PROJECT_ROOT, Settings

FIELDS = ("Phát triển kinh tế", "Văn hóa - xã hội", "Quốc phòng - an ninh", "Xây dựng Đảng và hệ thống chính trị")
CREATED = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)

DRIVER = r"""
import logging, os, pathlib, signal, sys, time
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
from dvk.ingest import inbox as ingest

mode, batch = sys.argv[1], int(sys.argv[2])
if mode == "slow":  # 10 ms a file, so that the kill lands mid-run
    parse = ingest.parse_file
    def slow_parse(*args, **kwargs):
        time.sleep(0.01)
        return parse(*args, **kwargs)
    ingest.parse_file = slow_parse
elif mode == "die_before_move":  # SIGKILL right when a quarantined file is about to leave the inbox
    inbox = os.environ["DVK_INBOX_DIR"]
    unlink = pathlib.Path.unlink
    def die(self, *args, **kwargs):
        if str(self.parent) == inbox:
            os.kill(os.getpid(), signal.SIGKILL)
        return unlink(self, *args, **kwargs)
    pathlib.Path.unlink = die
try:
    result = ingest.ingest_inbox(batch_files=batch)
except ingest.IngestError as exc:
    result = exc.result
print(f"DONE {len(result.loaded)} loaded", file=sys.stderr, flush=True)
"""


def generated_files() -> dict[str, bytes]:
    """54 good submissions (xlsx and csv, 28 units, monthly periods of 2023) and 6 broken files."""
    units = [u for u in load_units() if u.expected_in(2023)]  # the 28 units valid in 2023
    files: dict[str, bytes] = {}
    for i in range(54):
        unit = units[i % len(units)]
        month = 1 + i // len(units) * 3 + i % 3
        lines = [ModelLine(stt=j + 1, name=f"Mô hình {j + 1} của {unit.name}", field=FIELDS[(i + j) % 4],
                           kind=("Xây mới", "Nhân rộng", "Duy trì")[(i + j) % 3], households=10 * j + i,
                           funds_million_vnd=f"{i},{j}", registered_on=dt.date(2023, 1 + j % 12, 1 + i % 28))
                 for j in range(3 + i % 9)]
        sub = Submission(unit_code=unit.code, unit_name=unit.name, period=f"Tháng {month}/2023",
                         report_date=dt.date(2023, month, 20), models=lines)
        if i % 4 == 3:
            files[f"{i:02d}_{unit.code}.csv"] = csv_bytes(sub, bom=i % 8 == 3)
        else:
            files[f"{i:02d}_{unit.code}.xlsx"] = xlsx_bytes(sub, created=CREATED)
    for i in range(6):
        bad = Submission(unit_code=None, unit_name=f"Phường Không Có {i}", period="Năm 2023",
                         report_date=dt.date(2023, 12, 16), models=[ModelLine(name="A", field="KT", kind="Xây mới")])
        files[f"{54 + i:02d}_broken.xlsx"] = xlsx_bytes(bad, created=CREATED)
    return files


def make_site(base: Path, files: dict[str, bytes]) -> Settings:
    inbox = base / "inbox"
    inbox.mkdir(parents=True)
    for name, data in files.items():
        (inbox / name).write_bytes(data)
        os.utime(inbox / name, (1703030400, 1703030400))  # 2023-12-20: the same received time everywhere
    return Settings(inbox_dir=inbox, warehouse=base / "wh" / "dvk.duckdb", reports_dir=base / "reports",
                    quarantine_dir=base / "quarantine", inbox_settle_seconds=0)


def env_for(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DVK_INBOX_DIR=str(settings.inbox_dir), DVK_WAREHOUSE=str(settings.warehouse),
               DVK_QUARANTINE_DIR=str(settings.quarantine_dir), DVK_REPORTS_DIR=str(settings.reports_dir),
               PYTHONPATH=str(PROJECT_ROOT / "src") + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def run_driver(settings: Settings, mode: str, batch: int, kill_after: int | None = None,
               timeout: float = 60) -> tuple[int, list[str]]:
    """Run the ingest in a subprocess; with ``kill_after``, SIGKILL it once its log shows that many
    files loaded or quarantined. Returns (return code, stderr lines)."""
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, mode, str(batch)], cwd=PROJECT_ROOT,
                            env=env_for(settings), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    lines: list[str] = []
    done = 0
    try:
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if line.startswith(("INFO Loaded", "WARNING Quarantined")):
                done += 1
                if kill_after is not None and done >= kill_after:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
        proc.wait()
    finally:
        watchdog.cancel()
        proc.stderr.close()
    return proc.returncode, lines


def content(settings: Settings) -> dict[str, object]:
    """What must converge: the raw rows that do not depend on the run (no load ids, no timestamps)."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        subs = con.execute("select submission_id, unit_code, period_id from raw.submissions order by 1").fetchall()
        models = con.execute("select * from raw.submission_models order by submission_id, line_no").fetchall()
        totals = con.execute("select * from raw.submission_declared_totals order by all").fetchall()
        quarantine = con.execute("select sha256, file_name from raw.quarantine order by all").fetchall()
        problems = con.execute("select * from raw.quarantine_problems order by all").fetchall()
        paths = [Path(p) for (p,) in con.execute("select quarantine_path from raw.quarantine").fetchall()]
    finally:
        con.close()
    return {"submissions": subs, "models": models, "totals": totals, "quarantine": quarantine,
            "problems": problems, "copies_in_place": all(p.is_file() for p in paths),
            "inbox": sorted(p.name for p in settings.inbox_dir.iterdir())}


def model_counts(settings: Settings) -> dict[str, int]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return dict(con.execute("select s.submission_id, count(m.line_no) from raw.submissions s "
                                "left join raw.submission_models m using (submission_id) group by 1").fetchall())
    finally:
        con.close()


def test_sigkill_mid_run_then_rerun_converges(tmp_path):
    started = time.monotonic()
    files = generated_files()
    reference = make_site(tmp_path / "a", files)
    ingest_inbox(reference)
    want = content(reference)
    assert len(want["submissions"]) == 54 and len(want["quarantine"]) == 6 and want["copies_in_place"]

    killed = make_site(tmp_path / "b", files)
    code, log = run_driver(killed, "slow", batch=5, kill_after=12)
    assert code == -signal.SIGKILL, log[-5:]
    assert not any(line.startswith("DONE") for line in log), "the run finished before the kill"

    # Right after the kill: some files are in, none of them partially, and not all.
    counts = model_counts(killed)
    full = {sid: n for sid, n in model_counts(reference).items()}
    assert 0 < len(counts) < 54
    assert all(full[sid] == n for sid, n in counts.items()), "a submission is half-loaded"

    code, log = run_driver(killed, "normal", batch=250)
    assert code == 0, log[-5:]
    assert content(killed) == want
    assert time.monotonic() - started < 30


def test_killed_between_the_quarantine_record_and_the_move(tmp_path):
    files = {name: data for name, data in generated_files().items() if name.startswith(("00_", "01_", "54_"))}
    reference = make_site(tmp_path / "a", files)
    ingest_inbox(reference)
    want = content(reference)

    killed = make_site(tmp_path / "b", files)
    code, _ = run_driver(killed, "die_before_move", batch=250)
    assert code == -signal.SIGKILL
    assert (killed.inbox_dir / "54_broken.xlsx").exists()  # recorded and copied, not yet moved

    code, log = run_driver(killed, "normal", batch=250)
    assert code == 0, log[-5:]
    assert content(killed) == want  # one quarantine row, the copy in place, the inbox without it
