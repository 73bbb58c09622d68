{#-
    Gate dataset `ytd_progression` (expectations/ytd_progression.yml, warnings only): the
    year-to-date model counts per field between a unit's consecutive accepted reports of the same
    year (fct_submission, dim_period, fct_model): a cumulative report should not list fewer models
    of a field than the unit's previous report of the year. One row per (pair of reports, field
    found on either side).
-#}

with submissions as (
    select * from {{ ref('fct_submission') }}
),

periods as (
    select * from {{ ref('dim_period') }}
),

model_lines as (
    select * from {{ ref('fct_model') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

fields as (
    select * from {{ ref('dim_field') }}
),

subs as (
    select
        submissions.period_year as year,
        submissions.submission_id,
        submissions.unit_key,
        submissions.unit_code,
        submissions.period_id,
        submissions.received_at,
        periods.window_end
    from submissions
    inner join periods on submissions.period_id = periods.period_id
    where submissions.is_accepted
),

ordered as (
    -- reports with the same cut-off (2022Q2 and 2022S1 both end on 14 June) are taken in the
    -- order they arrived: the later one should be the more complete. Per unit version: a reused
    -- code (18073 Nam Hà, then Thành Sen) is two units.
    select
        subs.*,
        lag(subs.submission_id) over (
            partition by subs.year, subs.unit_key, subs.unit_code
            order by subs.window_end, subs.received_at, subs.period_id, subs.submission_id
        ) as prev_submission_id,
        lag(subs.period_id) over (
            partition by subs.year, subs.unit_key, subs.unit_code
            order by subs.window_end, subs.received_at, subs.period_id, subs.submission_id
        ) as prev_period_id
    from subs
),

pairs as (
    select * from ordered where prev_submission_id is not null
),

counts as (
    select model_lines.submission_id, model_lines.field_code, count(*) as n
    from model_lines
    where model_lines.submission_id in (select submission_id from subs)
    group by model_lines.submission_id, model_lines.field_code
),

grid as (
    -- every field found on either side of a pair (two equi-joins: an IN join would compare
    -- every pair with every count, quadratic at national scale)
    select
        pairs.year, pairs.unit_key, pairs.unit_code, pairs.period_id, pairs.prev_period_id,
        pairs.submission_id, pairs.prev_submission_id, pairs.window_end, counts.field_code
    from pairs
    inner join counts on pairs.submission_id = counts.submission_id
    union
    select
        pairs.year, pairs.unit_key, pairs.unit_code, pairs.period_id, pairs.prev_period_id,
        pairs.submission_id, pairs.prev_submission_id, pairs.window_end, counts.field_code
    from pairs
    inner join counts on pairs.prev_submission_id = counts.submission_id
),

final as (
    select
        grid.year,
        grid.unit_code,
        units.unit_name,
        grid.period_id,
        grid.prev_period_id,
        grid.field_code,
        grid.submission_id,
        grid.prev_submission_id,
        cast(coalesce(cur.n, 0) as bigint) as total,
        cast(coalesce(prev.n, 0) as bigint) as prev_total,
        grid.window_end,
        {{ field_sort('grid.field_code', 'fields.sort_order') }} as field_sort
    from grid
    left join counts as cur
        on grid.submission_id = cur.submission_id
        and grid.field_code = cur.field_code
    left join counts as prev
        on grid.prev_submission_id = prev.submission_id
        and grid.field_code = prev.field_code
    left join units on grid.unit_key = units.unit_key
    left join fields on grid.field_code = fields.field_code
)

select * from final
