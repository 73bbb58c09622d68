"""Ingest throughput (files/s, model rows/s) against a floor measured in the same run.

    .venv/bin/python bench/ingest_throughput.py                 # 300 workbooks, 5 runs
    .venv/bin/python bench/ingest_throughput.py --files 600 --runs 7 --json out.json

The floor is python-calamine alone on the same files: open each workbook from its path and read
every sheet to Python values (``to_python``), nothing else: no checks, no validation, no warehouse.
The ingest is the real thing (``dvk.ingest.ingest_inbox``): read, hash, guard, parse, resolve,
validate, and load ``raw.*`` in a fresh DuckDB warehouse. Each run times both, alternating which
goes first; the table shows the medians side by side and the ratio ingest / floor (target ≤ 1.5).
A third line, one transaction per file (``batch_files=1``), shows what group commit saves.

Submissions are generated deterministically with the project's form writer: a spread of units,
monthly periods, 5 to 25 model lines each, every optional column filled in (numbers and dates as
cells, the declared totals sheet), which is what the city's units send.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dvk.forms import ModelLine, Submission, xlsx_bytes  # noqa: E402
from dvk.reference import load_units  # noqa: E402
from machine_info import describe  # noqa: E402  (bench/, the script's folder)

FIELDS = ("Phát triển kinh tế", "Văn hóa - xã hội", "Quốc phòng - an ninh", "Xây dựng Đảng và hệ thống chính trị")
KINDS = ("Xây mới", "Nhân rộng", "Duy trì", "Duy trì, nhân rộng")
LEVELS = ("Cấp xã", "Cấp thành phố", "Cấp tỉnh", None)
TODAY = dt.date(2024, 12, 31)


def generate(folder: Path, n_files: int, seed: int = 2021) -> int:
    """Write ``n_files`` submission workbooks into ``folder``; returns the number of model lines."""
    rng = random.Random(seed)
    units = load_units()
    folder.mkdir(parents=True, exist_ok=True)
    rows = 0
    for i in range(n_files):
        unit = units[i % len(units)]
        month = 1 + (i // len(units)) % 12
        year = 2021 + (i // (len(units) * 12)) % 3
        n = rng.randint(5, 25)
        lines = [ModelLine(
            stt=j + 1, name=f"Mô hình {rng.choice(['Tổ dân phố', 'Khu dân cư', 'Chi bộ', 'Hộ gia đình'])} "
                            f"{rng.choice(['văn minh', 'tự quản', 'kiểu mẫu', 'an toàn'])} số {j + 1}",
            field=rng.choice(FIELDS), kind=rng.choice(KINDS),
            registered_on=dt.date(year, rng.randint(1, 12), rng.randint(1, 28)),
            recognition_level=rng.choice(LEVELS), households=rng.randint(0, 500),
            funds_million_vnd=round(rng.uniform(0, 300), 1), labour_days=rng.randint(0, 2000),
            land_m2=float(rng.randint(0, 500)), note=rng.choice([None, "Hoàn thành", "Đang triển khai"]))
            for j in range(n)]
        sub = Submission(unit_code=unit.code, unit_name=unit.name, period=f"Tháng {month}/{year}",
                         report_date=dt.date(year, month, 20), models=lines, preparer_name="Nguyễn Văn A",
                         preparer_phone="0912 345 678")
        (folder / f"{year}{month:02d}_{unit.code}_{i:04d}.xlsx").write_bytes(xlsx_bytes(sub))
        rows += n
    return rows


def floor_once(files: list[Path]) -> float:
    """python-calamine alone: open each workbook and read every sheet; seconds."""
    from python_calamine import CalamineWorkbook

    start = time.perf_counter()
    for path in files:
        book = CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        book.close()
    return time.perf_counter() - start


def ingest_once(inbox: Path, work: Path, batch_files: int | None) -> tuple[float, int]:
    """The full ingest into a fresh warehouse; (seconds, files loaded)."""
    from dvk.ingest import ingest_inbox
    from dvk.settings import Settings

    shutil.rmtree(work, ignore_errors=True)
    settings = Settings(inbox_dir=inbox, warehouse=work / "dvk.duckdb", reports_dir=work / "reports",
                        quarantine_dir=work / "quarantine")
    kwargs = {} if batch_files is None else {"batch_files": batch_files}
    start = time.perf_counter()
    result = ingest_inbox(settings, today=TODAY, **kwargs)
    elapsed = time.perf_counter() - start
    return elapsed, len(result.loaded)


def machine() -> dict:
    info = describe(("duckdb", "python-calamine"))
    return {**info, **info.pop("versions")}  # flat: "duckdb", "python-calamine" beside "nproc"


def run(n_files: int, runs: int, workdir: Path | None = None, per_file_runs: int | None = None) -> dict:
    base = Path(tempfile.mkdtemp(prefix="dvk-bench-", dir=workdir))
    try:
        inbox = base / "inbox"
        rows = generate(inbox, n_files)
        files = sorted(inbox.iterdir())
        floor_times, ingest_times, single_times = [], [], []
        floor_once(files[: min(20, len(files))])  # warm up imports and the page cache
        for r in range(runs):
            order = ("floor", "ingest") if r % 2 == 0 else ("ingest", "floor")
            for what in order:
                if what == "floor":
                    floor_times.append(floor_once(files))
                else:
                    seconds, loaded = ingest_once(inbox, base / "work", None)
                    assert loaded == n_files, f"{loaded} of {n_files} files loaded"
                    ingest_times.append(seconds)
        for _ in range(per_file_runs if per_file_runs is not None else max(1, runs // 2)):
            seconds, loaded = ingest_once(inbox, base / "work", 1)
            assert loaded == n_files
            single_times.append(seconds)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    floor, ingest, single = (statistics.median(t) for t in (floor_times, ingest_times, single_times))
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(), "files": n_files, "model_rows": rows, "runs": runs,
        "floor_s": floor, "ingest_s": ingest, "ingest_one_tx_per_file_s": single,
        "ratio": ingest / floor, "ratio_one_tx_per_file": single / floor,
        "floor_runs_s": floor_times, "ingest_runs_s": ingest_times, "one_tx_per_file_runs_s": single_times,
    }


def table(result: dict) -> str:
    n, rows = result["files"], result["model_rows"]
    lines = [f"{'':44} {'median s':>9} {'files/s':>9} {'rows/s':>10} {'× floor':>8}"]
    for label, key in (("floor: python-calamine alone (read only)", "floor_s"),
                       ("ingest: parse + validate + load raw.*", "ingest_s"),
                       ("ingest, one transaction per file", "ingest_one_tx_per_file_s")):
        s = result[key]
        lines.append(f"{label:44} {s:9.3f} {n / s:9.0f} {rows / s:10.0f} {s / result['floor_s']:8.2f}")
    m = result["machine"]
    lines.append(f"{n} files, {rows} model rows, median of {result['runs']} runs; "
                 f"{m['nproc']} CPUs, {m['memory']}, load {m['load_average'][0]:.2f}; {result['date']}")
    verdict = "meets" if result["ratio"] <= 1.5 else "MISSES"
    lines.append(f"ratio ingest / floor = {result['ratio']:.2f} ({verdict} the 1.5 target)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=300, help="submissions to generate (default 300)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--per-file-runs", type=int, default=None,
                        help="runs of the one-transaction-per-file ingest (default runs/2)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the files (default: tmp)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    result = run(args.files, args.runs, args.workdir, args.per_file_runs)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
