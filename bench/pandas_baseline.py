"""The annual summary as a clerk who knows pandas would compute it: read every file, group, done.

    .venv/bin/python bench/pandas_baseline.py INBOX --year 2024                 # openpyxl (pandas' default)
    .venv/bin/python bench/pandas_baseline.py INBOX --year 2024 --engine calamine
    .venv/bin/python bench/pandas_baseline.py INBOX                             # every year

prints the summary as JSON, then the seconds taken. As a module: :func:`annual_summary` (one year)
and :func:`summarise_all` (every year, the files read once).

This is the comparison point for the pipeline, not a product: no validation, no lineage, no
history, no quarantine. It reads every ``.xlsx`` with ``pd.read_excel`` (the first sheet is the
unit's information, the second the models; the models' header is the row holding "Tên mô hình")
and every ``.csv`` with ``pd.read_csv``; keeps for each unit and period the newest file by
``_manifest.csv``'s ``received_at``; takes each unit's annual report of the year, or, as the spec
says (§2), its report of the latest shorter period when there is none; and groups. The small fixes
a clerk adds after the first wrong total are there: diacritics folded away before comparing text
(which also takes care of NFD text), the field aliases the units write, Vietnamese number
separators ("1.250", "12,5").

The result has the keys of ``bench/synth.py``'s ``expected.json`` years (``units_registered``,
``units_reported``, ``units_provisional``, ``models_total``, ``models_new``, ``models_replicated``,
``fields``, ``households``, ``funds_million_vnd``, ``labour_days``, ``land_m2``,
``provisional_units``) except ``units_expected`` and ``missing_units``: the clerk has no master
list. Known limits (none of them in the generated data): a unit is identified by the code it
writes, never by its name; a model sheet that is not the second sheet, a file in TCVN3/VNI, a
period written in a form other than "Quý …", "6 tháng …", "Năm …", and a correction whose report
date is older than its predecessor's are not handled; the newest version is the one received last.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd

FIELDS = {  # folded spelling → field code (the names of spec §1 and the aliases units write)
    "kt": "KT", "phat trien kinh te": "KT", "kinh te": "KT", "phat trien kt": "KT",
    "vhxh": "VHXH", "van hoa xa hoi": "VHXH", "vh xh": "VHXH",
    "qpan": "QPAN", "quoc phong an ninh": "QPAN", "qp an": "QPAN", "an ninh": "QPAN",
    "xdd": "XDD", "xay dung dang va he thong chinh tri": "XDD", "xay dung dang": "XDD", "xd dang": "XDD",
}
COLUMNS = {  # CSV column → the workbook's header
    "ma_don_vi": "Mã đơn vị", "ky_bao_cao": "Kỳ báo cáo", "ten_mo_hinh": "Tên mô hình",
    "linh_vuc": "Lĩnh vực", "hinh_thuc": "Hình thức", "so_ho_tham_gia": "Số hộ tham gia",
    "kinh_phi_trieu_dong": "Kinh phí huy động (triệu đồng)", "ngay_cong": "Ngày công", "dat_hien_m2": "Đất hiến (m2)",
}
FIGURES = {"Số hộ tham gia": "households", "Kinh phí huy động (triệu đồng)": "funds_million_vnd",
           "Ngày công": "labour_days", "Đất hiến (m2)": "land_m2"}
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


def fold(text: Any) -> str:
    """"Văn hóa - xã hội" → "van hoa xa hoi" (NFC or NFD alike)."""
    text = unicodedata.normalize("NFD", str(text)).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def number(value: Any) -> float:
    """A cell as a number; "1.250" is 1250 and "12,5" is 12.5; blank is 0."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return 0.0
    if not isinstance(value, str):
        return float(value)
    text = value.strip()
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", text):
        text = text.replace(".", "")
    return float(text.replace(",", ".")) if text else 0.0


def period(text: str) -> tuple[int, int, int]:
    """"Quý I/2023" → (2023, 3, 3): the year, the period's last month and its length in months."""
    key = fold(text)
    year = int(re.search(r"\d{4}", key).group())
    if key.startswith("quy"):
        n = key.split()[1]
        n = ROMAN.get(n) or int(n)
        return year, 3 * n, 3
    if key.startswith("6 thang"):
        return year, 12 if "cuoi" in key else 6, 6
    return year, 12, 12


