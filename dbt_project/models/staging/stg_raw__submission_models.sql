with source as (
    select * from {{ source('raw', 'submission_models') }}
),

renamed as (
    select
        cast(submission_id as varchar) || '-' || cast(line_no as varchar) as model_line_id,
        cast(submission_id as varchar) as submission_id,
        cast(line_no as integer) as line_no,
        cast(source_sheet as varchar) as source_sheet,
        cast(source_row as integer) as source_row,
        cast(stt as integer) as stt,
        cast(model_name as varchar) as model_name,
        cast(field_code as varchar) as field_code,
        cast(field_raw as varchar) as field_raw,
        cast(model_kind as varchar) as model_kind,
        cast(model_kind_raw as varchar) as model_kind_raw,
        cast(registered_on as date) as registered_on,
        cast(recognition_level as varchar) as recognition_level,
        cast(households as bigint) as households,
        cast(funds_million_vnd as double precision) as funds_million_vnd,
        cast(labour_days as bigint) as labour_days,
        cast(land_m2 as double precision) as land_m2,
        cast(note as varchar) as note
    from source
)

select * from renamed
