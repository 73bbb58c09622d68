-- Rule 4, totals conserved: per year and field, the figures on today's units add up to the
-- figures of the territorial units that reported them (fct_annual_unit_field; agencies have no
-- territory). Six decimals of tolerance for the weighted doubles. Rows returned fail.
with territorial as (
    select distinct unit_code from {{ ref('int_unit_versions') }}
),

source as (
    select year, field_code,
           sum(models_total) as models_total, sum(models_new) as models_new,
           sum(models_replicated) as models_replicated, sum(households) as households,
           {{ exact_sum('funds_million_vnd') }} as funds_million_vnd,
           sum(labour_days) as labour_days, {{ exact_sum('land_m2') }} as land_m2
    from {{ ref('fct_annual_unit_field') }}
    where unit_code in (select unit_code from territorial)
    group by year, field_code
),

today as (
    select year, field_code,
           {{ exact_sum('models_total') }} as models_total, {{ exact_sum('models_new') }} as models_new,
           {{ exact_sum('models_replicated') }} as models_replicated, {{ exact_sum('households') }} as households,
           {{ exact_sum('funds_million_vnd') }} as funds_million_vnd,
           {{ exact_sum('labour_days') }} as labour_days, {{ exact_sum('land_m2') }} as land_m2
    from {{ ref('fct_annual_unit_field_today') }}
    group by year, field_code
)

select source.year, source.field_code, today.year as today_year
from source
full outer join today on today.year = source.year and today.field_code = source.field_code
where source.year is null or today.year is null
    or abs(source.models_total - today.models_total) > 1e-6
    or abs(source.models_new - today.models_new) > 1e-6
    or abs(source.models_replicated - today.models_replicated) > 1e-6
    or abs(source.households - today.households) > 1e-6
    or abs(source.funds_million_vnd - today.funds_million_vnd) > 1e-6
    or abs(source.labour_days - today.labour_days) > 1e-6
    or abs(source.land_m2 - today.land_m2) > 1e-6
