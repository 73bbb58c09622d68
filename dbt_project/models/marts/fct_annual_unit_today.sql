{#-
    The annual figures on today's geography per unit of today and year, all fields together:
    one row for every unit of today and every year with a submission (2020 to the latest), with
    the figures when any of its predecessors (or itself) has them. `is_estimated`: some figure
    rests on an estimated split share; `is_incomplete`: part of the unit's territory was outside
    the deployment that year (`outside_parts` names it), or the unit is counted from its
    predecessors (rule 3) and some of them are not in the figures (`uncounted_parts`), so the
    figures are not the whole of today's unit. For the field detail, fct_annual_unit_field_today.
-#}

with coverage as (
    select * from {{ ref('int_today_unit_year_coverage') }}
),

by_field as (
    select * from {{ ref('fct_annual_unit_field_today') }}
),

totals as (
    select
        year,
        today_unit_code,
        {{ exact_sum('models_total') }} as models_total,
        {{ exact_sum('models_new') }} as models_new,
        {{ exact_sum('models_replicated') }} as models_replicated,
        {{ exact_sum('households') }} as households,
        {{ exact_sum('funds_million_vnd') }} as funds_million_vnd,
        {{ exact_sum('labour_days') }} as labour_days,
        {{ exact_sum('land_m2') }} as land_m2,
        bool_or(is_estimated) as is_estimated,
        bool_or(is_provisional) as is_provisional
    from by_field
    group by year, today_unit_code
),

sources as (
    select year, today_unit_code, string_agg(distinct source_unit, ', ' order by source_unit) as source_units
    from (select year, today_unit_code, {{ split_to_rows('source_units', "', '") }} as source_unit from by_field) as parts
    group by year, today_unit_code
),

final as (
    select
        coverage.year,
        coverage.today_unit_code,
        coverage.today_unit_name,
        totals.today_unit_code is not null as has_figures,
        coalesce(totals.models_total, 0) as models_total,
        coalesce(totals.models_new, 0) as models_new,
        coalesce(totals.models_replicated, 0) as models_replicated,
        coalesce(totals.households, 0) as households,
        coalesce(totals.funds_million_vnd, 0) as funds_million_vnd,
        coalesce(totals.labour_days, 0) as labour_days,
        coalesce(totals.land_m2, 0) as land_m2,
        coalesce(totals.is_estimated, false) as is_estimated,
        coverage.is_incomplete,
        coalesce(totals.is_provisional, false) as is_provisional,
        coverage.outside_parts,
        sources.source_units,
        -- added after the first release: last, so earlier readers' column positions hold
        coverage.uncounted_parts
    from coverage
    left join totals
        on totals.year = coverage.year and totals.today_unit_code = coverage.today_unit_code
    left join sources
        on sources.year = coverage.year and sources.today_unit_code = coverage.today_unit_code
)

select * from final
