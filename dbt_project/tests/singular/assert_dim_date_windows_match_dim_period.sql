-- Every day of a period's data window (dim_period.window_start .. window_end) is in dim_date
-- and is mapped by dim_date to that very period, for every kind.
with windows as (
    select
        periods.period_id,
        periods.period_kind,
        cast(series.day_ts as date) as date_day
    from {{ ref('dim_period') }} as periods
    cross join generate_series(
        cast(periods.window_start as timestamp),
        cast(periods.window_end as timestamp),
        interval '1 day'
    ) as series(day_ts)
)

select windows.period_id, windows.date_day, dates.date_day as calendar_day
from windows
left join {{ ref('dim_date') }} as dates on windows.date_day = dates.date_day
where dates.date_day is null
    or windows.period_id <> case windows.period_kind
        when 'month' then dates.month_period_id
        when 'quarter' then dates.quarter_period_id
        when 'half_year' then dates.half_year_period_id
        when 'year' then dates.year_period_id
    end
