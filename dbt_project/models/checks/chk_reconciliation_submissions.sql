{#-
    Gate dataset `reconciliation_submissions` (expectations/reconciliation_submissions.yml): per
    (year, unit, source submission) of fct_annual_unit_source, the model lines in raw vs in
    fct_model vs in fct_annual_unit_field vs fct_submission.models_count, which submission the
    annual rows say they come from, whether the source is the accepted version of its
    (unit, period) and of the year (`source_in_year`; `report_year` = `year`).
-#}

with sources as (
    select * from {{ ref('fct_annual_unit_source') }}
),

raw_lines as (
    select * from {{ source('raw', 'submission_models') }}
),

model_lines as (
    select * from {{ ref('fct_model') }}
),

submissions as (
    select * from {{ ref('fct_submission') }}
),

annual_rows as (
    select * from {{ ref('fct_annual_unit_field') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

raw_counts as (
    select raw_lines.submission_id, count(*) as n
    from raw_lines
    where raw_lines.submission_id in (select source_submission_id from sources)
    group by raw_lines.submission_id
),

mart_counts as (
    select model_lines.submission_id, count(*) as n
    from model_lines
    where model_lines.submission_id in (select source_submission_id from sources)
    group by model_lines.submission_id
),

accepted as (
    -- the accepted version of each (unit, period); one, unless the marts are broken
    select unit_code, period_id, min(submission_id) as submission_id
    from submissions
    where is_accepted
    group by unit_code, period_id
),

annual as (
    select
        year,
        unit_code,
        sum(models_total) as n,
        -- the submission(s) the unit's annual rows say they come from: its sources, if all is well
        string_agg(distinct source_submission_id, ', ' order by source_submission_id)
            as mart_submission_id
    from annual_rows
    group by year, unit_code
),

annual_by_source as (
    select year, unit_code, source_submission_id, sum(models_total) as n
    from annual_rows
    group by year, unit_code, source_submission_id
),

unit_sources as (
    -- one per unit, unless counted from its predecessors (rule 3)
    select
        year,
        unit_code,
        count(*) as n,
        string_agg(distinct source_submission_id, ', ' order by source_submission_id) as ids
    from sources
    group by year, unit_code
),

final as (
    select
        sources.year,
        sources.unit_code,
        units.unit_name,
        sources.source_period_id as period_id,
        sources.source_submission_id as submission_id,
        cast(coalesce(raw_counts.n, 0) as bigint) as raw_models,
        cast(coalesce(mart_counts.n, 0) as bigint) as mart_models,
        cast(coalesce(case when unit_sources.n = 1 then annual.n else annual_by_source.n end, 0)
            as bigint) as annual_models,
        case
            when unit_sources.n > 1 and annual.mart_submission_id = unit_sources.ids
                then sources.source_submission_id
            else annual.mart_submission_id
        end as mart_submission_id,
        cast(coalesce(source_submission.models_count, -1) as bigint) as submission_models_count,
        coalesce(source_submission.is_accepted, false) as source_is_accepted,
        accepted.submission_id as accepted_submission_id,
        coalesce(source_submission.period_year = sources.year, false) as source_in_year,
        source_submission.period_year as source_period_year,
        cast(sources.year as integer) as report_year
    from sources
    left join raw_counts on sources.source_submission_id = raw_counts.submission_id
    left join mart_counts on sources.source_submission_id = mart_counts.submission_id
    left join annual
        on sources.year = annual.year
        and sources.unit_code = annual.unit_code
    left join annual_by_source
        on sources.year = annual_by_source.year
        and sources.unit_code = annual_by_source.unit_code
        and sources.source_submission_id = annual_by_source.source_submission_id
    left join unit_sources
        on sources.year = unit_sources.year
        and sources.unit_code = unit_sources.unit_code
    left join submissions as source_submission
        on sources.source_submission_id = source_submission.submission_id
    left join accepted
        on sources.source_unit_code = accepted.unit_code
        and sources.source_period_id = accepted.period_id
    left join units on sources.unit_key = units.unit_key
)

select * from final
