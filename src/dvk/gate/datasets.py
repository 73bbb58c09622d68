"""The DataFrames the gate validates, one per suite file in ``expectations/``.

Each dataset is one SQL query on the marts (and, for reconciliation, on ``raw.submission_models``)
of one year, read through a read-only DuckDB connection. ``index_columns`` are passed to Great
Expectations as ``unexpected_index_column_names``: every unexpected row it reports carries them,
and the gate's failures are built from those rows only.

Null handling: declared counts left blank count as 0 (a blank "Xây mới" cell on a declared row
means none); a (unit, field) present on one side of a reconciliation only counts 0 on the other.
The comparisons therefore never see SQL NULLs (Great Expectations' pandas engine cannot compare
``pd.NA``).
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


# The source submission of each (year, unit) that has one.
_SOURCES = """
    select unit_code, source_submission_id, source_period_id
    from marts.fct_annual_unit_status
    where year = $year and source_submission_id is not null
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
        cast(c.declared_funds as double) as declared_funds,
        cast(round(coalesce(c.computed_funds, 0), 4) as double) as computed_funds,
        cast(round(abs(c.declared_funds - coalesce(c.computed_funds, 0)), 6) as double)
            as funds_difference
    from marts.fct_submission_totals_check as c
    inner join marts.fct_submission as s on s.submission_id = c.submission_id
    left join marts.dim_reporting_unit as u on u.unit_code = c.unit_code
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
    select
        f.unit_code,
        u.unit_name,
        f.source_period_id as period_id,
        f.field_code,
        f.source_submission_id as submission_id,
        cast(f.models_total as bigint) as models_total,
        cast(f.models_new as bigint) as models_new,
        cast(f.models_replicated as bigint) as models_replicated,
        cast(coalesce(f.models_new, 0) + coalesce(f.models_replicated, 0) as bigint)
            as new_plus_replicated,
        f.households,
        f.funds_million_vnd,
        f.labour_days,
        f.land_m2
    from marts.fct_annual_unit_field as f
    left join marts.dim_reporting_unit as u on u.unit_code = f.unit_code
    where f.year = $year
    order by f.unit_code, {FIELD_ORDER_SQL.format(col="f.field_code")}
    """,
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id"),
)

RECONCILIATION = Dataset(
    name="reconciliation",
    description="marts.fct_annual_unit_field vs a recount from raw.submission_models of each "
    "unit's source submission, per (unit, field)",
    sql=f"""
    with sources as ({_SOURCES}),
    recount as (
        select
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
        group by s.unit_code, m.field_code, s.source_submission_id, s.source_period_id
    ),
    mart as (
        select *
        from marts.fct_annual_unit_field
        where year = $year
    ),
    joined as (
        select
            coalesce(mart.unit_code, recount.unit_code) as unit_code,
            coalesce(mart.source_period_id, recount.source_period_id) as period_id,
            coalesce(mart.field_code, recount.field_code) as field_code,
            coalesce(recount.source_submission_id, mart.source_submission_id) as submission_id,
            mart.source_submission_id as mart_submission_id,
            st.source_submission_id as status_submission_id,
            cast(coalesce(mart.models_total, 0) as bigint) as mart_models_total,
            cast(coalesce(recount.models_total, 0) as bigint) as raw_models_total,
            cast(coalesce(mart.models_new, 0) as bigint) as mart_models_new,
            cast(coalesce(recount.models_new, 0) as bigint) as raw_models_new,
            cast(coalesce(mart.models_replicated, 0) as bigint) as mart_models_replicated,
            cast(coalesce(recount.models_replicated, 0) as bigint) as raw_models_replicated,
            cast(coalesce(mart.households, 0) as bigint) as mart_households,
            cast(coalesce(recount.households, 0) as bigint) as raw_households,
            cast(round(coalesce(mart.funds_million_vnd, 0), 4) as double) as mart_funds_million_vnd,
            cast(round(coalesce(recount.funds_million_vnd, 0), 4) as double) as raw_funds_million_vnd,
            cast(coalesce(mart.labour_days, 0) as bigint) as mart_labour_days,
            cast(coalesce(recount.labour_days, 0) as bigint) as raw_labour_days,
            cast(round(coalesce(mart.land_m2, 0), 4) as double) as mart_land_m2,
            cast(round(coalesce(recount.land_m2, 0), 4) as double) as raw_land_m2
        from mart
        full outer join recount
            on mart.unit_code = recount.unit_code and mart.field_code = recount.field_code
        left join sources as st on st.unit_code = coalesce(mart.unit_code, recount.unit_code)
    )
    select joined.unit_code, u.unit_name, joined.* exclude (unit_code)
    from joined
    left join marts.dim_reporting_unit as u on u.unit_code = joined.unit_code
    order by joined.unit_code, {FIELD_ORDER_SQL.format(col="joined.field_code")}
    """,
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id"),
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
    annual as (
        select unit_code, sum(models_total) as n
        from marts.fct_annual_unit_field
        where year = $year
        group by unit_code
    )
    select
        s.unit_code,
        u.unit_name,
        s.source_period_id as period_id,
        s.source_submission_id as submission_id,
        cast(coalesce(raw_lines.n, 0) as bigint) as raw_models,
        cast(coalesce(mart_lines.n, 0) as bigint) as mart_models,
        cast(coalesce(annual.n, 0) as bigint) as annual_models,
        cast(coalesce(fs.models_count, -1) as bigint) as submission_models_count,
        coalesce(fs.is_accepted, false) as source_is_accepted,
        coalesce(fs.period_year = $year, false) as source_in_year
    from sources as s
    left join raw_lines on raw_lines.submission_id = s.source_submission_id
    left join mart_lines on mart_lines.submission_id = s.source_submission_id
    left join annual on annual.unit_code = s.unit_code
    left join marts.fct_submission as fs on fs.submission_id = s.source_submission_id
    left join marts.dim_reporting_unit as u on u.unit_code = s.unit_code
    order by s.unit_code
    """,
    index_columns=("unit_code", "unit_name", "period_id", "submission_id"),
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
        m.field_code,
        m.submission_id,
        m.line_no,
        m.source_sheet,
        m.source_row,
        m.model_name,
        m.model_kind
    from sources as s
    inner join raw.submission_models as m on m.submission_id = s.source_submission_id
    left join marts.dim_reporting_unit as u on u.unit_code = s.unit_code
    order by s.unit_code, m.line_no
    """,
    index_columns=("unit_code", "unit_name", "period_id", "field_code", "submission_id",
                   "line_no", "source_sheet", "source_row"),
)

UNIT_STATUS = Dataset(
    name="unit_status",
    description="the year's reporting status of every expected unit: marts.fct_annual_unit_status",
    sql="""
    select
        st.unit_code,
        u.unit_name,
        coalesce(st.source_period_id, cast($year as varchar)) as period_id,
        st.status,
        st.source_submission_id as submission_id
    from marts.fct_annual_unit_status as st
    left join marts.dim_reporting_unit as u on u.unit_code = st.unit_code
    where st.year = $year
    order by st.unit_code
    """,
    index_columns=("unit_code", "unit_name", "period_id", "submission_id", "status"),
)

DATASETS: tuple[Dataset, ...] = (
    SUBMISSION_TOTALS,
    ANNUAL_COUNTS,
    RECONCILIATION,
    RECONCILIATION_SUBMISSIONS,
    MODEL_LINES,
    UNIT_STATUS,
)
