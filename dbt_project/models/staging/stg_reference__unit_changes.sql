{#-
    The deployment's reorganisations (reorganisations spec, section 2): one row per (old unit,
    successor) of every change. Read from the file of the setting DVK_UNIT_CHANGES_FILE, which
    `dvk.transform` passes in dbt's environment (macro `setting`; the same file the ingest names
    successors from); without it (dbt run by hand), the seed `unit_changes` (Hà Tĩnh
    city's changes). A province or any other deployment with its own master list names its own
    file (the header alone when it has no history to map), so another territory's changes never
    reach its today's map or its messages.
-#}
{{ config(materialized='table') }}
-- depends_on: {{ ref('unit_changes') }}

with source as (
    {{ reference_file('unit_changes_file', 'unit_changes') }}
),

final as (
    select
        cast(nullif(trim(cast(change_date as varchar)), '') as date) as change_date,
        trim(cast(legal_act as varchar)) as legal_act,
        upper(trim(cast(old_code as varchar))) as old_code,
        trim(cast(old_name as varchar)) as old_name,
        upper(trim(cast(new_code as varchar))) as new_code,
        trim(cast(new_name as varchar)) as new_name,
        lower(trim(cast(change_kind as varchar))) as change_kind
    from source
    where nullif(trim(cast(old_code as varchar)), '') is not null
)

select * from final
