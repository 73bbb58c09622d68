{#-
    Gate dataset `annual_counts` (expectations/annual_counts.yml): the annual figures per
    (year, unit, field, source submission), from fct_annual_unit_field, with new + replicated and
    the lowest of the four measures (blank counts 0) and which one it is, named in Vietnamese and
    English for the messages. A blank field code reads '(trống)': the gate's set checks skip
    NULLs, and a blank code must not pass unseen.
-#}

with annual as (
    select * from {{ ref('fct_annual_unit_field') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

fields as (
    select * from {{ ref('dim_field') }}
),

measured as (
    select
        annual.year,
        annual.unit_code,
        units.unit_name,
        annual.source_period_id as period_id,
        coalesce(annual.field_code, '(trống)') as field_code,
        annual.source_submission_id as submission_id,
        cast(annual.models_total as bigint) as models_total,
        cast(annual.models_new as bigint) as models_new,
        cast(annual.models_replicated as bigint) as models_replicated,
        cast(coalesce(annual.models_new, 0) + coalesce(annual.models_replicated, 0) as bigint)
            as new_plus_replicated,
        annual.households,
        annual.funds_million_vnd,
        annual.labour_days,
        annual.land_m2,
        -- the lowest of the four measures (blank counts as 0) and which one it is
        cast(least(coalesce(annual.households, 0), coalesce(annual.funds_million_vnd, 0),
            coalesce(annual.labour_days, 0), coalesce(annual.land_m2, 0)) as double precision)
            as lowest_measure_value,
        case least(coalesce(annual.households, 0), coalesce(annual.funds_million_vnd, 0),
            coalesce(annual.labour_days, 0), coalesce(annual.land_m2, 0))
            when coalesce(annual.households, 0) then 'households'
            when coalesce(annual.funds_million_vnd, 0) then 'funds_million_vnd'
            when coalesce(annual.labour_days, 0) then 'labour_days'
            else 'land_m2'
        end as lowest_measure,
        {{ field_sort('annual.field_code', 'fields.sort_order') }} as field_sort
    from annual
    left join units on annual.unit_key = units.unit_key
    left join fields on annual.field_code = fields.field_code
),

final as (
    select
        *,
        {{ figure_label('lowest_measure', 'vi') }} as lowest_measure_vi,
        {{ figure_label('lowest_measure', 'en') }} as lowest_measure_en
    from measured
)

select * from final
