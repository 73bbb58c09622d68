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
        submissions.has_declared_totals
    from submissions
    left join model_counts on submissions.submission_id = model_counts.submission_id
)

select * from final
