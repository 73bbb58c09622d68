"""The DataFrames the gate validates, one per suite file in ``expectations/``.

Each dataset is one SQL query on the marts (and, for reconciliation, on ``raw.submission_models``)
of one year, read through a read-only DuckDB connection. ``index_columns`` are passed to Great
Expectations as ``unexpected_index_column_names``: every unexpected row it reports carries them,
and the gate's failures are built from those rows only.

The first six datasets carry the blocking checks of spec §6; ``ytd_progression`` and
``model_measures`` carry warnings only (see ``expectations/README.md`` and docs/quality-gate.md).

Null handling: declared counts left blank count as 0 (a blank "Xây mới" cell on a declared row
means none); a (unit, field) present on one side of a reconciliation only counts 0 on the other.
The comparisons therefore never see SQL NULLs (Great Expectations' pandas engine cannot compare
``pd.NA``). Codes checked against a set (field, kind, status) read ``(trống)`` when NULL, because
GX's column-map expectations skip NULLs and a blank code must not pass unseen.
"""

from __future__ import annotations

from dataclasses import dataclass

FIELD_ORDER_SQL = """case {col} when 'KT' then 1 when 'VHXH' then 2 when 'QPAN' then 3
    when 'XDD' then 4 when 'TOTAL' then 9 else 5 end"""


@dataclass(frozen=True)
class Dataset:
    name: str  # also the suite file: expectations/<name>.yml
    description: str
    sql: str  # one named parameter: $year
    index_columns: tuple[str, ...]


#: figure -> (Vietnamese, English) label, as messages name it
FIGURE_LABELS = {
    "models_total": ("số mô hình", "models"),
    "models_new": ("số mô hình xây mới", "new models"),
    "models_replicated": ("số mô hình nhân rộng", "replicated models"),
    "households": ("số hộ tham gia", "households taking part"),
    "funds_million_vnd": ("kinh phí huy động (triệu đồng)", "funds mobilised (million VND)"),
    "labour_days": ("số ngày công", "labour days"),
    "land_m2": ("diện tích đất hiến (m2)", "land donated (m2)"),
}
_FIGURES = tuple(FIGURE_LABELS)


def _label(col: str, lang: str) -> str:
    """SQL: the Vietnamese (``vi``) or English label of the figure named in column ``col``."""
    i = 0 if lang == "vi" else 1
    cases = " ".join(f"when '{k}' then '{v[i]}'" for k, v in FIGURE_LABELS.items())
    return f"case {col} {cases} else {col} end"


# The source submissions of each (year, unit version): its own, or its predecessors' (rule 3 of
# the reorganisations spec). One row per source; unit_code is unique within a year.
_SOURCES = """
    select unit_key, unit_code, source_submission_id, source_period_id, source_unit_code
    from marts.fct_annual_unit_source
    where year = $year
"""

SUBMISSION_TOTALS = Dataset(
    name="submission_totals",
    description="declared (Tổng hợp) vs computed (model lines) totals of every accepted "
    "submission of a period of the year: marts.fct_submission_totals_check",
    sql=f"""
    select
        c.submission_id,
        c.unit_code,
        u.unit_name,
        c.period_id,
        c.field_code,
        case
            when c.field_code <> 'TOTAL' then 'field'
            when c.declared_total is null and c.declared_new is null
                 and c.declared_replicated is null then 'total_not_declared'
            else 'total'
        end as row_scope,
        cast(coalesce(c.declared_total, 0) as bigint) as declared_total,
        cast(coalesce(c.declared_new, 0) as bigint) as declared_new,
        cast(coalesce(c.declared_replicated, 0) as bigint) as declared_replicated,
        cast(coalesce(c.declared_new, 0) + coalesce(c.declared_replicated, 0) as bigint)
            as declared_new_plus_replicated,
        cast(coalesce(c.computed_total, 0) as bigint) as computed_total,
        cast(coalesce(c.computed_new, 0) as bigint) as computed_new,
        cast(coalesce(c.computed_replicated, 0) as bigint) as computed_replicated,
        cast(coalesce(c.computed_new, 0) + coalesce(c.computed_replicated, 0) as bigint)
            as computed_new_plus_replicated,
        cast(coalesce(c.fields_sum_total, 0) as bigint) as fields_sum_total,
        cast(coalesce(c.fields_sum_new, 0) as bigint) as fields_sum_new,
        cast(coalesce(c.fields_sum_replicated, 0) as bigint) as fields_sum_replicated,
        cast(c.declared_funds as double precision) as declared_funds,
        cast(round(cast(coalesce(c.computed_funds, 0) as numeric), 4) as double precision) as computed_funds,
        cast(round(cast(abs(c.declared_funds - coalesce(c.computed_funds, 0)) as numeric), 6) as double precision)
            as funds_difference
    from marts.fct_submission_totals_check as c
    inner join marts.fct_submission as s on s.submission_id = c.submission_id
    left join marts.dim_reporting_unit as u on u.unit_key = c.unit_key
    where s.period_year = $year and s.is_accepted
    order by c.unit_code, c.period_id, c.submission_id, {FIELD_ORDER_SQL.format(col="c.field_code")}
    """,
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id",
                   "declared_funds", "computed_funds"),
)

