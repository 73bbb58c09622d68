"""A correction of one accepted report, written into a site's inbox: the nights of
tests/test_publish.py and tests/test_nightly_changes.py send it.

Phường Bắc Hà (``CORRECTED_UNIT``) sends its 2021 annual report again: the lines of its accepted
report, read from the site's warehouse, plus new KT models; with ``break_totals`` its declared
totals count one KT model more than its lines, a blocking gate failure.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from dvk.forms import FIELD_NAMES, DeclaredTotal, ModelLine, Submission, compute_declared_totals, write_xlsx
from dvk.settings import Settings

CORRECTED_UNIT = "18076"  # Phường Bắc Hà: its accepted 2021 report (v2 on the demo site) is corrected


def broken_kt_totals(declared: list[DeclaredTotal]) -> list[DeclaredTotal]:
    """The declared totals with one model too many, new, in KT and in the grand total: the
    submission's totals no longer match its model lines (a blocking gate failure)."""
    return [
        DeclaredTotal(d.label, d.models_total + 1, d.models_new + 1, d.models_replicated, d.funds_million_vnd)
        if d.label in (FIELD_NAMES["KT"], "Tổng cộng") else d
        for d in declared
    ]


def accepted_2021_lines(warehouse: Path) -> tuple[str, list[ModelLine]]:
    """Phường Bắc Hà's name and the model lines of its accepted 2021 report, from the warehouse."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        unit_name = con.execute(
            "select unit_name from marts.dim_reporting_unit where unit_code = ?", [CORRECTED_UNIT]
        ).fetchone()[0]
        rows = con.execute(
            """
            select m.model_name, m.field_code, m.model_kind, m.registered_on, m.recognition_level,
                   m.households, m.funds_million_vnd, m.labour_days, m.land_m2, m.note
            from marts.fct_model m
            join marts.fct_submission s using (submission_id)
            where s.unit_code = ? and s.period_id = '2021' and s.is_accepted
            order by m.line_no
            """,
            [CORRECTED_UNIT],
        ).fetchall()
    finally:
        con.close()
    lines = [
        ModelLine(
            name=r[0], field=FIELD_NAMES[r[1]], kind="Xây mới" if r[2] == "new" else "Nhân rộng",
            registered_on=r[3], recognition_level=r[4], households=r[5], funds_million_vnd=r[6],
            labour_days=r[7], land_m2=r[8], note=r[9],
        )
        for r in rows
    ]
    return unit_name, lines


def write_correction(
    settings: Settings, *, version: int = 3, day: int = 18, extra_models: int = 1, break_totals: bool = False
) -> Path:
    """Version ``version`` of Phường Bắc Hà's 2021 report, signed ``day`` December 2021, in the
    site's inbox: its accepted lines plus ``extra_models`` new KT models."""
    unit_name, models = accepted_2021_lines(settings.warehouse)
    for i in range(extra_models):
        models.append(ModelLine(
            name=f"Camera an ninh tổ dân phố số {i + 1} (bổ sung lần {version})", field=FIELD_NAMES["KT"],
            kind="Xây mới", registered_on=date(2021, 11, 20), recognition_level="Cấp xã", households=42,
            funds_million_vnd=18.5, labour_days=30,
        ))
    declared = compute_declared_totals(models)
    if break_totals:
        declared = broken_kt_totals(declared)
    submission = Submission(
        unit_code=CORRECTED_UNIT, unit_name=unit_name, period="Năm 2021", report_date=date(2021, 12, day),
        models=models, preparer_name="Nguyễn Văn Thử", preparer_phone="0912 000 111",
        declared_totals=declared,
    )
    return write_xlsx(submission, settings.inbox_dir / f"2021_{CORRECTED_UNIT}_phuong-bac-ha_v{version}.xlsx")