def read_file(path: Path, engine: str) -> tuple[str, str, pd.DataFrame]:
    """(unit code, period as written, the model lines with the workbook's headers)."""
    if path.suffix.lower() == ".csv":
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig").rename(columns=COLUMNS)
        return str(df["Mã đơn vị"].iloc[0]), str(df["Kỳ báo cáo"].iloc[0]), df
    info, raw = pd.read_excel(path, sheet_name=[0, 1], header=None, engine=engine).values()
    head = dict(zip(info[0].astype(str).str.strip(), info[1]))
    row = (raw == "Tên mô hình").any(axis=1).idxmax()
    df = raw.iloc[row + 1:].set_axis(raw.iloc[row], axis=1)
    return str(head["Mã đơn vị"]).strip(), str(head["Kỳ báo cáo"]), df.dropna(subset=["Tên mô hình"])


def load(inbox: Path, engine: str = "openpyxl") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every file of the inbox: (one row per file, one row per model line)."""
    received = pd.read_csv(inbox / "_manifest.csv").set_index("file_name")["received_at"]
    files, lines = [], []
    for path in sorted(inbox.glob("*.*")):
        if path.name.startswith(("_", ".")) or path.suffix.lower() not in (".xlsx", ".csv"):
            continue
        unit, written, df = read_file(path, engine)
        year, last_month, months = period(written)
        files.append({"file": path.name, "unit": unit, "year": year, "last_month": last_month,
                      "months": months, "received_at": received.get(path.name, "")})
        models = pd.DataFrame({"file": path.name, "field": df["Lĩnh vực"].map(lambda v: FIELDS[fold(v)]),
                               "new": df["Hình thức"].map(fold).eq("xay moi")})
        for header, key in FIGURES.items():
            models[key] = df[header].map(number).to_numpy() if header in df else 0.0
        lines.append(models)
    return pd.DataFrame(files), pd.concat(lines, ignore_index=True)


def summarise(files: pd.DataFrame, lines: pd.DataFrame, year: int) -> dict[str, Any]:
    """The annual summary of ``year`` from what :func:`load` read."""
    newest = files[files["year"] == year].sort_values("received_at").drop_duplicates(
        ["unit", "last_month", "months"], keep="last")
    newest = newest.assign(annual=newest["months"] == 12)
    sources = newest.sort_values(["annual", "last_month", "months", "received_at"]).drop_duplicates("unit", keep="last")
    used = lines.merge(sources[["file", "unit"]], on="file")
    by_field = used.groupby("field")["new"].agg(total="size", new="sum")
    fields = {code: {"total": int(by_field["total"].get(code, 0)), "new": int(by_field["new"].get(code, 0)),
                     "replicated": int(by_field["total"].get(code, 0) - by_field["new"].get(code, 0))}
              for code in ("KT", "VHXH", "QPAN", "XDD")}
    return {
        "year": year,
        "units_registered": int(used["unit"].nunique()),
        "units_reported": int(sources["annual"].sum()),
        "units_provisional": int((~sources["annual"]).sum()),
        "models_total": len(used),
        "models_new": int(used["new"].sum()),
        "models_replicated": int((~used["new"]).sum()),
        "fields": fields,
        "households": int(used["households"].sum()),
        "funds_million_vnd": round(float(used["funds_million_vnd"].sum()), 4),
        "labour_days": int(used["labour_days"].sum()),
        "land_m2": round(float(used["land_m2"].sum()), 4),
        "provisional_units": sorted(sources.loc[~sources["annual"], "unit"]),
    }


def annual_summary(inbox: Path, year: int, engine: str = "openpyxl") -> dict[str, Any]:
    """The annual summary of ``year``: every file of ``inbox`` read with pandas (``engine`` for xlsx)."""
    files, lines = load(Path(inbox), engine)
    return summarise(files, lines, year)


def summarise_all(inbox: Path, engine: str = "openpyxl") -> dict[int, dict[str, Any]]:
    """The annual summary of every year with a file, the files read once."""
    files, lines = load(Path(inbox), engine)
    return {int(y): summarise(files, lines, int(y)) for y in sorted(files["year"].unique())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inbox", type=Path)
    parser.add_argument("--year", type=int, default=None, help="one year (default: every year)")
    parser.add_argument("--engine", default="openpyxl", help="pd.read_excel engine: openpyxl (default) or calamine")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.year is None:
        result: Any = summarise_all(args.inbox, args.engine)
    else:
        result = annual_summary(args.inbox, args.year, args.engine)
    seconds = time.perf_counter() - start
    print(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"{seconds:.2f} s ({args.engine})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
