"""What the annual report of one year reads from the marts (read-only), and the figures it derives.

Sources (docs/architecture.md, "Marts"): ``fct_annual_unit_status`` (who reported, who is
provisional, who is missing), ``fct_annual_unit_field`` (the annual figures), ``fct_model`` (the
models of each unit's source submission), ``dim_reporting_unit``, ``dim_field``, ``dim_period``,
``fct_submission`` (received time of the source submissions), and ``fct_annual_unit_today``
(every year from 2020 to the report's year on today's units, rules 4-5 of the reorganisations
spec; left out, with a warning, from a warehouse built before that mart existed).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from dvk.periods import local_today, make_period
from dvk.reference import load_fields
from dvk.settings import Settings, get_settings
from dvk.warehouse import query_rows, query_value, read_only, target as warehouse_target

log = logging.getLogger(__name__)

#: The field codes in their order: the fields seed (``dvk.reference.load_fields``, read once).
FIELD_CODES = tuple(field.code for field in load_fields())
#: The first year the series on today's geography starts from (reports are expected from 2020).
FIRST_TODAY_YEAR = 2020
TODAY_MART = "fct_annual_unit_today"

STATUS_SQL = """
select
    st.unit_code,
    u.unit_name,
    u.unit_kind,
    st.status,
    st.source_submission_id,
    st.source_period_id,
    p.label_vi as source_period_label,
    s.received_at as source_received_at,
    st.figures_source,
    st.predecessor_unit_codes,
    st.uncounted_split_predecessor_codes
from marts.fct_annual_unit_status as st
left join marts.dim_reporting_unit as u on u.unit_key = st.unit_key
left join marts.dim_period as p on p.period_id = st.source_period_id
left join marts.fct_submission as s on s.submission_id = st.source_submission_id
where st.year = $year
order by st.unit_code
"""

UNIT_FIELD_SQL = """
select unit_code, field_code, models_total, models_new, models_replicated, households,
       funds_million_vnd, labour_days, land_m2, is_provisional, source_submission_id,
       source_period_id
from marts.fct_annual_unit_field
where year = $year
order by unit_code, field_code
"""

FIELDS_SQL = """
select field_code, field_name_vi, field_name_en, sort_order
from marts.dim_field
order by sort_order, field_code
"""

MODELS_SQL = """
select
    src.unit_code,
    u.unit_name,
    m.period_id,
    m.line_no,
    m.model_name,
    m.field_code,
    m.model_kind,
    m.registered_on,
    m.recognition_level,
    m.households,
    m.funds_million_vnd,
    m.labour_days,
    m.land_m2,
    m.note,
    st.status
from marts.fct_model as m
inner join marts.fct_annual_unit_source as src  -- the unit's own report, or its predecessors' (rule 3)
    on src.source_submission_id = m.submission_id and src.year = $year
inner join marts.fct_annual_unit_status as st
    on st.year = $year and st.unit_key is not distinct from src.unit_key and st.unit_code = src.unit_code
left join marts.dim_reporting_unit as u on u.unit_key = src.unit_key
order by src.unit_code, m.unit_code, m.line_no, m.model_line_id
"""

TODAY_SQL = """
select year, today_unit_code, today_unit_name, has_figures, models_total, models_new,
       models_replicated, households, funds_million_vnd, labour_days, land_m2, is_estimated,
       is_incomplete, is_provisional, outside_parts, uncounted_parts, source_units
from marts.fct_annual_unit_today
where year between $first_year and $year
order by today_unit_code, year
"""

TODAY_MART_EXISTS_SQL = """
select count(*) from information_schema.tables
where table_catalog = current_database() and table_schema = 'marts' and table_name = 'fct_annual_unit_today'
"""

#: Each year with accepted submissions, and whether one of them is an annual report.
YEARS_SQL = """
select period_year, bool_or(period_kind = 'year') as has_annual
from marts.fct_submission
where is_accepted and period_year is not null
group by period_year
order by period_year
"""


def _records(con, sql: str, params: dict | None = None) -> list[dict[str, Any]]:
    """The rows of a ``select`` as dicts of plain Python values (int, float, str, date, datetime,
    bool, None; a float NaN becomes None). Fetched as tuples by the warehouse layer: no DataFrame in
    between, whose per-value conversion cost most of a national report's reading (165,000 model lines)."""
    return query_rows(con, sql, params, nan_as_null=True)


