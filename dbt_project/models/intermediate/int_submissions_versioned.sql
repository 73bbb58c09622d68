{#-
    Version ranking of the submissions of each (unit, period) (spec section 2, corrections):
    ordered by report_date, then received_at, then submission_id; version 1 is the oldest and the
    newest one is accepted. A report with an older report date that arrives later does not win.
    Each superseded version points to the version that replaced it and to the accepted one.

    Timeliness (spec section 2): a submission is on time when it arrived (received_at, a UTC
    timestamp, taken as a local Asia/Ho_Chi_Minh date), else, when the arrival time is unknown,
    its report date, is on or before the period's due date.

    The unit version (rule 1 of the reorganisations spec): `unit_key` of the unit of the master
    list with this code valid on the last day of the period's window (null when none is: a row
    loaded before the list was versioned). A code names one unit per period, so versions of a
    (unit_code, period_id) are versions of one unit.

    The preparer's personal data stops at staging.
-#}

with submissions as (
    -- every column of stg_raw__submissions but preparer_name and preparer_phone
    select
        submission_id, file_name, file_format, file_size_bytes, received_at, loaded_at, load_id,
        unit_code, unit_code_raw, unit_name_raw, period_id, period_kind, period_year, period_raw,
        report_date, has_declared_totals
    from {{ ref('stg_raw__submissions') }}
),

periods as (
    select period_id, due_date, window_end
    from {{ ref('int_periods') }}
),

units as (
    select unit_key, unit_code, valid_from, valid_to
    from {{ ref('stg_reference__reporting_units') }}
),

versioned as (
    select
        submissions.*,
        cast(row_number() over (
            partition by submissions.unit_code, submissions.period_id
            order by
                submissions.report_date asc nulls first,
                submissions.received_at asc nulls first,
                submissions.submission_id asc
        ) as integer) as version_no,
        cast(count(*) over (partition by submissions.unit_code, submissions.period_id) as integer)
            as versions_count
    from submissions
),

chained as (
    select
        *,
        version_no = versions_count as is_accepted,
        lead(submission_id) over (
            partition by unit_code, period_id order by version_no
        ) as superseded_by_submission_id,
        last_value(submission_id) over (
            partition by unit_code, period_id
            order by version_no
            rows between unbounded preceding and unbounded following
        ) as accepted_submission_id
    from versioned
),

final as (
    select
        chained.*,
        units.unit_key,
        {{ local_date('chained.received_at') }} as received_on,
        periods.due_date,
        coalesce(
            coalesce({{ local_date('chained.received_at') }}, chained.report_date) <= periods.due_date,
            false
        ) as is_on_time,
        case when coalesce(chained.received_at, chained.report_date) is not null then greatest(
            coalesce({{ local_date('chained.received_at') }}, chained.report_date) - periods.due_date,
            0
        ) end as days_late
    from chained
    left join periods on chained.period_id = periods.period_id
    left join units
        on chained.unit_code = units.unit_code
        and units.valid_from <= periods.window_end
        and (units.valid_to is null or units.valid_to > periods.window_end)
)

select * from final
