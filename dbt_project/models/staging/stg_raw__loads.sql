with source as (
    select * from {{ source('raw', 'loads') }}
),

renamed as (
    select
        cast(load_id as varchar) as load_id,
        cast(started_at as timestamp) as started_at,
        cast(finished_at as timestamp) as finished_at,
        cast(inbox_dir as varchar) as inbox_dir,
        cast(files_seen as integer) as files_seen,
        cast(files_loaded as integer) as files_loaded,
        cast(files_skipped as integer) as files_skipped,
        cast(files_quarantined as integer) as files_quarantined
    from source
)

select * from renamed
