{#-
    The annual figures of year Y per unit version and field (spec section 2; rule 3 of the
    reorganisations spec), counted from the lines of the unit's annual source submissions
    (int_annual_source_submissions). One row per (year, unit_key, field_code, source submission):
    a unit counted from its own report has one source; a new unit counted "from predecessors"
    (`figures_source`) one per predecessor's submission, so its figures are the sum of its rows.
    Only fields with at least one model have a row. Additive measures are 0 when no line states
    them.
-#}

with sources as (
    select * from {{ ref('int_annual_source_submissions') }}
),

model_lines as (
    select * from {{ ref('stg_raw__submission_models') }}
),

final as (
    select
        sources.year,
        sources.unit_code,
        model_lines.field_code,
        cast(count(*) as bigint) as models_total,
        cast(count(*) filter (where model_lines.model_kind = 'new') as bigint) as models_new,
        cast(count(*) filter (where model_lines.model_kind = 'replicated') as bigint) as models_replicated,
        cast(coalesce(sum(model_lines.households), 0) as bigint) as households,
        cast(coalesce({{ exact_sum('model_lines.funds_million_vnd') }}, 0) as double precision) as funds_million_vnd,
        cast(coalesce(sum(model_lines.labour_days), 0) as bigint) as labour_days,
        cast(coalesce({{ exact_sum('model_lines.land_m2') }}, 0) as double precision) as land_m2,
        sources.is_provisional,
        sources.source_submission_id,
        sources.source_period_id,
        sources.unit_key,
        sources.figures_source,
        sources.source_unit_key,
        sources.source_unit_code
    from sources
    inner join model_lines on sources.source_submission_id = model_lines.submission_id
    group by
        sources.year,
        sources.unit_key,
        sources.unit_code,
        model_lines.field_code,
        sources.is_provisional,
        sources.source_submission_id,
        sources.source_period_id,
        sources.figures_source,
        sources.source_unit_key,
        sources.source_unit_code
)

select * from final
