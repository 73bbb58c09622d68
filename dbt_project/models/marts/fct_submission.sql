{#-
    Every submission ever loaded (one row per file), with its version within its (unit, period),
    whether it is the accepted one or superseded (and by which), its due date and whether it came
    in on time (int_submissions_versioned).
-#}

with submissions as (
    select * from {{ ref('int_submissions_versioned') }}
),

model_counts as (
    select
        submission_id,
        count(*) as models_count
    from {{ ref('stg_raw__submission_models') }}
    group by submission_id
),

final as (
    select
        submissions.submission_id,
        submissions.unit_code,
        submissions.period_id,
        submissions.period_kind,
        submissions.period_year,
        submissions.file_name,
        submissions.received_at,
        submissions.report_date,
        submissions.version_no,
        submissions.is_accepted,
        cast(coalesce(model_counts.models_count, 0) as bigint) as models_count,
        submissions.has_declared_totals,
        submissions.versions_count,
        submissions.superseded_by_submission_id,
        submissions.accepted_submission_id,
        submissions.received_on,
        submissions.due_date,
        submissions.is_on_time,
        cast(submissions.days_late as integer) as days_late,
        submissions.loaded_at,
        submissions.load_id,
        submissions.unit_key
    from submissions
    left join model_counts on submissions.submission_id = model_counts.submission_id
)

select * from final
