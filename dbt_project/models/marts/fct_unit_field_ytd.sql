{#-
    Year-to-date figures per unit, period and field (spec section 2: a report is cumulative for
    its year). One row per (unit_code, period_id, field_code) with at least one model in the
    unit's accepted submission for that period: the figures of that submission
    (int_unit_field_measures), i.e. as of the end of that period's window. Figures of two periods
    of the same year are never added: each row already holds everything up to its period.
    `is_annual_source`: the period the unit's annual figures come from (fct_annual_unit_field
    holds exactly these rows).
-#}

with measures as (
    select * from {{ ref('int_unit_field_measures') }}
),

submissions as (
    select * from {{ ref('int_submissions_versioned') }}
),

sources as (
    select distinct year, source_submission_id
    from {{ ref('int_annual_source_submissions') }}
),

final as (
    select
        submissions.unit_code,
        submissions.period_id,
        submissions.period_kind,
        submissions.period_year,
        measures.field_code,
        measures.submission_id,
        measures.models_total,
        measures.models_new,
        measures.models_replicated,
        measures.households,
        measures.funds_million_vnd,
        measures.labour_days,
        measures.land_m2,
        sources.source_submission_id is not null as is_annual_source,
        submissions.unit_key
    from measures
    inner join submissions on measures.submission_id = submissions.submission_id
    left join sources
        on measures.submission_id = sources.source_submission_id
        and submissions.period_year = sources.year
)

select * from final
