"""Plausible bounds of every measure a submission carries: the one place they are kept.

A value above its bound is not a figure a ward, commune or agency can report: it is a typing slip
(``1e308``, a phone number in the households column) or a hostile file. It is refused at the ingest
(``bad_value`` at its sheet, row and column) so that nothing that passes the ingest can break the
transform: the marts add the figures as ``DECIMAL(38, 6)`` (``macros/exact_sum.sql``) and counts as
``BIGINT``; with these bounds a whole province's year (millions of model lines) stays far inside
both. docs/ingest.md quotes this table; ``tests/hostile`` feeds the largest accepted values through
the ingest, dbt, the gate and the report.
"""

from __future__ import annotations

#: measure → the largest accepted value (inclusive; every measure is also ≥ 0).
#: Model lines (sheet "Mô hình", the CSV form):
MODEL_BOUNDS: dict[str, float] = {
    "households": 1_000_000,            # households taking part in one model
    "funds_million_vnd": 1_000_000,     # million VND mobilised by one model (1,000 billion VND)
    "labour_days": 10_000_000,          # labour days contributed to one model
    "land_m2": 100_000_000,             # m² of land donated to one model (100 km²)
}
#: Declared totals (sheet "Tổng hợp"): one unit's models of a field, and their funds.
TOTAL_BOUNDS: dict[str, float] = {
    "models_total": 100_000,
    "models_new": 100_000,
    "models_replicated": 100_000,
    "funds_million_vnd": 100_000_000,   # million VND for all of one unit's models of a field
}
#: Units in which the messages state the bounds.
UNITS_VI = {"households": "hộ", "funds_million_vnd": "triệu đồng", "labour_days": "ngày công", "land_m2": "m2",
            "models_total": "mô hình", "models_new": "mô hình", "models_replicated": "mô hình"}


def bound_of(key: str, *, totals: bool = False) -> float | None:
    """The bound of a measure column (None: not a measure)."""
    return (TOTAL_BOUNDS if totals else MODEL_BOUNDS).get(key)
