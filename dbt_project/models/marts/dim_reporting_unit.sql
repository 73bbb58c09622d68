with units as (
    select * from {{ ref('reporting_units') }}
),

final as (
    select
        cast(code as varchar) as unit_code,
        cast(name as varchar) as unit_name,
        cast(kind as varchar) as unit_kind,
        cast(parent_code as varchar) as parent_code,
        cast(aliases as varchar) as aliases,
        cast(expected_from as integer) as expected_from,
        cast(expected_to as integer) as expected_to
    from units
)

select * from final
