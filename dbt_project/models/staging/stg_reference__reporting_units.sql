{#-
    The master list of reporting units in use, time-versioned (reorganisations spec, section 2):
    one row per unit version (code, validity). Read from the file of the setting DVK_UNITS_FILE,
    which `dvk.transform` passes in dbt's environment (macro `setting`; the same file the ingest
    resolves units against, so the two always agree); without it (dbt run by hand), the seed
    `reporting_units`. A table, so the warehouse never depends on the file after a build.

    `unit_key`: the surrogate key of the version, md5 of code || '|' || valid_from.
    `valid_from` inclusive, `valid_to` exclusive (null: still valid).
-#}
{{ config(materialized='table') }}
-- depends_on: {{ ref('reporting_units') }}

with source as (
    {{ reference_file('units_file', 'reporting_units') }}
),

renamed as (
    select
        upper(trim(cast(code as varchar))) as unit_code,
        trim(cast(name as varchar)) as unit_name,
        trim(cast(kind as varchar)) as unit_kind,
        nullif(trim(cast(parent_code as varchar)), '') as parent_code,
        nullif(trim(cast(aliases as varchar)), '') as aliases,
        cast(nullif(trim(cast(valid_from as varchar)), '') as date) as valid_from,
        cast(nullif(trim(cast(valid_to as varchar)), '') as date) as valid_to
    from source
    where nullif(trim(cast(code as varchar)), '') is not null
),

final as (
    select
        {{ dbt.hash(dbt.concat(["unit_code", "'|'", dbt.cast("valid_from", dbt.type_string())])) }}
            as unit_key,
        unit_code,
        unit_name,
        unit_kind,
        parent_code,
        aliases,
        valid_from,
        valid_to,
        valid_to is null as is_current
    from renamed
)

select * from final
