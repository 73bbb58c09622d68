{#-
    Which unit versions existed in which year and which had to send the year's annual report
    (rule 2 of the reorganisations spec). One row per (unit version, year) for every year from
    the first to the last year with data, for each unit version valid at some day of the year's
    data window (15 December of the year before to 14 December). `is_expected`: valid on the
    window's last day (14 December), so expected for the annual report (from the setting
    first_expected_year, 2020, on); a unit that ceased
    during the year was expected for the periods before (fct_reporting_rate_unit) but not for
    the year.
-#}

with units as (
    select * from {{ ref('stg_reference__reporting_units') }}
),

data_years as (
    select distinct period_year as year
    from {{ ref('int_periods') }}
),

years as (
    select cast(series.year as integer) as year
    from (select min(year) as first_year, max(year) as last_year from data_years) as bounds
    cross join generate_series(bounds.first_year, bounds.last_year) as series(year)
    where bounds.first_year is not null
),

final as (
    select
        units.unit_code,
        years.year,
        units.unit_name,
        units.unit_kind,
        units.valid_from <= {{ make_date('years.year', 12, 14) }}
            and (units.valid_to is null or units.valid_to > {{ make_date('years.year', 12, 14) }})
            and years.year >= {{ first_expected_year() }}  -- nobody before
            as is_expected,
        years.year in (select year from data_years) as has_data,
        units.unit_key,
        units.valid_from,
        units.valid_to
    from units
    cross join years
    where units.valid_from <= {{ make_date('years.year', 12, 14) }}
        and (units.valid_to is null or units.valid_to > {{ make_date('years.year - 1', 12, 15) }})
)

select * from final
