{#-
    The submission the annual figures of year Y come from, per (year, unit) (spec section 2):
    the unit's accepted annual submission; else the accepted submission of the latest shorter
    period of the year (latest window end; on a tie the longer period, then the newest report),
    flagged provisional. Units with no accepted submission in Y have no row here.
-#}

with accepted as (
    select * from {{ ref('int_submissions_versioned') }}
    where is_accepted
),

periods as (
    select * from {{ ref('int_periods') }}
),

ranked as (
    select
        accepted.period_year as year,
        accepted.unit_code,
        accepted.submission_id,
        accepted.period_id,
        accepted.period_kind,
        row_number() over (
            partition by accepted.period_year, accepted.unit_code
            order by
                (accepted.period_kind = 'year') desc,
                periods.window_end desc nulls last,
                periods.period_months desc nulls last,
                accepted.report_date desc nulls last,
                accepted.received_at desc nulls last,
                accepted.submission_id desc
        ) as source_rank
    from accepted
    left join periods on accepted.period_id = periods.period_id
),

final as (
    select
        year,
        unit_code,
        submission_id as source_submission_id,
        period_id as source_period_id,
        period_kind as source_period_kind,
        period_kind <> 'year' as is_provisional
    from ranked
    where source_rank = 1
)

select * from final
