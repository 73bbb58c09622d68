with fields as (
    select * from {{ ref('fields') }}
),

final as (
    select
        cast(field_code as varchar) as field_code,
        cast(field_name_vi as varchar) as field_name_vi,
        cast(field_name_en as varchar) as field_name_en,
        cast(sort_order as integer) as sort_order
    from fields
)

select * from final
