{#-
    Gate dataset `unit_status` (expectations/unit_status.yml): each year's reporting status of
    every expected unit (fct_annual_unit_status). A unit counted from its predecessors (rule 3)
    names all their submissions; a missing unit's period is the year.
-#}

with statuses as (
    select * from {{ ref('fct_annual_unit_status') }}
),

sources as (
    select * from {{ ref('fct_annual_unit_source') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

source_lists as (
    -- a unit counted from its predecessors has several (rule 3)
    select
        year,
        unit_key,
        unit_code,
        string_agg(source_submission_id, ', ' order by source_submission_id) as submission_id
    from sources
    group by year, unit_key, unit_code
),

final as (
    select
        statuses.year,
        statuses.unit_code,
        units.unit_name,
        coalesce(statuses.source_period_id, cast(statuses.year as {{ dbt.type_string() }}))
            as period_id,
        coalesce(statuses.status, '(trống)') as status,
        case
            when statuses.figures_source = 'predecessors' then source_lists.submission_id
            else statuses.source_submission_id
        end as submission_id
    from statuses
    left join source_lists
        on statuses.year = source_lists.year
        and statuses.unit_key is not distinct from source_lists.unit_key
        and statuses.unit_code = source_lists.unit_code
    left join units on statuses.unit_key = units.unit_key
)

select * from final
