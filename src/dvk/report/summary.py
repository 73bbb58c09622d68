"""``summary.json``: the annual figures for machines (spec §6), and the city's headline sentence."""

from __future__ import annotations

from typing import Any

from dvk.report.data import AnnualData
from dvk.report.tables import uncounted_split_predecessors

#: The keys of spec §6, in its order; they keep their names and meanings.
SPEC_KEYS = (
    "year", "units_registered", "models_total", "models_new", "models_replicated", "fields",
    "units", "missing_units", "funds_million_vnd", "households", "labour_days", "land_m2",
)

HEADLINE_VI = (
    "Trong năm, toàn thành phố có {units} địa phương, cơ quan, đơn vị đăng ký xây dựng mô hình; "
    "nhân rộng {total} mô hình \"Dân vận khéo\". Trong đó, {new} mô hình \"Dân vận khéo\" xây mới, "
    "đăng ký trên {n_fields} lĩnh vực."
)


def headline_vi(summary: dict[str, Any]) -> str:
    """The city's headline (spec §1), filled with the year's figures."""
    return HEADLINE_VI.format(
        units=summary["units_registered"],
        total=summary["models_total"],
        new=summary["models_new"],
        n_fields=summary["fields_registered"],
    )


def today_geography_summary(data: AnnualData) -> dict[str, Any]:
    """The optional key ``today_geography``: every year from 2020 to the report's year on today's
    units (marts.fct_annual_unit_today). Figures are weighted by the split shares (decimals);
    ``estimated``: rests on an estimated share; ``incomplete``: part of today's unit was outside
    the deployment that year (``outside_parts``). Not part of the report's content fingerprint:
    a later reorganisation or a revised share never makes a new version of a past report."""
    rows = data.today or []
    return {
        "mart": "marts.fct_annual_unit_today",
        "years": sorted({int(r["year"]) for r in rows}),
        "units": [
            {
                "code": r["today_unit_code"],
                "name": r["today_unit_name"],
                "year": int(r["year"]),
                "has_figures": bool(r["has_figures"]),
                "total": float(r["models_total"] or 0.0),
                "new": float(r["models_new"] or 0.0),
                "replicated": float(r["models_replicated"] or 0.0),
                "households": float(r["households"] or 0.0),
                "funds_million_vnd": float(r["funds_million_vnd"] or 0.0),
                "labour_days": float(r["labour_days"] or 0.0),
                "land_m2": float(r["land_m2"] or 0.0),
                "estimated": bool(r["is_estimated"]),
                "incomplete": bool(r["is_incomplete"]),
                "provisional": bool(r["is_provisional"]),
                "outside_parts": r["outside_parts"],
                "source_units": r["source_units"],
            }
            for r in rows
        ],
    }


def build_summary(data: AnnualData) -> dict[str, Any]:
    """The summary of spec §6 (its keys first, in its order), then additional keys.

    ``units`` lists the units with at least one model in the year (so ``len(units) ==
    units_registered``); units that reported without any model are in ``units_without_models``.
    Only facts of the warehouse go in: no clock, no path, so the same warehouse gives the same file.
    """
    units = data.unit_totals()
    fields = data.field_totals()
    grand = data.grand_total()
    summary: dict[str, Any] = {
        "year": data.year,
        "units_registered": len(units),
        "models_total": grand["total"],
        "models_new": grand["new"],
        "models_replicated": grand["replicated"],
        "fields": {
            code: {"total": f["total"], "new": f["new"], "replicated": f["replicated"]}
            for code, f in fields.items()
        },
        "units": [
            {
                "code": u["code"],
                "name": u["name"],
                "total": u["total"],
                "new": u["new"],
                "replicated": u["replicated"],
                "provisional": bool(u["provisional"]),
            }
            for u in units
        ],
        "missing_units": sorted(s["unit_code"] for s in data.missing),
        "funds_million_vnd": float(grand["funds_million_vnd"]),
        "households": int(grand["households"]),
        "labour_days": int(grand["labour_days"]),
        "land_m2": float(grand["land_m2"]),
    }
    with_models = {u["code"] for u in units}
    summary.update({
        "fields_registered": sum(1 for f in fields.values() if f["total"] > 0),
        "units_expected": len(data.status),
        "units_reported": sum(1 for s in data.status if s["status"] == "reported"),
        "units_provisional": len(data.provisional),
        "units_missing": len(data.missing),
        "missing_units_detail": [
            {"code": s["unit_code"], "name": s["unit_name"]} for s in data.missing
        ],
        "provisional_units": [
            {"code": s["unit_code"], "name": s["unit_name"], "source_period_id": s["source_period_id"],
             "figures_source": s.get("figures_source"),
             "uncounted_split_predecessors": uncounted_split_predecessors(s)}
            for s in data.provisional
        ],
        "units_without_models": [
            {"code": s["unit_code"], "name": s["unit_name"], "status": s["status"]}
            for s in data.source_units
            if s["unit_code"] not in with_models
        ],
        "field_details": {
            code: {
                "name_vi": data.field_name(code),
                "units": f["units_count"],
                "households": f["households"],
                "funds_million_vnd": f["funds_million_vnd"],
                "labour_days": f["labour_days"],
                "land_m2": f["land_m2"],
            }
            for code, f in fields.items()
        },
    })
    summary["headline_vi"] = headline_vi(summary)
    if data.today is not None:
        summary["today_geography"] = today_geography_summary(data)
    summary["generated_from"] = {
        "marts": [
            "marts.fct_annual_unit_status", "marts.fct_annual_unit_source", "marts.fct_annual_unit_field",
            "marts.fct_model",
            "marts.dim_reporting_unit", "marts.dim_field",
        ],
        "source_submissions": [
            {
                "unit_code": s["unit_code"],
                "period_id": s["source_period_id"],
                "submission_id": s["source_submission_id"],
            }
            for s in data.source_units
        ],
        "quality_gate": "passed",
    }
    return summary