ANNUAL_COUNTS = Dataset(
    name="annual_counts",
    description="the annual figures per (unit, field): marts.fct_annual_unit_field",
    sql=f"""
    with annual as (
    select
        f.unit_code,
        u.unit_name,
        f.source_period_id as period_id,
        coalesce(f.field_code, '(trống)') as field_code,
        f.source_submission_id as submission_id,
        cast(f.models_total as bigint) as models_total,
        cast(f.models_new as bigint) as models_new,
        cast(f.models_replicated as bigint) as models_replicated,
        cast(coalesce(f.models_new, 0) + coalesce(f.models_replicated, 0) as bigint)
            as new_plus_replicated,
        f.households,
        f.funds_million_vnd,
        f.labour_days,
        f.land_m2,
        -- the lowest of the four measures (blank counts as 0) and which one it is
        cast(least(coalesce(f.households, 0), coalesce(f.funds_million_vnd, 0),
                   coalesce(f.labour_days, 0), coalesce(f.land_m2, 0)) as double precision) as lowest_measure_value,
        case least(coalesce(f.households, 0), coalesce(f.funds_million_vnd, 0),
                   coalesce(f.labour_days, 0), coalesce(f.land_m2, 0))
            when coalesce(f.households, 0) then 'households'
            when coalesce(f.funds_million_vnd, 0) then 'funds_million_vnd'
            when coalesce(f.labour_days, 0) then 'labour_days'
            else 'land_m2' end as lowest_measure
    from marts.fct_annual_unit_field as f
    left join marts.dim_reporting_unit as u on u.unit_key = f.unit_key
    where f.year = $year
    )
    select *, {_label("lowest_measure", "vi")} as lowest_measure_vi,
        {_label("lowest_measure", "en")} as lowest_measure_en
    from annual
    order by unit_code, {FIELD_ORDER_SQL.format(col="field_code")}
    """,
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id",
                   "lowest_measure_vi", "lowest_measure_en"),
)

