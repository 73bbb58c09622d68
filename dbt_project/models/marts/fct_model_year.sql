{#-
    One row per model of a unit in a year (`model_key` of fct_model): the model across every
    accepted report of the unit in that year. Its name, field, kind and measures are those of
    the latest period that lists it (reports are cumulative for the year: a later report's
    figures replace an earlier one's, they are never added). `is_in_annual_source`: listed in the
    submission the unit's annual figures come from (int_annual_source_submissions), so counted in
    fct_annual_unit_field; a model listed in an earlier period only was dropped since.

    Incremental like fct_model, by (unit_code, year): the unit-years whose fct_model rows were
    recomputed since the last run are replaced; the post-hook removes models that are no longer
    in fct_model.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['unit_code', 'year'],
        on_schema_change='sync_all_columns',
        post_hook=[
            "delete from {{ this }} as target where not exists (select 1 from {{ ref('fct_model') }} as lines where lines.model_key = target.model_key)"
        ]
    )
}}

with model_lines as (
    select * from {{ ref('fct_model') }}
    {% if is_incremental() %}
    where unit_year_loaded_at is null
        or unit_year_loaded_at > (
            select coalesce(max(unit_year_loaded_at), cast('1900-01-01' as timestamp))
            from {{ this }}
        )
    {% endif %}
),

periods as (
    select period_id, period_sort_key
    from {{ ref('int_periods') }}
),

sources as (
    select * from {{ ref('int_annual_source_submissions') }}
),

lines as (
    select
        model_lines.*,
        periods.period_sort_key || model_lines.period_id as period_order
    from model_lines
    left join periods on model_lines.period_id = periods.period_id
),

per_period as (
    -- one row per (model, period): two lines of one report with the same folded name are one model
    select
        model_key,
        unit_code,
        unit_key,
        period_year,
        period_id,
        submission_id,
        period_order,
        unit_year_loaded_at,
        min(line_no) as first_line_no,
        count(*) as lines_count,
        {{ arg_min('model_name', 'line_no') }} as model_name,
        {{ arg_min('model_name_key', 'line_no') }} as model_name_key,
        {{ arg_min('field_code', 'line_no') }} as field_code,
        {{ arg_min('model_kind', 'line_no') }} as model_kind,
        sum(households) as households,
        {{ exact_sum('funds_million_vnd') }} as funds_million_vnd,
        sum(labour_days) as labour_days,
        {{ exact_sum('land_m2') }} as land_m2
    from lines
    group by model_key, unit_code, unit_key, period_year, period_id, submission_id, period_order,
        unit_year_loaded_at
),

ranked as (
    select
        *,
        row_number() over (partition by model_key order by period_order desc) as latest_rank,
        {{ arg_min_over('period_id', 'period_order', 'model_key') }} as first_period_id,
        count(*) over (partition by model_key) as periods_count
    from per_period
),

final as (
    select
        ranked.model_key,
        cast(ranked.period_year as integer) as year,
        ranked.unit_code,
        ranked.model_name,
        ranked.model_name_key,
        ranked.field_code,
        ranked.model_kind,
        ranked.first_period_id,
        ranked.period_id as last_period_id,
        cast(ranked.periods_count as integer) as periods_count,
        sources.source_submission_id is not null as is_in_annual_source,
        coalesce(sources.is_provisional, true) as is_provisional,
        cast(ranked.lines_count as integer) as lines_in_last_period,
        cast(ranked.households as bigint) as households,
        cast(ranked.funds_million_vnd as double precision) as funds_million_vnd,
        cast(ranked.labour_days as bigint) as labour_days,
        cast(ranked.land_m2 as double precision) as land_m2,
        ranked.unit_year_loaded_at,
        ranked.unit_key
    from ranked
    left join sources
        on ranked.submission_id = sources.source_submission_id
        and ranked.period_year = sources.year
    where ranked.latest_rank = 1
)

select * from final
