-- Rule 3 of the reorganisations spec: a year's annual figures are those of the units valid at
-- the end of the year's window. A unit counted from its own reports has exactly one source, its
-- own; a unit counted from its predecessors has only predecessors' sources (never its own report
-- plus theirs); no source submission feeds two units of a year; and a unit not valid at the
-- year's end has no annual figures of its own. Failing rows: the (year, unit) that break it.
with sources as (
    select * from {{ ref('fct_annual_unit_source') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

per_unit as (
    select
        year,
        unit_key,
        unit_code,
        count(*) filter (where figures_source = 'own_report') as own_sources,
        count(*) filter (where figures_source = 'predecessors') as predecessor_sources,
        count(*) filter (where figures_source = 'own_report' and source_unit_key is distinct from unit_key)
            as own_from_other_unit,
        count(*) filter (where figures_source = 'predecessors' and source_unit_key = unit_key)
            as predecessor_is_itself
    from sources
    group by year, unit_key, unit_code
),

reused as (
    select year, source_submission_id
    from sources
    group by year, source_submission_id
    having count(*) > 1
),

not_at_year_end as (
    select sources.year, sources.unit_key, sources.unit_code
    from sources
    inner join units on units.unit_key = sources.unit_key
    where not (
        units.valid_from <= {{ make_date('sources.year', 12, 14) }}
        and (units.valid_to is null or units.valid_to > {{ make_date('sources.year', 12, 14) }})
    )
)

select year, unit_code, 'own report and predecessors mixed, or own source not its own' as problem
from per_unit
where (own_sources > 0 and predecessor_sources > 0)
    or own_sources > 1
    or own_from_other_unit > 0
    or predecessor_is_itself > 0

union all

select sources.year, sources.unit_code, 'a submission feeds two units' as problem
from sources
inner join reused
    on reused.year = sources.year and reused.source_submission_id = sources.source_submission_id

union all

select year, unit_code, 'not valid at the end of the year' as problem
from not_at_year_end