RECONCILIATION = Dataset(
    name="reconciliation",
    description="marts.fct_annual_unit_field vs a recount from raw.submission_models of each "
    "unit's source submission: one row per (unit, field, figure)",
    sql=f"""
    with sources as ({_SOURCES}),
    recount as (
        select
            s.unit_key,
            s.unit_code,
            m.field_code,
            s.source_submission_id,
            s.source_period_id,
            count(*) as models_total,
            count(*) filter (where m.model_kind = 'new') as models_new,
            count(*) filter (where m.model_kind = 'replicated') as models_replicated,
            coalesce(sum(m.households), 0) as households,
            coalesce(sum(m.funds_million_vnd), 0) as funds_million_vnd,
            coalesce(sum(m.labour_days), 0) as labour_days,
            coalesce(sum(m.land_m2), 0) as land_m2
        from sources as s
        inner join raw.submission_models as m on m.submission_id = s.source_submission_id
        group by s.unit_key, s.unit_code, m.field_code, s.source_submission_id, s.source_period_id
    ),
    unit_sources as (  -- one per unit, unless counted from its predecessors (rule 3)
        select unit_code, count(*) as n from sources group by unit_code
    ),
    mart as (
        select f.*, coalesce(us.n, 1) as sources_n
        from marts.fct_annual_unit_field as f
        left join unit_sources as us on us.unit_code = f.unit_code
        where f.year = $year
    ),
    joined as (
        select
            coalesce(mart.unit_key, recount.unit_key) as unit_key,
            coalesce(mart.unit_code, recount.unit_code) as unit_code,
            coalesce(mart.source_period_id, recount.source_period_id) as period_id,
            coalesce(mart.field_code, recount.field_code) as field_code,
            coalesce(recount.source_submission_id, mart.source_submission_id) as submission_id,
            {", ".join(f"mart.{f} as mart_{f}, recount.{f} as raw_{f}" for f in _FIGURES)}
        from mart
        full outer join recount
            on mart.unit_code = recount.unit_code and mart.field_code = recount.field_code
            and (mart.sources_n = 1 or mart.source_submission_id = recount.source_submission_id)
    ),
    figures as (  -- one row per figure; decimals rounded to 4 places on both sides
        select
            j.unit_key, j.unit_code, j.period_id, j.field_code, j.submission_id, f.figure, f.sort_order,
            cast(round(cast(coalesce(case f.figure {" ".join(f"when '{x}' then j.mart_{x}" for x in _FIGURES)} end, 0) as numeric), 4)
                as double precision) as mart_value,
            cast(round(cast(coalesce(case f.figure {" ".join(f"when '{x}' then j.raw_{x}" for x in _FIGURES)} end, 0) as numeric), 4)
                as double precision) as raw_value
        from joined as j
        cross join (values {", ".join(f"('{x}', {i})" for i, x in enumerate(_FIGURES))}) as f(figure, sort_order)
    )
    select
        g.unit_code,
        u.unit_name,
        g.period_id,
        g.field_code,
        g.submission_id,
        g.figure,
        {_label("g.figure", "vi")} as figure_vi,
        {_label("g.figure", "en")} as figure_en,
        g.mart_value,
        g.raw_value
    from figures as g
    left join marts.dim_reporting_unit as u on u.unit_key = g.unit_key
    order by g.unit_code, {FIELD_ORDER_SQL.format(col="g.field_code")}, g.submission_id, g.sort_order
    """,
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id", "figure",
                   "figure_vi", "figure_en"),
)

