{#-
    The annual figures of year Y per unit version and field (spec section 2; rule 3 of the
    reorganisations spec): the figures (int_unit_field_measures) of the unit's annual source
    submissions (int_annual_source_submissions). One row per (year, unit_key, field_code, source
    submission): a unit counted from its own report has one source; a new unit counted "from
    predecessors" (`figures_source`) one per predecessor's submission, so its figures are the sum
    of its rows. Only fields with at least one model have a row. Additive measures are 0 when no
    line states them.
-#}

with sources as (
    select * from {{ ref('int_annual_source_submissions') }}
),

measures as (
    select * from {{ ref('int_unit_field_measures') }}
),

final as (
    select
        cast(sources.year as integer) as year,
        sources.unit_code,
        measures.field_code,
        measures.models_total,
        measures.models_new,
        measures.models_replicated,
        measures.households,
        measures.funds_million_vnd,
        measures.labour_days,
        measures.land_m2,
        sources.is_provisional,
        sources.source_submission_id,
        sources.source_period_id,
        sources.unit_key,
        sources.figures_source,
        sources.source_unit_key,
        sources.source_unit_code
    from sources
    inner join measures on sources.source_submission_id = measures.submission_id
)

select * from final
