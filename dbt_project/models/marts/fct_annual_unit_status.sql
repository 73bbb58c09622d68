{#-
    One row per (year, unit) for every unit expected to report in a year that has any submission
    (expected_from <= year and (expected_to is null or expected_to >= year)), plus any unit that
    reported for the year without being expected. `reported`: the figures come from an accepted
    annual submission; `provisional`: from the latest shorter period of the year; `missing`: no
    submission at all for the year.
-#}

with covered_years as (
    select distinct period_year as year
    from {{ ref('int_submissions_versioned') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

sources as (
    select * from {{ ref('int_annual_source_submissions') }}
),

expected as (
    select
        covered_years.year,
        units.unit_code
    from covered_years
    inner join units
        on units.expected_from <= covered_years.year
        and (units.expected_to is null or units.expected_to >= covered_years.year)
),

unit_years as (
    select year, unit_code from expected
    union
    select year, unit_code from sources
),

final as (
    select
        unit_years.year,
        unit_years.unit_code,
        case
            when sources.source_submission_id is null then 'missing'
            when sources.is_provisional then 'provisional'
            else 'reported'
        end as status,
        sources.source_submission_id,
        sources.source_period_id
    from unit_years
    left join sources
        on unit_years.year = sources.year and unit_years.unit_code = sources.unit_code
)

select * from final
