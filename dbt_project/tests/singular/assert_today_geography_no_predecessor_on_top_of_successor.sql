-- Rule 3 seen from today's map: a year's figures of a unit that had ceased by the year's reference
-- date (14 December) must not be counted when a unit valid that day, on the same unit of today,
-- has figures of its own for the year (a predecessor added on top of its successor). Rows
-- returned are such predecessors. An error since rule 3 landed: fct_annual_unit_field counts
-- only the units valid at the year's end (assert_predecessors_never_added_to_successor), so a
-- ceased unit's figures can no longer reach today's map beside its successor's.
with annual as (
    select distinct year, unit_code from {{ ref('fct_annual_unit_field') }}
),

years as (
    select period_year as year, window_end as reference_date
    from {{ ref('int_periods') }}
    where period_kind = 'year'
),

placed as (
    select
        annual.year,
        annual.unit_code,
        unit_map.today_unit_code,
        (unit_map.valid_to is null or unit_map.valid_to > years.reference_date) as is_valid_that_day,
        row_number() over (
            partition by annual.year, annual.unit_code, unit_map.today_unit_code
            order by unit_map.valid_from desc nulls last
        ) as version_rank
    from annual
    inner join years on years.year = annual.year
    inner join {{ ref('int_unit_today_map') }} as unit_map
        on unit_map.unit_code = annual.unit_code
        and (unit_map.valid_from is null or unit_map.valid_from <= years.reference_date)
)

select ceased.year, ceased.unit_code as ceased_unit_code, ceased.today_unit_code,
       string_agg(valid.unit_code, ', ') as units_valid_that_day
from placed as ceased
inner join placed as valid
    on valid.year = ceased.year
    and valid.today_unit_code = ceased.today_unit_code
    and valid.is_valid_that_day
    and valid.version_rank = 1
where ceased.version_rank = 1 and not ceased.is_valid_that_day
group by ceased.year, ceased.unit_code, ceased.today_unit_code
