-- The reporting-rate summary recounted straight from fct_submission and the master list: the
-- expected units of the period's year, those with an accepted submission for the period, and
-- those whose earliest submission for it was on time.
with rates as (
    select * from {{ ref('fct_reporting_rate') }}
),

expected as (
    select rates.period_id, unit_years.unit_code
    from rates
    inner join {{ ref('dim_reporting_unit_year') }} as unit_years
        on unit_years.year = rates.period_year
        and unit_years.is_expected
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