@dataclass
class AnnualData:
    year: int
    status: list[dict[str, Any]]
    unit_fields: list[dict[str, Any]]
    fields: list[dict[str, Any]]
    models: list[dict[str, Any]]
    #: rows of fct_annual_unit_today from FIRST_TODAY_YEAR to the year; None: no such mart
    today: list[dict[str, Any]] | None = None

    # ---- derived figures -------------------------------------------------------------------

    @property
    def field_codes(self) -> list[str]:
        codes = [f["field_code"] for f in self.fields if f["field_code"] in FIELD_CODES]
        return codes or list(FIELD_CODES)

    @cached_property
    def _field_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for f in self.fields:
            names.setdefault(f["field_code"], f["field_name_vi"])  # the first, as a search would find
        return names

    def field_name(self, code: str) -> str:
        """The field's Vietnamese name (a dict look-up: the report asks once per model line)."""
        return self._field_names.get(code, code)

    @cached_property
    def _status_by_unit(self) -> dict[str, dict[str, Any]]:
        return {s["unit_code"]: s for s in self.status}

    def status_of(self, unit_code: str) -> dict[str, Any] | None:
        """The unit's status row (a dict look-up: the report asks once per model line)."""
        return self._status_by_unit.get(unit_code)

    @property
    def source_units(self) -> list[dict[str, Any]]:
        """Units with figures (reported or provisional: their own report or, rule 3 of the
        reorganisations spec, their predecessors'), by code."""
        return [s for s in self.status if s["status"] != "missing"]

    @property
    def missing(self) -> list[dict[str, Any]]:
        return [s for s in self.status if s["status"] == "missing"]

    @property
    def provisional(self) -> list[dict[str, Any]]:
        return [s for s in self.status if s["status"] == "provisional"]

    def unit_totals(self) -> list[dict[str, Any]]:
        """Per unit with at least one model: counts, by field, and measures; sorted by code.
        Computed once (the summary and the table by unit both read it): treat it as read-only."""
        return self._unit_totals

    @cached_property
    def _unit_totals(self) -> list[dict[str, Any]]:
        units: dict[str, dict[str, Any]] = {}
        provisional_rows = {r["unit_code"] for r in self.unit_fields if r["is_provisional"]}
        for row in self.unit_fields:
            u = units.setdefault(row["unit_code"], _blank_unit(row["unit_code"], self.field_codes))
            _add(u, row)
            u["by_field"][row["field_code"]] = u["by_field"].get(row["field_code"], 0) + int(row["models_total"] or 0)
        out = []
        for code in sorted(units):
            u = units[code]
            st = self.status_of(code) or {}
            u["name"] = st.get("unit_name") or code
            u["kind"] = st.get("unit_kind")
            u["status"] = st.get("status")
            u["provisional"] = st.get("status") == "provisional" or code in provisional_rows
            u["source_period_id"] = st.get("source_period_id")
            u["source_period_label"] = st.get("source_period_label")
            _finish(u)
            out.append(u)
        return out

    def field_totals(self) -> dict[str, dict[str, Any]]:
        out = {code: _blank_unit(code, ()) for code in self.field_codes}
        for row in self.unit_fields:
            f = out.setdefault(row["field_code"], _blank_unit(row["field_code"], ()))
            _add(f, row)
            f["units"].add(row["unit_code"])
        for f in out.values():
            _finish(f)
        return out

    def grand_total(self) -> dict[str, Any]:
        g = _blank_unit("TOTAL", ())
        for row in self.unit_fields:
            _add(g, row)
            g["units"].add(row["unit_code"])
        _finish(g)
        return g

    @property
    def as_of(self) -> datetime:
        """The newest receipt among the source submissions: the data's "as of" moment, used as
        the workbook's creation date so that the same warehouse gives the same file."""
        times = [s["source_received_at"] for s in self.status if isinstance(s["source_received_at"], datetime)]
        return max(times) if times else datetime(self.year, 12, 31)


