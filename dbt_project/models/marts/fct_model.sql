with accepted as (
    select * from {{ ref('int_submissions_versioned') }}
    where is_accepted
),

model_lines as (
    select * from {{ ref('stg_raw__submission_models') }}
),

final as (
    select
        model_lines.model_line_id,
        model_lines.submission_id,
        accepted.unit_code,
        accepted.period_id,
        accepted.period_kind,
        accepted.period_year,
        model_lines.line_no,
        model_lines.model_name,
        model_lines.field_code,
        model_lines.model_kind,
        model_lines.registered_on,
        model_lines.recognition_level,
        model_lines.households,
        model_lines.funds_million_vnd,
        model_lines.labour_days,
        model_lines.land_m2,
        model_lines.note
    from model_lines
    inner join accepted on model_lines.submission_id = accepted.submission_id
)

select * from final
