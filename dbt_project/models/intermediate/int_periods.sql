{#-
    Every period the warehouse knows: those the submissions refer to, plus the year, both halves,
    the four quarters and the twelve months of every year that has a submission (spec section 2).
    Windows: a period's window starts on the 15th of the month before its first month and ends on
    the 14th of its last month; it is due `due_grace_days` days after the window closes.
-#}
{%- set grace_days = var('due_grace_days', 5) | int -%}

with submissions as (
    select * from {{ ref('stg_raw__submissions') }}
),

covered_years as (
    select distinct period_year as year
    from submissions
    where period_year is not null
),

submission_periods as (
    select distinct period_id
    from submissions
    where period_id is not null
),

calendar_periods as (
    select cast(year as varchar) as period_id
    from covered_years

    union all

    select cast(year as varchar) || 'S' || cast(half.n as varchar)
    from covered_years
    cross join range(1, 3) as half(n)

    union all

    select cast(year as varchar) || 'Q' || cast(quarter.n as varchar)
    from covered_years
    cross join range(1, 5) as quarter(n)

    union all

    select cast(year as varchar) || lpad(cast(month.n as varchar), 2, '0')
    from covered_years
    cross join range(1, 13) as month(n)
),

all_periods as (
    select period_id from submission_periods
    union
    select period_id from calendar_periods
),

parsed as (
    select
        period_id,
        case
            when regexp_full_match(period_id, '[0-9]{4}') then 'year'
            when regexp_full_match(period_id, '[0-9]{4}S[12]') then 'half_year'
            when regexp_full_match(period_id, '[0-9]{4}Q[1-4]') then 'quarter'
            when regexp_full_match(period_id, '[0-9]{4}(0[1-9]|1[0-2])') then 'month'
        end as period_kind,
        try_cast(substr(period_id, 1, 4) as integer) as period_year
    from all_periods
),

numbered as (
    select
        period_id,
        period_kind,
        period_year,
        case period_kind
            when 'year' then 1
            when 'half_year' then cast(substr(period_id, 6, 1) as integer)
            when 'quarter' then cast(substr(period_id, 6, 1) as integer)
            when 'month' then cast(substr(period_id, 5, 2) as integer)
        end as period_no,
        case period_kind
            when 'year' then 12
            when 'half_year' then 6
            when 'quarter' then 3
            when 'month' then 1
        end as period_months
    from parsed
),

bounded as (
    select
        *,
        (period_no - 1) * period_months + 1 as first_month,
        period_no * period_months as last_month
    from numbered
),

final as (
    select
        period_id,
        period_kind,
        period_year,
        period_no,
        period_months,
        case period_kind
            when 'year' then 'Năm ' || period_year
            when 'half_year' then
                case period_no when 1 then '6 tháng đầu năm ' else '6 tháng cuối năm ' end || period_year
            when 'quarter' then
                'Quý ' || ['I', 'II', 'III', 'IV'][period_no] || '/' || period_year
            when 'month' then 'Tháng ' || period_no || '/' || period_year
        end as label_vi,
        cast(make_date(period_year, first_month, 15) - interval 1 month as date) as window_start,
        make_date(period_year, last_month, 14) as window_end,
        cast(make_date(period_year, last_month, 14) + interval ({{ grace_days }}) day as date) as due_date
    from bounded
)

select * from final