RECONCILIATION_SUBMISSIONS = Dataset(
    name="reconciliation_submissions",
    description="per source submission of the year: model lines in raw vs fct_model vs "
    "fct_annual_unit_field vs fct_submission.models_count",
    sql=f"""
    with sources as ({_SOURCES}),
    raw_lines as (
        select m.submission_id, count(*) as n
        from raw.submission_models as m
        where m.submission_id in (select source_submission_id from sources)
        group by m.submission_id
    ),
    mart_lines as (
        select f.submission_id, count(*) as n
        from marts.fct_model as f
        where f.submission_id in (select source_submission_id from sources)
        group by f.submission_id
    ),
    accepted as (  -- the accepted version of each (unit, period); one, unless the marts are broken
        select unit_code, period_id, min(submission_id) as submission_id
        from marts.fct_submission
        where is_accepted
        group by unit_code, period_id
    ),
    annual as (
        select
            unit_code,
            sum(models_total) as n,
            -- the submission(s) the unit's annual rows say they come from: its sources, if all is well
            string_agg(distinct source_submission_id, ', ' order by source_submission_id)
                as mart_submission_id
        from marts.fct_annual_unit_field
        where year = $year
        group by unit_code
    ),
    annual_by_source as (
        select unit_code, source_submission_id, sum(models_total) as n
        from marts.fct_annual_unit_field
        where year = $year
        group by unit_code, source_submission_id
    ),
    unit_sources as (  -- one per unit, unless counted from its predecessors (rule 3)
        select
            unit_code,
            count(*) as n,
            string_agg(distinct source_submission_id, ', ' order by source_submission_id) as ids
        from sources
        group by unit_code
    )
    select
        s.unit_code,
        u.unit_name,
        s.source_period_id as period_id,
        s.source_submission_id as submission_id,
        cast(coalesce(raw_lines.n, 0) as bigint) as raw_models,
        cast(coalesce(mart_lines.n, 0) as bigint) as mart_models,
        cast(coalesce(case when unit_sources.n = 1 then annual.n else annual_by_source.n end, 0) as bigint)
            as annual_models,
        case when unit_sources.n > 1 and annual.mart_submission_id = unit_sources.ids
             then s.source_submission_id else annual.mart_submission_id end as mart_submission_id,
        cast(coalesce(fs.models_count, -1) as bigint) as submission_models_count,
        coalesce(fs.is_accepted, false) as source_is_accepted,
        accepted.submission_id as accepted_submission_id,
        coalesce(fs.period_year = $year, false) as source_in_year,
        fs.period_year as source_period_year,
        cast($year as integer) as report_year
    from sources as s
    left join raw_lines on raw_lines.submission_id = s.source_submission_id
    left join mart_lines on mart_lines.submission_id = s.source_submission_id
    left join annual on annual.unit_code = s.unit_code
    left join annual_by_source
        on annual_by_source.unit_code = s.unit_code
        and annual_by_source.source_submission_id = s.source_submission_id
    left join unit_sources on unit_sources.unit_code = s.unit_code
    left join marts.fct_submission as fs on fs.submission_id = s.source_submission_id
    left join accepted
        on accepted.unit_code = s.source_unit_code and accepted.period_id = s.source_period_id
    left join marts.dim_reporting_unit as u on u.unit_key = s.unit_key
    order by s.unit_code, s.source_submission_id
    """,
    index_columns=("unit_code", "unit_name", "period_id", "submission_id", "mart_submission_id",
                   "accepted_submission_id", "source_period_year", "report_year"),
)

MODEL_LINES = Dataset(
    name="model_lines",
    description="every raw.submission_models line of the year's source submissions",
    sql=f"""
    with sources as ({_SOURCES})
    select
        s.unit_code,
        u.unit_name,
        s.source_period_id as period_id,
        coalesce(m.field_code, '(trống)') as field_code,
        m.submission_id,
        m.line_no,
        m.source_sheet,
        m.source_row,
        m.model_name,
        coalesce(m.model_kind, '(trống)') as model_kind
    from sources as s
    inner join raw.submission_models as m on m.submission_id = s.source_submission_id
    left join marts.dim_reporting_unit as u on u.unit_key = s.unit_key
    order by s.unit_code, m.submission_id, m.line_no
    """,
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id",
                   "line_no", "source_sheet", "source_row"),
)

UNIT_STATUS = Dataset(
    name="unit_status",
    description="the year's reporting status of every expected unit: marts.fct_annual_unit_status",
    sql="""
    with sources as (  -- a unit counted from its predecessors has several (rule 3)
        select
            unit_key,
            unit_code,
            string_agg(source_submission_id, ', ' order by source_submission_id) as submission_id
        from marts.fct_annual_unit_source
        where year = $year
        group by unit_key, unit_code
    )
    select
        st.unit_code,
        u.unit_name,
        coalesce(st.source_period_id, cast($year as varchar)) as period_id,
        coalesce(st.status, '(trống)') as status,
        case when st.figures_source = 'predecessors' then sources.submission_id
             else st.source_submission_id end as submission_id
    from marts.fct_annual_unit_status as st
    left join sources
        on sources.unit_key is not distinct from st.unit_key and sources.unit_code = st.unit_code
    left join marts.dim_reporting_unit as u on u.unit_key = st.unit_key
    where st.year = $year
    order by st.unit_code
    """,
    index_columns=("unit_code", "unit_name", "period_id", "submission_id", "status"),
)

# ---------------------------------------------------------------------------------------------
# Warning datasets (non-blocking checks)

