-- One model_key is one unit in one year with one folded name; all its lines agree on the first
-- period, which is the earliest period listing it; fct_model_year agrees with fct_model.
with lines as (
    select
        model_lines.*,
        periods.period_sort_key
    from {{ ref('fct_model') }} as model_lines
    inner join {{ ref('dim_period') }} as periods on model_lines.period_id = periods.period_id
),

by_key as (
    select
        model_key,
        count(distinct unit_code) as units,
        count(distinct period_year) as years,
        count(distinct model_name_key) as names,
        count(distinct first_period_id) as first_periods,
        min(first_period_id) as first_period_id,
        {{ arg_min('period_id', 'period_sort_key') }} as earliest_period_id,
        {{ arg_max('period_id', 'period_sort_key') }} as latest_period_id,
        count(distinct period_id) as periods_count
    from lines
    group by model_key
),

years as (
    select * from {{ ref('fct_model_year') }}
)

select
    coalesce(by_key.model_key, years.model_key) as model_key,
    by_key.first_period_id,
    by_key.earliest_period_id,
    years.first_period_id as year_first_period_id,
    years.last_period_id as year_last_period_id
from by_key
full outer join years on by_key.model_key = years.model_key
where by_key.model_key is null
    or years.model_key is null
    or by_key.units <> 1
    or by_key.years <> 1
    or by_key.names <> 1
    or by_key.first_periods <> 1
    or by_key.first_period_id <> by_key.earliest_period_id
    or years.first_period_id <> by_key.earliest_period_id
    or years.last_period_id <> by_key.latest_period_id
    or years.periods_count <> by_key.periods_count
