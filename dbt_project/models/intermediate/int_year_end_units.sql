{#-
    The units of each covered year (rule 2 of the reorganisations spec): the unit versions valid
    on the last day of the year's data window (the `window_end` of the year's period in
    int_periods: 14 December), i.e. those expected to send the year's annual report. One row per
    (year, unit_key). Read by int_annual_source_submissions and fct_annual_unit_status, so the
    year's end is written once, in int_periods.
-#}

with periods as (
    select
        period_year as year,
        window_end
    from {{ ref('int_periods') }}
    where period_kind = 'year'
),

units as (
    select * from {{ ref('stg_reference__reporting_units') }}
),

final as (
    select
        cast(periods.year as integer) as year,
        periods.window_end,
        units.unit_key,
        units.unit_code
    from periods
    inner join units
        on units.valid_from <= periods.window_end
        and (units.valid_to is null or units.valid_to > periods.window_end)
)

select * from final