YTD_PROGRESSION = Dataset(
    name="ytd_progression",
    description="year-to-date counts between a unit's consecutive accepted reports of the year "
    "(marts.fct_submission + marts.dim_period + marts.fct_model): a cumulative report should not "
    "list fewer models of a field than the unit's previous report of the same year",
    sql="""
    with subs as (
        select s.submission_id, s.unit_key, s.unit_code, s.period_id, s.received_at, p.window_end
        from marts.fct_submission as s
        inner join marts.dim_period as p on p.period_id = s.period_id
        where s.period_year = $year and s.is_accepted
    ),
    ordered as (
        -- reports with the same cut-off (2022Q2 and 2022S1 both end on 14 June) are taken in the
        -- order they arrived: the later one should be the more complete
        select
            subs.*,
            lag(submission_id) over w as prev_submission_id,
            lag(period_id) over w as prev_period_id
        from subs
        -- per unit version: a reused code (18073 Nam Hà, then Thành Sen) is two units
        window w as (partition by unit_key, unit_code order by window_end, received_at, period_id, submission_id)
    ),
    pairs as (
        select * from ordered where prev_submission_id is not null
    ),
    counts as (
        select submission_id, field_code, count(*) as n
        from marts.fct_model
        where submission_id in (select submission_id from subs)
        group by submission_id, field_code
    ),
    grid as (  -- every field found on either side of a pair (two equi-joins: an IN join would
               -- compare every pair with every count, quadratic at national scale)
        select p.unit_key, p.unit_code, p.period_id, p.prev_period_id, p.submission_id,
            p.prev_submission_id, p.window_end, c.field_code
        from pairs as p
        inner join counts as c on c.submission_id = p.submission_id
        union
        select p.unit_key, p.unit_code, p.period_id, p.prev_period_id, p.submission_id,
            p.prev_submission_id, p.window_end, c.field_code
        from pairs as p
        inner join counts as c on c.submission_id = p.prev_submission_id
    )
    select
        g.unit_code,
        u.unit_name,
        g.period_id,
        g.prev_period_id,
        g.field_code,
        g.submission_id,
        g.prev_submission_id,
        cast(coalesce(cur.n, 0) as bigint) as total,
        cast(coalesce(prev.n, 0) as bigint) as prev_total
    from grid as g
    left join counts as cur on cur.submission_id = g.submission_id and cur.field_code = g.field_code
    left join counts as prev
        on prev.submission_id = g.prev_submission_id and prev.field_code = g.field_code
    left join marts.dim_reporting_unit as u on u.unit_key = g.unit_key
    order by g.unit_code, g.window_end, g.period_id, """ + FIELD_ORDER_SQL.format(col="g.field_code") + """
    """,
    index_columns=("unit_code", "unit_name", "period_id", "prev_period_id", "field_code",
                   "submission_id", "prev_submission_id", "total", "prev_total"),
)

#: A unit's usual range of a measure needs at least this many positive values (else no ratio).
MIN_BASELINE_VALUES = 5
#: The most a single model of one ward, commune or agency of the city can plausibly report, per
#: measure (warning ``value_within_plausible_cap``; see expectations/model_measures.yml).
MEASURE_CAPS = {
    "households": 10_000,        # more than the households of a whole ward or commune
    "funds_million_vnd": 50_000,  # 50 billion đồng: larger figures are usually written in đồng
    "labour_days": 50_000,
    "land_m2": 50_000,           # 5 ha
}

_MEASURE_COLUMNS = """
            cast(m.households as double precision) as households,
            cast(m.funds_million_vnd as double precision) as funds_million_vnd,
            cast(m.labour_days as double precision) as labour_days,
            cast(m.land_m2 as double precision) as land_m2"""

_MEASURES = ("households", "funds_million_vnd", "labour_days", "land_m2")


def _unpivot(relation: str, keys: str) -> str:
    """One row per (row of ``relation``, measure with a value): ``keys``, ``measure``, ``value``.
    DuckDB's ``UNPIVOT`` (which leaves NULLs out) in SQL that PostgreSQL runs too."""
    return "\n        union all\n".join(
        f"        select {keys}, '{m}' as measure, {m} as value from {relation} where {m} is not null"
        for m in _MEASURES)


