with source as (
    select * from {{ source('raw', 'quarantine') }}
),

renamed as (
    select
        cast(sha256 as varchar) as sha256,
        cast(file_name as varchar) as file_name,
        cast(received_at as timestamp) as received_at,
        cast(quarantined_at as timestamp) as quarantined_at,
        cast(load_id as varchar) as load_id,
        cast(quarantine_path as varchar) as quarantine_path,
        cast(report_path as varchar) as report_path
    from source
)

select * from renamed
