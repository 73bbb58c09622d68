{#-
    Every version of every reporting unit the warehouse has seen in the master list, from the
    snapshot `snp_reporting_units` (check strategy on name, kind, parent, aliases and expected
    years). One row per (unit_code, version_no); version 1 is the oldest.
-#}

with snapshot as (
    select * from {{ ref('snp_reporting_units') }}
),

current_units as (
    select cast(code as varchar) as unit_code
    from {{ ref('reporting_units') }}
),

final as (
    select
        cast(snapshot.code as varchar) as unit_code,
        cast(row_number() over (
            partition by snapshot.code order by snapshot.dbt_valid_from, snapshot.dbt_scd_id
        ) as integer) as version_no,
        cast(snapshot.name as varchar) as unit_name,
        cast(snapshot.kind as varchar) as unit_kind,
        cast(snapshot.parent_code as varchar) as parent_code,
        cast(snapshot.aliases as varchar) as aliases,
        cast(snapshot.expected_from as integer) as expected_from,
        cast(snapshot.expected_to as integer) as expected_to,
        cast(snapshot.dbt_valid_from as timestamp) as recorded_from,
        cast(snapshot.dbt_valid_to as timestamp) as recorded_to,
        snapshot.dbt_valid_to is null as is_current,
        current_units.unit_code is not null as is_in_master_list
    from snapshot
    left join current_units on cast(snapshot.code as varchar) = current_units.unit_code
)

select * from final
