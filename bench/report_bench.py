"""The annual report's rendering at any size, without a warehouse: one year's data made up in
memory (units, models, statuses as the marts give them), then the report's files written into a
temporary folder, stage by stage.

    .venv/bin/python bench/report_bench.py --units 10000 --models-per-unit 16   # about national 2024
    .venv/bin/python bench/report_bench.py --units 30 --models-per-unit 9        # a city
    .venv/bin/python bench/report_bench.py --units 2000 --profile                # where the time goes

Stages timed (seconds, one process): ``tables`` (the report's tables), ``workbook`` (the .xlsx),
``csv`` (the CSV extracts), ``json`` (summary.json, models.json). The whole report stage at
national scale, with the warehouse's queries, is measured by ``bench/scale_bench.py``; this script
isolates the rendering, which is what grows with the model list, and is quick to repeat.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

FIELDS = [
    {"field_code": "KT", "field_name_vi": "Kinh tế", "field_name_en": "Economy", "sort_order": 1},
    {"field_code": "VHXH", "field_name_vi": "Văn hóa - Xã hội", "field_name_en": "Culture", "sort_order": 2},
    {"field_code": "QPAN", "field_name_vi": "Quốc phòng - An ninh", "field_name_en": "Defence", "sort_order": 3},
    {"field_code": "XDD", "field_name_vi": "Xây dựng Đảng", "field_name_en": "Party", "sort_order": 4},
]
WORDS = ("Mô hình", "dân vận", "khéo", "xây dựng", "nông thôn mới", "đường giao thông", "chung tay",
         "vì người nghèo", "an ninh trật tự", "tự quản", "khu dân cư", "sạch đẹp", "phát triển", "kinh tế hộ")


def make_data(units: int, per_unit: int, year: int = 2024, seed: int = 1):
    """An AnnualData of ``units`` units (about 2 % provisional, 1 % missing) and ``per_unit``
    models each on average, deterministic by seed."""
    from dvk.report.data import AnnualData

    rnd = random.Random(seed)
    status, unit_fields, models = [], [], []
    for u in range(units):
        code = f"U{u:05d}"
        name = f"Phường {rnd.choice(WORDS).title()} {u}"
        r = rnd.random()
        st = "missing" if r < 0.01 else "provisional" if r < 0.03 else "reported"
        period = f"{year}Q3" if st == "provisional" else f"{year}Y"
        status.append({
            "unit_code": code, "unit_name": name, "unit_kind": "phuong", "status": st,
            "source_submission_id": None if st == "missing" else f"s{u}",
            "source_period_id": None if st == "missing" else period,
            "source_period_label": None if st == "missing" else ("Quý III/%d" % year if st == "provisional" else f"Năm {year}"),
            "source_received_at": datetime(year, 12, 20, 8, 0) if st != "missing" else None,
            "figures_source": "own", "predecessor_unit_codes": None,
        })
        if st == "missing":
            continue
        n = max(0, int(rnd.gauss(per_unit, per_unit / 4)))
        per_field: dict[str, list] = {}
        for line in range(1, n + 1):
            field = rnd.choice(FIELDS)["field_code"]
            kind = "new" if rnd.random() < 0.6 else "replicated"
            m = {
                "unit_code": code, "unit_name": name, "period_id": period, "line_no": line,
                "model_name": " ".join(rnd.sample(WORDS, 4)).capitalize(), "field_code": field,
                "model_kind": kind, "registered_on": date(year, rnd.randint(1, 12), rnd.randint(1, 28)),
                "recognition_level": rnd.choice(["Xã", "Huyện", "Tỉnh", None]),
                "households": rnd.randint(0, 500), "funds_million_vnd": round(rnd.uniform(0, 900), 1),
                "labour_days": rnd.randint(0, 2000), "land_m2": round(rnd.uniform(0, 3000), 1),
                "note": rnd.choice([None, "", "Đã nghiệm thu", "=1+2"]), "status": st,
            }
            models.append(m)
            per_field.setdefault(field, []).append(m)
        for field, ms in per_field.items():
            unit_fields.append({
                "unit_code": code, "field_code": field, "models_total": len(ms),
                "models_new": sum(m["model_kind"] == "new" for m in ms),
                "models_replicated": sum(m["model_kind"] == "replicated" for m in ms),
                "households": sum(m["households"] for m in ms),
                "funds_million_vnd": sum(m["funds_million_vnd"] for m in ms),
                "labour_days": sum(m["labour_days"] for m in ms), "land_m2": sum(m["land_m2"] for m in ms),
                "is_provisional": st == "provisional", "source_submission_id": f"s{u}", "source_period_id": period,
            })
    return AnnualData(year=year, status=status, unit_fields=unit_fields, fields=FIELDS, models=models, today=None)


def run(units: int, per_unit: int) -> dict:
    from dvk.report.build import render_report
    from dvk.report.summary import build_summary
    from dvk.report.tables import model_records
    from dvk.report.versions import compute_changes, model_line
    from dvk.report.workbook import Meta

    data = make_data(units, per_unit)
    start = time.perf_counter()
    summary = build_summary(data)
    models = model_records(data)
    changes = compute_changes(data.year, 1, None, summary, models)
    prepared = time.perf_counter() - start
    meta = Meta(version=1, data_as_of=datetime(2024, 12, 20, 15, 0), changes=changes)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        names = render_report(Path(tmp), data, summary, [model_line(m) for m in models], changes, meta)
        render = time.perf_counter() - start
        sizes = {n: (Path(tmp) / n).stat().st_size for n in names}
    return {"units": units, "models": len(data.models), "summary_and_records_s": round(prepared, 3),
            "render_s": round(render, 3), "files": sizes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=10000)
    parser.add_argument("--models-per-unit", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions")
    args = parser.parse_args()
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        out = prof.runcall(run, args.units, args.models_per_unit)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    else:
        out = run(args.units, args.models_per_unit)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
