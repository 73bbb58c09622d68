{#-
    The date dimension: one row per day from the first day of the earliest data window
    (15 December of the year before the first covered year) to 31 December of the last covered
    year. For each day: its calendar attributes and the period of each kind whose data window
    (Decree 09/2019: the 15th of a month to the 14th of the next) contains it. A day from the 15th
    of month m belongs to the window of month m + 1, so 20 December 2021 lies in the windows of
    202201, 2022Q1, 2022S1 and 2022; such a period of a year without data is not in dim_period.
-#}

with periods as (
    select window_start, period_year
    from {{ ref('int_periods') }}
),

bounds as (
    select
        min(window_start) as first_day,
        {{ make_date('max(period_year)', 12, 31) }} as last_day
    from periods
),

days as (
    select cast(day_ts as date) as date_day
    from bounds
    cross join generate_series(
        cast(bounds.first_day as timestamp),
        cast(bounds.last_day as timestamp),
        interval '1 day'
    ) as series(day_ts)
    where bounds.first_day is not null
),

windowed as (
    select
        date_day,
        -- the month whose window holds the day: shift back 14 days, then forward one month
        cast(date_day - interval '14 day' + interval '1 month' as date) as window_month
    from days
),

final as (
    select
        date_day,
        cast(extract(year from date_day) as integer) as year,
        cast(extract(quarter from date_day) as integer) as quarter,
        cast(extract(month from date_day) as integer) as month,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(isoyear from date_day) as integer) as iso_year,
        cast(extract(week from date_day) as integer) as iso_week,
        cast(extract(isodow from date_day) as integer) as weekday,
        {{ choose('extract(isodow from date_day)', ['Thứ Hai', 'Thứ Ba', 'Thứ Tư', 'Thứ Năm', 'Thứ Sáu', 'Thứ Bảy', 'Chủ nhật']) }}
            as weekday_vi,
        extract(isodow from date_day) in (6, 7) as is_weekend,
        {{ format_date('window_month', '%Y%m') }} as month_period_id,
        cast(extract(year from window_month) as varchar) || 'Q' || cast(extract(quarter from window_month) as varchar)
            as quarter_period_id,
        cast(extract(year from window_month) as varchar) || 'S' || cast({{ int_divide('cast(extract(month from window_month) as integer) + 5', 6) }} as varchar)
            as half_year_period_id,
        cast(extract(year from window_month) as varchar) as year_period_id
    from windowed
)

select * from final
