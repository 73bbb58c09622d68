{#-
    Version ranking of the submissions of each (unit, period) (spec section 2, corrections):
    ordered by report_date, then received_at, then submission_id; version 1 is the oldest and the
    newest one is accepted. The preparer's personal data stops at staging.
-#}

with submissions as (
    select * exclude (preparer_name, preparer_phone)
    from {{ ref('stg_raw__submissions') }}
),

versioned as (
    select
        *,
        cast(row_number() over (
            partition by unit_code, period_id
            order by report_date asc nulls first, received_at asc nulls first, submission_id asc
        ) as integer) as version_no,
        cast(count(*) over (partition by unit_code, period_id) as integer) as versions_count
    from submissions
),

final as (
    select
        *,
        version_no = versions_count as is_accepted
    from versioned
)

select * from final
