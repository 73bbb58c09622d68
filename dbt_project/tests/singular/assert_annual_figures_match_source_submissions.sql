-- Nothing lost or counted twice: each unit's annual figures add up to the model lines of its
-- source submission, and every unit with a non-empty source has field rows.
with by_unit as (
    select year, unit_code, source_submission_id, sum(models_total) as models_total
    from {{ ref('fct_annual_unit_field') }}
    group by year, unit_code, source_submission_id
),

sources as (
    select status.year, status.unit_code, status.source_submission_id, submissions.models_count
    from {{ ref('fct_annual_unit_status') }} as status
    inner join {{ ref('fct_submission') }} as submissions
        on status.source_submission_id = submissions.submission_id
)

select
    coalesce(sources.year, by_unit.year) as year,
    coalesce(sources.unit_code, by_unit.unit_code) as unit_code,
    sources.models_count,
    by_unit.models_total
from sources
full outer join by_unit
    on sources.year = by_unit.year and sources.unit_code = by_unit.unit_code
where (
        sources.source_submission_id is distinct from by_unit.source_submission_id
        and not (by_unit.unit_code is null and sources.models_count = 0)
    )
    or coalesce(by_unit.models_total, 0) <> coalesce(sources.models_count, 0)
