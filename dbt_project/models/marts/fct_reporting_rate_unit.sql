{#-
    Completeness and timeliness per unit version and period (DHIS2's reporting-rate detail).
    Periods: every period with at least one submission, plus the year period of every covered
    year (so that the units with no annual report show as missing). Units (rule 2 of the
    reorganisations spec): every unit version valid on the last day of the period's data window
    (so for 2025: the 27 units of the enlarged city for 2025Q1 and 2025S1, the seven new units
    for 2025Q3 and the year; the city's agencies through 2025S1), plus any unit that reported for
    the period without being expected (unit_key null: no version valid then).
    `is_on_time`: at least one of the unit's submissions for the period arrived by the due date
    (fct_submission.is_on_time), i.e. its first report was on time: a later correction does not
    make an on-time report late.
-#}

with periods as (
    select * from {{ ref('dim_period') }}
),

submissions as (
    select * from {{ ref('fct_submission') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

rated_periods as (
    select periods.*
    from periods
    where periods.period_kind = 'year'
        or periods.period_id in (select period_id from submissions)
),

expected as (
    select rated_periods.period_id, units.unit_key, units.unit_code
    from rated_periods
    inner join units
        on units.valid_from <= rated_periods.window_end
        and (units.valid_to is null or units.valid_to > rated_periods.window_end)
    -- nobody is expected before the first year reports are (see fct_annual_unit_status)
    where rated_periods.period_year >= {{ first_expected_year() }}
),

by_unit_period as (
    select
        unit_key,
        unit_code,
        period_id,
        count(*) as submissions_count,
        min(coalesce(received_on, report_date)) as first_received_on,
        bool_or(is_on_time) as is_on_time,
        max(submission_id) filter (where is_accepted) as accepted_submission_id
    from submissions
    group by unit_key, unit_code, period_id
),

grid as (
    select period_id, unit_key, unit_code from expected

    union

    select by_unit_period.period_id, by_unit_period.unit_key, by_unit_period.unit_code
    from by_unit_period
    inner join rated_periods on by_unit_period.period_id = rated_periods.period_id
),

final as (
    select
        grid.period_id,
        rated_periods.period_kind,
        rated_periods.period_year,
        grid.unit_code,
        expected.unit_code is not null as is_expected,
        by_unit_period.unit_code is not null as has_submitted,
        coalesce(by_unit_period.is_on_time, false) as is_on_time,
        case
            when by_unit_period.unit_code is null then 'missing'
            when by_unit_period.is_on_time then 'on_time'
            else 'late'
        end as status,
        rated_periods.due_date,
        by_unit_period.first_received_on,
        cast(
            case when by_unit_period.first_received_on is not null
                then greatest(by_unit_period.first_received_on - rated_periods.due_date, 0)
            end as integer
        ) as days_late,
        cast(coalesce(by_unit_period.submissions_count, 0) as integer) as submissions_count,
        by_unit_period.accepted_submission_id,
        grid.unit_key
    from grid
    inner join rated_periods on grid.period_id = rated_periods.period_id
    left join expected
        on grid.period_id = expected.period_id
        and grid.unit_key = expected.unit_key
    left join by_unit_period
        on grid.period_id = by_unit_period.period_id
        and grid.unit_key is not distinct from by_unit_period.unit_key
        and grid.unit_code = by_unit_period.unit_code
)

select * from final
