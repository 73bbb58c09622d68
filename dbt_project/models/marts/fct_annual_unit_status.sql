{#-
    One row per (year, unit) for every unit expected to report in a year that has any submission
    (dim_reporting_unit_year.is_expected, from the master list), plus any unit that
    reported for the year without being expected. `reported`: the figures come from an accepted
    annual submission; `provisional`: from the latest shorter period of the year; `missing`: no
    submission at all for the year.
-#}

with covered_years as (
    select distinct period_year as year
    from {{ ref('int_submissions_versioned') }}
),

unit_years as (
    select * from {{ ref('dim_reporting_unit_year') }}
),

sources as (
    select * from {{ ref('int_annual_source_submissions') }}
),

expected as (
    select
        covered_years.year,
        unit_years.unit_code
    from covered_years
    inner join unit_years
        on unit_years.year = covered_years.year
        and unit_years.is_expected
),

status_grid as (
    select year, unit_code from expected
    union
    select year, unit_code from sources
),

final as (
    select
        status_grid.year,
        status_grid.unit_code,
        case
            when sources.source_submission_id is null then 'missing'
            when sources.is_provisional then 'provisional'
            else 'reported'
        end as status,
        sources.source_submission_id,
        sources.source_period_id
    from status_grid
    left join sources
        on status_grid.year = sources.year and status_grid.unit_code = sources.unit_code
)

select * from final
