{#- The reporting periods (int_periods): one row per period, every kind of every covered year. -#}

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
        due_date,
        period_no,
        period_months,
        aliases_vi,
        start_date,
        end_date,
        parent_period_id,
        quarter_id,
        half_year_id,
        year_id,
        period_sort_key
    from periods
)

select * from final
