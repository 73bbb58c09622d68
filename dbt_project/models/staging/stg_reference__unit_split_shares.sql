{#-
    The deployment's shares of its split units (reorganisations spec, rule 4): one row per
    (change, old unit, successor) of a `split` change. Read from the file of the setting
    DVK_UNIT_SHARES_FILE (passed by `dvk.transform` in dbt's environment, macro `setting`); without it,
    the seed `unit_split_shares` (the city's stated estimates, docs/warehouse.md).
-#}
{{ config(materialized='table') }}
-- depends_on: {{ ref('unit_split_shares') }}

with source as (
    {{ reference_file('unit_shares_file', 'unit_split_shares') }}
),

final as (
    select
        cast(nullif(trim(cast(change_date as varchar)), '') as date) as change_date,
        upper(trim(cast(old_code as varchar))) as old_code,
        upper(trim(cast(new_code as varchar))) as new_code,
        cast(trim(cast(share as varchar)) as decimal(18, 6)) as share,
        cast(trim(cast(is_estimate as varchar)) as boolean) as is_estimate,
        cast(basis as varchar) as basis
    from source
    where nullif(trim(cast(old_code as varchar)), '') is not null
)

select * from final
