{#-
    Year-to-date figures per unit, period and field (spec section 2: a report is cumulative for
    its year). One row per (unit_code, period_id, field_code) with at least one model in the
    unit's accepted submission for that period: the models and measures as of the end of that
    period's window. Figures of two periods of the same year are never added: each row already
    holds everything up to its period. `is_annual_source`: the period the unit's annual figures
    come from (fct_annual_unit_field holds exactly these rows).
-#}

with model_lines as (
    select * from {{ ref('fct_model') }}
),

sources as (
    select * from {{ ref('int_annual_source_submissions') }}
),

final as (
    select
        model_lines.unit_code,
        model_lines.period_id,
        model_lines.period_kind,
        model_lines.period_year,
        model_lines.field_code,
        model_lines.submission_id,
        cast(count(*) as bigint) as models_total,
        cast(count(*) filter (where model_lines.model_kind = 'new') as bigint) as models_new,
        cast(count(*) filter (where model_lines.model_kind = 'replicated') as bigint) as models_replicated,
        cast(coalesce(sum(model_lines.households), 0) as bigint) as households,
        cast(coalesce({{ exact_sum('model_lines.funds_million_vnd') }}, 0) as double precision) as funds_million_vnd,
        cast(coalesce(sum(model_lines.labour_days), 0) as bigint) as labour_days,
        cast(coalesce({{ exact_sum('model_lines.land_m2') }}, 0) as double precision) as land_m2,
        sources.source_submission_id is not null as is_annual_source,
        model_lines.unit_key
    from model_lines
    left join sources
        on model_lines.submission_id = sources.source_submission_id
        and model_lines.period_year = sources.year
    group by
        model_lines.unit_code,
        model_lines.unit_key,
        model_lines.period_id,
        model_lines.period_kind,
        model_lines.period_year,
        model_lines.field_code,
        model_lines.submission_id,
        sources.source_submission_id
)

select * from final
