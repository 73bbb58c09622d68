with source as (
    select * from {{ source('raw', 'quarantine_problems') }}
),

renamed as (
    select
        cast(sha256 as varchar) as sha256,
        cast(file_name as varchar) as file_name,
        cast(problem_no as integer) as problem_no,
        cast(sheet as varchar) as sheet_name,
        cast("row" as integer) as row_no,
        cast("column" as varchar) as column_name,
        cast(code as varchar) as problem_code,
        cast(message_vi as varchar) as message_vi,
        cast(message_en as varchar) as message_en
    from source
)

select * from renamed