MODEL_MEASURES = Dataset(
    name="model_measures",
    description="one row per (model line of the year's source submissions, measure with a value): "
    "the value, the unit's usual level of that measure (upper quartile of its positive values over "
    "the models of every annual picture of the unit in the warehouse), the ratio between them, and "
    "the measure's plausible cap",
    sql=f"""
    with all_sources as (  -- every year's source submissions: the unit's models, once a year
        select distinct unit_code, source_submission_id
        from marts.fct_annual_unit_status
        where source_submission_id is not null
    ),
    history_wide as (
        select s.unit_code,{_MEASURE_COLUMNS}
        from all_sources as s
        inner join raw.submission_models as m on m.submission_id = s.source_submission_id
    ),
    history as ({_unpivot("history_wide", "unit_code")}),
    baseline as (
        select
            unit_code,
            measure,
            count(*) filter (where value > 0) as n,
            percentile_cont(0.75) within group (order by value) filter (where value > 0) as q3
        from history
        group by unit_code, measure
    ),
    sources as ({_SOURCES}),
    lines_wide as (
        select s.unit_key, s.unit_code, s.source_period_id as period_id, m.field_code, m.submission_id,
            m.line_no, m.source_sheet, m.source_row, m.model_name,{_MEASURE_COLUMNS}
        from sources as s
        inner join raw.submission_models as m on m.submission_id = s.source_submission_id
    ),
    lines as ({_unpivot("lines_wide", "unit_key, unit_code, period_id, field_code, submission_id, line_no, "
                         "source_sheet, source_row, model_name")}),
    rated as (
        select
            l.*,
            b.q3 as unit_usual,
            cast(coalesce(b.n, 0) as bigint) as unit_values,
            case when b.n >= {MIN_BASELINE_VALUES} and b.q3 > 0 and l.value > 0
                 then l.value / b.q3 end as times_unit_usual
        from lines as l
        left join baseline as b on b.unit_code = l.unit_code and b.measure = l.measure
    )
    select
        r.unit_code,
        u.unit_name,
        r.period_id,
        r.field_code,
        r.submission_id,
        r.line_no,
        r.source_sheet,
        r.source_row,
        r.model_name,
        r.measure,
        {_label("r.measure", "vi")} as measure_vi,
        {_label("r.measure", "en")} as measure_en,
        r.value,
        cast(case r.measure {" ".join(f"when '{k}' then {v}" for k, v in MEASURE_CAPS.items())} end
            as double precision) as cap,
        cast(round(cast(r.unit_usual as numeric), 2) as double precision) as unit_usual,
        r.unit_values,
        r.times_unit_usual,
        cast(round(cast(r.times_unit_usual as numeric), 1) as double precision) as times_unit_usual_rounded
    from rated as r
    left join marts.dim_reporting_unit as u on u.unit_key = r.unit_key
    order by r.unit_code, r.submission_id, r.line_no, r.measure
    """,
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id", "line_no",
                   "source_sheet", "source_row", "model_name", "measure", "measure_vi",
                   "measure_en", "value", "cap", "unit_usual", "unit_values",
                   "times_unit_usual_rounded"),
)


DATASETS: tuple[Dataset, ...] = (
    SUBMISSION_TOTALS,
    ANNUAL_COUNTS,
    RECONCILIATION,
    RECONCILIATION_SUBMISSIONS,
    MODEL_LINES,
    UNIT_STATUS,
    YTD_PROGRESSION,
    MODEL_MEASURES,
)

#: Not a dataset (no suite validates it): what the ingest recorded in ``raw.submission_warnings``
#: (a column with data whose header the form does not know) for the accepted submissions of the
#: year's periods; the runner lists each row as a warning of the gate (issue 11 §3). Read only
#: when the table exists (a warehouse from before it has none).
INGEST_WARNINGS_SQL = """
    select
        s.submission_id,
        s.unit_code,
        u.unit_name,
        s.period_id,
        w.file_name,
        w.sheet,
        w."row",
        w."column",
        w.code,
        w.message_vi,
        w.message_en
    from raw.submission_warnings as w
    inner join marts.fct_submission as s on s.submission_id = w.submission_id
    left join marts.dim_reporting_unit as u on u.unit_key = s.unit_key
    where s.period_year = $year and s.is_accepted
    order by s.unit_code, s.period_id, w.file_name, w.warning_no
"""