def _blank_unit(code: str, field_codes) -> dict[str, Any]:
    return {
        "code": code, "total": 0, "new": 0, "replicated": 0, "households": 0, "labour_days": 0,
        "_funds": [], "_land": [], "units": set(), "by_field": {c: 0 for c in field_codes},
    }


def _add(acc: dict[str, Any], row: dict[str, Any]) -> None:
    acc["total"] += int(row["models_total"] or 0)
    acc["new"] += int(row["models_new"] or 0)
    acc["replicated"] += int(row["models_replicated"] or 0)
    acc["households"] += int(row["households"] or 0)
    acc["labour_days"] += int(row["labour_days"] or 0)
    acc["_funds"].append(float(row["funds_million_vnd"] or 0.0))
    acc["_land"].append(float(row["land_m2"] or 0.0))


def _finish(acc: dict[str, Any]) -> None:
    # math.fsum: exact, so independent of the order the rows came in
    acc["funds_million_vnd"] = round(math.fsum(acc.pop("_funds")), 6)
    acc["land_m2"] = round(math.fsum(acc.pop("_land")), 6)
    acc["units_count"] = len(acc["units"])
    acc["units"] = sorted(acc["units"])


def load_annual_data(year: int, settings: Settings | None = None) -> AnnualData:
    settings = settings or get_settings()
    params = {"year": int(year)}
    with read_only(warehouse_target(settings)) as con:
        status = _records(con, STATUS_SQL, params)
        unit_fields = _records(con, UNIT_FIELD_SQL, params)
        fields = _records(con, FIELDS_SQL)
        models = _records(con, MODELS_SQL, params)
        today = None
        if query_value(con, TODAY_MART_EXISTS_SQL):
            today = _records(con, TODAY_SQL, {**params, "first_year": FIRST_TODAY_YEAR})
        else:
            log.warning("marts.%s không có: báo cáo không có bảng theo địa giới hiện nay / "
                        "no marts.%s: the report has no table on today's geography (run the transform)",
                        TODAY_MART, TODAY_MART)
    for m in models:
        if isinstance(m.get("registered_on"), datetime):
            m["registered_on"] = m["registered_on"].date()
    return AnnualData(year=int(year), status=status, unit_fields=unit_fields, fields=fields, models=models,
                      today=today)


def annual_report_due(year: int, grace_days: int, today: dt.date | None = None) -> bool:
    """Whether the annual report of ``year`` is due by ``today`` (the office's, by default): its
    window closed on 14 December and the grace days have passed (spec §2)."""
    return (today or local_today()) > make_period("year", int(year)).due_date(grace_days)


def report_years_in(con, grace_days: int, today: dt.date | None = None) -> list[int]:
    """The years with an annual report to write, read on ``con``: every year with an accepted annual
    submission, and every year whose annual report is due (:func:`annual_report_due`) with accepted
    submissions of shorter periods only, whose units are then all counted from their latest
    shorter report, provisional (spec §2: "a unit with no annual report for Y is counted from its
    latest accepted report of a shorter period inside Y"). A year in progress with no annual
    report yet has none."""
    return [int(r["period_year"]) for r in query_rows(con, YEARS_SQL)
            if r["has_annual"] or annual_report_due(int(r["period_year"]), grace_days, today)]


def years_to_report(settings: Settings | None = None, today: dt.date | None = None) -> list[int]:
    """:func:`report_years_in` on the warehouse of ``settings``."""
    settings = settings or get_settings()
    with read_only(warehouse_target(settings)) as con:
        return report_years_in(con, settings.due_grace_days, today)


__all__ = ["AnnualData", "FIELD_CODES", "FIRST_TODAY_YEAR", "annual_report_due", "load_annual_data",
           "report_years_in", "years_to_report"]
