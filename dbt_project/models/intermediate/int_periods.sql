{#-
    Every period the warehouse knows (spec section 2, Decree 09/2019/NĐ-CP): those the submissions
    refer to, plus the year, both halves, the four quarters and the twelve months of every covered
    year (a year with any submission). For each: its number in the year, its calendar months, the
    written forms (label and aliases, all readable by `dvk.periods.parse_period`), its data window,
    its due date and its parent periods.
    Window: from the 15th of the month before the period's first month to the 14th of its last
    month; due `due_grace_days` (the setting DVK_DUE_GRACE_DAYS, default 5) days after the window closes.
-#}
{%- set grace_days = setting('due_grace_days', 5) | int -%}

with submissions as (
    select period_id, period_year
    from {{ ref('stg_raw__submissions') }}
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
    cross join generate_series(1, 2) as half(n)

    union all

    select cast(year as varchar) || 'Q' || cast(quarter.n as varchar)
    from covered_years
    cross join generate_series(1, 4) as quarter(n)

    union all

    select cast(year as varchar) || lpad(cast(month.n as varchar), 2, '0')
    from covered_years
    cross join generate_series(1, 12) as month(n)
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
            when {{ regexp_full_match('period_id', '[0-9]{4}') }} then 'year'
            when {{ regexp_full_match('period_id', '[0-9]{4}S[12]') }} then 'half_year'
            when {{ regexp_full_match('period_id', '[0-9]{4}Q[1-4]') }} then 'quarter'
            when {{ regexp_full_match('period_id', '[0-9]{4}(0[1-9]|1[0-2])') }} then 'month'
        end as period_kind,
        case when {{ regexp_full_match('substr(period_id, 1, 4)', '[0-9]{4}') }} then cast(substr(period_id, 1, 4) as integer) end as period_year
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

dated as (
    select
        *,
        cast({{ make_date('period_year', 'first_month', 15) }} - interval '1 month' as date) as window_start,
        {{ make_date('period_year', 'last_month', 14) }} as window_end,
        {{ make_date('period_year', 'first_month', 1) }} as start_date,
        cast({{ make_date('period_year', 'last_month', 1) }} + interval '1 month' - interval '1 day' as date)
            as end_date,
        -- the quarter / half-year containing the period (the period itself at its own kind)
        {{ int_divide('first_month + 2', 3) }} as quarter_no,
        {{ int_divide('first_month + 5', 6) }} as half_no
    from bounded
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
                'Quý ' || {{ choose('period_no', ['I', 'II', 'III', 'IV']) }} || '/' || period_year
            when 'month' then 'Tháng ' || period_no || '/' || period_year
        end as label_vi,
        case period_kind
            when 'year' then
                period_id || '; Báo cáo năm ' || period_year
            when 'half_year' then
                period_id || '; '
                || case period_no
                    when 1 then '6 tháng đầu ' || period_year || '; 6 tháng năm ' || period_year
                        || '; 6 tháng ' || period_year
                    else '6 tháng cuối ' || period_year
                end
            when 'quarter' then
                period_id
                || '; Quý ' || period_no || '/' || period_year
                || '; Quý ' || {{ choose('period_no', ['I', 'II', 'III', 'IV']) }} || ' năm ' || period_year
                || '; Quý ' || period_no || ' năm ' || period_year
            when 'month' then
                period_id
                || '; ' || period_year || '-' || lpad(cast(period_no as varchar), 2, '0')
                || '; Tháng ' || lpad(cast(period_no as varchar), 2, '0') || '/' || period_year
                || '; Tháng ' || period_no || ' năm ' || period_year
                || '; Tháng ' || lpad(cast(period_no as varchar), 2, '0') || ' năm ' || period_year
        end as aliases_vi,
        window_start,
        window_end,
        cast({{ dbt.dateadd('day', grace_days, 'window_end') }} as date) as due_date,
        start_date,
        end_date,
        case period_kind
            when 'month' then cast(period_year as varchar) || 'Q' || cast(quarter_no as varchar)
            when 'quarter' then cast(period_year as varchar) || 'S' || cast(half_no as varchar)
            when 'half_year' then cast(period_year as varchar)
        end as parent_period_id,
        case when period_kind in ('month', 'quarter')
            then cast(period_year as varchar) || 'Q' || cast(quarter_no as varchar)
        end as quarter_id,
        case when period_kind in ('month', 'quarter', 'half_year')
            then cast(period_year as varchar) || 'S' || cast(half_no as varchar)
        end as half_year_id,
        cast(period_year as varchar) as year_id,
        {{ format_date('window_end', '%Y%m%d') }} || lpad(cast(period_months as varchar), 2, '0')
            as period_sort_key
    from dated
)

select * from final
