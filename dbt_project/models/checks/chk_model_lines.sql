{#-
    Gate dataset `model_lines` (expectations/model_lines.yml): every raw.submission_models line
    of each year's source submissions (fct_annual_unit_source), with where it was read (sheet,
    row). Blank field and kind codes read '(trống)' (the set checks skip NULLs).
-#}

with sources as (
    select * from {{ ref('fct_annual_unit_source') }}
),

raw_lines as (
    select * from {{ source('raw', 'submission_models') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

final as (
    select
        sources.year,
        sources.unit_code,
        units.unit_name,
        sources.source_period_id as period_id,
        coalesce(raw_lines.field_code, '(trống)') as field_code,
        raw_lines.submission_id,
        raw_lines.line_no,
        raw_lines.source_sheet,
        raw_lines.source_row,
        raw_lines.model_name,
        coalesce(raw_lines.model_kind, '(trống)') as model_kind
    from sources
    inner join raw_lines on sources.source_submission_id = raw_lines.submission_id
    left join units on sources.unit_key = units.unit_key
)

select * from final
