"""Small inboxes for the ingest's tests: one CSV submission a month (the project's form writer)."""

from __future__ import annotations

from datetime import date

from dvk.forms import ModelLine, Submission, csv_bytes


def monthly_csv(month: int, *, households: int = 10) -> bytes:
    """Phường Nam Hà's report of ``month``/2022 as CSV: one KT model, ``households`` households."""
    return csv_bytes(Submission(
        unit_code="18073", unit_name="Phường Nam Hà", period=f"Tháng {month}/2022",
        report_date=date(2022, month, 28),
        models=[ModelLine(name=f"Mô hình {month}", field="KT", kind="Xây mới", households=households,
                          funds_million_vnd=1)]))
