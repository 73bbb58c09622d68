-- The reporting-rate summary recounted straight from fct_submission and the master list: the
-- expected units of the period (the unit versions valid on its window's last day, rule 2 of the
-- reorganisations spec; from the first expected year), those with an accepted submission for the period, and those whose
-- earliest submission for it was on time.
with rates as (
    select * from {{ ref('fct_reporting_rate') }}
),

periods as (
    select * from {{ ref('dim_period') }}
),

expected as (
    select rates.period_id, units.unit_key, units.unit_code
    from rates
    inner join periods on periods.period_id = rates.period_id
    inner join {{ ref('dim_reporting_unit') }} as units
        on units.valid_from <= periods.window_end
        and (units.valid_to is null or units.valid_to > periods.window_end)
    where periods.period_year >= {{ first_expected_year() }}  -- nobody before
),

per_unit as (
    select
        expected.period_id,
        expected.unit_code,
        count(submissions.submission_id) filter (where submissions.is_accepted) as accepted,
        count(submissions.submission_id) filter (where submissions.is_on_time) as on_time
    from expected
    left join {{ ref('fct_submission') }} as submissions
        on expected.period_id = submissions.period_id
        and expected.unit_code = submissions.unit_code
    group by expected.period_id, expected.unit_code
),

recount as (
    select
        period_id,
        count(*) as expected_units,
        count(*) filter (where accepted = 1) as received_units,
        count(*) filter (where on_time > 0) as on_time_units,
        coalesce(string_agg(unit_code, '; ' order by unit_code) filter (where accepted = 0), '')
            as missing_unit_codes
    from per_unit
    group by period_id
)

select rates.period_id, rates.expected_units, recount.expected_units as recount_expected
from rates
left join recount on rates.period_id = recount.period_id
where coalesce(recount.expected_units, 0) <> rates.expected_units
    or coalesce(recount.received_units, 0) <> rates.received_units
    or coalesce(recount.on_time_units, 0) <> rates.on_time_units
    or coalesce(recount.missing_unit_codes, '') <> rates.missing_unit_codes
