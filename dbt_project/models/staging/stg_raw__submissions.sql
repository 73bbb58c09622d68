with source as (
    select * from {{ source('raw', 'submissions') }}
),

renamed as (
    select
        cast(submission_id as varchar) as submission_id,
        cast(file_name as varchar) as file_name,
        cast(file_format as varchar) as file_format,
        cast(file_size_bytes as bigint) as file_size_bytes,
        cast(received_at as timestamp) as received_at,
        cast(loaded_at as timestamp) as loaded_at,
        cast(load_id as varchar) as load_id,
        cast(unit_code as varchar) as unit_code,
        cast(unit_code_raw as varchar) as unit_code_raw,
        cast(unit_name_raw as varchar) as unit_name_raw,
        cast(period_id as varchar) as period_id,
        cast(period_kind as varchar) as period_kind,
        cast(period_year as integer) as period_year,
        cast(period_raw as varchar) as period_raw,
        cast(report_date as date) as report_date,
        -- personal data: kept in staging only, never selected into a mart
        cast(preparer_name as varchar) as preparer_name,
        cast(preparer_phone as varchar) as preparer_phone,
        coalesce(cast(has_declared_totals as boolean), false) as has_declared_totals
    from source
)

select * from renamed
