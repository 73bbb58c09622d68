-- Nothing lost or counted twice: each unit's annual figures add up to the model lines of its
-- source submissions (fct_annual_unit_source: its own, or its predecessors'), and every
-- non-empty source has field rows.
with by_source as (
    select year, unit_key, unit_code, source_submission_id, sum(models_total) as models_total
    from {{ ref('fct_annual_unit_field') }}
    group by year, unit_key, unit_code, source_submission_id
),

sources as (
    select s.year, s.unit_key, s.unit_code, s.source_submission_id, submissions.models_count
    from {{ ref('fct_annual_unit_source') }} as s
    inner join {{ ref('fct_submission') }} as submissions
        on s.source_submission_id = submissions.submission_id
)

select
    coalesce(sources.year, by_source.year) as year,
    coalesce(sources.unit_code, by_source.unit_code) as unit_code,
    coalesce(sources.source_submission_id, by_source.source_submission_id) as source_submission_id,
    sources.models_count,
    by_source.models_total
from sources
full outer join by_source
    on sources.year = by_source.year
    and sources.unit_key is not distinct from by_source.unit_key
    and sources.unit_code = by_source.unit_code
    and sources.source_submission_id = by_source.source_submission_id
where (sources.unit_code is null)
    or (by_source.unit_code is null and sources.models_count <> 0)
    or coalesce(by_source.models_total, 0) <> coalesce(sources.models_count, 0)
