{#-
    Which units had to report in which year (spec section 2: "a unit expected to report (see
    reporting_units.csv)"), and under which name. One row per (unit, year) for every unit of the
    master list and every year from the first expected_from of the list to the last year with
    data. `is_expected`: expected_from <= year and (expected_to is null or year <= expected_to).
    `unit_name`: the name of the unit's version in force at the end of the year in the snapshot
    history (`dim_reporting_unit_history`); for a year before the history starts, the first
    recorded name; for a unit without history, the master list's name.
-#}

with units as (
    select * from {{ ref('reporting_units') }}
),

history as (
    select * from {{ ref('dim_reporting_unit_history') }}
),

data_years as (
    select distinct period_year as year
    from {{ ref('int_periods') }}
),

year_range as (
    select
        min(cast(units.expected_from as integer)) as first_year,
        greatest(
            max(cast(units.expected_from as integer)),
            (select max(year) from data_years)
        ) as last_year
    from units
),

years as (
    select cast(series.year as integer) as year
    from year_range
    cross join range(year_range.first_year, year_range.last_year + 1) as series(year)
),

unit_years as (
    select
        cast(units.code as varchar) as unit_code,
        years.year,
        cast(units.name as varchar) as master_name,
        cast(units.kind as varchar) as master_kind,
        cast(units.expected_from as integer) as expected_from,
        cast(units.expected_to as integer) as expected_to,
        cast(make_date(years.year + 1, 1, 1) as timestamp) as year_end
    from units
    cross join years
),

named as (
    select
        unit_years.unit_code,
        unit_years.year,
        history.unit_name,
        history.unit_kind,
        row_number() over (
            partition by unit_years.unit_code, unit_years.year
            order by
                (history.recorded_from <= unit_years.year_end
                    and (history.recorded_to is null or history.recorded_to > unit_years.year_end)) desc,
                case when history.recorded_from > unit_years.year_end then history.recorded_from end
                    asc nulls last,
                history.recorded_from desc
        ) as version_rank
    from unit_years
    inner join history on unit_years.unit_code = history.unit_code
),

final as (
    select
        unit_years.unit_code,
        unit_years.year,
        coalesce(named.unit_name, unit_years.master_name) as unit_name,
        coalesce(named.unit_kind, unit_years.master_kind) as unit_kind,
        unit_years.expected_from <= unit_years.year
            and (unit_years.expected_to is null or unit_years.year <= unit_years.expected_to)
            as is_expected,
        unit_years.year in (select year from data_years) as has_data
    from unit_years
    left join named
        on unit_years.unit_code = named.unit_code
        and unit_years.year = named.year
        and named.version_rank = 1
)

select * from final
