with periods as (
    select * from {{ ref('int_periods') }}
),

final as (
    select
        period_id,
        period_kind,
        period_year,
        label_vi,
        window_start,
        window_end,
        due_date
    from periods
)

select * from final
