with source as (
    select * from {{ source('raw', 'submission_declared_totals') }}
),

renamed as (
    select
        cast(submission_id as varchar) as submission_id,
        cast(source_row as integer) as source_row,
        cast(field_code as varchar) as field_code,
        cast(field_raw as varchar) as field_raw,
        cast(models_total as bigint) as models_total,
        cast(models_new as bigint) as models_new,
        cast(models_replicated as bigint) as models_replicated,
        cast(funds_million_vnd as double precision) as funds_million_vnd
    from source
)

select * from renamed
