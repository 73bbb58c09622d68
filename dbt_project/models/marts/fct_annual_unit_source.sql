{#-
    Where each unit's annual figures of year Y come from (int_annual_source_submissions; spec
    section 2 and rule 3 of the reorganisations spec): one row per (year, unit version, source
    submission). One row for a unit counted from its own report; one per predecessor's
    submission for a new unit counted "from predecessors" (`figures_source`).
-#}

with sources as (
    select * from {{ ref('int_annual_source_submissions') }}
),

final as (
    select
        cast(year as integer) as year,
        unit_key,
        unit_code,
        source_submission_id,
        source_period_id,
        source_period_kind,
        source_unit_key,
        source_unit_code,
        figures_source,
        is_provisional
    from sources
)

select * from final
